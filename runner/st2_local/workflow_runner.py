"""Drive a pack's Orquesta workflow with the real ``orquesta.conducting.WorkflowConductor``.

The loop is the one st2's workflow engine runs, minus the message bus: ask the conductor for
the next tasks, run each task's action, feed the execution events back, repeat until the
workflow completes, then render its output. ``core.ask`` pauses the workflow (task pending),
emits the ``core.st2.generic.inquiry`` trigger to the pack's rules, and resumes when answered.
"""

from __future__ import annotations

import datetime
import secrets
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, TextIO

from st2_local import orquesta_compat

orquesta_compat.apply()

from orquesta import conducting, events, exceptions, statuses  # noqa: E402
from orquesta.specs import native as native_specs  # noqa: E402

from st2_local.action_runner import FAILED, SUCCEEDED, ActionRunner  # noqa: E402
from st2_local.chat_transcript import ChatTranscript  # noqa: E402
from st2_local.inquiries import Answerer, Inquiry, InvalidResponse, validate_response  # noqa: E402
from st2_local.pack_loader import Pack, load_yaml_strict  # noqa: E402
from st2_local.rendering import apply_config_defaults, render_parameters  # noqa: E402
from st2_local.rules import criteria_match, rule_action  # noqa: E402

INQUIRY_TRIGGER = "core.st2.generic.inquiry"
PENDING = statuses.PENDING


class WorkflowInspectionError(ValueError):
    """orquesta's inspect() found errors in the workflow definition; nothing ran."""


class WorkflowRunError(RuntimeError):
    """The local runner could not carry on (not a failure of the workflow itself)."""


@dataclass
class TaskRecord:
    task_id: str
    action: str
    parameters: Dict[str, Any]
    status: str = "running"
    result: Any = None


@dataclass
class WorkflowRun:
    execution_id: str
    status: str = statuses.REQUESTED
    output: Optional[Dict[str, Any]] = None
    errors: List[Dict[str, Any]] = field(default_factory=list)
    tasks: List[TaskRecord] = field(default_factory=list)
    inquiries: List[Inquiry] = field(default_factory=list)

    def ran(self, task_id: str) -> bool:
        return any(t.task_id == task_id for t in self.tasks)

    def actions_run(self) -> List[str]:
        return [t.action for t in self.tasks]


def format_inspection_errors(errors: Mapping[str, Any]) -> str:
    lines = []
    for category, entries in sorted(errors.items()):
        for entry in entries:
            where = entry.get("spec_path") or entry.get("schema_path") or ""
            lines.append(f"{category}: {entry.get('message')} {('at ' + where) if where else ''}".rstrip())
    return "\n".join(lines)


def st2_app_context(execution_id: str = "0" * 24, user: str = "stanley", pack: str = "avamar",
                    action: str = "") -> Dict[str, Any]:
    """The context st2 hands the conductor (and inspect): ``ctx(st2)`` and ``ctx(parent)``."""
    st2 = {"action_execution_id": execution_id, "api_url": "http://127.0.0.1:9101/v1", "user": user,
           "pack": pack, "action": action, "runner": "orquesta"}
    return {"st2": st2, "parent": {"st2": dict(st2)}}


def load_workflow_spec(path: str, app_ctx: Optional[Mapping[str, Any]] = None) -> native_specs.WorkflowSpec:
    """Parse (refusing duplicate keys) and inspect a workflow with st2's app context; raise on errors."""
    definition = load_yaml_strict(path)
    try:
        spec = native_specs.WorkflowSpec(definition)
        errors = spec.inspect(app_ctx=dict(app_ctx if app_ctx is not None else st2_app_context()))
    except Exception as e:  # orquesta 1.2.0 raises (KeyError...) on some errors instead of listing them
        raise WorkflowInspectionError(f"{path}: orquesta inspection failed: {type(e).__name__}: {e}") from e
    if errors:
        raise WorkflowInspectionError(f"{path}: orquesta inspection failed:\n{format_inspection_errors(errors)}")
    return spec


class WorkflowRunner:
    """Runs one pack's workflows locally: Python actions in-process, chat to a transcript."""

    def __init__(
        self,
        pack: Pack,
        config: Mapping[str, Any],
        answerer: Optional[Answerer] = None,
        transcript: Optional[ChatTranscript] = None,
        progress: Optional[TextIO] = None,
        user: str = "stanley",
    ) -> None:
        self.pack = pack
        self.config = apply_config_defaults(pack.config_schema, config)
        self.answerer = answerer
        self.transcript = transcript or ChatTranscript(quiet=True)
        self.progress = progress
        self.user = user
        self.actions = ActionRunner(pack, self.config)

    # -- progress -----------------------------------------------------------------------
    def _say(self, text: str) -> None:
        if self.progress is not None:
            stamp = datetime.datetime.now().strftime("%H:%M:%S")
            self.progress.write(f"[{stamp}] {text}\n")
            self.progress.flush()

    # -- actions --------------------------------------------------------------------------
    def _run_action(self, ref: str, given: Mapping[str, Any]) -> tuple:
        """(status, execution result) of one non-ask action."""
        if ref == "chatops.post_message":
            channel, message = given.get("channel"), given.get("message")
            if not channel or message is None:
                return FAILED, {"error": "chatops.post_message needs channel and message"}
            try:
                self.transcript.post(str(channel), str(message))
            except Exception as e:  # chat is down: the post fails, as chatops.post_message would
                return FAILED, {"error": f"chatops.post_message: {type(e).__name__}: {e}"}
            return SUCCEEDED, {"result": None, "exit_code": 0, "stdout": "", "stderr": ""}
        if ref == "core.noop":
            return SUCCEEDED, {}
        if ref == "core.echo":
            return SUCCEEDED, {"stdout": str(given.get("message", "")), "stderr": "", "return_code": 0,
                               "succeeded": True}
        if ref not in self.pack.actions:
            return FAILED, {"error": f"action {ref} is not available in the local runner"}
        meta = self.pack.action(ref)
        if meta.runner_type != "python-script":
            return FAILED, {"error": f"{ref}: runner {meta.runner_type} is not supported inside a workflow here"}
        try:
            params = render_parameters(meta, given, self.config)
        except ValueError as e:
            return FAILED, {"error": str(e)}
        outcome = self.actions.run(meta, params)
        return outcome.status, outcome.result

    def dispatch_trigger(self, trigger_type: str, payload: Mapping[str, Any]) -> List[str]:
        """Evaluate the pack's rules for a trigger instance; run matching rules' actions."""
        fired = []
        for rule in self.pack.rules:
            if rule.get("enabled", True) is False or (rule.get("trigger") or {}).get("type") != trigger_type:
                continue
            if not criteria_match(rule, payload):
                continue
            ref, params = rule_action(rule, payload)
            self._say(f"rule {self.pack.ref}.{rule['name']} matched {trigger_type}: running {ref}")
            status, _ = self._run_action(ref, params)
            fired.append(f"{self.pack.ref}.{rule['name']}:{status}")
        return fired

    # -- core.ask -------------------------------------------------------------------------
    def _ask(self, conductor: conducting.WorkflowConductor, task: Dict[str, Any], given: Mapping[str, Any],
             run: WorkflowRun, record: TaskRecord) -> None:
        inquiry = Inquiry(
            id=secrets.token_hex(12), schema=dict(given.get("schema") or {}),
            users=list(given.get("users") or []), roles=list(given.get("roles") or []),
            route=str(given.get("route") or ""), ttl=int(given.get("ttl") or 1440),
        )
        run.inquiries.append(inquiry)
        conductor.update_task_state(task["id"], task["route"], events.ActionExecutionEvent(PENDING))
        self._say(f"workflow {conductor.get_workflow_status()}: waiting for Inquiry {inquiry.id} "
                  f"(ttl {inquiry.ttl} min)")
        self.dispatch_trigger(INQUIRY_TRIGGER, {"id": inquiry.id, "route": inquiry.route})
        if self.answerer is None:
            raise WorkflowRunError("the workflow asks for approval but no answer source was given")
        response = self.answerer(inquiry)
        base = {"schema": inquiry.schema, "roles": inquiry.roles, "users": inquiry.users,
                "route": inquiry.route, "ttl": inquiry.ttl}
        conductor.request_workflow_status(statuses.RESUMING)
        if response is None:
            self._say(f"Inquiry {inquiry.id} expired unanswered")
            record.status, record.result = statuses.EXPIRED, {**base, "response": {}}
            conductor.update_task_state(task["id"], task["route"],
                                        events.ActionExecutionEvent(statuses.EXPIRED, result=record.result))
            return
        try:
            validate_response(inquiry, response)
        except InvalidResponse as e:
            raise WorkflowRunError(f"Inquiry {inquiry.id}: {e}") from e
        inquiry.response = dict(response)
        self._say(f"Inquiry {inquiry.id} answered: approved={response.get('approved')} by {response.get('approver')}")
        record.status, record.result = SUCCEEDED, {**base, "response": dict(response)}
        conductor.update_task_state(task["id"], task["route"],
                                    events.ActionExecutionEvent(SUCCEEDED, result=record.result))

    # -- the loop -------------------------------------------------------------------------
    def run(self, ref: str, parameters: Mapping[str, Any]) -> WorkflowRun:
        meta = self.pack.action(ref)
        if meta.runner_type != "orquesta":
            raise WorkflowRunError(f"{ref} is not an Orquesta workflow (runner {meta.runner_type})")
        run = WorkflowRun(execution_id=secrets.token_hex(12))
        app_ctx = st2_app_context(run.execution_id, self.user, self.pack.ref, ref)
        spec = load_workflow_spec(meta.entry_point_path, app_ctx)
        inputs = render_parameters(meta, parameters, self.config)
        conductor = conducting.WorkflowConductor(spec, context=app_ctx, inputs=inputs)
        self._say(f"workflow {ref} started (execution {run.execution_id})")
        try:
            conductor.request_workflow_status(statuses.RUNNING)
        except exceptions.InvalidWorkflowStatusTransition:
            # Inputs or vars did not render: the workflow is already failed and the conductor
            # holds the errors, reported below like any other workflow failure.
            self._say("workflow failed before its first task")
        while conductor.get_workflow_status() in statuses.RUNNING_STATUSES:
            next_tasks = conductor.get_next_tasks()
            if not next_tasks:
                break
            for task in next_tasks:
                for action_spec in task["actions"]:
                    action_ref, given = action_spec["action"], dict(action_spec.get("input") or {})
                    record = TaskRecord(task["id"], action_ref, given)
                    run.tasks.append(record)
                    self._say(f"task {task['id']}: {action_ref} ...")
                    conductor.update_task_state(task["id"], task["route"],
                                                events.ActionExecutionEvent(statuses.RUNNING))
                    if action_ref == "core.ask":
                        self._ask(conductor, task, given, run, record)
                        continue
                    started = time.monotonic()
                    status, result = self._run_action(action_ref, given)
                    record.status, record.result = status, result
                    self._say(f"task {task['id']}: {status} ({time.monotonic() - started:.1f} s)"
                              + (f": {_short_error(result)}" if status == FAILED else ""))
                    conductor.update_task_state(task["id"], task["route"],
                                                events.ActionExecutionEvent(status, result=result))
        conductor.render_workflow_output()
        run.status = conductor.get_workflow_status()
        run.output = conductor.get_workflow_output()
        run.errors = list(conductor.errors)
        self._say(f"workflow {ref} {run.status}" + (f": outcome {run.output.get('outcome')}" if run.output else ""))
        for error in run.errors:
            if error.get("task_id") is None or "Execution failed" not in str(error.get("message")):
                self._say(f"  orquesta: {error.get('message')}")
        return run


def _short_error(result: Any) -> str:
    if isinstance(result, dict):
        inner = result.get("result")
        if isinstance(inner, dict) and isinstance(inner.get("error"), dict):
            return str(inner["error"].get("reason"))[:200]
        if result.get("error"):
            return str(result["error"]).splitlines()[0][:200]
    return ""


def stderr_progress() -> TextIO:
    return sys.stderr
