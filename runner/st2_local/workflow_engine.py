"""One Orquesta workflow execution driven the way st2's workflow engine drives it.

The real ``orquesta.conducting.WorkflowConductor`` (PyPI orquesta 1.2.0; st2 3.9 ships 1.6).
For each next task: the task's action execution is requested with st2's context and
``render_live_params`` (a parameter that does not render, or fails the action's schema, fails
the WORKFLOW, as st2's ``fail_workflow_execution`` does, without running a failure branch);
its result goes back to the conductor as an ``ActionExecutionEvent``. ``core.ask`` creates an
Inquiry (the task's execution, status ``pending``) in the st2 API and emits
``core.st2.generic.inquiry``; the workflow pauses. When the API accepts a response, or the
Inquiry times out, the workflow resumes with the ask task ``succeeded`` (result with
``response``) or ``timeout``. Cancel: a running task finishes (st2 does not cancel a running
python action of a canceled workflow), then the workflow is ``canceled``; no further task.
"""

from __future__ import annotations

import copy
import os
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Tuple

from st2_local import orquesta_compat

orquesta_compat.apply()

from orquesta import conducting, events, exceptions, graphing, statuses  # noqa: E402
from orquesta.specs import native as native_specs  # noqa: E402

from st2_local.executions import (  # noqa: E402
    INQUIRY_TRIGGER,
    ParameterValidationError,
    TaskRecord,
    WorkflowRun,
    now_timestamp,
    task_action_context,
    validate_parameters,
    workflow_st2_context,
)
from st2_local.inquiries import Inquiry  # noqa: E402
from st2_local.live_params import RUNNER_PARAMETERS, ParamException, render_final_params, render_live_params  # noqa: E402
from st2_local.pack_loader import load_yaml_strict  # noqa: E402
from st2_local.st2_executions import new_id  # noqa: E402

if TYPE_CHECKING:
    from st2_local.workflow_runner import WorkflowRunner

COMPLETED = statuses.COMPLETED_STATUSES


class WorkflowInspectionError(ValueError):
    """orquesta's inspect() found errors in the workflow definition; nothing ran."""


def format_inspection_errors(errors: Mapping[str, Any]) -> str:
    lines = []
    for category, entries in sorted(errors.items()):
        for entry in entries:
            where = entry.get("spec_path") or entry.get("schema_path") or ""
            lines.append(f"{category}: {entry.get('message')} {('at ' + where) if where else ''}".rstrip())
    return "\n".join(lines)


def st2_app_context(
    execution_id: str = "0" * 24, user: str = "stanley", pack: str = "avamar", action: str = ""
) -> Dict[str, Any]:
    """The context st2 hands the conductor (and inspect) for a run started by ``user``."""
    run = WorkflowRun(execution_id=execution_id, action_ref=action, context={"user": user, "pack": pack})
    return workflow_st2_context(run, "http://127.0.0.1:9101/v1")


# (path, mtime_ns, size) -> (spec, serialized graph). orquesta 1.2.0 takes seconds to inspect
# the pack's workflow and to compose its graph; both depend only on the definition, so one run
# of a runner pays and the others reuse them (st2 does both once per execution).
_SPEC_CACHE: Dict[Tuple[str, int, int], Tuple[native_specs.WorkflowSpec, Dict[str, Any]]] = {}


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


def new_conductor(path: str, app_ctx: Mapping[str, Any], inputs: Mapping[str, Any]) -> conducting.WorkflowConductor:
    """A conductor for one execution of the workflow at ``path`` (inspected, graph composed)."""
    stat = os.stat(path)
    key = (os.path.realpath(path), stat.st_mtime_ns, stat.st_size)
    if key not in _SPEC_CACHE:
        spec = load_workflow_spec(path, app_ctx)
        probe = conducting.WorkflowConductor(spec)
        _SPEC_CACHE[key] = (spec, probe.graph.serialize())
    spec, graph = _SPEC_CACHE[key]
    conductor = conducting.WorkflowConductor(spec, context=dict(app_ctx), inputs=dict(inputs))
    conductor._graph = graphing.WorkflowGraph.deserialize(copy.deepcopy(graph))  # what restore() sets
    return conductor


def _short_error(result: Any) -> str:
    if isinstance(result, dict):
        inner = result.get("result")
        if isinstance(inner, dict) and isinstance(inner.get("error"), dict):
            return str(inner["error"].get("reason"))[:200]
        if result.get("error"):
            return str(result["error"]).splitlines()[0][:200]
        if inner == "None":
            return f"no result (exit code {result.get('exit_code')})"
    return ""


class WorkflowEngine:
    """Conductor loops of the runner's workflow executions."""

    def __init__(self, runner: WorkflowRunner) -> None:
        self.runner = runner
        self._inquiries: Dict[str, Tuple[WorkflowRun, TaskRecord, Dict[str, Any]]] = {}

    # -- start ---------------------------------------------------------------------------------
    def begin(self, run: WorkflowRun) -> None:
        r = self.runner
        meta = r.pack.action(run.action_ref)
        app_ctx = workflow_st2_context(run, r.api.url)
        try:
            _, inputs = render_final_params(
                RUNNER_PARAMETERS["orquesta"], meta.parameters, run.parameters, run.context, r.config
            )
            run.conductor = new_conductor(meta.entry_point_path, app_ctx, inputs)
        except (ParamException, WorkflowInspectionError) as e:
            run.errors = [{"message": str(e)}]
            r._finish(run, "failed", {"output": None, "errors": run.errors})
            return
        r._set_status(run, "running")
        r.say(f"workflow {run.action_ref} started (execution {run.execution_id}, user {run.context.get('user')})")
        try:
            run.conductor.request_workflow_status(statuses.RUNNING)
        except exceptions.InvalidWorkflowStatusTransition:
            r.say("workflow failed before its first task (inputs or vars did not render)")
        self.advance(run)

    # -- the loop ------------------------------------------------------------------------------
    def advance(self, run: WorkflowRun) -> None:
        conductor = run.conductor
        while conductor.get_workflow_status() in statuses.RUNNING_STATUSES:
            next_tasks = conductor.get_next_tasks()
            if not next_tasks:
                break
            for task in next_tasks:
                for action_spec in task["actions"]:
                    if conductor.get_workflow_status() not in statuses.RUNNING_STATUSES:
                        break
                    self._task(run, task, action_spec)
        self._settle(run)

    def _settle(self, run: WorkflowRun) -> None:
        r, status = self.runner, run.conductor.get_workflow_status()
        if status == statuses.PAUSED:
            r._set_status(run, "paused")
            r.say(f"workflow {run.action_ref} {run.execution_id} paused")
            r.paused(run)
            return
        if status not in COMPLETED:
            return
        run.conductor.render_workflow_output()
        run.output = run.conductor.get_workflow_output()
        run.errors = copy.deepcopy(list(run.conductor.errors))
        result: Dict[str, Any] = {"output": run.output or None}
        if status in statuses.ABENDED_STATUSES:
            result["errors"] = run.errors
        outcome = (run.output or {}).get("outcome")
        r.say(f"workflow {run.action_ref} {status}" + (f": outcome {outcome}" if run.output else ""))
        for error in run.errors:
            if error.get("task_id") is None or "Execution failed" not in str(error.get("message")):
                r.say(f"  orquesta: {error.get('message')}")
        r._finish(run, status, result)

    def _fail_workflow(self, run: WorkflowRun, task: Mapping[str, Any], error: str) -> None:
        """st2's fail_workflow_execution: the workflow fails at once, no transition is evaluated."""
        run.conductor.log_error(ParamException(error), task_id=task["id"], route=task.get("route", 0))
        run.conductor.request_workflow_status(statuses.FAILED)
        self.runner.say(f"task {task['id']}: request refused: {error}")

    def _task(self, run: WorkflowRun, task: Dict[str, Any], action_spec: Mapping[str, Any]) -> None:
        r, conductor = self.runner, run.conductor
        action_ref, given = action_spec["action"], dict(action_spec.get("input") or {})
        occurrence = r.faults.count(run.execution_id, task["id"])
        if r.faults.take(("cancel-before",), run.action_ref, task["id"], occurrence):
            r.say(f"test hook: cancel requested before task {task['id']}")
            self.cancel(run, settle=False)
            return
        try:
            runner_type, action_params, _ = r._meta(action_ref)
        except KeyError as e:
            self._fail_workflow(run, task, str(e))
            return
        runner_params = RUNNER_PARAMETERS.get(runner_type, {})
        context = task_action_context(run, workflow_st2_context(run, r.api.url)["st2"], task, action_ref)
        try:
            params = render_live_params(runner_params, action_params, given, context, r.config)
            validate_parameters(action_ref, action_params, runner_params, params, fill_defaults=True)
        except (ParamException, ParameterValidationError) as e:
            self._fail_workflow(run, task, str(e))
            return
        record = TaskRecord(
            task["id"],
            action_ref,
            params,
            execution_id=new_id(),
            route=task.get("route", 0),
            start_timestamp=now_timestamp(),
        )
        run.tasks.append(record)
        conductor.update_task_state(task["id"], record.route, events.ActionExecutionEvent(statuses.RUNNING))
        r.say(f"task {task['id']}: {action_ref} ...")
        if action_ref == "core.ask":
            self._ask(run, task, record, params, context)
            return
        r.api.add_execution(
            action_ref,
            status="requested",
            context=context,
            parameters=params,
            parent=run.execution_id,
            runner=runner_type,
            execution_id=record.execution_id,
        )
        override = r.faults.take(("override",), run.action_ref, task["id"], occurrence)
        fault = r.faults.take(("exit", "exception", "hang"), run.action_ref, task["id"], occurrence)
        if r.faults.take(("cancel-during",), run.action_ref, task["id"], occurrence):
            r.say(f"test hook: cancel requested while task {task['id']} runs")
            self.cancel(run, settle=False)
        if override is not None:
            status, result = override.status, copy.deepcopy(override.result)
        else:
            status, result = r.run_action(
                action_ref, params, context, record.execution_id, (fault.kind, fault.seconds) if fault else None
            )
        record.status, record.result = status, result
        r.api.update_execution(record.execution_id, status=status, result=result)
        r.say(f"task {task['id']}: {status}" + (f": {_short_error(result)}" if status != "succeeded" else ""))
        r.emit_completion(record.execution_id, action_ref, runner_type, params, record.start_timestamp, status, result)
        conductor.update_task_state(task["id"], record.route, events.ActionExecutionEvent(status, result=result))

    # -- core.ask ------------------------------------------------------------------------------
    def _ask(
        self,
        run: WorkflowRun,
        task: Dict[str, Any],
        record: TaskRecord,
        params: Mapping[str, Any],
        context: Mapping[str, Any],
    ) -> None:
        r = self.runner
        runner_params, _ = render_final_params(RUNNER_PARAMETERS["inquirer"], {}, params, context, r.config)
        schema = runner_params.get("schema") or {
            "type": "object",
            "properties": {
                "continue": {
                    "type": "boolean",
                    "description": "Would you like to continue the workflow?",
                    "required": True,
                }
            },
        }
        inquiry = Inquiry(
            id=record.execution_id,
            schema=dict(schema),
            users=list(runner_params.get("users") or []),
            roles=list(runner_params.get("roles") or []),
            route=str(runner_params.get("route") or ""),
            ttl=int(runner_params.get("ttl") or 1440),
            api=r.api,
        )
        r.api.add_inquiry(
            parent=run.execution_id,
            users=inquiry.users,
            roles=inquiry.roles,
            schema=inquiry.schema,
            route=inquiry.route,
            ttl=inquiry.ttl,
            inquiry_id=inquiry.id,
        )
        r.api.update_execution(inquiry.id, context=context)  # the task's execution context, as st2 builds it
        run.inquiries.append(inquiry)
        self._inquiries[inquiry.id] = (run, record, task)
        record.status = "pending"
        r.dispatch_trigger(INQUIRY_TRIGGER, {"id": inquiry.id, "route": inquiry.route})
        run.conductor.update_task_state(task["id"], record.route, events.ActionExecutionEvent(statuses.PENDING))
        r.say(f"workflow {run.action_ref}: waiting for Inquiry {inquiry.id} (ttl {inquiry.ttl} min)")

    def run_of_inquiry(self, inquiry_id: str) -> WorkflowRun:
        if inquiry_id not in self._inquiries:
            raise KeyError(f"no Inquiry {inquiry_id} in this runner")
        return self._inquiries[inquiry_id][0]

    def inquiry_closed(self, inquiry_id: str) -> None:
        """The API answered or expired the Inquiry: resume its workflow (st2 request_resume)."""
        run, record, task = self._inquiries[inquiry_id]
        execution = self.runner.api.execution(inquiry_id)
        if record.status != "pending" or execution["status"] not in ("succeeded", "timeout"):
            return
        record.status, record.result = execution["status"], copy.deepcopy(execution["result"])
        inquiry = next(i for i in run.inquiries if i.id == inquiry_id)
        if record.status == "succeeded":
            inquiry.response = dict((record.result or {}).get("response") or {})
        run.closed_inquiries.add(inquiry_id)
        self.runner.emit_completion(
            inquiry_id, "core.ask", "inquirer", record.parameters, record.start_timestamp, record.status, record.result
        )
        if run.status in ("canceled", "canceling") or run.conductor.get_workflow_status() in COMPLETED:
            return  # st2: the Inquiry of a canceled workflow changes nothing
        self.runner.say(
            f"Inquiry {inquiry_id} {'answered' if record.status == 'succeeded' else 'timed out'}; "
            f"workflow {run.execution_id} resumes"
        )
        run.conductor.request_workflow_status(statuses.RESUMING)
        self.runner._set_status(run, "running")
        event = events.ActionExecutionEvent(record.status, result=copy.deepcopy(record.result))
        run.conductor.update_task_state(task["id"], record.route, event)
        self.advance(run)

    # -- cancel --------------------------------------------------------------------------------
    def cancel(self, run: WorkflowRun, settle: bool = True) -> None:
        """orquesta_runner.cancel: conductor canceled (canceling while a task is active)."""
        run.cancel_requested = True
        if run.conductor.get_workflow_status() not in COMPLETED:
            run.conductor.request_workflow_status(statuses.CANCELED)
        self.runner._set_status(run, "canceling")
        if settle:
            self._settle(run)
