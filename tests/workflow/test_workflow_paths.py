"""Every path through avamar.remediate_session_tickets, on the real Orquesta conductor, against the simulator."""

from __future__ import annotations

import re

import pytest
from st2_local.chat_transcript import ChatTranscript
from st2_local.inquiries import fixed_answer
from st2_local.pack_loader import load_pack
from st2_local.workflow_runner import WorkflowRunner
from wfkit import MUTATING_TASKS, answer_after, lock_is_free, node_config, run_workflow, serials

DRIFTED = "mcs_restored_old_flush"


def _fail_backups(node, n: int = 2) -> None:
    for i in range(n):
        assert node.run_backup(f"client{i:02d}")["ok"] is False


def assert_nothing_changed(node, before) -> None:
    assert serials(node) == before
    assert lock_is_free(node)


def test_remediated_end_to_end(make_sim_node):
    node = make_sim_node(DRIFTED, restart_seconds=0.2)
    _fail_backups(node)
    before = serials(node)

    detection = {"server": "ava01", "client": "<!channel>client00", "count": 2, "codes": [5704]}
    out = run_workflow(node, answer=fixed_answer("yes", "alice", "KB 000200098"), detection=detection)

    assert out.run.status == "succeeded", out.run.errors
    o = out.output
    assert o["outcome"] == "remediated"
    assert o["approver"] == "alice"
    assert o["before"] == {"gsan_minserial": before["gsan"], "mcs_serial": int(before["srl"])}
    accepted = o["accepted_serial"]
    assert accepted > max(before["gsan"], int(before["srl"]))
    assert o["after"] == {"gsan_minserial": accepted, "mcs_serial": accepted}
    assert o["attempts"] >= 1
    assert o["test_backup"]["succeeded"] is True
    assert o["error"] is None and o["lock_release"] == "released"
    # The node really moved: GSAN's minimal serial and MCS's .srl, and backups work again.
    assert node.state()["gsan_minimal_serial"] == accepted
    assert int(serials(node)["srl"]) >= accepted
    assert node.run_backup("client00")["ok"] is True
    assert lock_is_free(node)
    # Order of the steps, and a timeline entry with a time for each.
    assert out.tasks == ["diagnose", "announce_detection", "check_safety", "announce_approval", "approval",
                         "lock_and_recheck", "set_gsan_serial", "write_mcs_serial", "restart_mcs", "verify",
                         "run_test_backup", "release_lock", "report"]
    steps = [e["step"] for e in o["timeline"]]
    assert steps == ["diagnose", "check_preconditions", "approval", "check_preconditions_again",
                     "set_gsan_minserial", "write_mcs_serial", "restart_mcs", "verify", "run_test_backup"]
    assert all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", e["at"]) for e in o["timeline"])
    gsan_step = o["timeline"][4]
    assert (gsan_step["before"], gsan_step["after"]) == (before["gsan"], accepted)
    mcs_step = o["timeline"][5]
    assert (mcs_step["before"], mcs_step["after"]) == (int(before["srl"]), accepted)
    # Chat: detection with evidence, the approval request with its id and commands, the result.
    inquiry_id = out.run.inquiries[0].id
    chat = out.chat()
    assert "session-ticket serials out of sync" in chat and "*Evidence*" in chat and "MSG_ERR_AUTH_FAIL" in chat
    # The trigger's client is quoted, with Slack's control characters escaped.
    assert "first failing client: `&lt;!channel&gt;client00` (2 failures)" in chat and "<!channel>" not in chat
    assert f"!avamar approve {inquiry_id}" in chat and f"!avamar reject {inquiry_id}" in chat
    assert f"remediated*: GSAN and MCS now on serial `{accepted}`" in chat
    # The lock owner handed to every locking action is this execution's id.
    owners = {t.parameters.get("lock_owner") for t in out.run.tasks if "lock_owner" in t.parameters}
    assert owners == {out.run.execution_id}


def test_in_sync_changes_nothing(make_sim_node):
    node = make_sim_node("healthy")
    before = serials(node)
    out = run_workflow(node)
    assert out.run.status == "succeeded"
    assert out.output["outcome"] == "in_sync"
    assert out.output["before"] == out.output["after"]
    assert out.tasks == ["diagnose", "report"]
    assert not out.run.inquiries
    assert "agree" in out.chat()
    assert_nothing_changed(node, before)


def test_unsafe_changes_nothing(make_sim_node):
    node = make_sim_node(DRIFTED)
    _fail_backups(node)
    node.set_scenario("maintenance_running")
    before = serials(node)
    out = run_workflow(node)
    assert out.run.status == "succeeded"
    assert out.output["outcome"] == "unsafe"
    assert out.output["reasons"], "an unsafe outcome says why"
    assert not set(MUTATING_TASKS) & set(out.tasks)
    assert not out.run.inquiries
    assert "not safe to remediate now" in out.chat()
    assert_nothing_changed(node, before)


def test_mcs_left_down_by_an_unfinished_restart_is_remediated(make_sim_node):
    # GSAN and the .srl agree but MCS is down (a restart that did not complete): not `in_sync`,
    # not `unsafe`; the procedure is redone at a higher serial and its restart starts MCS.
    node = make_sim_node("mcs_down", restart_seconds=0.2)
    before = serials(node)
    out = run_workflow(node)
    assert out.run.status == "succeeded", out.run.errors
    o = out.output
    assert o["outcome"] == "remediated", (o["outcome"], o["error"], o["reasons"])
    assert o["reasons"] == []
    assert o["accepted_serial"] > max(before["gsan"], int(before["srl"]))
    assert o["after"] == {"gsan_minserial": o["accepted_serial"], "mcs_serial": o["accepted_serial"]}
    assert o["test_backup"]["succeeded"] is True
    assert "restart_mcs" in out.tasks and "verify" in out.tasks
    assert node.state()["mcs_status"] == "up"
    assert "MCS is down (dpnctl)" in out.chat()
    assert node.run_backup("client-after")["ok"] is True
    assert lock_is_free(node)


def test_dry_run_reports_the_plan_and_changes_nothing(make_sim_node):
    node = make_sim_node(DRIFTED)
    _fail_backups(node)
    before = serials(node)
    out = run_workflow(node, dry_run=True)
    assert out.run.status == "succeeded"
    assert out.output["outcome"] == "dry_run"
    plan = out.output["plan"]
    assert [p["step"] for p in plan] == ["set_gsan_minserial", "write_mcs_serial", "restart_mcs", "verify",
                                         "run_test_backup"]
    proposed = out.output["timeline"][0]["detail"].rsplit(" ", 1)[-1]
    assert f"serial {proposed}" in plan[0]["does"]
    assert not set(MUTATING_TASKS) & set(out.tasks)
    assert "dry run" in out.chat()
    assert_nothing_changed(node, before)


def test_rejected_changes_nothing(make_sim_node):
    node = make_sim_node(DRIFTED)
    _fail_backups(node)
    before = serials(node)
    out = run_workflow(node, answer=fixed_answer("no", "bob", "change freeze"))
    assert out.run.status == "succeeded"
    assert out.output["outcome"] == "rejected"
    assert out.output["approver"] == "bob"
    assert "rejected* by bob (change freeze)" in out.chat()
    assert not set(MUTATING_TASKS) & set(out.tasks) and "lock_and_recheck" not in out.tasks
    assert_nothing_changed(node, before)


def test_expired_changes_nothing(make_sim_node):
    node = make_sim_node(DRIFTED)
    _fail_backups(node)
    before = serials(node)
    out = run_workflow(node, answer=fixed_answer("expire"))
    assert out.run.status == "succeeded"
    assert out.output["outcome"] == "expired"
    assert out.output["approver"] is None
    assert "approval expired" in out.chat()
    assert not set(MUTATING_TASKS) & set(out.tasks)
    assert_nothing_changed(node, before)


def test_unsafe_after_a_slow_approval_releases_the_lock(make_sim_node):
    node = make_sim_node(DRIFTED)
    _fail_backups(node)
    seen = {}

    def maintenance_starts_while_we_wait() -> None:
        node.set_scenario("maintenance_running")
        seen["before"] = serials(node)

    out = run_workflow(node, answer=answer_after(maintenance_starts_while_we_wait))
    assert out.output["outcome"] == "unsafe"
    assert out.output["approver"] == "alice"
    assert "lock_and_recheck" in out.tasks and "release_lock" in out.tasks
    assert not set(MUTATING_TASKS) & set(out.tasks)
    assert_nothing_changed(node, seen["before"])


def test_without_approval_runs_straight_through(make_sim_node):
    node = make_sim_node(DRIFTED, restart_seconds=0.2)
    _fail_backups(node)
    out = run_workflow(node, answer=None, require_approval=False, test_backup=False)
    assert out.run.status == "succeeded", out.run.errors
    assert out.output["outcome"] == "remediated"
    assert not out.run.inquiries
    assert "run_test_backup" not in out.tasks and out.output["test_backup"] is None


# (workflow task, fault to inject, error.step in the output, tasks that must not have run)
FAILURES = [
    ("set_gsan_serial", ("avmaint", "error", {"match": "publickey"}), "set_gsan_minserial",
     ("write_mcs_serial", "restart_mcs", "verify", "run_test_backup")),
    ("write_mcs_serial", ("srl_write", "readonly", {}), "write_mcs_serial",
     ("restart_mcs", "verify", "run_test_backup")),
    ("restart_mcs", ("mcserver.sh", "no_restart", {}), "restart_mcs", ("verify", "run_test_backup")),
    ("run_test_backup", ("mccli", "error", {"match": "backup"}), "run_test_backup", ()),
]


@pytest.mark.parametrize("task,fault,step,not_run", FAILURES, ids=[f[0] for f in FAILURES])
def test_failure_names_the_step_and_stops(make_sim_node, task, fault, step, not_run):
    node = make_sim_node(DRIFTED, restart_seconds=0.2)
    _fail_backups(node)
    command, kind, opts = fault
    node.inject_fault(command, kind, **opts)
    out = run_workflow(node, mcs_restart_timeout=5)

    # StackStorm shows it red (status failed), and the output is still there.
    assert out.run.status == "failed"
    assert out.output["outcome"] == "failed"
    error = out.output["error"]
    assert error["step"] == step
    assert error["reason"] and error["state_left"]
    assert task in out.tasks
    assert not set(not_run) & set(out.tasks), f"ran after the failure: {set(not_run) & set(out.tasks)}"
    # The lock is released on the failure path, and the failure reaches chat.
    assert out.tasks[-2:] == ["release_lock", "report"]
    assert out.output["lock_release"] == "released"
    node.clear_faults()
    assert lock_is_free(node)
    assert f"FAILED at step `{step}`" in out.chat() and "State left" in out.chat()
    last = out.output["timeline"][-1]
    assert last["step"] == step and last["status"] == "failed"


class ChatDown(ChatTranscript):
    def post(self, channel: str, message: str) -> None:
        raise ConnectionError("slack unreachable")


@pytest.mark.parametrize("scenario,outcome,status",
                         [(DRIFTED, "remediated", "succeeded"), ("healthy", "in_sync", "succeeded")])
def test_chat_down_does_not_change_the_outcome(make_sim_node, scenario, outcome, status):
    node = make_sim_node(scenario, restart_seconds=0.2)
    if scenario == DRIFTED:
        _fail_backups(node)
    runner = WorkflowRunner(load_pack(), node_config(node), answerer=fixed_answer("yes", "alice"),
                            transcript=ChatDown())
    run = runner.run("avamar.remediate_session_tickets", {"server": "ava01", "mcs_restart_timeout": 60})
    assert (run.status, run.output["outcome"]) == (status, outcome)
    assert all(t.status == "failed" for t in run.tasks if t.action == "chatops.post_message")
