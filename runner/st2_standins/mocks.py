"""Stand-ins for ``st2tests.mocks.action`` and ``st2tests.mocks.sensor`` (and ``TraceContext``).

As in st2tests, the services hold a ``Mock(spec=RootLogger)`` as logger so tests can assert
on log calls, and ``MockSensorService.dispatched_triggers`` records every dispatch as
``{"trigger", "payload", "trace_context"}``. The datastore methods delegate to
``MockDatastoreService`` with the argument names of the real ``ActionService``/``SensorService``.
"""

from __future__ import annotations

from logging import RootLogger
from typing import Any, Dict, List, Optional
from unittest.mock import Mock

from st2_standins.datastore import SYSTEM_SCOPE, MockDatastoreService

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


class _DatastoreMethods:
    """The datastore half of ActionService / SensorService: thin delegation."""

    _datastore_service: MockDatastoreService

    @property
    def datastore_service(self) -> MockDatastoreService:
        return self._datastore_service

    def get_user_info(self) -> Dict[str, Any]:
        return self._datastore_service.get_user_info()

    def list_values(
        self,
        local: bool = True,
        prefix: Optional[str] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
    ) -> list:
        return self._datastore_service.list_values(local=local, prefix=prefix, limit=limit, offset=offset or 0)

    def get_value(self, name: str, local: bool = True, scope: str = SYSTEM_SCOPE, decrypt: bool = False) -> Any:
        return self._datastore_service.get_value(name=name, local=local, scope=scope, decrypt=decrypt)

    def set_value(
        self,
        name: str,
        value: Any,
        ttl: Optional[int] = None,
        local: bool = True,
        scope: str = SYSTEM_SCOPE,
        encrypt: bool = False,
    ) -> bool:
        return self._datastore_service.set_value(
            name=name, value=value, ttl=ttl, local=local, scope=scope, encrypt=encrypt
        )

    def delete_value(self, name: str, local: bool = True, scope: str = SYSTEM_SCOPE) -> bool:
        return self._datastore_service.delete_value(name=name, local=local, scope=scope)


class MockActionWrapper:
    def __init__(self, pack: str, class_name: str) -> None:
        self._pack = pack
        self._class_name = class_name


class MockActionService(_DatastoreMethods):
    """Action service handed to actions under test."""

    def __init__(self, action_wrapper: MockActionWrapper) -> None:
        self._action_wrapper = action_wrapper
        self._logger = Mock(spec=RootLogger)
        self._datastore_service = MockDatastoreService(
            logger=self._logger, pack_name=action_wrapper._pack, class_name=action_wrapper._class_name
        )


class MockSensorWrapper:
    def __init__(self, pack: str, class_name: str) -> None:
        self._pack = pack
        self._class_name = class_name


class MockSensorService(_DatastoreMethods):
    """Sensor service handed to sensors under test; records dispatched triggers."""

    def __init__(self, sensor_wrapper: MockSensorWrapper) -> None:
        self._sensor_wrapper = sensor_wrapper
        self._logger = Mock(spec=RootLogger)
        self.dispatched_triggers: List[Dict[str, Any]] = []
        self._datastore_service = MockDatastoreService(
            logger=self._logger, pack_name=sensor_wrapper._pack, class_name=sensor_wrapper._class_name
        )

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
