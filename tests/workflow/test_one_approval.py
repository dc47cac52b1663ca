"""One pending approval per server, and an approval that comes after the node was fixed.

A run waiting at core.ask is ``paused``; st2's concurrency policy does not count it, so every
later dispatch window starts another remediation. Those runs find the paused one (st2 API) and
fold into it: ONE Inquiry, chat says how many failures and clients wait on it. And an approval
given hours later is judged against the node as it is then, under the node lock.
"""

from __future__ import annotations

from wfkit import FAST_PARAMS, SERVER, WORKFLOW, drifted, lock_is_free, make_runner, node_bytes, node_config

TRIGGER = "avamar.backup_auth_failure"


def payload(window: int, clients):
    """An avamar.backup_auth_failure payload as the sensor dispatches it (sensors/*.yaml schema)."""
    return {
        "server": SERVER,
        "client": clients[0],
        "clients": list(clients),
        "codes": [8609, 5704, 5126, 8941, 7001],
        "message": "avtar FATAL <5704>: Fatal Server Error occurred (MSG_ERR_AUTH_FAIL)",
        "ticket": {"SECURETICKETLOGIN": 452, "serial": 1, "seq": 0},
        "log_file": f"/var/log/avtar-{window}.log",
        "first_seen": f"2026-01-05T0{window}:00:00",
        "last_seen": f"2026-01-05T0{window}:05:00",
        "count": len(clients),
        "source": "file",
    }


def test_a_paused_run_and_three_more_windows_give_one_inquiry(make_sim_node):
    node = drifted(make_sim_node, restart_seconds=0)
    config = node_config(node, users=["alice"])
    with make_runner(node, config) as runner:
        [first] = runner.dispatch_trigger(TRIGGER, payload(1, ["/clients/a01", "/clients/a02"]))
        pending = first.run
        assert pending.status == "paused" and pending.pending_inquiry is not None
        later = []
        for window, clients in (
            (2, ["/clients/b01"]),
            (3, ["/clients/a01", "/clients/c01", "/clients/c02"]),
            (4, ["/clients/d01"]),
        ):
            [enforcement] = runner.dispatch_trigger(TRIGGER, payload(window, clients))
            runner.wait_idle()
            later.append(enforcement.run)
        assert [r.output["outcome"] for r in later] == ["folded"] * 3, [r.output for r in later]
        assert all(r.output["pending"]["pending_execution_id"] == pending.execution_id for r in later)
        assert len(runner.api.inquiries()) == 1, "a second approval request was made"
        assert later[-1].output["pending"]["total"] == {
            "count": 5,
            "clients": ["/clients/b01", "/clients/a01", "/clients/c01", "/clients/c02", "/clients/d01"],
            "runs": 3,
        }
        folds = [m.message for m in runner.transcript.messages if ":inbox_tray:" in m.message]
        assert len(folds) == 3 and "no second approval request" in folds[-1]
        assert "5 folded failure(s) from 5 client(s)" in folds[-1]
        assert all(not set(t.task_id for t in r.tasks) & {"diagnose", "approval"} for r in later)

        done = runner.respond(pending.pending_inquiry.id, {"approved": True}, requester="alice")
        runner.wait_idle()
        assert (done.status, done.output["outcome"]) == ("succeeded", "remediated"), done.output["error"]
        assert len(runner.api.inquiries()) == 1
    assert lock_is_free(node)


def test_an_approval_given_after_a_manual_fix_ends_in_sync(make_sim_node):
    node = drifted(make_sim_node, restart_seconds=0)
    config = node_config(node, users=["alice", "ops"])
    with make_runner(node, config) as runner:
        run = runner.start(WORKFLOW, {"server": SERVER, **FAST_PARAMS})
        assert run.status == "paused"
        # Meanwhile an operator follows the KB by hand with the pack's own actions (st2 run).
        by_hand = 40000
        for ref, params in (
            ("avamar.set_gsan_minserial", {"serial": by_hand}),
            ("avamar.write_mcs_serial", {"serial": by_hand}),
            ("avamar.restart_mcs", {}),
        ):
            step = runner.start(ref, {"server": SERVER, **params}, user="ops")
            assert step.status == "succeeded", (ref, step.result)
        # ... and checks it the KB's way: a backup works again (older evidence no longer counts).
        assert node.run_backup("client00")["ok"] is True
        fixed = node_bytes(node)
        done = runner.respond(run.pending_inquiry.id, {"approved": True}, requester="alice")
        runner.wait_idle()
    assert (done.status, done.output["outcome"]) == ("succeeded", "in_sync"), (
        done.output["error"],
        done.output["timeline"],
    )
    tasks = [t.task_id for t in done.tasks]
    assert "rediagnose" in tasks and "set_gsan_serial" not in tasks and tasks[-2:] == ["release_lock", "report"]
    assert done.output["after"]["gsan_minserial"] == by_hand and done.output["after"]["mcs_serial"] >= by_hand
    assert any("fixed meanwhile" in n for n in done.output["notes"])
    assert node.state()["gsan_minimal_serial"] == by_hand
    assert node_bytes(node) == fixed, "the approved run changed a node that was fixed meanwhile"
    assert lock_is_free(node)


def test_a_changed_node_gets_the_fresh_serial_and_chat_says_so(make_sim_node):
    node = drifted(make_sim_node, restart_seconds=0)
    config = node_config(node, users=["alice"])
    with make_runner(node, config) as runner:
        run = runner.start(WORKFLOW, {"server": SERVER, **FAST_PARAMS})
        assert run.status == "paused"
        # GSAN moves on while we wait (another registration, e.g. a half-done manual attempt).
        step = runner.start("avamar.set_gsan_minserial", {"server": SERVER, "serial": 60000}, user="ops")
        assert step.status == "succeeded", step.result
        done = runner.respond(run.pending_inquiry.id, {"approved": True}, requester="alice")
        runner.wait_idle()
        chat = runner.transcript.text()
    assert (done.status, done.output["outcome"]) == ("succeeded", "remediated"), done.output["error"]
    assert done.output["accepted_serial"] > 60000
    assert "post_serial_change" in [t.task_id for t in done.tasks]
    assert "using the fresh serial" in chat
