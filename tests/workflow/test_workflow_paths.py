"""Every path through avamar.remediate_session_tickets, on the real Orquesta conductor, against the simulator.

Each run goes through the local runner (runner/st2_local): python actions in their own process as
st2's python runner runs them, the fake st2 API for executions and Inquiries, the pack's rules.
"""

from __future__ import annotations

import re

import pytest
from st2_local.chat_transcript import ChatTranscript
from st2_local.faults import Faults
from st2_local.inquiries import fixed_answer
from wfkit import (
    FAST_PARAMS,
    MUTATING_TASKS,
    SERVER,
    WORKFLOW,
    WRITE_STEPS,
    answer_after,
    drifted,
    lock_is_free,
    make_runner,
    node_bytes,
    node_config,
    run_workflow,
    serials,
)

APPROVERS = {"users": ["alice", "bob"]}


def cfg(node, **approval):
    return node_config(node, **{**APPROVERS, **approval})


def run(node, answer=None, config=None, faults=None, **params):
    return run_workflow(node, answer=answer, config=config or cfg(node), faults=faults, **params)


def assert_nothing_changed(node, before_bytes) -> None:
    assert node_bytes(node) == before_bytes
    assert lock_is_free(node)


def test_remediated_end_to_end(make_sim_node):
    node = drifted(make_sim_node, restart_seconds=0.2)
    before = serials(node)

    detection = {"server": SERVER, "client": "<!channel>client00", "count": 2, "codes": [5704]}
    out = run(node, answer=fixed_answer("yes", "alice", "KB 000200098"), detection=detection)

    assert out.run.status == "succeeded", out.run.errors
    o = out.output
    assert o["outcome"] == "remediated", (o["error"], o["state_left"])
    assert o["approver"] == "alice"
    assert o["before"] == {"gsan_minserial": before["gsan"], "mcs_serial": int(before["srl"])}
    accepted = o["accepted_serial"]
    assert accepted > max(before["gsan"], int(before["srl"]))
    assert o["after"] == {"gsan_minserial": accepted, "mcs_serial": accepted}
    assert o["attempts"] >= 1 and o["test_backup"]["succeeded"] is True
    assert o["error"] is None and o["state_left"] is None and o["lock_release"] == "released"
    assert o["changes"] == {
        "gsan_serial": accepted,
        "gsan_attempted": True,
        "srl_written": accepted,
        "srl_previous": int(before["srl"]),
        "srl_backup": o["changes"]["srl_backup"],
        "srl_attempted": True,
        "mcs_restarted": True,
        "flushed": True,
        "recorded": True,
    }
    # The node really moved, MCS's flush holds the new serial, backups work again.
    state = node.state()
    assert state["gsan_minimal_serial"] == accepted and state["mcs_flushed_serial"] >= accepted
    assert int(serials(node)["srl"]) >= accepted
    assert node.run_backup("client00")["ok"] is True
    assert lock_is_free(node)
    assert out.tasks == [
        "prepare",
        "check_pending",
        "diagnose",
        "announce_detection",
        "check_safety",
        "announce_approval",
        "approval",
        "confirm_approval",
        "acquire_lock",
        "announce_takeover",
        "rediagnose",
        "announce_serial_change",
        "set_gsan_serial",
        "write_mcs_serial",
        "restart_mcs",
        "verify",
        "after_verify",
        "run_test_backup",
        "after_test_backup",
        "flush_mcs",
        "record_remediation",
        "release_lock",
        "report",
    ]
    steps = [e["step"] for e in o["timeline"]]
    assert steps == ["diagnose", "check_preconditions", "approval", "acquire_node_lock", "rediagnose", *WRITE_STEPS]
    assert all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", e["at"]) for e in o["timeline"])
    gsan_step = o["timeline"][5]
    assert (gsan_step["before"], gsan_step["after"]) == (before["gsan"], accepted)
    # Chat: detection with evidence, the approval request with its id and commands, the result.
    inquiry_id = out.run.inquiries[0].id
    chat = out.chat()
    assert "session-ticket serials out of sync" in chat and "*Evidence*" in chat
    assert "first failing client: `&lt;!channel&gt;client00` (2 failures)" in chat and "<!channel>" not in chat
    assert f"!avamar approve {inquiry_id}" in chat and f"!avamar reject {inquiry_id}" in chat
    assert f"remediated*: GSAN and MCS now on serial `{accepted}`" in chat
    owners = {t.parameters.get("lock_owner") for t in out.run.tasks if "lock_owner" in t.parameters}
    assert owners == {out.run.execution_id}


def test_in_sync_changes_nothing(make_sim_node):
    node = make_sim_node("healthy")
    before = node_bytes(node)
    out = run(node)
    assert (out.run.status, out.output["outcome"]) == ("succeeded", "in_sync")
    assert out.output["before"] == out.output["after"]
    assert out.tasks == ["prepare", "check_pending", "diagnose", "report"]
    assert not out.run.inquiries and "agree" in out.chat()
    assert_nothing_changed(node, before)


def test_unsafe_changes_nothing(make_sim_node):
    node = drifted(make_sim_node)
    node.set_scenario("maintenance_running")
    before = node_bytes(node)
    out = run(node)
    assert (out.run.status, out.output["outcome"]) == ("succeeded", "unsafe")
    assert out.output["reasons"], "an unsafe outcome says why"
    assert not set(MUTATING_TASKS) & set(out.tasks) and not out.run.inquiries
    assert "not safe to remediate now" in out.chat()
    assert_nothing_changed(node, before)


def test_a_running_restore_is_unsafe_and_named(make_sim_node):
    node = drifted(make_sim_node)
    activity = node.start_activity("restore", "/clients/fileserver01", hang=True)
    before = node_bytes(node)
    out = run(node)
    assert out.output["outcome"] == "unsafe", out.output
    assert str(activity) in " ".join(out.output["reasons"])
    assert not out.run.inquiries
    assert_nothing_changed(node, before)


def test_running_backups_are_named_in_the_approval_request(make_sim_node):
    node = drifted(make_sim_node, restart_seconds=0.2)
    node.start_activity("backup", "/clients/dbserver07", hang=True)
    out = run(node, answer=fixed_answer("no", "bob", "wait for the backup"))
    assert out.output["outcome"] == "rejected"
    request = [m.message for m in out.transcript.messages if "Approval needed" in m.message]
    assert request and "/clients/dbserver07" in request[0] and "Running on MCS now" in request[0]


def test_mcs_left_down_by_an_unfinished_restart_is_remediated(make_sim_node):
    node = make_sim_node("mcs_down", restart_seconds=0.2)
    before = serials(node)
    out = run(node)
    o = out.output
    assert (out.run.status, o["outcome"]) == ("succeeded", "remediated"), (o["error"], o["state_left"])
    assert o["accepted_serial"] > max(before["gsan"], int(before["srl"]))
    assert node.state()["mcs_status"] == "up"
    assert "MCS is down (dpnctl)" in out.chat()
    assert node.run_backup("client-after")["ok"] is True and lock_is_free(node)


def test_dry_run_reports_the_plan_and_changes_nothing(make_sim_node):
    node = drifted(make_sim_node)
    before = node_bytes(node)
    out = run(node, dry_run=True)
    assert (out.run.status, out.output["outcome"]) == ("succeeded", "dry_run")
    plan = out.output["plan"]
    assert [p["step"] for p in plan] == list(WRITE_STEPS)
    proposed = out.output["timeline"][0]["detail"].rsplit(" ", 1)[-1]
    assert f"serial {proposed}" in plan[0]["does"]
    assert not set(MUTATING_TASKS) & set(out.tasks) and not out.run.inquiries
    assert "dry run" in out.chat()
    assert_nothing_changed(node, before)


def test_rejected_changes_nothing(make_sim_node):
    node = drifted(make_sim_node)
    before = node_bytes(node)
    out = run(node, answer=fixed_answer("no", "bob", "change freeze"))
    assert (out.run.status, out.output["outcome"]) == ("succeeded", "rejected")
    assert out.output["approver"] == "bob"
    assert "rejected* by bob (change freeze)" in out.chat()
    assert not set(MUTATING_TASKS) & set(out.tasks) and "acquire_lock" not in out.tasks
    assert_nothing_changed(node, before)


def test_expired_changes_nothing(make_sim_node):
    node = drifted(make_sim_node)
    before = node_bytes(node)
    out = run(node, answer=fixed_answer("expire"))
    assert (out.run.status, out.output["outcome"]) == ("succeeded", "expired")
    assert out.output["approver"] is None and "approval expired" in out.chat()
    assert not set(MUTATING_TASKS) & set(out.tasks)
    assert_nothing_changed(node, before)


def test_no_approvers_configured_asks_nobody_and_changes_nothing(make_sim_node):
    node = drifted(make_sim_node)
    before = node_bytes(node)
    out = run(node, config=node_config(node, users=[]))
    assert (out.run.status, out.output["outcome"]) == ("failed", "failed")
    assert out.output["error"]["step"] == "prepare_remediation"
    assert "no approvers configured" in out.output["error"]["reason"]
    assert out.tasks == ["prepare", "assess_failure", "after_failure", "report"] and not out.run.inquiries
    assert "no approvers configured" in out.chat()
    assert_nothing_changed(node, before)


def test_unsafe_after_a_slow_approval_releases_the_lock(make_sim_node):
    node = drifted(make_sim_node)
    seen = {}

    def maintenance_starts_while_we_wait() -> None:
        node.set_scenario("maintenance_running")
        seen["before"] = node_bytes(node)

    out = run(node, answer=answer_after(maintenance_starts_while_we_wait))
    assert out.output["outcome"] == "unsafe" and out.output["approver"] == "alice"
    assert "acquire_lock" in out.tasks and "release_lock" in out.tasks
    assert not set(MUTATING_TASKS) & set(out.tasks)
    assert lock_is_free(node)


def test_approval_not_required_by_the_config_runs_straight_through(make_sim_node):
    node = drifted(make_sim_node, restart_seconds=0.2)
    out = run(node, answer=None, config=node_config(node, required=False), test_backup=False)
    assert (out.run.status, out.output["outcome"]) == ("succeeded", "remediated"), out.output["error"]
    assert not out.run.inquiries
    assert "run_test_backup" not in out.tasks and out.output["test_backup"] is None


# (workflow task, fault to inject, error.step in the output, tasks that must not have run)
FAILURES = [
    (
        "set_gsan_serial",
        ("avmaint", "error", {"match": "publickey"}),
        "set_gsan_minserial",
        ("write_mcs_serial", "restart_mcs", "verify", "run_test_backup"),
    ),
    (
        "write_mcs_serial",
        ("srl_write", "readonly", {}),
        "write_mcs_serial",
        ("restart_mcs", "verify", "run_test_backup"),
    ),
    ("restart_mcs", ("mcserver.sh", "no_restart", {}), "restart_mcs", ("verify", "run_test_backup")),
    ("run_test_backup", ("mccli", "error", {"match": "backup"}), "run_test_backup", ("flush_mcs",)),
]


@pytest.mark.parametrize("task,fault,step,not_run", FAILURES, ids=[f[0] for f in FAILURES])
def test_failure_names_the_step_the_state_and_stops(make_sim_node, task, fault, step, not_run):
    node = drifted(make_sim_node, restart_seconds=0.2)
    command, kind, opts = fault
    node.inject_fault(command, kind, **opts)
    out = run(node)

    assert (out.run.status, out.output["outcome"]) == ("failed", "failed")
    error = out.output["error"]
    assert error["step"] == step and error["reason"] and error["state_left"]
    assert task in out.tasks
    assert not set(not_run) & set(out.tasks), f"ran after the failure: {set(not_run) & set(out.tasks)}"
    assert out.tasks[-5:] == ["read_state", "assess_failure", "after_failure", "release_lock", "report"]
    assert out.output["lock_release"] == "released"
    node.clear_faults()
    assert lock_is_free(node)
    state = node.state()
    left = error["state_left"]
    # Cumulative and true: what the node holds now, read after the failure.
    assert f"GSAN minimal serial {state['gsan_minimal_serial']}" in left, left
    if step != "set_gsan_minserial":
        accepted = out.output["accepted_serial"]
        assert f"GSAN minimal serial set to {accepted}" in left, left
        if step == "write_mcs_serial":
            assert f"echo -n {accepted} > {node.srl_path} && mcserver.sh --restart" in left, left
            assert "MCS not restarted" in left
    chat = out.chat()
    assert f"FAILED at step `{step}`" in chat and "State left" in chat
    assert out.output["timeline"][-1]["status"] == "failed"


@pytest.mark.parametrize("test_backup", [True, False])
def test_still_out_of_sync_after_the_restart_is_failed_never_remediated(make_sim_node, test_backup):
    node = drifted(make_sim_node, restart_seconds=0.2)
    diagnosis = {
        "result": {
            "in_sync": False,
            "drift": "mcs_behind",
            "gsan_minserial": 40000,
            "mcs_serial": 39000,
            "findings": ["MCS still hands out 39000"],
        },
        "exit_code": 0,
        "stdout": "",
        "stderr": "",
    }
    faults = Faults().result("verify", "succeeded", diagnosis)
    out = run(node, faults=faults, test_backup=test_backup)
    assert (out.run.status, out.output["outcome"]) == ("failed", "failed")
    assert out.output["error"]["step"] == "verify"
    assert "still do not agree" in out.output["error"]["reason"]
    assert "run_test_backup" not in out.tasks and "flush_mcs" not in out.tasks
    assert "MCS restarted" in out.output["state_left"]
    assert lock_is_free(node)


def test_chat_down_does_not_change_the_outcome(make_sim_node):
    class ChatDown(ChatTranscript):
        def post(self, channel, message, **kwargs):
            raise ConnectionError("slack unreachable")

    for drift, outcome in ((True, "remediated"), (False, "in_sync")):
        node = drifted(make_sim_node, restart_seconds=0.2) if drift else make_sim_node("healthy", restart_seconds=0.2)
        runner = make_runner(node, cfg(node), answer=fixed_answer("yes", "alice"))
        runner.transcript = ChatDown()
        with runner:
            result = runner.run(WORKFLOW, {"server": SERVER, **FAST_PARAMS})
        assert (result.status, result.output["outcome"]) == ("succeeded", outcome)
        assert all(t.status == "failed" for t in result.tasks if t.action == "chatops.post_message")
