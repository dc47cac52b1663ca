"""Approval, end to end, with st2's semantics: the workflow pauses on core.ask; the answer comes
through the local st2 API (runner/st2_local/st2_api.py) the way it comes in StackStorm, and only
what st2 accepted AND avamar.confirm_approval confirmed changes anything.

* chat: `!avamar approve|reject` is an alias execution requested by the chat bot's st2 user;
  respond_approval reads the chat user from its own execution and answers with the bot's token;
* direct: `st2 inquiry respond` by an st2 user (the requester is the token's user);
* a refused answer changes nothing: no PUT, the workflow stays paused, node files and serials
  are byte-for-byte what they were; a rejection, an expiry and an answer that st2 accepted but
  the pack's policy does not (fails closed) end without a change.
"""

from __future__ import annotations

from typing import Any, Dict, Tuple

import pytest
from relkit import SERVER, WORKFLOW, node_snapshot, serial_state, sim_config, workflow_runner
from st2_local.st2_api import ApiAnswer

BOT = "chatops_bot"
MUTATING_TASKS = ("set_gsan_serial", "write_mcs_serial", "restart_mcs", "flush_mcs", "run_test_backup")


def approval_config(node: Any, **approval: Any) -> Dict[str, Any]:
    config = sim_config(node)
    config["approval"] = {
        "users": ["alice", "bob"],
        "chatops_users": [BOT],
        "roles": ["backup_admins"],
        "ttl_minutes": 60,
        "route": "avamar",
        **approval,
    }
    return config


@pytest.fixture
def drifted(make_sim_node):
    node = make_sim_node("mcs_restored_old_flush", restart_seconds=0)
    for i in range(2):
        node.run_backup(f"client{i:02d}")
    return node


@pytest.fixture
def paused(drifted):
    """(runner, run, inquiry id, node before) with the remediation waiting for its approval."""
    before = (node_snapshot(drifted.root), serial_state(drifted))
    runner = workflow_runner(approval_config(drifted))
    run = runner.start(WORKFLOW, {"server": SERVER})
    assert run.status == "paused", (run.status, run.output, run.errors)
    inquiry = run.pending_inquiry
    assert inquiry is not None
    assert inquiry.users == ["alice", "bob", BOT] and inquiry.roles == ["backup_admins"]
    yield runner, run, inquiry.id, (drifted, before)
    runner.close()


def chat(runner: Any, alias: str, inquiry_id: str, chat_user: str, bot: str = BOT, **params: Any) -> Any:
    return runner.run_alias(f"avamar.{alias}", {"inquiry_id": inquiry_id, **params}, chat_user=chat_user, bot_user=bot)


def unchanged(node_before: Tuple[Any, Tuple[Any, Any]]) -> bool:
    node, (files, serials) = node_before
    return node_snapshot(node.root) == files and serial_state(node) == serials


def no_change_ran(run: Any) -> bool:
    return not any(run.ran(task) for task in MUTATING_TASKS)


@pytest.mark.timeout(120)
def test_a_chat_approval_by_an_allowed_user_remediates_and_records_the_chat_user(paused):
    runner, run, inquiry_id, _ = paused
    # rules/notify_approval_request posted the id and the exact commands
    assert f"!avamar approve {inquiry_id}" in runner.transcript.text()
    assert f"!avamar reject {inquiry_id} because" in runner.transcript.text()
    answer = chat(runner, "approve", inquiry_id, "alice")
    assert answer.status == "succeeded", answer.result
    runner.wait_idle()
    assert run.status == "succeeded", (run.status, run.errors)
    assert run.output["outcome"] == "remediated", run.output
    assert run.output["approver"] == "alice"
    assert runner.api.execution(run.execution_id)["context"]["resumed_by"] == BOT


@pytest.mark.timeout(180)
def test_refused_answers_change_nothing_and_the_run_waits_for_an_allowed_one(paused):
    runner, run, inquiry_id, node_before = paused
    # a chat user outside approval.users: a clear reply, no PUT
    answer = chat(runner, "approve", inquiry_id, "mallory")
    assert answer.status == "failed"
    result = answer.result["result"]
    assert result["error"]["step"] == "check_approver" and "mallory" in result["error"]["reason"]
    assert "still pending" in result["message"]
    # another st2 user POSTing the alias execution herself cannot name a chat user
    assert chat(runner, "approve", inquiry_id, "alice", bot="eve").status == "failed"
    assert runner.api.puts() == []
    # `st2 inquiry respond` by an st2 user outside the Inquiry's users: st2 says 403
    with pytest.raises(ApiAnswer) as refused:
        runner.respond(inquiry_id, {"approved": True}, requester="eve")
    assert refused.value.code == 403
    assert run.status == "paused" and run.pending_inquiry.id == inquiry_id
    assert runner.api.execution(inquiry_id)["status"] == "pending"
    assert unchanged(node_before) and no_change_ran(run)
    # an allowed chat user then answers: the same paused run resumes
    assert chat(runner, "approve", inquiry_id, "bob").status == "succeeded"
    runner.wait_idle()
    assert run.output["outcome"] == "remediated" and run.output["approver"] == "bob", run.output


@pytest.mark.timeout(120)
def test_a_chat_rejection_with_a_reason_changes_nothing(paused):
    runner, run, inquiry_id, node_before = paused
    answer = chat(runner, "reject", inquiry_id, "bob", reason="change freeze")
    assert answer.status == "succeeded", answer.result
    runner.wait_idle()
    assert run.output["outcome"] == "rejected" and run.output["approver"] == "bob", run.output
    assert run.output["after"] == run.output["before"]
    assert unchanged(node_before) and no_change_ran(run)


@pytest.mark.timeout(120)
def test_st2_inquiry_respond_by_an_allowed_st2_user(paused):
    runner, run, inquiry_id, _ = paused
    runner.respond(inquiry_id, {"approved": True, "approver": "someone-else"}, requester="alice")
    runner.wait_idle()
    # the approver is the st2 user st2 recorded (resumed_by), not what the response says
    assert run.output["outcome"] == "remediated" and run.output["approver"] == "alice", run.output


@pytest.mark.timeout(120)
def test_an_answer_st2_accepted_but_the_policy_does_not_fails_closed(paused):
    # Someone with the bot's credentials PUTs directly, naming mallory: st2 accepts the bot,
    # confirm_approval does not accept mallory. Nothing changes.
    runner, run, inquiry_id, node_before = paused
    runner.respond(inquiry_id, {"approved": True, "approver": "mallory", "via": "chat"}, requester=BOT)
    runner.wait_idle()
    assert run.output["outcome"] == "rejected", run.output
    assert unchanged(node_before) and no_change_ran(run)


@pytest.mark.timeout(120)
def test_an_expiry_changes_nothing_and_a_late_answer_is_refused(paused):
    runner, run, inquiry_id, node_before = paused
    runner.expire(inquiry_id)
    runner.wait_idle()
    assert run.output["outcome"] == "expired", run.output
    assert unchanged(node_before) and no_change_ran(run)
    late = chat(runner, "approve", inquiry_id, "alice")
    assert late.status == "failed" and "timed out" in late.result["result"]["error"]["reason"]
    assert runner.api.puts() == [] and unchanged(node_before)


@pytest.mark.timeout(120)
def test_no_approvers_configured_means_no_inquiry_at_all(drifted):
    before = (node_snapshot(drifted.root), serial_state(drifted))
    runner = workflow_runner(approval_config(drifted, users=[]))
    try:
        run = runner.start(WORKFLOW, {"server": SERVER})
        runner.wait_idle()
        assert run.status != "paused" and not run.inquiries, (run.status, run.output)
        assert runner.api.inquiries() == []
        assert "no approvers configured" in str(run.output or run.result)
        assert unchanged((drifted, before)) and no_change_ran(run)
    finally:
        runner.close()
