"""The executions the local st2 API holds, as st2 stores them (``ActionExecutionDB``, in memory).

An execution is the dict st2api answers for ``GET /v1/executions/<id>``: ``id``, ``action``
{ref, runner_type}, ``runner`` {name}, ``status``, ``context``, ``parameters``, ``parent``
(and the parent's ``children``), ``result``, ``start_timestamp`` and a ``log`` of status changes.
Every change notifies ``changed`` (a Condition over ``lock``), so a runner or a test can wait for
a status instead of sleeping. An Inquiry is an execution too (runner ``inquirer``).
"""

from __future__ import annotations

import copy
import datetime
import secrets
import threading
from typing import Any, Dict, List, Mapping, Optional

PENDING, PAUSED, RESUMING, RUNNING = "pending", "paused", "resuming", "running"
SUCCEEDED, TIMEOUT = "succeeded", "timeout"
PAUSE_STATES = ("pausing", PAUSED)  # st2common.constants.action.LIVEACTION_PAUSE_STATES


def new_id() -> str:
    return secrets.token_hex(12)  # 24 hex digits, like a MongoDB ObjectId


def now_stamp() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ExecutionStore:
    """Executions by id; thread-safe (``lock``), changes signalled on ``changed``."""

    def __init__(self) -> None:
        self.executions: Dict[str, Dict[str, Any]] = {}
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)

    def add_execution(
        self,
        action: str,
        status: str = RUNNING,
        context: Optional[Mapping[str, Any]] = None,
        parameters: Optional[Mapping[str, Any]] = None,
        parent: Optional[str] = None,
        runner: str = "python-script",
        execution_id: Optional[str] = None,
        result: Any = None,
    ) -> str:
        """Record an execution as st2 stores it; returns its id. ``context`` is taken as given."""
        execution_id = execution_id or new_id()
        with self.changed:
            self.executions[execution_id] = {
                "id": execution_id,
                "action": {"ref": action, "runner_type": runner},
                "runner": {"name": runner},
                "status": status,
                "context": copy.deepcopy(dict(context or {})),
                "parameters": copy.deepcopy(dict(parameters or {})),
                "parent": parent,
                "result": result,
                "start_timestamp": now_stamp(),
                "log": [{"status": status, "timestamp": now_stamp()}],
            }
            if parent and parent in self.executions:
                self.executions[parent].setdefault("children", []).append(execution_id)
            self.changed.notify_all()
        return execution_id

    def set_status(self, execution_id: str, status: str, result: Any = None) -> None:
        self.update_execution(execution_id, status=status, result=result)

    def update_execution(
        self,
        execution_id: str,
        status: Optional[str] = None,
        result: Any = None,
        context: Optional[Mapping[str, Any]] = None,
    ) -> None:
        """Change status and/or result; ``context`` keys are merged into the execution's context."""
        with self.changed:
            execution = self.executions[execution_id]
            if context:
                execution["context"].update(copy.deepcopy(dict(context)))
            if status is not None:
                self._set_status(execution, status)
            if result is not None:
                execution["result"] = copy.deepcopy(result)
            self.changed.notify_all()

    def execution(self, execution_id: str) -> Dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.executions[execution_id])

    def list_executions(
        self, action: Optional[str] = None, status: Optional[str] = None, limit: int = 50
    ) -> List[Dict[str, Any]]:
        with self.lock:
            found = [
                copy.deepcopy(e)
                for e in self.executions.values()
                if (not action or e["action"]["ref"] == action) and (not status or e["status"] == status)
            ]
        found.sort(key=lambda e: e["start_timestamp"], reverse=True)
        return found[:limit]

    @staticmethod
    def _set_status(execution: Dict[str, Any], status: str) -> None:
        """A new status and its line in the execution's log (call holding ``lock``)."""
        if status != execution["status"]:
            execution["status"] = status
            execution["log"].append({"status": status, "timestamp": now_stamp()})
