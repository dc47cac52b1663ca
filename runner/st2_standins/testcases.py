"""Stand-ins for ``st2tests.pack_resource``, ``st2tests.actions`` and ``st2tests.sensors``.

The pack test base classes, with the behaviour of StackStorm's: the services are created in
``setUp`` for a pack named ``tests`` (st2tests does the same, so datastore keys read
``tests.<ClassName>:<key>`` under both).
"""

from __future__ import annotations

import inspect
import os
import unittest
from typing import Any, Dict, List, Mapping, Optional

from st2_standins.action import get_action_class_instance
from st2_standins.mocks import MockActionService, MockActionWrapper, MockSensorService, MockSensorWrapper

__all__ = ["BaseActionTestCase", "BasePackResourceTestCase", "BaseSensorTestCase"]


class BasePackResourceTestCase(unittest.TestCase):
    """Loads fixtures from ``<pack>/tests/fixtures/``."""

    def get_fixture_content(self, fixture_path: str) -> str:
        fixtures_path = os.path.join(self._get_base_pack_path(), "tests/fixtures/")
        with open(os.path.join(fixtures_path, fixture_path)) as fp:
            return fp.read()

    def _get_base_pack_path(self) -> str:
        test_file_path = inspect.getfile(self.__class__)
        return os.path.abspath(os.path.join(os.path.dirname(test_file_path), ".."))


class BaseActionTestCase(BasePackResourceTestCase):
    """Base class for Python runner action tests: set ``action_cls``."""

    action_cls: Optional[type] = None

    def setUp(self) -> None:
        super().setUp()
        action_wrapper = MockActionWrapper(pack="tests", class_name=self.action_cls.__name__)
        self.action_service = MockActionService(action_wrapper=action_wrapper)

    def get_action_instance(self, config: Optional[Mapping[str, Any]] = None) -> Any:
        return get_action_class_instance(action_cls=self.action_cls, config=config, action_service=self.action_service)


class BaseSensorTestCase(BasePackResourceTestCase):
    """Base class for sensor tests: set ``sensor_cls``."""

    sensor_cls: Optional[type] = None

    def setUp(self) -> None:
        super().setUp()
        sensor_wrapper = MockSensorWrapper(pack="tests", class_name=self.sensor_cls.__name__)
        self.sensor_service = MockSensorService(sensor_wrapper=sensor_wrapper)

    def get_sensor_instance(self, config: Optional[Mapping[str, Any]] = None, poll_interval: Optional[float] = None):
        kwargs: Dict[str, Any] = {"sensor_service": self.sensor_service}
        if config:  # as st2tests: an empty config is not passed
            kwargs["config"] = config
        if poll_interval is not None:
            kwargs["poll_interval"] = poll_interval
        return self.sensor_cls(**kwargs)

    def get_dispatched_triggers(self) -> List[Dict[str, Any]]:
        return self.sensor_service.dispatched_triggers

    def get_last_dispatched_trigger(self) -> Dict[str, Any]:
        return self.sensor_service.dispatched_triggers[-1]

    def assertTriggerDispatched(self, trigger: str, payload: Any = None, trace_context: Any = None) -> bool:  # noqa: N802
        """True if ``trigger`` was dispatched (with ``payload``/``trace_context`` when given)."""
        for item in self.get_dispatched_triggers():
            if item["trigger"] != trigger:
                continue
            if payload and item["payload"] != payload:
                continue
            if trace_context and item["trace_context"] != trace_context:
                continue
            return True
        raise AssertionError(f'Trigger "{trigger}" hasn\'t been dispatched')
