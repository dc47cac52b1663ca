"""The typed step reports of the remediation functions: their result keys, and the partial result a
failure carries (``StepFailed.report``) at each step, against a simulated node over LocalTransport.

The action shell (``actions/lib/avamar_action.py``) returns ``report.as_result()`` on success and
``StepFailed.partial_result()`` beside the error on a failure: these tests pin both shapes.
"""

from __future__ import annotations

import os
import re
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, List, Optional

import pytest
from avamar_pack.config import server_settings
from avamar_pack.errors import CommandFailed, StepFailed, TransportError
from avamar_pack.node import records
from avamar_pack.node.node import AvamarNode
from avamar_pack.node.paths import NodePaths
from avamar_pack.remediation.acquire_node_lock import acquire_node_lock
from avamar_pack.remediation.check_preconditions import check_preconditions
from avamar_pack.remediation.diagnose_session_tickets import diagnose_session_tickets
from avamar_pack.remediation.flush_mcs import flush_mcs
from avamar_pack.remediation.record_remediation import record_remediation
from avamar_pack.remediation.release_node_lock import release_node_lock
from avamar_pack.remediation.report import StepReport, optional
from avamar_pack.remediation.restart_mcs import restart_mcs
from avamar_pack.remediation.run_test_backup import run_test_backup
from avamar_pack.remediation.set_gsan_minserial import set_gsan_minserial
from avamar_pack.remediation.waiting import Wait
from avamar_pack.remediation.write_mcs_serial import write_mcs_serial
from avamar_pack.transport.local import LocalTransport
from st2_local.sim_pack_config import TEST_CLIENT

BARE_FAILURE = re.compile(r"\braise StepFailed\(|\bwith (steps\.)?step\(")
LOCK_KEYS = {"owner", "held_by_caller", "holder", "acquired", "reentrant", "released", "took_over", "scope"}


@contextmanager
def open_node(sim) -> Iterator[AvamarNode]:
    settings = server_settings({"servers": {"ava01": {"transport": "local", "avamar_root": sim.root}}}, "ava01")
    with LocalTransport(settings) as transport:
        yield AvamarNode(transport, NodePaths(sim.root), command_timeout_s=30)


@pytest.fixture
def healthy(make_sim_node):
    return make_sim_node("healthy", restart_seconds=0)


@pytest.fixture
def node(healthy):
    with open_node(healthy) as node:
        yield node


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def failure(call) -> StepFailed:
    with pytest.raises(StepFailed) as caught:
        call()
    return caught.value


# -- the report type itself --------------------------------------------------------------------
@dataclass
class _Demo(StepReport):
    done: bool = False
    items: List[str] = field(default_factory=list)
    later: Optional[str] = optional()


def test_as_result_has_the_fields_in_order_and_optional_ones_only_once_set():
    report = _Demo()
    assert report.as_result() == {"done": False, "items": []}
    report.later = "set"
    assert list(report.as_result()) == ["done", "items", "later"]


def test_as_result_copies_containers_so_the_caller_cannot_change_the_report():
    report = _Demo(items=["a"])
    report.as_result()["items"].append("b")
    assert report.items == ["a"]


def test_step_turns_a_pack_error_into_step_failed_carrying_the_report():
    report = _Demo()
    with pytest.raises(StepFailed) as caught:
        with report.step("read", "nothing changed"):
            report.items.append("read before the failure")
            raise TransportError("ava01", "`cat x`", "connection reset")
    exc = caught.value
    assert (exc.step, exc.state_left, exc.report) == ("read", "nothing changed", report)
    assert exc.partial_result() == {"done": False, "items": ["read before the failure"]}


def test_the_partial_result_is_read_when_the_shell_asks_so_a_finally_is_in_it():
    report = _Demo()
    with pytest.raises(StepFailed) as caught:
        try:
            raise report.failed("check", "refused", "nothing was run")
        finally:
            report.later = "recorded while the failure passed"
    assert caught.value.partial_result()["later"] == "recorded while the failure passed"


def test_an_enclosing_report_step_attaches_its_own_report():
    inner, outer = _Demo(), _Demo(done=True)
    with pytest.raises(StepFailed) as caught:
        with outer.step("outer"):
            with inner.step("inner"):
                raise CommandFailed("ava01", ["false"], 1, "")
    assert caught.value.step == "inner" and caught.value.report is outer


def test_a_step_failed_without_report_has_an_empty_partial_result():
    assert StepFailed("validate", "bad", "nothing was run").partial_result() == {}


def test_poll_gives_up_at_the_limit_with_the_last_answer():
    now = [100.0]
    slept: List[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    poll = Wait(3.0, lambda: now[0], sleep).start(5.0)
    assert poll.interval_s == 0.1
    answers = iter(["starting", "starting", "down"] + ["down"] * 100)
    with pytest.raises(StepFailed, match="still down"):
        poll.until(lambda: next(answers), lambda a: a == "up", lambda a: StepFailed("wait", f"still {a}", "x"))
    assert slept and now[0] - 100.0 >= 3.0
    assert Wait(3000.0, lambda: 0.0, sleep).start(5.0).interval_s == 5.0


# -- each function: result keys on success, partial result at each failing step ---------------
def test_check_preconditions_and_acquire_report_the_same_keys(node):
    checked = check_preconditions(node).as_result()
    keys = {"safe", "reasons", "notes", "services", "maintenance", "activities", "lock"}
    assert set(checked) == keys and checked["safe"] is True and checked["lock"]["holder"] is None
    taken = acquire_node_lock(node, "wf-1").as_result()
    assert set(taken) == keys and taken["safe"] is True
    assert set(taken["lock"]) == LOCK_KEYS and taken["lock"]["acquired"] and taken["lock"]["scope"] == "workflow"
    held = acquire_node_lock(node, "wf-2").as_result()
    assert held["safe"] is False and held["lock"]["holder"]["owner"] == "wf-1"
    assert any("node lock" in reason for reason in held["reasons"])
    released = release_node_lock(node, "wf-1").as_result()
    assert released == {
        "owner": "wf-1",
        "released": True,
        "was_held": True,
        "lock": {**released["lock"], "released": True, "scope": "workflow"},
    }


def test_acquire_that_cannot_take_the_lock_reports_only_safe_reasons_and_lock(node):
    state_dir = node.paths.pack_state_dir
    shutil.rmtree(state_dir, ignore_errors=True)
    os.makedirs(os.path.dirname(state_dir), exist_ok=True)
    with open(state_dir, "w") as blocker:  # a file where the lock's folder goes: mkdir -p fails
        blocker.write("not a folder")
    exc = failure(lambda: acquire_node_lock(node, "wf-1"))
    assert exc.step == "lock"
    assert exc.partial_result() == {"safe": False, "reasons": [], "lock": None}


def test_release_of_someone_elses_lock_fails_with_nothing_but_the_error(node):
    acquire_node_lock(node, "wf-1")
    exc = failure(lambda: release_node_lock(node, "wf-2"))
    assert exc.step == "release_lock" and exc.partial_result() == {}


def test_diagnose_reports_what_it_read_before_the_srl_failed(node, healthy):
    os.unlink(healthy.srl_path)
    exc = failure(lambda: diagnose_session_tickets(node, "ava01", 1000))
    assert exc.step == "read_srl"
    assert exc.partial_result() == {"gsan_minserial": 20000}


def test_diagnose_result_keys(node):
    result = diagnose_session_tickets(node, "ava01", 1000).as_result()
    assert set(result) == {
        "server",
        "gsan_minserial",
        "mcs_serial",
        "mcs_status",
        "highest_seen_serial",
        "in_sync",
        "drift",
        "findings",
        "proposed_serial",
        "evidence",
        "logs_read",
        "last_remediation",
        "verify_serial",
        "detection",
    }
    assert result["in_sync"] is True and result["mcs_status"] == "up"


def test_set_gsan_minserial_refused_keeps_every_attempt_and_removes_the_key(node, healthy):
    healthy.inject_fault("avmaint", "error", match="publickey", message="ERROR: <0001> permission denied")
    exc = failure(lambda: set_gsan_minserial(node, 100000, max_attempts=3, margin=1000, dry_run=False, lock_owner=None))
    assert exc.step == "register_public_key"
    partial = exc.partial_result()
    assert partial["accepted_serial"] is None and partial["verified"] is False
    assert [a["serial"] for a in partial["attempts"]] == [100000] and partial["attempts"][0]["accepted"] is False
    assert partial["temp_dir_removed"] is True
    assert partial["lock"]["scope"] == "action" and partial["lock"]["released"] is True
    assert partial["before"] == {"gsan_minserial": 20000, "mcs_serial": 24118}
    assert "gsan_minserial" not in partial and "registration_recorded" not in partial


def test_set_gsan_minserial_dry_run_and_noop_keys(node):
    dry = set_gsan_minserial(node, 100000, max_attempts=3, margin=1000, dry_run=True, lock_owner=None).as_result()
    assert set(dry) == {"accepted_serial", "attempts", "verified", "dry_run", "before", "temp_dir"} | {
        "planned_commands",
        "note",
    }
    done = set_gsan_minserial(node, 100000, max_attempts=3, margin=1000, dry_run=False, lock_owner=None).as_result()
    accepted = done["accepted_serial"]
    assert done["verified"] is True and accepted >= 100000 and done["registration_recorded"] is True
    again = set_gsan_minserial(node, accepted, max_attempts=3, margin=1000, dry_run=False, lock_owner=None)
    assert again.as_result() == {
        "accepted_serial": accepted,
        "attempts": [],
        "verified": True,
        "dry_run": False,
        "before": {"gsan_minserial": accepted, "mcs_serial": 24118},
        "noop": True,
    }


def test_write_mcs_serial_that_cannot_write_reports_the_serials_and_the_released_lock(make_sim_node):
    sim = make_sim_node("healthy", gsan_minimal=30000)
    with open_node(sim) as node:
        sim.inject_fault("srl_write", "readonly")
        exc = failure(lambda: write_mcs_serial(node, 30000, dry_run=False, lock_owner=None))
        assert exc.step == "write_srl" and "MCS unchanged at 24118" in exc.state_left
        partial = exc.partial_result()
        assert {k: partial[k] for k in ("previous", "written", "backup_path", "changed", "gsan_minserial")} == {
            "previous": 24118,
            "written": None,
            "backup_path": None,
            "changed": False,
            "gsan_minserial": 30000,
        }
        assert partial["lock"]["released"] is True and "owner_mode" not in partial
        sim.clear_faults()
        done = write_mcs_serial(node, 30000, dry_run=False, lock_owner=None).as_result()
        assert done["written"] == 30000 and done["changed"] is True and done["backups_removed"] == []
        assert set(done) == {"previous", "written", "backup_path", "changed", "dry_run", "gsan_minserial"} | {
            "lock",
            "owner_mode",
            "backups_removed",
        }


def test_restart_mcs_reports_restarted_and_the_last_status_when_mcs_does_not_come_up(node, healthy):
    healthy.inject_fault("dpnctl", "error")  # no status printed: MCS never reads as up
    clock = FakeClock()
    exc = failure(lambda: restart_mcs(node, Wait(60, clock, clock.sleep), lock_owner=None))
    assert exc.step == "wait_for_mcs" and "not up 60s after the restart" in exc.reason
    partial = exc.partial_result()
    assert (partial["restarted"], partial["status"]) == (True, None) and partial["duration_s"] >= 60
    assert partial["lock"]["released"] is True


def test_restart_mcs_that_does_not_restart(node, healthy):
    healthy.inject_fault("mcserver.sh", "no_restart")
    exc = failure(lambda: restart_mcs(node, Wait(60), lock_owner=None))
    assert exc.step == "restart" and exc.partial_result()["restarted"] is False


def test_run_test_backup_reports_the_activity_when_the_wait_fails(node, healthy):
    healthy.inject_fault("mccli", "error", match="activity")
    exc = failure(lambda: run_test_backup(node, TEST_CLIENT, "/Default Dataset", Wait(60), lock_owner="wf-1"))
    assert exc.step == "wait_for_backup"
    partial = exc.partial_result()
    assert partial["activity_id"] and partial["succeeded"] is False and partial["duration_s"] is None
    assert partial["client"] == TEST_CLIENT and partial["lock"]["scope"] == "workflow"
    assert "client_log_tail" not in partial


def test_flush_mcs_without_a_registered_serial_reports_the_state_it_read(node):
    exc = failure(lambda: flush_mcs(node, enabled=True, timeout=60, lock_owner=None))
    assert exc.step == "check_state"
    assert exc.partial_result() == {
        "flushed": False,
        "skipped": None,
        "srl_before": 24118,
        "srl_after": None,
        "gsan_minserial": 20000,
        "mcs_status": "up",
        "serial": None,
    }
    skipped = flush_mcs(node, enabled=False, timeout=60, lock_owner=None).as_result()
    assert "serial" not in skipped and skipped["skipped"]


def test_record_remediation_refused_and_written(node):
    exc = failure(lambda: record_remediation(node, 40000, lock_owner=None))
    assert exc.step == "check_serial"
    assert exc.partial_result() == {
        "path": node.paths.record(records.LAST_REMEDIATION),
        "recorded": False,
        "record": None,
        "gsan_minserial": 20000,
        "mcs_serial": 24118,
    }
    done = record_remediation(node, 20000, lock_owner=None).as_result()
    assert done["recorded"] is True and done["record"]["serial"] == 20000 and set(done["lock"]) == LOCK_KEYS


def test_every_failure_of_a_remediation_function_goes_through_its_report():
    """A bare ``raise StepFailed(...)`` or ``with step(...)`` in an action's module would fail without
    the partial result: they are written only in ``report`` (and ``steps``, the mechanism)."""
    import avamar_pack.remediation as package

    folder = os.path.dirname(package.__file__)
    offenders = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".py") or name in ("report.py", "steps.py", "waiting.py"):
            continue
        with open(os.path.join(folder, name), encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if BARE_FAILURE.search(line.split("#", 1)[0]):
                    offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == [], offenders
