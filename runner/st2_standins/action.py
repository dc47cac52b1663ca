"""Stand-ins for ``st2common.runners.base_action`` and ``st2common.runners.utils``.

Same constructor and attributes as StackStorm's ``Action``: ``config`` (a ``PackConfigDict``
that raises a helpful ``ValueError`` for a missing key), ``action_service`` and ``logger``
(``logging`` logger named ``st2.actions.python.<ClassName>``).
"""

from __future__ import annotations

import abc
import logging
from typing import Any, Dict, Mapping, Optional

__all__ = [
    "CONFIG_MISSING_ITEM_ERROR",
    "Action",
    "PackConfigDict",
    "get_action_class_instance",
    "get_logger_for_python_runner_action",
]

# Wording as StackStorm's, so a missing key reads the same with and without st2.
CONFIG_MISSING_ITEM_ERROR = """
Config for pack "%s" is missing key "%s".
Make sure that the config file exists on disk (%s) and contains that key.

Also make sure you run "st2ctl reload --register-configs" when you add a
config and after every change you make to the config.
"""

CONFIGS_PATH = "/opt/stackstorm/configs/"

_LOGGERS: Dict[str, logging.Logger] = {}


class PackConfigDict(dict):
    """Pack config dict whose missing keys raise ``ValueError`` naming the config file."""

    def __init__(self, pack_name: str, *args: Any) -> None:
        super().__init__(*args)
        self._pack_name = pack_name

    def __getitem__(self, key: Any) -> Any:
        try:
            return super().__getitem__(key)
        except KeyError:
            config_path = CONFIGS_PATH + self._pack_name + ".yaml"
            raise ValueError(CONFIG_MISSING_ITEM_ERROR % (self._pack_name, key, config_path)) from None


def get_logger_for_python_runner_action(action_name: str, log_level: str = "debug") -> logging.Logger:
    """Logger ``st2.actions.python.<action_name>`` writing to stderr, created once per name.

    st2 keys its cache by ``actions.python.<name>`` but creates the logger through
    ``st2common.log.getLogger``, which prefixes ``st2.``: that is the name records carry.
    """
    logger_name = f"actions.python.{action_name}"
    logger = _LOGGERS.get(logger_name)
    if logger is None:
        level = getattr(logging, log_level.upper(), logging.DEBUG)
        logger = logging.getLogger("st2." + logger_name)
        console = logging.StreamHandler()
        console.setLevel(level)
        console.setFormatter(logging.Formatter("%(name)-12s: %(levelname)-8s %(message)s"))
        logger.addHandler(console)
        logger.setLevel(level)
        _LOGGERS[logger_name] = logger
    return logger


class Action(abc.ABC):
    """Base class of Python runner actions (``st2common.runners.base_action.Action``)."""

    description: Optional[str] = None

    def __init__(self, config: Optional[Mapping[str, Any]] = None, action_service: Any = None) -> None:
        self.config = config or {}
        self.action_service = action_service

        wrapper = getattr(action_service, "_action_wrapper", None) if action_service else None
        if wrapper is not None:
            log_level = getattr(wrapper, "_log_level", "debug")
            pack_name = getattr(wrapper, "_pack", "unknown")
        else:
            log_level = "debug"
            pack_name = "unknown"

        self.config = PackConfigDict(pack_name, self.config)
        self.logger = get_logger_for_python_runner_action(action_name=self.__class__.__name__, log_level=log_level)

    @abc.abstractmethod
    def run(self, **kwargs: Any) -> Any:
        pass


def get_action_class_instance(action_cls: type, config: Optional[Mapping[str, Any]] = None, action_service: Any = None):
    """Instantiate an action class the way the Python runner does."""
    try:
        return action_cls(config=config, action_service=action_service)
    except TypeError as e:
        # Old-style actions without the action_service argument get it assigned afterwards.
        if "unexpected keyword argument 'action_service'" not in str(e):
            raise
        instance = action_cls(config=config)
        instance.action_service = action_service
        return instance
