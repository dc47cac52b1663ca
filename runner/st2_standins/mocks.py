"""Stand-ins for ``st2tests.mocks.action`` and ``st2tests.mocks.sensor`` (and ``TraceContext``).

As in st2tests, the services hold a ``Mock(spec=RootLogger)`` as logger so tests can assert
on log calls, and ``MockSensorService.dispatched_triggers`` records every dispatch as
``{"trigger", "payload", "trace_context"}``. The datastore methods delegate to
``MockDatastoreService`` with the argument names of the real ``ActionService``/``SensorService``.
"""

from __future__ import annotations

import functools
from logging import RootLogger
from typing import Any, Callable, Dict, List, Optional
from unittest.mock import Mock

from st2_standins.datastore import MockDatastoreService

__all__ = [
    "MockActionService",
    "MockActionWrapper",
    "MockSensorService",
    "MockSensorWrapper",
    "TraceContext",
]


class TraceContext:
    """``st2common.models.api.trace.TraceContext``: an existing trace id or a user trace tag."""

    def __init__(self, id_: Optional[str] = None, trace_tag: Optional[str] = None) -> None:
        self.id_ = id_
        self.trace_tag = trace_tag

    def __str__(self) -> str:
        return f"{{id_: {self.id_}, trace_tag: {self.trace_tag}}}"

    def __json__(self) -> Dict[str, Any]:
        return vars(self)


class _PluginWrapper:
    def __init__(self, pack: str, class_name: str) -> None:
        self._pack = pack
        self._class_name = class_name


def _datastore_method(name: str) -> Callable[..., Any]:
    """The service's ``name``: the datastore service's method of that name and signature, called
    on the service's own datastore (``inspect.signature`` reads the datastore's, as st2's match)."""
    target = getattr(MockDatastoreService, name)

    @functools.wraps(target)
    def method(self: _DatastoreMethods, *args: Any, **kwargs: Any) -> Any:
        return getattr(self._datastore_service, name)(*args, **kwargs)

    return method


class _DatastoreMethods:
    """The datastore half of ActionService / SensorService. ``get_user_info``, ``get_value``,
    ``set_value`` and ``delete_value`` have the datastore service's names and signatures; only
    ``list_values`` takes its arguments in another order (st2's service order)."""

    get_user_info = _datastore_method("get_user_info")
    get_value = _datastore_method("get_value")
    set_value = _datastore_method("set_value")
    delete_value = _datastore_method("delete_value")

    def __init__(self, wrapper: _PluginWrapper) -> None:
        self._logger = Mock(spec=RootLogger)
        self._datastore_service = MockDatastoreService(
            logger=self._logger, pack_name=wrapper._pack, class_name=wrapper._class_name
        )

    @property
    def datastore_service(self) -> MockDatastoreService:
        return self._datastore_service

    def list_values(
        self,
        local: bool = True,
        prefix: Optional[str] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
    ) -> list:
        return self._datastore_service.list_values(local=local, prefix=prefix, limit=limit, offset=offset or 0)


class MockActionWrapper(_PluginWrapper):
    """The pack and class name of the action under test."""


class MockActionService(_DatastoreMethods):
    """Action service handed to actions under test."""

    def __init__(self, action_wrapper: MockActionWrapper) -> None:
        self._action_wrapper = action_wrapper
        super().__init__(action_wrapper)


class MockSensorWrapper(_PluginWrapper):
    """The pack and class name of the sensor under test."""


class MockSensorService(_DatastoreMethods):
    """Sensor service handed to sensors under test; records dispatched triggers."""

    def __init__(self, sensor_wrapper: MockSensorWrapper) -> None:
        self._sensor_wrapper = sensor_wrapper
        self.dispatched_triggers: List[Dict[str, Any]] = []
        super().__init__(sensor_wrapper)

    def get_logger(self, name: str) -> Mock:
        # One Mock for every name, as in st2tests: assert on it from the test.
        return self._logger

    def dispatch(self, trigger: str, payload: Optional[Dict[str, Any]] = None, trace_tag: Optional[str] = None):
        trace_context = TraceContext(trace_tag=trace_tag) if trace_tag else None
        return self.dispatch_with_context(trigger=trigger, payload=payload, trace_context=trace_context)

    def dispatch_with_context(
        self, trigger: str, payload: Optional[Dict[str, Any]] = None, trace_context: Optional[TraceContext] = None
    ) -> Dict[str, Any]:
        item = {"trigger": trigger, "payload": payload, "trace_context": trace_context}
        self.dispatched_triggers.append(item)
        return item
