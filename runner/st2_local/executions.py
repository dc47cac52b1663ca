"""Execution records of the local runner and the st2 shapes built from them.

An execution is what st2 stores for each action run: the workflow, each of its tasks (with
``parent`` = the workflow's execution), each rule- or alias-started action. Its context, the
workflow's ``ctx(st2)``, the task action's context, the parameter schema check at request and
the ``core.st2.generic.actiontrigger`` payload are built here as st2 v3.9.0 builds them
(st2api's executions controller, ``orquesta_runner._construct_st2_context``,
``workflows.request_action_execution``, ``action_service.create_request``, the notifier).
"""

from __future__ import annotations

import copy
import datetime
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Set

import jsonschema

from st2_local.inquiries import Inquiry

ACTION_TRIGGER = "core.st2.generic.actiontrigger"
INQUIRY_TRIGGER = "core.st2.generic.inquiry"
SYSTEM_USER = "stanley"
COMPLETED = ("succeeded", "failed", "timeout", "canceled", "abandoned")
# Keys of st2 parameter metadata that are not JSON schema (st2 strips them before validating).
_NOT_SCHEMA = ("required", "immutable", "secret", "position", "default")


class WorkflowRunError(RuntimeError):
    """The local runner could not carry on (not a failure of the workflow itself)."""


class ParameterValidationError(ValueError):
    """st2 refuses the request (HTTP 400): parameters do not match the action's schema."""


@dataclass
class TaskRecord:
    task_id: str
    action: str
    parameters: Dict[str, Any]
    execution_id: str = ""
    route: int = 0
    status: str = "requested"
    result: Any = None
    start_timestamp: str = ""


@dataclass
class WorkflowRun:
    """One execution started by start(), a rule or an alias (a workflow, or a single action)."""

    execution_id: str
    action_ref: str = ""
    runner_type: str = "orquesta"
    parameters: Dict[str, Any] = field(default_factory=dict)
    context: Dict[str, Any] = field(default_factory=dict)
    status: str = "requested"
    output: Optional[Dict[str, Any]] = None
    result: Any = None
    errors: List[Dict[str, Any]] = field(default_factory=list)
    tasks: List[TaskRecord] = field(default_factory=list)
    inquiries: List[Inquiry] = field(default_factory=list)
    start_timestamp: str = ""
    conductor: Any = None  # the orquesta conductor while the workflow lives
    cancel_requested: bool = False
    closed_inquiries: Set[str] = field(default_factory=set)  # answered or timed out

    def ran(self, task_id: str) -> bool:
        return any(t.task_id == task_id for t in self.tasks)

    def actions_run(self) -> List[str]:
        return [t.action for t in self.tasks]

    def task(self, task_id: str) -> TaskRecord:
        return [t for t in self.tasks if t.task_id == task_id][-1]

    @property
    def pending_inquiry(self) -> Optional[Inquiry]:
        pending = [i for i in self.inquiries if i.id not in self.closed_inquiries]
        return pending[-1] if pending else None

    @property
    def completed(self) -> bool:
        return self.status in COMPLETED


class RuleEnforcement:
    """One rule that matched a trigger instance, and the execution it requested (or why not)."""

    def __init__(self, rule: str, action_ref: str, run: Optional[WorkflowRun], error: Optional[str] = None) -> None:
        self.rule, self.action_ref, self.run, self.error = rule, action_ref, run, error

    def __repr__(self) -> str:
        return f"RuleEnforcement({self.rule} -> {self.action_ref}: {self.run.status if self.run else self.error})"


def now_timestamp() -> str:
    return str(datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None))


def workflow_st2_context(run: WorkflowRun, api_url: str) -> Dict[str, Any]:
    """``ctx()`` of a workflow: {"st2": {...}, "parent": execution context} (orquesta runner)."""
    st2 = {
        "action_execution_id": run.execution_id,
        "api_url": api_url,
        "user": run.context.get("user", SYSTEM_USER),
        "pack": run.context.get("pack"),
        "action": run.action_ref,
        "runner": run.runner_type,
    }
    for key in ("api_user", "source_channel"):
        if run.context.get(key):
            st2[key] = run.context[key]
    app_ctx: Dict[str, Any] = {"st2": st2}
    if run.context:
        app_ctx["parent"] = copy.deepcopy(run.context)
    return app_ctx


def task_action_context(
    run: WorkflowRun, st2_ctx: Mapping[str, Any], task: Mapping[str, Any], action_ref: str
) -> Dict[str, Any]:
    """Context of a task's action execution (``workflows.request_action_execution``)."""
    context: Dict[str, Any] = {
        "pack": action_ref.split(".", 1)[0],
        "user": st2_ctx.get("user"),
        "parent": copy.deepcopy(dict(st2_ctx)),
        "orquesta": {
            "workflow_execution_id": run.execution_id,
            "task_id": task["id"],
            "task_name": task.get("name", task["id"]),
            "task_route": task.get("route", 0),
        },
    }
    for key in ("api_user", "source_channel"):
        if st2_ctx.get(key):
            context[key] = st2_ctx[key]
    return context


def _plain(spec: Mapping[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in spec.items() if k not in _NOT_SCHEMA}


def validate_parameters(
    action_ref: str,
    action_params: Mapping[str, Any],
    runner_params: Mapping[str, Any],
    given: Mapping[str, Any],
    fill_defaults: bool = False,
) -> None:
    """``action_service.create_request``'s schema check: unknown keys, required keys, types.

    ``fill_defaults`` as st2's ``use_default=True``: missing values take their DEFAULT as
    written (a Jinja default is still a string here), which is why an alias execution of an
    action with an ``integer`` parameter whose default is Jinja fails in st2 (issue 11).
    """
    schemas = {**runner_params, **action_params}
    unknown = sorted(set(given) - set(schemas))
    if unknown:
        raise ParameterValidationError(
            f"{action_ref}: Additional properties are not allowed ({', '.join(repr(u) for u in unknown)} unexpected)"
        )
    instance = dict(given)
    if fill_defaults:
        for name, spec in schemas.items():
            if name not in instance and "default" in spec:
                instance[name] = spec["default"]
    for name, spec in schemas.items():
        if name not in instance or instance[name] is None:
            if spec.get("required") and name not in instance:
                raise ParameterValidationError(f"{action_ref}: '{name}' is a required property")
            continue
        try:
            jsonschema.Draft4Validator(_plain(spec)).validate(instance[name])
        except jsonschema.ValidationError as e:
            raise ParameterValidationError(f"{action_ref}: parameter {name!r}: {e.message}") from None


def action_trigger_payload(
    run_or_task: Any, action_ref: str, runner_type: str, parameters: Mapping[str, Any], start_timestamp: str
) -> Dict[str, Any]:
    """The notifier's ``core.st2.generic.actiontrigger`` payload for a completed execution."""
    return {
        "execution_id": run_or_task.execution_id,
        "status": run_or_task.status,
        "start_timestamp": start_timestamp,
        "action_name": action_ref,
        "action_ref": action_ref,
        "runner_ref": runner_type,
        "parameters": copy.deepcopy(dict(parameters)),
        "result": copy.deepcopy(run_or_task.result),
    }
