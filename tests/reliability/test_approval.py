"""Approval, end to end: the workflow pauses on core.ask; chat users answer with
avamar.respond_approval against an st2 API (a small HTTP server standing in for st2's
/v1/inquiries); only what that API accepted resumes the workflow.

* an approver outside the allowed list is refused, nothing is sent, the workflow stays paused
  and nothing on the node changes;
* a rejection and an expiry change nothing (node files and serials compared before/after, and
  no mutating command was run).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, Optional

import pytest
from fake_st2_api import TOKEN, FakeSt2Api
from relkit import Recorder, node_snapshot, run_remediation, serial_state, sim_config


class St2InquiryApi(FakeSt2Api):
    """The fake st2 API, also playing the runner's answer source: it publishes the workflow's
    pending Inquiry and hands back only what an accepted PUT answered (or nothing: expiry)."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = threading.Event()
        self.__enter__()

    def answerer(self, wait_s: float = 20.0) -> Any:
        def answer(inquiry: Any) -> Optional[Dict[str, Any]]:
            self.inquiries[inquiry.id] = {"users": inquiry.users, "roles": inquiry.roles, "route": inquiry.route,
                                          "ttl": 60, "schema": inquiry.schema, "response": {}}
            self.asked.set()
            if not self.answered.wait(wait_s):
                return None  # the Inquiry times out unanswered
            return self.inquiries[inquiry.id]["response"] or None

        return answer

    def expire(self) -> None:
        """Let the pending Inquiry time out (what st2's garbage collector does after ttl)."""
        self.answered.set()

    def close(self) -> None:
        self.__exit__()


@pytest.fixture
def st2_api(monkeypatch):
    api = St2InquiryApi()
    monkeypatch.setenv("ST2_ACTION_API_URL", api.url)
    monkeypatch.setenv("ST2_ACTION_AUTH_TOKEN", TOKEN)
    yield api
    api.close()


def respond(config: Dict[str, Any], inquiry_id: str, approved: bool, approver: str) -> Any:
    from relkit import pack
    from st2_local.action_runner import ActionRunner

    outcome = ActionRunner(pack(), config).run(pack().action("avamar.respond_approval"),
                                               {"inquiry_id": inquiry_id, "approved": approved, "approver": approver})
    return outcome.status, outcome.result.get("result")


class WorkflowThread(threading.Thread):
    def __init__(self, config: Dict[str, Any], answerer: Any) -> None:
        super().__init__(daemon=True)
        self.config, self.answerer = config, answerer
        self.run_: Any = None
        self.error: Optional[BaseException] = None

    def run(self) -> None:
        try:
            self.run_, _ = run_remediation(self.config, self.answerer)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc


def start(node: Any, api: St2InquiryApi, wait_s: float = 20.0) -> WorkflowThread:
    config = sim_config(node)
    thread = WorkflowThread(config, api.answerer(wait_s))
    thread.start()
    assert api.asked.wait(30), "the workflow never asked for approval"
    return thread


@pytest.fixture
def drifted(make_sim_node):
    node = make_sim_node("mcs_restored_old_flush", restart_seconds=0)
    for i in range(2):
        node.run_backup(f"client{i:02d}")
    return node


@pytest.mark.timeout(60)
def test_an_approver_outside_the_list_is_refused_and_the_workflow_stays_paused(drifted, st2_api, monkeypatch):
    recorder = Recorder(monkeypatch)
    before, serials = node_snapshot(drifted.root), serial_state(drifted)
    thread = start(drifted, st2_api)
    [inquiry_id] = list(st2_api.inquiries)
    status, result = respond(sim_config(drifted), inquiry_id, True, "mallory")
    assert status == "failed" and result["error"]["step"] == "check_approver", result
    assert "mallory is not on the approvers list" in result["error"]["reason"]
    assert "still pending" in result["error"]["state_left"]
    assert st2_api.puts() == []
    time.sleep(0.5)
    assert thread.is_alive(), "the workflow went on without an accepted answer"
    assert recorder.mutating() == [] and node_snapshot(drifted.root) == before and serial_state(drifted) == serials
    # An allowed approver then answers: the same paused workflow resumes and remediates.
    status, result = respond(sim_config(drifted), inquiry_id, True, "alice")
    assert status == "succeeded", result
    thread.join(60)
    assert thread.error is None and thread.run_.output["outcome"] == "remediated", thread.run_.output
    assert thread.run_.output["approver"] == "alice"


@pytest.mark.timeout(60)
def test_a_rejection_changes_nothing(drifted, st2_api, monkeypatch):
    recorder = Recorder(monkeypatch)
    before, serials = node_snapshot(drifted.root), serial_state(drifted)
    thread = start(drifted, st2_api)
    [inquiry_id] = list(st2_api.inquiries)
    status, result = respond(sim_config(drifted), inquiry_id, False, "bob")
    assert status == "succeeded", result
    thread.join(60)
    out = thread.run_.output
    assert out["outcome"] == "rejected" and out["approver"] == "bob", out
    assert out["after"] == out["before"]
    assert recorder.mutating() == [], recorder.mutating()
    assert node_snapshot(drifted.root) == before and serial_state(drifted) == serials


@pytest.mark.timeout(60)
def test_an_expiry_changes_nothing(drifted, st2_api, monkeypatch):
    recorder = Recorder(monkeypatch)
    before, serials = node_snapshot(drifted.root), serial_state(drifted)
    thread = start(drifted, st2_api)
    st2_api.expire()
    thread.join(60)
    out = thread.run_.output
    assert out["outcome"] == "expired", out
    assert out["after"] == out["before"]
    assert recorder.mutating() == [], recorder.mutating()
    assert node_snapshot(drifted.root) == before and serial_state(drifted) == serials
    # A late answer to the expired Inquiry is refused by st2 and changes nothing either.
    [inquiry_id] = list(st2_api.inquiries)
    st2_api.inquiries[inquiry_id]["response"] = {"expired": True}
    status, result = respond(sim_config(drifted), inquiry_id, True, "alice")
    assert status == "failed" and "not found" in result["error"]["reason"], result
    assert node_snapshot(drifted.root) == before
