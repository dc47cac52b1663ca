"""The local runner's StackStorm semantics, on a tiny pack (tinypack.py) and on the pack itself.

Each test names the st2 v3.9.0 behaviour it holds the runner to.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml
from st2_local.chat_transcript import ChatTranscript
from st2_local.executions import ParameterValidationError
from st2_local.faults import Faults
from st2_local.live_params import ParamException, render_final_params, render_live_params
from st2_local.pack_loader import PACK_ROOT, load_pack
from st2_local.st2_api import ApiAnswer
from st2_local.workflow_runner import WorkflowRunner
from tinypack import write_tiny_pack
from wfkit import ACTION_TRIGGER_KEYS, SERVER, node_config

PACK = load_pack()


@pytest.fixture
def tiny(tmp_path):
    """A runner over the tiny pack; closed after the test."""
    pack = load_pack(write_tiny_pack(str(tmp_path / "tiny")))
    runners = []

    def make(faults=None, **kwargs):
        runner = WorkflowRunner(pack, {}, transcript=ChatTranscript(quiet=True), faults=faults, **kwargs)
        runners.append(runner)
        return runner

    yield make
    for runner in runners:
        runner.close()


def api_statuses(runner, execution_id):
    return [entry["status"] for entry in runner.api.execution(execution_id)["log"]]


def action_triggers(runner, action_ref):
    return [p for t, p in runner.triggers if t == "core.st2.generic.actiontrigger" and p["action_ref"] == action_ref]


# -- parameters (st2common/util/param.py) ------------------------------------------------------
def test_live_params_render_jinja_defaults_from_config_and_cast_them():
    meta = PACK.action("avamar.remediate_session_tickets")
    config = {"approval": {"users": ["alice"], "ttl_minutes": 30}, "remediation": {"serial_margin": 500}}
    live = render_live_params({}, meta.parameters, {"server": "ava01"}, {"user": "stanley"}, config)
    assert live["server"] == "ava01"
    for name, spec in meta.parameters.items():  # every Jinja default is rendered and cast to its type
        if isinstance(spec.get("default"), str) and "{{" in spec["default"]:
            assert not isinstance(live[name], str) or spec.get("type") == "string", name


def test_trigger_object_parameter_is_a_dict_and_runner_parameters_never_reach_the_action():
    schema = {"payload": {"type": "object"}, "count": {"type": "integer"}, "timeout": {"type": "integer"}}
    trigger = {"server": "ava01", "codes": [5704], "ok": True, "none": None}
    live = render_live_params(
        {},
        schema,
        {"payload": "{{ trigger }}", "count": "{{ trigger.codes[0] }}"},
        {"user": "stanley"},
        {},
        {"trigger": trigger},
    )
    assert live == {"payload": trigger, "count": 5704}
    runner_params, action_params = render_final_params(
        {"timeout": {"type": "integer", "default": 600}}, schema, {"timeout": 5}, {"user": "stanley"}, {}
    )
    assert runner_params == {"timeout": 5} and "timeout" not in action_params  # st2's _split_params
    with pytest.raises(ParamException, match="undefined|Dependency"):
        render_live_params({}, schema, {"count": "{{ nothing.here }}"}, {}, {})


def test_rule_started_and_st2_run_render_the_same_parameters(tiny):
    runner = tiny()
    trigger = {"server": "ava01", "count": 3, "codes": [5704]}
    [enforcement] = runner.dispatch_trigger("tiny.event", trigger)
    assert enforcement.run.context["user"] == "stanley" and enforcement.run.context["rule"]["name"] == "event"
    by_hand = runner.start("tiny.takes_object", {"payload": trigger, "count": 3})
    assert enforcement.run.parameters == by_hand.parameters == {"payload": trigger, "count": 3}
    assert enforcement.run.result["result"] == by_hand.result["result"] == {"payload": trigger, "count": 3}


def test_the_packs_rule_and_st2_run_give_the_workflow_the_same_parameters():
    """Issue 15 item 4, through st2's rendering: rule (``trigger`` in the context, user stanley) and
    ``st2 run`` (the payload typed as the ``detection`` object) give identical live parameters."""
    meta = PACK.action("avamar.remediate_session_tickets")
    ref, rule_params = (
        PACK.rule("avamar.remediate_on_auth_failure")["action"]["ref"],
        PACK.rule("avamar.remediate_on_auth_failure")["action"]["parameters"],
    )
    line = "2026-12-01 17:22:13 avtar FATAL <5704>: Fatal Server Error occurred (MSG_ERR_AUTH_FAIL) & 'x'"
    payload = {"server": "ava01", "client": "web01", "codes": [5704], "count": 2, "source": "file", "line": line}
    config = {"servers": {}}
    by_rule = render_live_params(
        {}, meta.parameters, rule_params, {"user": "stanley", "pack": "avamar"}, config, {"trigger": payload}
    )
    by_hand = render_live_params(
        {}, meta.parameters, {"server": "ava01", "detection": payload}, {"user": "stanley", "pack": "avamar"}, config
    )
    assert ref == "avamar.remediate_session_tickets"
    assert by_rule == by_hand and by_rule["detection"] == payload


def test_a_rule_parameter_that_does_not_render_leaves_a_failed_execution(tiny):
    runner = tiny()
    [enforcement] = runner.dispatch_trigger("tiny.event", {"server": "ava01"})  # no `count` in the payload
    assert enforcement.run.status == "failed" and "count" in enforcement.run.result["error"]
    assert runner.api.execution(enforcement.run.execution_id)["status"] == "failed"


def test_a_request_st2_would_refuse_creates_nothing(tiny):
    runner = tiny()
    for bad in ({"server": "a", "servre": "b"}, {}, {"server": "a", "spawn": "maybe"}):
        with pytest.raises((ParameterValidationError, ParamException)):
            runner.start("tiny.flow", bad)
    assert runner.api.list_executions() == []


# -- the python runner (contrib/runners/python_runner) ----------------------------------------------
def test_python_action_env_token_and_result_shape(tiny):
    runner = tiny()
    run = runner.start("tiny.shapes", {"server": "s1"}, user="carol")
    assert run.status == "succeeded"
    assert set(run.result) == {"stdout", "stderr", "exit_code", "result"} and run.result["exit_code"] == 0
    assert run.result["stdout"] == "to stdout\n"
    env = run.result["result"]["env"]
    assert env["ST2_ACTION_EXECUTION_ID"] == run.execution_id and env["ST2_ACTION_PACK_NAME"] == "tiny"
    assert env["ST2_ACTION_API_URL"] == runner.api.url
    assert runner.api.tokens[env["ST2_ACTION_AUTH_TOKEN"]] == "carol"  # a token of the execution's user
    assert run.result["result"]["timeout_seen"] is None  # `timeout` is the runner's, not the action's


def test_the_datastore_is_shared_by_the_actions_of_one_runner(tiny):
    runner = tiny()
    assert runner.start("tiny.kv", {"key": "k", "value": "v1"}).result["result"] == {"value": "v1"}
    assert runner.start("tiny.kv", {"key": "k"}).result["result"] == {"value": "v1"}
    assert tiny().start("tiny.kv", {"key": "k"}).result["result"] == {"value": None}  # another runner


@pytest.mark.parametrize("how", ["exit", "exception"])
def test_a_crashed_action_gives_st2s_string_none(tiny, how):
    runner = tiny(Faults().crash("first", how=how))
    run = runner.start("tiny.flow", {"server": "s1"})
    first = run.task("first")
    assert first.status == "failed" and first.result["result"] == "None" and first.result["exit_code"] == 1
    assert run.ran("report") and not run.ran("approval") and run.status == "succeeded"
    assert run.output["first"]["result"] == "None"


def test_false_status_and_exceptions_of_the_action_itself(tiny):
    runner = tiny()
    failed = runner.start("tiny.shapes", {"mode": "false"})
    assert failed.status == "failed" and failed.result["result"] == {"error": {"step": "s", "reason": "r"}}
    raised = runner.start("tiny.shapes", {"mode": "raise"})
    assert raised.status == "failed" and raised.result["result"] == "None"
    assert "RuntimeError: boom" in raised.result["stderr"]


def test_a_runner_timeout_gives_st2s_timeout_shape(tiny):
    runner = tiny(Faults().timeout("first", seconds=1))
    run = runner.start("tiny.flow", {"server": "s1"})
    first = run.task("first")
    assert first.status == "timeout" and first.result["exit_code"] == -9 and first.result["result"] == "None"
    assert first.result["error"] == "Action failed to complete in 1 seconds"
    assert run.ran("report")


def test_result_override_hook_for_shapes_no_real_fault_makes(tiny):
    runner = tiny(Faults().result("first", "failed", None))
    run = runner.start("tiny.flow", {"server": "s1"})
    assert run.task("first").result is None and run.ran("report") and run.output["first"] is None


# -- Inquiries (inquirer runner, services/inquiry.py) --------------------------------------------------
def test_paused_runs_wait_side_by_side_and_resume_on_an_allowed_answer(tiny):
    runner = tiny()
    one = runner.start("tiny.flow", {"server": "s1"})
    two = runner.start("tiny.flow", {"server": "s2"})
    assert (one.status, two.status) == ("paused", "paused")
    assert runner.api.execution(one.execution_id)["status"] == "paused"
    inquiry = two.pending_inquiry
    assert ("core.st2.generic.inquiry", {"id": inquiry.id, "route": "tiny"}) in runner.triggers
    with pytest.raises(ApiAnswer) as refused:
        runner.respond(inquiry.id, {"approved": True}, requester="mallory")
    assert refused.value.code == 403 and two.status == "paused"
    runner.respond(inquiry.id, {"approved": True}, requester="alice")
    assert two.status == "succeeded" and two.output["answer"] == {"approved": True} and two.ran("after")
    assert runner.api.execution(two.execution_id)["context"]["resumed_by"] == "alice"
    assert one.status == "paused"
    runner.expire(one.pending_inquiry.id)
    assert one.status == "succeeded" and one.output["answer"] == "expired" and one.task("approval").status == "timeout"


def test_an_alias_execution_answers_with_the_bots_token_and_api_user_context(tiny):
    runner = tiny()
    run = runner.start("tiny.flow", {"server": "s1"})
    inquiry_id = run.pending_inquiry.id
    reply = runner.chat_command(f"!tiny approve {inquiry_id}", chat_user="alice", bot_user="chatops_bot")
    assert reply.status == "succeeded", reply.result
    assert reply.context["action_alias_ref"]["name"] == "approve"
    assert {k: v for k, v in reply.context.items() if k != "action_alias_ref"} == {
        "api_user": "alice",
        "user": "chatops_bot",
        "source_channel": "avamar",
        "pack": "tiny",
    }
    assert reply.parameters == {"inquiry_id": inquiry_id, "approved": True}
    acked, answered = [m.message for m in runner.transcript.messages][-2:]  # st2api's ack, chatops' result
    assert acked == f"answering {inquiry_id}" and answered == "answer sent: succeeded (200)"
    assert run.status == "succeeded"
    assert runner.api.execution(run.execution_id)["context"]["resumed_by"] == "chatops_bot"


# -- cancel (orquesta_runner.cancel) and the action trigger (notifier) ---------------------------------
def test_cancel_a_paused_run_runs_the_rule_on_the_action_trigger(tiny):
    runner = tiny()
    run = runner.start("tiny.flow", {"server": "s1"})
    inquiry = run.pending_inquiry
    runner.cancel(run)
    assert run.status == "canceled" and not run.ran("after")
    assert runner.api.execution(inquiry.id)["status"] == "pending"  # st2 leaves the Inquiry as it is
    [payload] = action_triggers(runner, "tiny.flow")
    assert payload["status"] == "canceled" and payload["execution_id"] == run.execution_id
    assert set(payload) == ACTION_TRIGGER_KEYS
    [cleanup] = [e for e in runner.enforcements if e.rule == "tiny.on_cancel"]
    assert cleanup.run.status == "succeeded" and cleanup.run.parameters["note"] == "canceled"


@pytest.mark.parametrize("when", ["before", "during"])
def test_cancel_at_a_task(tiny, when):
    runner = tiny(Faults().cancel("first", when=when))
    run = runner.start("tiny.flow", {"server": "s1"})
    assert run.status == "canceled" and not run.ran("approval")
    assert run.ran("first") is (when == "during")  # a running python task finishes, as in st2
    assert "canceling" in api_statuses(runner, run.execution_id)
    assert [e.rule for e in runner.enforcements if e.run and e.run.parameters.get("note") == "canceled"]


# -- policies (action.concurrency.attr) --------------------------------------------------------------
def test_concurrency_attr_delays_while_running_not_while_paused(tiny):
    runner = tiny()
    first = runner.start("tiny.flow", {"server": "s1", "spawn": True})
    [spawned] = [e.run for e in runner.enforcements if e.rule == "tiny.spawn"]
    # Requested while `first` ran: delayed; started once `first` paused at core.ask.
    assert "delayed" in api_statuses(runner, spawned.execution_id)
    assert first.status == "paused" and spawned.status == "paused"
    other = runner.start("tiny.flow", {"server": "s1"})  # both s1 runs are paused: nothing counts
    assert other.status == "paused" and "delayed" not in api_statuses(runner, other.execution_id)


# -- the pack's own workflow through the CLI -----------------------------------------------------------
def test_cli_runs_the_workflow_and_says_it_is_not_stackstorm(make_sim_node, tmp_path):
    node = make_sim_node("mcs_restored_old_flush")
    node.run_backup("client00")
    config_path = tmp_path / "avamar.yaml"
    config_path.write_text(yaml.safe_dump(node_config(node, users=["alice"])))
    # Prepend, never replace: st2-run-pack-tests puts StackStorm's own libraries on PYTHONPATH.
    paths = [os.path.join(PACK_ROOT, d) for d in ("lib", "simulator", "runner")]
    inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths + inherited))
    env.pop("APPROVE", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "st2_local",
            "run",
            "avamar.remediate_session_tickets",
            f"server={SERVER}",
            "--config",
            str(config_path),
            "--answer",
            "no",
            "--reason",
            "later",
        ],
        cwd=PACK_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "production runs in StackStorm" in proc.stderr
    result = json.loads(proc.stdout[proc.stdout.index('{\n  "status"') :])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert result["status"] == "succeeded" and result["output"]["outcome"] == "rejected"
