"""The pack's config defaults, read from their one home: ``config.schema.yaml``.

StackStorm's config loader (``st2common.util.config_loader.ContentPackConfigLoader``) hands
actions and sensors the config with the schema applied (``_assign_default_values``):

* a key missing from the config gets the schema's ``default``;
* a missing ``object`` that has ``properties`` / ``additionalProperties`` becomes ``{}`` and is
  filled in turn (so ``servers.<name>.test_backup`` arrives as ``{"dataset": "/Default Dataset"}``
  even when the operator configured no test backup);
* a missing ``array`` with ``items`` and no default becomes ``[]`` (``command_path``,
  ``hostnames``): an empty list therefore means "not set" wherever the pack has a default.

The pack reads defaults here instead of repeating numbers in code, so the schema an operator
reads is the behaviour they get. ``fill_like_st2`` does what st2's loader does, for the local
runner, the tests and any caller without StackStorm; it is checked against st2's own loader
where StackStorm is importable.
"""

from __future__ import annotations

import copy
import os
import threading
from typing import Any, Dict, List, Mapping, Optional

import yaml  # st2's own dependency: present in every st2 action and sensor process

from avamar_pack.errors import ConfigError

# lib/avamar_pack/schema_defaults.py -> the pack root two levels up (st2 installs the pack's
# tree as it is in the repository, so the schema is always beside lib/).
PACK_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA_PATH = os.path.join(PACK_ROOT, "config.schema.yaml")

_lock = threading.Lock()
_cache: Dict[str, Dict[str, Any]] = {}
_MISSING = object()


def load_schema(path: str = SCHEMA_PATH) -> Dict[str, Any]:
    """The parsed ``config.schema.yaml`` (read once per path; callers get a copy to change freely)."""
    return copy.deepcopy(_cached(path))


def _cached(path: str = SCHEMA_PATH) -> Dict[str, Any]:
    """The cached schema itself: never handed out, never changed."""
    with _lock:
        cached = _cache.get(path)
        if cached is None:
            try:
                with open(path, encoding="utf-8") as handle:
                    cached = yaml.safe_load(handle)
            except (OSError, yaml.YAMLError) as exc:
                raise ConfigError(f"the pack's config schema {path} could not be read: {exc}") from None
            if not isinstance(cached, dict):
                raise ConfigError(f"the pack's config schema {path} is not a mapping of config keys")
            _cache[path] = cached
    return cached


def schema_of(dotted: str, schema: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """The schema of one config key: ``"remediation.serial_margin"``, ``"servers.*.port"``.

    ``*`` stands for any name under an object keyed by name (``additionalProperties``).
    Raises ConfigError when the schema has no such key (a bug in the pack, caught by its tests).
    """
    node: Mapping[str, Any] = {"type": "object", "properties": schema if schema is not None else _cached()}
    for part in dotted.split("."):
        if part == "*":
            nxt = node.get("additionalProperties")
        else:
            nxt = (node.get("properties") or {}).get(part)
        if not isinstance(nxt, Mapping):
            raise ConfigError(f"config.schema.yaml has no key {dotted!r}")
        node = nxt
    return copy.deepcopy(dict(node))


def default(dotted: str, schema: Optional[Mapping[str, Any]] = None) -> Any:
    """The schema's ``default`` of one config key (a copy); ConfigError when it has none."""
    item = schema_of(dotted, schema)
    if "default" not in item:
        raise ConfigError(f"config.schema.yaml gives {dotted!r} no default")
    return copy.deepcopy(item["default"])


def setting(section: Optional[Mapping[str, Any]], key: str, dotted: str) -> Any:
    """``section[key]`` when set, else the schema default of ``dotted``.

    "Not set" is what st2 hands over for a key the operator left out: absent, ``None``, or an
    empty list when the schema's type is an array (st2 fills missing arrays with ``[]``).
    """
    value = (section or {}).get(key, _MISSING)
    if value is _MISSING or value is None or (isinstance(value, list) and not value):
        return default(dotted)
    return value


def fill_like_st2(config: Optional[Mapping[str, Any]], schema: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """A copy of ``config`` with the schema applied the way st2's config loader applies it."""
    filled = copy.deepcopy(dict(config or {}))
    _assign(schema if schema is not None else _cached(), filled)
    return filled


def _object_properties(schema: Mapping[str, Any], keys: List[str]) -> Dict[str, Any]:
    """Per-key schemas of an object: ``properties`` first, then ``additionalProperties`` (as st2).

    (The pack's schema uses no ``patternProperties``; a schema that did would be refused by the
    metadata checks rather than filled wrongly here.)"""
    out: Dict[str, Any] = {key: {} for key in keys}
    properties = schema.get("properties") or {}
    out.update(properties)
    extra = schema.get("additionalProperties")
    if isinstance(extra, Mapping) and extra:
        for key in keys:
            if key not in properties:
                out[key] = extra
    return out


def _assign(schema: Mapping[str, Any], config: Dict[str, Any]) -> None:
    for key, item in schema.items():
        if not isinstance(item, Mapping):
            continue
        if "default" in item and key not in config:
            config[key] = copy.deepcopy(item["default"])
        value = config.get(key)
        kind = item.get("type")
        if kind == "object" and (item.get("properties") or item.get("additionalProperties")):
            if not value:
                value = config[key] = {}
            if isinstance(value, dict):
                _assign(_object_properties(item, list(value)), value)
        elif kind == "array" and item.get("items"):
            if not value:
                value = config[key] = []
            if isinstance(value, list) and isinstance(item["items"], Mapping):
                for element in value:
                    if isinstance(element, dict) and item["items"].get("type") == "object":
                        _assign(_object_properties(item["items"], list(element)), element)
