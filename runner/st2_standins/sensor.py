"""Stand-in for ``st2reactor.sensor.base``: ``BaseSensor``, ``Sensor`` and ``PollingSensor``.

Signatures and attributes as StackStorm's: ``sensor_service`` (and the deprecated
``_sensor_service``), ``config`` (and ``_config``), ``PollingSensor._poll_interval``.
"""

from __future__ import annotations

import abc
import time
from typing import Any, Mapping, Optional

__all__ = ["BaseSensor", "PollingSensor", "Sensor"]


class BaseSensor(abc.ABC):
    """Base sensor class - not to be instantiated directly."""

    def __init__(self, sensor_service: Any, config: Optional[Mapping[str, Any]] = None) -> None:
        self._sensor_service = sensor_service  # st2 keeps both names; packs use either
        self.sensor_service = sensor_service
        self._config = config or {}
        self.config = self._config

    @abc.abstractmethod
    def setup(self) -> None:
        pass

    @abc.abstractmethod
    def run(self) -> None:
        pass

    @abc.abstractmethod
    def cleanup(self) -> None:
        pass

    @abc.abstractmethod
    def add_trigger(self, trigger: Mapping[str, Any]) -> None:
        pass

    @abc.abstractmethod
    def update_trigger(self, trigger: Mapping[str, Any]) -> None:
        pass

    @abc.abstractmethod
    def remove_trigger(self, trigger: Mapping[str, Any]) -> None:
        pass


class Sensor(BaseSensor):
    """Passive sensor: ``run`` blocks and dispatches as events arrive."""

    @abc.abstractmethod
    def run(self) -> None:
        pass


class PollingSensor(BaseSensor):
    """Active sensor: the container calls ``poll`` every ``poll_interval`` seconds."""

    def __init__(
        self, sensor_service: Any, config: Optional[Mapping[str, Any]] = None, poll_interval: float = 5
    ) -> None:
        super().__init__(sensor_service=sensor_service, config=config)
        self._poll_interval = poll_interval

    @abc.abstractmethod
    def poll(self) -> None:
        pass

    def run(self) -> None:
        while True:
            self.poll()
            time.sleep(self._poll_interval)

    def get_poll_interval(self) -> float:
        return self._poll_interval

    def set_poll_interval(self, poll_interval: float) -> None:
        self._poll_interval = poll_interval
