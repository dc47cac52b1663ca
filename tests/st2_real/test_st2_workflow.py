"""avamar.remediate_session_tickets through st2's REAL engine, against the simulator.

st2's scheduler, worker, orquesta runner and workflow engine (orquesta 1.6), python actions in
st2's ``python_action_wrapper`` subprocess in the pack virtualenv st2 built, ``core.ask`` through
the inquirer runner, ``chatops.post_message`` through the announcement runner, the rules engine on
every trigger st2 dispatches; the actions' st2 API calls answered by st2api itself. Started the two
ways production starts it: ``st2 run`` (POST /v1/executions) and the rule on a dispatched
``avamar.backup_auth_failure``. Answers come the ways people answer: ``!avamar approve|reject``
through the chat bot (POST /v1/aliasexecution as the bot's st2 user) and ``st2 inquiry respond``.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional

import pytest
import st2engine
from conftest import BOT
from st2_local.sim_pack_config import SERVER

WORKFLOW = "avamar.remediate_session_tickets"
FAST = {"mcs_restart_timeout": 60, "test_backup_timeout": 120}
MUTATING_TASKS = {"set_gsan_serial", "write_mcs_serial", "restart_mcs", "run_test_backup", "flush_mcs"}


@pytest.fixture(scope="session")
def pack_virtualenv(st2: Any) -> str:
    return st2.ensure_pack_virtualenv()


@pytest.fixture
def flow(st2: Any, api: Any, carrier: Any, pack_virtualenv: str) -> Flow:
    return Flow(st2, api, carrier)


class Flow:
    """Start, answer and read back one remediation, the way users do it."""

    def __init__(self, st2: Any, api: Any, carrier: Any) -> None:
        self.st2, self.api, self.carrier = st2, api, carrier

    def st2_run(self, user: str = "admin", **params: Any) -> st2engine.Run:
        status, body = self.api(user).run(WORKFLOW, {"server": SERVER, **FAST, **params})
        assert status == 201, f"st2 run refused ({status}): {body}"
        self.carrier.settle()
        return st2engine.Run(body["id"])

    def from_rule(self, **payload: Any) -> st2engine.Run:
        st2engine.dispatch_trigger("avamar.backup_auth_failure", st2engine.auth_failure_payload(**payload))
        self.carrier.settle()
        run = st2engine.find_run(WORKFLOW)
        assert run is not None, "the rule started no remediation"
        return run

    def inquiry_id(self, run: st2engine.Run) -> str:
        inquiries = run.pending_inquiries()
        assert run.status == "paused" and len(inquiries) == 1, f"not waiting for one approval:\n{run.describe()}"
        return str(inquiries[0].id)

    def chat(self, command: str, chat_user: str) -> Dict[str, Any]:
        from st2common.persistence.actionalias import ActionAlias
        from st2common.util.actionalias_matching import match_command_to_alias

        found = match_command_to_alias(command=command, aliases=list(ActionAlias.query(pack="avamar")))
        assert len(found) == 1, f"{command!r} matches {len(found)} formats"
        status, body = self.api(BOT).chat(found[0]["alias"].name, found[0]["representation"], command, chat_user)
        assert status == 201, f"st2 refused {command!r} ({status}): {body}"
        self.carrier.settle()
        from st2common.persistence.execution import ActionExecution

        return ActionExecution.get_by_id(body["execution"]["id"]).result or {}

    def posts(self) -> List[str]:
        return [str((p.get("payload") or {}).get("message") or p) for p in self.st2.bus.announcements()]


def node_serials(node: Any) -> Dict[str, Any]:
    with open(node.srl_path, "rb") as fh:
        srl = fh.read().strip()
    return {"gsan": node.state()["gsan_minimal_serial"], "mcs": int(srl) if srl.isdigit() else srl}


def lock_is_free(node: Any) -> bool:
    from avamar_pack.node.paths import NodePaths

    return not os.path.exists(NodePaths(node.root).lock_dir)


def assert_node_remediated(node: Any, before: Dict[str, Any]) -> None:
    """GSAN's minimal serial moved up, MCS issues tickets at or above it, and a backup works."""
    after = node_serials(node)
    assert after["gsan"] > before["gsan"] and after["mcs"] >= after["gsan"], (before, after)
    assert node.run_backup("client-after")["ok"], node.state()


def assert_outcome(run: st2engine.Run, outcome: str, status: Optional[str] = None) -> None:
    assert run.output.get("outcome") == outcome, run.describe()
    if status:
        assert run.status == status, run.describe()


# -- remediated ------------------------------------------------------------------------------------
@pytest.mark.parametrize("common_libs", [False, True], ids=["common_libs_off", "common_libs_on"])
def test_st2_run_then_chat_approval_remediates(flow: Flow, sim_config: Any, common_libs: bool) -> None:
    flow.st2.common_libs(common_libs)
    node = sim_config()
    before = node_serials(node)
    assert before["gsan"] != before["mcs"]
    run = flow.st2_run()
    answer = flow.chat(f"avamar approve {flow.inquiry_id(run)}", "alice")
    assert answer.get("exit_code", 0) == 0, answer
    flow.carrier.settle()
    assert_outcome(run, "remediated", "succeeded")
    assert_node_remediated(node, before)
    assert "alice" in str(run.output.get("approver")), run.output.get("approver")
    assert lock_is_free(node)
    assert any("remediated" in post for post in flow.posts()), flow.posts()


def test_the_rule_on_a_dispatched_trigger_remediates_with_st2_inquiry_respond(flow: Flow, sim_config: Any) -> None:
    node = sim_config()
    before = node_serials(node)
    run = flow.from_rule()
    status, body = flow.api("alice").respond(flow.inquiry_id(run), {"approved": True})
    assert status == 200, f"st2 refused alice's answer ({status}): {body}"
    flow.carrier.settle()
    assert_outcome(run, "remediated", "succeeded")
    assert_node_remediated(node, before)
    assert lock_is_free(node)


def test_rule_started_and_st2_run_started_executions_get_the_same_parameters(flow: Flow, sim_config: Any) -> None:
    sim_config()
    by_rule = flow.from_rule().execution().parameters
    flow.st2.forget_executions()
    flow.carrier.forget()
    by_run = flow.st2_run().execution().parameters
    by_rule = {k: v for k, v in by_rule.items() if k != "detection"}
    assert {k: v for k, v in by_run.items() if k not in FAST} == {k: v for k, v in by_rule.items() if k not in FAST}


# -- nothing changes ----------------------------------------------------------------------------
def test_a_chat_rejection_with_a_reason_changes_nothing(flow: Flow, sim_config: Any) -> None:
    node = sim_config()
    before = node_serials(node)
    run = flow.st2_run()
    flow.chat(f"avamar reject {flow.inquiry_id(run)} because change freeze", "bob")
    flow.carrier.settle()
    assert_outcome(run, "rejected", "succeeded")
    assert node_serials(node) == before
    assert not MUTATING_TASKS & set(run.task_ids()), run.describe()
    assert any("change freeze" in post for post in flow.posts()), flow.posts()


def test_an_approval_by_someone_outside_the_approvers_is_refused_and_the_run_keeps_waiting(
    flow: Flow, sim_config: Any
) -> None:
    node = sim_config()
    before = node_serials(node)
    run = flow.st2_run()
    inquiry = flow.inquiry_id(run)
    flow.chat(f"avamar approve {inquiry}", "eve")
    status, _ = flow.api("eve").respond(inquiry, {"approved": True})
    assert status == 403, "st2 let eve answer directly"
    flow.carrier.settle()
    assert flow.inquiry_id(run) == inquiry  # still paused on the same Inquiry
    assert node_serials(node) == before
    # the chat reply (chatops' notify rule -> chatops.post_result with the alias' result format)
    replies = [post for post in flow.posts() if "eve" in post]
    assert replies, f"no chat reply tells eve why: {flow.posts()}"


def test_an_unanswered_approval_expires_when_st2_purges_inquiries(flow: Flow, sim_config: Any) -> None:
    node = sim_config()
    before = node_serials(node)
    run = flow.st2_run()
    flow.inquiry_id(run)
    assert st2engine.expire_inquiries() == 1
    flow.carrier.settle()
    assert_outcome(run, "expired", "succeeded")
    assert node_serials(node) == before


def test_a_canceled_run_leaves_no_lock(flow: Flow, sim_config: Any) -> None:
    node = sim_config()
    before = node_serials(node)
    run = flow.st2_run()
    flow.inquiry_id(run)
    status, body = flow.api("admin").cancel(run.execution_id)
    assert status == 200, body
    flow.carrier.settle()
    assert run.status == "canceled", run.describe()
    assert lock_is_free(node)
    assert node_serials(node) == before
    # st2's notifier -> core.st2.generic.actiontrigger -> the pack's cleanup rule
    cleanups = st2engine.executions_of("avamar.cleanup_remediation")
    assert [c.status for c in cleanups] == ["succeeded"], [c.status for c in cleanups]
    assert any("cancel" in post.lower() for post in flow.posts()), flow.posts()


def test_approving_the_inquiry_of_a_canceled_run_changes_nothing_and_says_so(flow: Flow, sim_config: Any) -> None:
    """st2 cannot cancel a pending Inquiry (pending is not in LIVEACTION_CANCELABLE_STATES): the
    canceled run's approval request stays answerable, so an answer must change nothing and the
    chat reply must say the run was canceled rather than "approval recorded"."""
    node = sim_config()
    before = node_serials(node)
    run = flow.st2_run()
    inquiry = flow.inquiry_id(run)
    flow.api("admin").cancel(run.execution_id)
    flow.carrier.settle()
    since = len(flow.posts())
    flow.chat(f"avamar approve {inquiry}", "alice")
    flow.carrier.settle()
    assert run.status == "canceled", run.describe()
    assert node_serials(node) == before and lock_is_free(node)
    replies = flow.posts()[since:]
    assert any("cancel" in reply.lower() for reply in replies), replies


def test_dry_run_reports_the_plan_without_asking(flow: Flow, sim_config: Any) -> None:
    node = sim_config()
    before = node_serials(node)
    run = flow.st2_run(dry_run=True)
    assert_outcome(run, "dry_run", "succeeded")
    assert node_serials(node) == before


# -- one approval per server, judged when it comes ------------------------------------------------
def test_a_paused_run_and_three_more_dispatch_windows_give_one_inquiry(flow: Flow, sim_config: Any) -> None:
    """st2's concurrency policy does not count a paused run: the later runs must fold into it."""
    node = sim_config()
    first = flow.from_rule(clients=["/clients/a01", "/clients/a02"], client="/clients/a01", count=2)
    inquiry = flow.inquiry_id(first)
    for window, clients in ((2, ["/clients/b01"]), (3, ["/clients/c01", "/clients/c02"]), (4, ["/clients/d01"])):
        flow.from_rule(clients=clients, client=clients[0], count=len(clients), log_file=f"/var/log/avtar-{window}.log")
    runs = [st2engine.Run(str(e.id)) for e in st2engine.executions_of(WORKFLOW)]
    assert len(runs) == 4, [r.describe() for r in runs]
    assert [r.output.get("outcome") for r in runs[1:]] == ["folded"] * 3, "\n".join(r.describe() for r in runs)
    from st2common.constants import action as ac_const
    from st2common.persistence.execution import ActionExecution

    pending = ActionExecution.query(runner__name="inquirer", status=ac_const.LIVEACTION_STATUS_PENDING)
    assert [str(p.id) for p in pending] == [inquiry], "a second approval request was made"
    status, body = flow.api("alice").respond(inquiry, {"approved": True})
    assert status == 200, body
    flow.carrier.settle()
    assert_outcome(first, "remediated", "succeeded")
    assert lock_is_free(node)


def test_an_approval_given_after_the_node_was_fixed_by_hand_ends_in_sync(flow: Flow, sim_config: Any) -> None:
    node = sim_config()
    run = flow.st2_run()
    inquiry = flow.inquiry_id(run)
    by_hand = 40000  # an operator follows the KB with the pack's own actions (st2 run)
    for ref, params in (
        ("avamar.set_gsan_minserial", {"serial": by_hand}),
        ("avamar.write_mcs_serial", {"serial": by_hand}),
        ("avamar.restart_mcs", {}),
    ):
        status, body = flow.api("ops").run(ref, {"server": SERVER, **params})
        assert status == 201, body
        flow.carrier.settle()
        step = st2engine.Run(body["id"])
        assert step.status == "succeeded", (ref, step.execution().result)
    assert node.run_backup("client00")["ok"]
    fixed = node_serials(node)
    status, body = flow.api("alice").respond(inquiry, {"approved": True})
    assert status == 200, body
    flow.carrier.settle()
    assert_outcome(run, "in_sync", "succeeded")
    assert "set_gsan_serial" not in run.task_ids(), run.describe()
    assert node_serials(node) == fixed
    assert lock_is_free(node)


# -- a crashed action -------------------------------------------------------------------------------
def python_actions() -> Dict[str, str]:
    """ref -> entry point of every python-script action of the pack, as st2 registered them."""
    from st2common.persistence.action import Action

    return {a.ref: a.entry_point for a in Action.query(pack="avamar") if a.runner_type["name"] == "python-script"}


def test_a_crash_at_any_python_task_ends_failed_with_a_report_and_no_lock(
    flow: Flow, sim_config: Any, tmp_path: Any
) -> None:
    import st2crash

    entry_points = python_actions()
    sim_config()
    baseline = flow.st2_run()
    status, body = flow.api("alice").respond(flow.inquiry_id(baseline), {"approved": True})
    assert status == 200, body
    flow.carrier.settle()
    assert_outcome(baseline, "remediated", "succeeded")
    path = [(t.task_id, t.action) for t in baseline.tasks() if t.action in entry_points]
    assert len(path) >= 5, baseline.describe()

    problems = []
    for index, (task_id, action) in enumerate(path):
        occurrence = sum(1 for _, earlier in path[: index + 1] if earlier == action)
        flow.st2.forget_executions()
        flow.carrier.forget()
        node = sim_config()
        with st2crash.crash_on_run(flow.st2.pack_dir, entry_points[action], occurrence, str(tmp_path)) as counter:
            run = flow.st2_run()
            if run.status == "paused" and run.pending_inquiries():
                flow.api("alice").respond(flow.inquiry_id(run), {"approved": True})
                flow.carrier.settle()
            crashed = st2crash.runs_started(counter) >= occurrence
        where = f"crash in task {task_id} ({action} run {occurrence})"
        if not crashed:
            problems.append(f"{where}: never reached")
            continue
        # a task the workflow runs again after a crash (e.g. the lock release) may still succeed
        rerun_ok = any(t.task_id == task_id and t.execution_status == "succeeded" for t in run.tasks())
        if run.status not in ("succeeded", "failed"):
            problems.append(f"{where}: ended {run.status}\n{run.describe()}")
        elif not rerun_ok and (run.status != "failed" or run.output.get("outcome") != "failed"):
            problems.append(f"{where}: ended {run.status} outcome={run.output.get('outcome')!r}\n{run.describe()}")
        if not lock_is_free(node):
            problems.append(f"{where}: the node lock is still held")
        if not any(task.task_id == "report" or "report" in task.task_id for task in run.tasks()):
            problems.append(f"{where}: no report task ran\n{run.describe()}")
    assert not problems, "\n".join(problems)
