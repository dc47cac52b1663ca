"""A crashed, timed-out or cancelled task anywhere: the run ends with a report and no node lock left.

* Crash: the task's python action dies (``os._exit``) or raises; st2's python runner then hands the
  workflow ``{"stdout": ..., "exit_code": 1, "result": "None"}``. Every failure branch must read
  that (and None, {}, a runner timeout) and still end ``failed`` with a chat report, releasing the
  lock when it was asked for.
* Cancel: Orquesta has no ``finally``; st2's notifier emits ``core.st2.generic.actiontrigger``
  with status ``canceled`` and the rule ``cleanup_on_remediation_end`` runs
  ``avamar.cleanup_remediation``: release the lock of that execution, diagnose, report.
"""

from __future__ import annotations

import pytest
from st2_local.faults import Faults
from st2_local.inquiries import fixed_answer
from wfkit import (
    FAST_PARAMS,
    REMEDIATED_TASKS,
    SERVER,
    WORKFLOW,
    drifted,
    lock_is_free,
    make_runner,
    node_config,
)

CLEANUP = "avamar.cleanup_remediation"

# Every task that runs a python action on the way to `remediated` (release_lock's own failure
# cannot release the lock; the report is the end).
PYTHON_TASKS = [t for t in REMEDIATED_TASKS if t not in ("approval", "release_lock", "report")]
MUTATING = {"set_gsan_serial", "write_mcs_serial", "restart_mcs", "run_test_backup", "flush_mcs", "record_remediation"}
# The failure's step as the report names it, per task.
STEP = {
    "prepare": "prepare_remediation",
    "check_pending": "check_pending_remediation",
    "diagnose": "diagnose_session_tickets",
    "check_safety": "check_preconditions",
    "confirm_approval": "confirm_approval",
    "acquire_lock": "acquire_node_lock",
    "rediagnose": "diagnose_session_tickets (under the lock)",
    "set_gsan_serial": "set_gsan_minserial",
    "write_mcs_serial": "write_mcs_serial",
    "restart_mcs": "restart_mcs",
    "verify": "verify",
    "run_test_backup": "run_test_backup",
    "flush_mcs": "flush_mcs",
    "record_remediation": "record_remediation",
}


def start(node, faults, answer="yes"):
    runner = make_runner(node, node_config(node, users=["alice"]), faults=faults, answer=fixed_answer(answer, "alice"))
    return runner


def assert_failed_with_report(run, runner, node, task):
    assert run.status == "failed", (task, run.status, run.errors)
    output = run.output
    assert output["outcome"] == "failed", output
    assert output["error"]["step"] == STEP[task], output["error"]
    assert output["state_left"], output
    assert lock_is_free(node), f"lock left after a crash in {task}"
    report = runner.transcript.messages[-1].message
    assert f"FAILED at step `{STEP[task]}`" in report and "State left" in report, report


@pytest.mark.parametrize("task", PYTHON_TASKS)
def test_a_crashed_action_at_every_task_fails_with_a_report_and_no_lock(make_sim_node, task):
    node = drifted(make_sim_node, restart_seconds=0)
    how = "exit" if task in MUTATING else "exception"
    faults = Faults().crash(task, how=how)
    with start(node, faults) as runner:
        run = runner.run(WORKFLOW, {"server": SERVER, **FAST_PARAMS})
        assert_failed_with_report(run, runner, node, task)
        if task in MUTATING:
            # Crashed: nothing says what it did, so the report says so, and reads the node.
            assert "read_state" in [t.task_id for t in run.tasks]
            assert "Node now: GSAN minimal serial" in run.output["state_left"]


def test_a_crashed_release_is_retried_and_the_outcome_stands(make_sim_node):
    node = drifted(make_sim_node, restart_seconds=0)
    with start(node, Faults().crash("release_lock")) as runner:
        run = runner.run(WORKFLOW, {"server": SERVER, **FAST_PARAMS})
    assert (run.status, run.output["outcome"], run.output["lock_release"]) == ("succeeded", "remediated", "released")
    assert lock_is_free(node)


SHAPES = [
    ("diagnose", "failed", None),
    ("check_safety", "failed", {}),
    ("set_gsan_serial", "failed", {"stdout": "", "exit_code": 1, "result": "None"}),
    ("write_mcs_serial", "failed", "None"),
    ("restart_mcs", "timeout", {"error": "Action failed to complete in 60 seconds", "exit_code": -9, "result": "None"}),
    ("verify", "failed", {"result": {"error": "not a dict"}}),
]


@pytest.mark.parametrize("task,status,result", SHAPES, ids=[f"{s[0]}-{s[1]}-{type(s[2]).__name__}" for s in SHAPES])
def test_every_result_shape_st2_can_give_is_read(make_sim_node, task, status, result):
    node = drifted(make_sim_node, restart_seconds=0)
    with start(node, Faults().result(task, status, result)) as runner:
        run = runner.run(WORKFLOW, {"server": SERVER, **FAST_PARAMS})
        assert_failed_with_report(run, runner, node, task)
    if task == "restart_mcs":
        assert "MCS restart state unknown" in run.output["state_left"]
        assert "Action failed to complete in 60 seconds" in run.output["error"]["reason"]


def test_a_runner_timeout_of_the_restart_is_reported_with_the_commands(make_sim_node):
    node = drifted(make_sim_node, restart_seconds=0)
    with start(node, Faults().timeout("restart_mcs")) as runner:
        run = runner.run(WORKFLOW, {"server": SERVER, **FAST_PARAMS})
        assert_failed_with_report(run, runner, node, "restart_mcs")
    left = run.output["state_left"]
    accepted = run.output["accepted_serial"]
    assert f"GSAN minimal serial set to {accepted}" in left and f"sessionticket.srl written {accepted}" in left
    assert "mcserver.sh --restart" in left


# -- cancel ---------------------------------------------------------------------------------------
CANCEL_TASKS = list(REMEDIATED_TASKS)


def assert_cleaned_up(runner, run, node):
    assert run.status == "canceled", run.status
    cleanups = [r for r in runner.runs.values() if r.action_ref == CLEANUP]
    assert len(cleanups) == 1, [r.action_ref for r in runner.runs.values()]
    cleanup = cleanups[0]
    assert cleanup.status == "succeeded", (cleanup.status, cleanup.errors)
    assert cleanup.parameters["execution_id"] == run.execution_id
    assert lock_is_free(node), "the cleanup left the node lock"
    reports = [m.message for m in runner.transcript.messages if ":broom:" in m.message]
    assert reports and run.execution_id in reports[-1] and "ended canceled" in reports[-1], reports
    assert "node now: GSAN minimal serial" in reports[-1]
    return cleanup


@pytest.mark.parametrize("task", CANCEL_TASKS)
def test_cancel_before_each_task_is_cleaned_up(make_sim_node, task):
    node = drifted(make_sim_node, restart_seconds=0)
    with start(node, Faults().cancel(task, when="before")) as runner:
        run = runner.run(WORKFLOW, {"server": SERVER, **FAST_PARAMS})
        runner.wait_idle()
        assert_cleaned_up(runner, run, node)


@pytest.mark.parametrize("task", ["set_gsan_serial", "write_mcs_serial", "restart_mcs"])
def test_cancel_during_a_mutating_task_is_cleaned_up_and_says_how_to_finish(make_sim_node, task):
    node = drifted(make_sim_node, restart_seconds=0)
    with start(node, Faults().cancel(task, when="during")) as runner:
        run = runner.run(WORKFLOW, {"server": SERVER, **FAST_PARAMS})
        runner.wait_idle()
        cleanup = assert_cleaned_up(runner, run, node)
    observed = cleanup.output["observed"]
    state = node.state()
    assert observed["gsan_minserial"] == state["gsan_minimal_serial"]
    report = [m.message for m in runner.transcript.messages if ":broom:" in m.message][-1]
    if not observed["in_sync"]:
        assert f"!avamar remediate {SERVER}" in report


def test_cancel_while_waiting_for_approval_is_cleaned_up(make_sim_node):
    node = drifted(make_sim_node, restart_seconds=0)
    with start(node, Faults()) as runner:
        run = runner.start(WORKFLOW, {"server": SERVER, **FAST_PARAMS})
        assert run.status == "paused" and run.pending_inquiry is not None
        runner.cancel(run)
        runner.wait_idle()
        assert_cleaned_up(runner, run, node)
