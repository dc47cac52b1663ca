"""The local st2: executions requested by ``st2 run``, rules and chat, several at once.

One ``WorkflowRunner`` holds the fake st2 API (``st2_api.FakeSt2Api``), the pack's rules and
policies, and every execution. Work is done synchronously, in the order st2's services would
do it, through one queue: requesting an execution (policy, then run), a workflow's tasks
(``workflow_engine.py``), an answered or expired Inquiry (resume the paused workflow), a
completed execution (``core.st2.generic.actiontrigger`` to the rules, delayed executions
re-evaluated). ``start()`` returns when nothing is left to do: its run is then ``paused`` at a
``core.ask``, ``delayed`` by a policy, or completed. See README.md for what differs from st2.
"""

from __future__ import annotations

import collections
import datetime
import sys
import threading
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, TextIO, Tuple

from avamar_pack.schema_defaults import fill_like_st2

from st2_local.action_runner import ActionRunner
from st2_local.alias_exec import load_aliases
from st2_local.builtin_actions import BUILTIN_ACTIONS
from st2_local.chat_transcript import ChatTranscript
from st2_local.executions import (
    ACTION_TRIGGER,
    COMPLETED,
    SYSTEM_USER,
    RuleEnforcement,
    WorkflowRun,
    WorkflowRunError,
    action_trigger_payload,
    now_timestamp,
    validate_parameters,
)
from st2_local.faults import Faults
from st2_local.inquiries import Answerer
from st2_local.live_params import RUNNER_PARAMETERS, ParamException, render_final_params, render_live_params
from st2_local.operations import OperationsMixin
from st2_local.pack_loader import Pack
from st2_local.policies import decide, load_policies
from st2_local.rules import criteria_match, enforcement_context, rule_action_spec, rule_matches_trigger
from st2_local.st2_api import ApiAnswer, FakeSt2Api
from st2_local.st2_executions import new_id
from st2_local.workflow_engine import WorkflowEngine, WorkflowInspectionError, load_workflow_spec, st2_app_context

__all__ = [
    "WorkflowRunner",
    "WorkflowRun",
    "WorkflowRunError",
    "WorkflowInspectionError",
    "RuleEnforcement",
    "load_workflow_spec",
    "st2_app_context",
    "ApiAnswer",
]


def pack_config_like_st2(pack: Pack, config: Mapping[str, Any]) -> Dict[str, Any]:
    """The config as st2's config loader hands it to actions and sensors: ``pack``'s schema
    applied by the one home of that rule, ``avamar_pack.schema_defaults.fill_like_st2``."""
    return fill_like_st2(config, pack.config_schema)


class WorkflowRunner(OperationsMixin):
    """Executions of one pack on the local runner (python actions in subprocesses, chat printed)."""

    def __init__(
        self,
        pack: Pack,
        config: Mapping[str, Any],
        answerer: Optional[Answerer] = None,
        transcript: Optional[ChatTranscript] = None,
        progress: Optional[TextIO] = None,
        user: str = SYSTEM_USER,
        faults: Optional[Faults] = None,
        api: Optional[FakeSt2Api] = None,
        common_libs: bool = False,
    ) -> None:
        self.pack = pack
        self.config = pack_config_like_st2(pack, config)
        self.answerer = answerer
        self.transcript = transcript or ChatTranscript(quiet=True)
        self.progress = progress
        self.user = user
        self.faults = faults or Faults()
        self.api = api or FakeSt2Api()
        self._own_api = api is None
        self.api.start()
        self.api.on_response = self._on_inquiry_response
        self.actions = ActionRunner(pack, self.config, common_libs=common_libs)
        self.policies = load_policies(pack)
        self.aliases = load_aliases(pack)
        self.alias_runs: Dict[str, Any] = {}  # execution id -> the alias that requested it
        self.runs: Dict[str, WorkflowRun] = {}
        self.triggers: List[Tuple[str, Dict[str, Any]]] = []
        self.enforcements: List[RuleEnforcement] = []
        self._delayed: List[WorkflowRun] = []
        self._queue: Deque[Callable[[], None]] = collections.deque()
        self._queue_lock = threading.Lock()
        self._draining = False
        self.engine = WorkflowEngine(self)

    # -- life cycle -------------------------------------------------------------------------
    def close(self) -> None:
        self.actions.close()
        if self._own_api:
            self.api.close()

    def __enter__(self) -> WorkflowRunner:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def say(self, text: str) -> None:
        if self.progress is not None:
            stamp = datetime.datetime.now().strftime("%H:%M:%S")
            self.progress.write(f"[{stamp}] {text}\n")
            self.progress.flush()

    # -- the queue --------------------------------------------------------------------------
    def enqueue(self, work: Callable[[], None]) -> None:
        with self._queue_lock:
            self._queue.append(work)

    def drain(self) -> None:
        """Do queued work until none is left (re-entrant calls return at once)."""
        if self._draining:
            return
        self._draining = True
        try:
            while True:
                with self._queue_lock:
                    if not self._queue:
                        return
                    work = self._queue.popleft()
                work()
        finally:
            self._draining = False

    wait_idle = drain

    # -- requesting executions --------------------------------------------------------------
    def _meta(self, ref: str) -> Tuple[str, Dict[str, Any], Optional[Any]]:
        if ref in BUILTIN_ACTIONS:
            runner_type, params = BUILTIN_ACTIONS[ref]
            return runner_type, params, None
        meta = self.pack.action(ref)
        return meta.runner_type, meta.parameters, meta

    def request(
        self,
        ref: str,
        parameters: Mapping[str, Any],
        context: Mapping[str, Any],
        additional: Optional[Mapping[str, Any]] = None,
        render_live: bool = True,
    ) -> WorkflowRun:
        """Create one root execution (st2api / rules engine / alias path) and queue its scheduling.

        Raises ParamException or ParameterValidationError when st2 would refuse the request.
        """
        runner_type, action_params, _ = self._meta(ref)
        runner_params = RUNNER_PARAMETERS.get(runner_type, {})
        context = {**dict(context), "pack": ref.split(".", 1)[0]}
        params = dict(parameters)
        if render_live:
            params = render_live_params(runner_params, action_params, params, context, self.config, additional)
        validate_parameters(ref, action_params, runner_params, params, fill_defaults=True)
        run = WorkflowRun(
            execution_id=new_id(),
            action_ref=ref,
            runner_type=runner_type,
            parameters=params,
            context=context,
            start_timestamp=now_timestamp(),
        )
        self.api.add_execution(
            ref,
            status="requested",
            context=context,
            parameters=params,
            runner=runner_type,
            execution_id=run.execution_id,
        )
        self.runs[run.execution_id] = run
        self._schedule(run)
        return run

    def _failed_request(
        self, ref: str, params: Mapping[str, Any], context: Mapping[str, Any], error: str
    ) -> WorkflowRun:
        runner_type = self._meta(ref)[0]
        run = WorkflowRun(
            execution_id=new_id(),
            action_ref=ref,
            runner_type=runner_type,
            parameters=dict(params),
            context={**dict(context), "pack": ref.split(".", 1)[0]},
            start_timestamp=now_timestamp(),
        )
        self.api.add_execution(
            ref,
            status="requested",
            context=run.context,
            parameters=run.parameters,
            runner=runner_type,
            execution_id=run.execution_id,
        )
        self.runs[run.execution_id] = run
        self._finish(run, "failed", {"error": error, "traceback": ""})
        return run

    def start(
        self,
        ref: str,
        parameters: Mapping[str, Any],
        user: Optional[str] = None,
        context: Optional[Mapping[str, Any]] = None,
    ) -> WorkflowRun:
        """``st2 run <ref> k=v`` by ``user``: returns once the run is paused, delayed or completed."""
        ctx = {"user": user or self.user, **dict(context or {})}
        run = self.request(ref, parameters, ctx)
        self.drain()
        return run

    def _set_status(self, run: WorkflowRun, status: str, result: Any = None) -> None:
        run.status = status
        if result is not None:
            run.result = result
        self.api.update_execution(run.execution_id, status=status, result=result)

    def _schedule(self, run: WorkflowRun) -> None:
        """The scheduler, at once on request: policies (apply_before), then queue the run."""
        if run.status in COMPLETED or run.status == "scheduled":
            return
        verdict = decide(
            self.policies,
            run.action_ref,
            run.execution_id,
            run.parameters,
            self.api.list_executions(action=run.action_ref, limit=10**6),
        )
        if verdict == "delayed":
            if run not in self._delayed:
                self._delayed.append(run)
                self.say(
                    f"{run.action_ref} {run.execution_id} delayed by policy (another run with the same "
                    f"attributes is scheduled or running)"
                )
            self._set_status(run, "delayed")
            return
        if verdict == "canceled":
            self._finish(run, "canceled", {"message": "canceled by policy"})
            return
        if run in self._delayed:
            self._delayed.remove(run)
        self._set_status(run, "scheduled")
        self.enqueue(lambda: self._launch(run))

    def _launch(self, run: WorkflowRun) -> None:
        if run.status != "scheduled":
            return  # canceled meanwhile
        if run.runner_type == "orquesta":
            self.engine.begin(run)
        else:
            self._run_root_action(run)

    def _retry_delayed(self) -> None:
        for run in list(self._delayed):
            self._schedule(run)

    def _run_root_action(self, run: WorkflowRun) -> None:
        run.status = "running"
        status, result = self.run_action(run.action_ref, run.parameters, run.context, run.execution_id, None)
        self._finish(run, status, result)

    def run_action(
        self,
        ref: str,
        live_params: Mapping[str, Any],
        context: Mapping[str, Any],
        execution_id: str,
        fault: Optional[Tuple[str, int]],
    ) -> Tuple[str, Any]:
        """Run one non-workflow, non-ask action of an existing execution: (status, result)."""
        from st2_local.builtin_actions import run_builtin

        runner_type, action_params, meta = self._meta(ref)
        self._set_api_status(execution_id, "running")
        try:
            runner_params, params = render_final_params(
                RUNNER_PARAMETERS.get(runner_type, {}), action_params, live_params, context, self.config
            )
        except ParamException as e:
            return "failed", {"error": str(e)}
        if meta is None:
            return run_builtin(ref, params, self.transcript)
        if runner_type != "python-script":
            return "failed", {"error": f"{ref}: runner {runner_type} is not supported here"}
        kind = None
        if fault is not None:
            kind, seconds = fault
            if kind == "hang":
                runner_params = {**runner_params, "timeout": seconds}
        env = {"ST2_ACTION_PACK_NAME": self.pack.ref, "ST2_ACTION_DEBUG": "False", **self.api.action_env(execution_id)}
        outcome = self.actions.run(meta, params, runner_params, env, fault=kind)
        return outcome.status, outcome.result

    def _set_api_status(self, execution_id: str, status: str) -> None:
        self.api.update_execution(execution_id, status=status)

    def _finish(self, run: WorkflowRun, status: str, result: Any) -> None:
        """A root execution completed: record it, tell the rules, let delayed runs go."""
        self._set_status(run, status, result)
        if run in self._delayed:
            self._delayed.remove(run)
        self.say(f"{run.action_ref} {run.execution_id} {status}")
        if run.execution_id in self.alias_runs:
            self.alias_completed(run)
        self.emit_completion(
            run.execution_id, run.action_ref, run.runner_type, run.parameters, run.start_timestamp, status, result
        )
        self.enqueue(self._retry_delayed)

    def emit_completion(
        self,
        execution_id: str,
        action_ref: str,
        runner_type: str,
        parameters: Mapping[str, Any],
        start_timestamp: str,
        status: str,
        result: Any,
    ) -> None:
        """The notifier: ``core.st2.generic.actiontrigger`` for every completed execution
        (parameters marked ``secret`` masked, as ``get_masked_parameters`` does)."""
        record = WorkflowRun(execution_id=execution_id, status=status, result=result)
        schema = {**RUNNER_PARAMETERS.get(runner_type, {}), **self._meta(action_ref)[1]}
        masked = {k: "********" if (schema.get(k) or {}).get("secret") else v for k, v in parameters.items()}
        payload = action_trigger_payload(record, action_ref, runner_type, masked, start_timestamp)
        self.dispatch_trigger(ACTION_TRIGGER, payload)

    def paused(self, run: WorkflowRun) -> None:
        """A workflow paused (core.ask): it no longer counts for policies."""
        self.enqueue(self._retry_delayed)

    # -- rules --------------------------------------------------------------------------------
    def dispatch_trigger(
        self, trigger_type: str, payload: Mapping[str, Any], trigger_parameters: Optional[Mapping[str, Any]] = None
    ) -> List[RuleEnforcement]:
        """A trigger instance: every matching rule requests its action (rendered like st2's
        rules engine: ``trigger`` in the context, user ``stanley``)."""
        self.triggers.append((trigger_type, dict(payload)))
        instance_id = new_id()
        fired: List[RuleEnforcement] = []
        for rule in self.pack.rules:
            if not rule_matches_trigger(rule, trigger_type, trigger_parameters) or not criteria_match(rule, payload):
                continue
            rule_ref = f"{rule.get('pack', self.pack.ref)}.{rule['name']}"
            ref, params = rule_action_spec(rule)
            context = enforcement_context(rule, self.pack.ref, instance_id, ref.split(".", 1)[0])
            try:
                run = self.request(ref, params, context, additional={"trigger": dict(payload)})
                self.say(f"rule {rule_ref} matched {trigger_type}: requested {ref} ({run.execution_id})")
                fired.append(RuleEnforcement(rule_ref, ref, run))
            except ParamException as e:
                # st2's enforcer: the execution is created, then marked failed with the error.
                run = self._failed_request(ref, params, context, str(e))
                self.say(f"rule {rule_ref} matched {trigger_type}: {ref} failed to render: {e}")
                fired.append(RuleEnforcement(rule_ref, ref, run, str(e)))
            except (KeyError, ValueError) as e:  # unknown action or schema refused: no execution
                self.say(f"rule {rule_ref} matched {trigger_type}: {ref} refused: {e}")
                fired.append(RuleEnforcement(rule_ref, ref, None, str(e)))
        self.enforcements.extend(fired)
        self.drain()
        return fired

    # -- cancel -------------------------------------------------------------------------------
    def cancel(self, run: WorkflowRun, requester: Optional[str] = None) -> WorkflowRun:
        """``st2 execution cancel``: a delayed/requested run ends canceled at once; a paused
        workflow ends canceled (its Inquiry stays pending, as in st2)."""
        if run.status in COMPLETED:
            raise WorkflowRunError(f"execution {run.execution_id} is already {run.status}")
        who = requester or run.context.get("user", SYSTEM_USER)
        self.api.update_execution(run.execution_id, context={"cancelled_by": who})
        if run.conductor is None:
            self._finish(run, "canceled", {"message": "Action canceled by user.", "user": who})
        else:
            self.engine.cancel(run)
        self.drain()
        return run


def stderr_progress() -> TextIO:
    return sys.stderr
