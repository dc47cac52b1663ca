"""Drive st2's real workflow engine in-process, where st2's own orquesta-runner tests drive it.

st2's services hand work to each other over RabbitMQ. With the mock publishers installed by
:mod:`st2boot`, requests and state changes of live actions reach st2's scheduler and worker at
once; what is left is what st2's workflow engine consumes from its
``st2.workflow.action.execution`` queue and the rules engine and notifier consume from theirs.
:func:`settle` delivers those, as st2's services would, until nothing moves:

* every action execution of a task that is done (or an Inquiry gone pending) goes to
  ``st2actions.workflows.workflows.get_engine().process`` (st2's unit tests call the same);
* every completed action execution goes to st2's notifier (``Notifier.process``), which dispatches
  ``core.st2.generic.actiontrigger`` (and notify triggers);
* every trigger instance dispatched (by the inquirer runner, the notifier, a test) goes to
  st2reactor's rules engine (``TriggerInstanceDispatcher``), so the pack's rules run.

Nothing here decides what the workflow does: it only carries st2's messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

MAX_ROUNDS = 400


@dataclass
class TaskRecord:
    task_id: str
    status: str
    action: str
    execution_status: str
    result: Any


@dataclass
class Run:
    """One workflow execution, read back from st2's database."""

    execution_id: str
    problems: List[str] = field(default_factory=list)

    def execution(self) -> Any:
        from st2common.persistence.execution import ActionExecution

        return ActionExecution.get_by_id(self.execution_id)

    @property
    def status(self) -> str:
        return self.execution().status

    @property
    def output(self) -> Dict[str, Any]:
        result = self.execution().result or {}
        return dict(result.get("output") or {}) if isinstance(result, dict) else {}

    @property
    def errors(self) -> List[Any]:
        result = self.execution().result or {}
        return list(result.get("errors") or []) if isinstance(result, dict) else []

    def workflow(self) -> Any:
        from st2common.persistence.workflow import WorkflowExecution

        found = WorkflowExecution.query(action_execution=self.execution_id)
        return found[0] if found else None

    def tasks(self) -> List[TaskRecord]:
        """Every task execution of this workflow, in start order, with its action execution."""
        from st2common.persistence.execution import ActionExecution
        from st2common.persistence.workflow import TaskExecution

        workflow = self.workflow()
        if workflow is None:
            return []
        records = []
        for task in sorted(TaskExecution.query(workflow_execution=str(workflow.id)), key=lambda t: t.start_timestamp):
            for ac in ActionExecution.query(task_execution=str(task.id)) or [None]:
                records.append(
                    TaskRecord(
                        task.task_id,
                        task.status,
                        (ac.action or {}).get("ref", "") if ac else "",
                        ac.status if ac else "",
                        ac.result if ac else None,
                    )
                )
        return records

    def task_ids(self) -> List[str]:
        return [t.task_id for t in self.tasks()]

    def pending_inquiries(self) -> List[Any]:
        """Inquiries (st2's ``InquiryAPI`` view) this workflow waits on."""
        from st2common.constants import action as ac_const
        from st2common.models.api.inquiry import InquiryAPI

        return [
            InquiryAPI.from_model(ac)
            for ac in _descendants(self.execution_id)
            if ac.status == ac_const.LIVEACTION_STATUS_PENDING and (ac.runner or {}).get("name") == "inquirer"
        ]

    def describe(self) -> str:
        """Tasks, status and errors in a few lines, for assertion messages."""
        lines = [f"workflow {self.execution_id}: {self.status}, outcome={self.output.get('outcome')!r}"]
        for t in self.tasks():
            lines.append(f"  {t.task_id:<24} {t.status:<10} {t.action} [{t.execution_status}] {_short(t.result)}")
        lines += [f"  error: {_short(e)}" for e in self.errors]
        lines += [f"  harness: {p}" for p in self.problems]
        return "\n".join(lines)


def _short(value: Any, limit: int = 400) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _descendants(execution_id: str) -> List[Any]:
    from st2common.persistence.execution import ActionExecution

    found, todo = [], [execution_id]
    while todo:
        parent = todo.pop()
        for child in ActionExecution.query(parent=parent):
            found.append(child)
            todo.append(str(child.id))
    return found


class Carrier:
    """st2's queues between its services, delivered in this process (see the module text)."""

    def __init__(self, bus: Any) -> None:
        self.bus = bus
        self._seen = 0
        self._notified: set = set()

    def settle(self, rounds: int = MAX_ROUNDS) -> int:
        """Deliver until nothing moves; returns how many deliveries were made."""
        delivered = 0
        for _ in range(rounds):
            moved = self._to_workflow_engine() + self._to_notifier() + self._to_rules_engine()
            delivered += moved
            if not moved:
                return delivered
        raise AssertionError(f"st2 did not settle after {rounds} rounds of deliveries")

    def _to_workflow_engine(self) -> int:
        from orquesta import statuses as wf_statuses
        from st2actions.workflows import workflows
        from st2common.constants import action as ac_const
        from st2common.persistence.execution import ActionExecution
        from st2common.persistence.workflow import TaskExecution, WorkflowExecution

        engine = workflows.get_engine()
        moved = 0
        for workflow in WorkflowExecution.query(status__nin=list(wf_statuses.COMPLETED_STATUSES)):
            for task in TaskExecution.query(workflow_execution=str(workflow.id)):
                if task.status in wf_statuses.COMPLETED_STATUSES:
                    continue
                for ac in ActionExecution.query(task_execution=str(task.id)):
                    done = ac.status in ac_const.LIVEACTION_COMPLETED_STATES
                    newly_pending = (
                        ac.status == ac_const.LIVEACTION_STATUS_PENDING and task.status != wf_statuses.PENDING
                    )
                    if done or newly_pending:
                        engine.process(ac)
                        moved += 1
        return moved

    def _to_notifier(self) -> int:
        from st2actions.notifier.notifier import get_notifier
        from st2common.constants import action as ac_const
        from st2common.persistence.execution import ActionExecution

        moved = 0
        for ac in ActionExecution.query(status__in=list(ac_const.LIVEACTION_COMPLETED_STATES)):
            if str(ac.id) in self._notified:
                continue
            self._notified.add(str(ac.id))
            get_notifier().process(ac)
            moved += 1
        return moved

    def _to_rules_engine(self) -> int:
        from st2common.transport import reactor as reactor_transport
        from st2common.transport import utils as transport_utils
        from st2reactor.rules import worker as rules_worker

        moved = 0
        while self._seen < len(self.bus.messages):
            exchange, _routing_key, payload = self.bus.messages[self._seen]
            self._seen += 1
            if exchange != reactor_transport.TRIGGER_INSTANCE_XCHG.name or not isinstance(payload, dict):
                continue
            with transport_utils.get_connection() as connection:
                dispatcher = rules_worker.TriggerInstanceDispatcher(connection, [])
            dispatcher.process(dispatcher.pre_ack_process(payload))
            moved += 1
        return moved

    def forget(self) -> None:
        self._seen = len(self.bus.messages)
        self._notified.clear()


def dispatch_trigger(trigger_ref: str, payload: Dict[str, Any]) -> None:
    """What a sensor's ``sensor_service.dispatch`` does in st2's sensor container: st2's
    ``TriggerDispatcherService`` validates the payload against the trigger type's
    ``payload_schema`` (``[system] validate_trigger_payload``, on by default) and publishes it.
    A refused payload raises here; the sensor container only logs it and drops the trigger."""
    import logging

    from st2common.services.trigger_dispatcher import TriggerDispatcherService

    service = TriggerDispatcherService(logging.getLogger("st2_real.sensor"))
    service.dispatch_with_context(trigger=trigger_ref, payload=payload, throw_on_validation_error=True)


def auth_failure_payload(**overrides: Any) -> Dict[str, Any]:
    """An ``avamar.backup_auth_failure`` payload shaped as the log sensor dispatches it."""
    payload: Dict[str, Any] = {
        "server": "ava01",
        "client": "fileserver01",
        "clients": ["fileserver01"],
        "codes": [5704],
        "message": "avtar FATAL <5704>: Login failed: MSG_ERR_AUTH_FAIL",
        "ticket": None,
        "log_file": "/usr/local/avamar/var/clientlogs/fileserver01.log",
        "first_seen": "2026-12-01T17:00:00",
        "last_seen": "2026-12-01T17:00:00",
        "count": 1,
        "source": "file",
    }
    payload.update(overrides)
    return payload


def executions_of(action_ref: str) -> List[Any]:
    from st2common.persistence.execution import ActionExecution

    return sorted(ActionExecution.query(action__ref=action_ref), key=lambda e: e.start_timestamp)


def expire_inquiries(minutes_past_ttl: int = 1) -> int:
    """What st2's garbage collector does with ``[garbagecollector] purge_inquiries = True``, once
    every pending Inquiry is older than its ttl: st2's own ``purge_inquiries``. Returns how many
    Inquiries st2 then marked timed out."""
    import datetime
    import logging

    from st2common.constants import action as ac_const
    from st2common.garbage_collection.inquiries import purge_inquiries
    from st2common.persistence.execution import ActionExecution
    from st2common.persistence.liveaction import LiveAction

    pending = list(ActionExecution.query(runner__name="inquirer", status=ac_const.LIVEACTION_STATUS_PENDING))
    for ac in pending:
        back = datetime.timedelta(minutes=int((ac.result or {}).get("ttl") or 0) + minutes_past_ttl)
        ac.start_timestamp = ac.start_timestamp - back
        ActionExecution.add_or_update(ac, publish=False)
        live = LiveAction.get_by_id(ac.liveaction["id"])
        live.start_timestamp = live.start_timestamp - back
        LiveAction.add_or_update(live, publish=False)
    purge_inquiries(logging.getLogger("st2_real.gc"))
    return sum(
        1 for ac in pending if ActionExecution.get_by_id(str(ac.id)).status == ac_const.LIVEACTION_STATUS_TIMED_OUT
    )


def find_run(action_ref: str, index: int = -1) -> Optional[Run]:
    found = executions_of(action_ref)
    return Run(str(found[index].id)) if found else None
