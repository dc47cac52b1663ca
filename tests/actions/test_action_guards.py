"""Refusals: hostile input fails before anything runs; unsafe serials, the node lock, faults."""

from __future__ import annotations

import glob
import json
import os
import re
import threading

import lib.avamar_action as avamar_action
import pytest
import yaml
from acquire_node_lock import AcquireNodeLock
from actions_testkit import SERVER, NodeCase
from avamar_pack.config import server_settings
from avamar_pack.node.lock import NodeLock
from avamar_pack.node.paths import NodePaths
from avamar_pack.transport.local import LocalTransport
from check_preconditions import CheckPreconditions
from diagnose_session_tickets import DiagnoseSessionTickets
from flush_mcs import FlushMcs
from record_remediation import RecordRemediation
from release_node_lock import ReleaseNodeLock
from restart_mcs import RestartMcs
from run_test_backup import RunTestBackup
from set_gsan_minserial import SetGsanMinserial
from st2tests.base import BaseActionTestCase
from write_mcs_serial import WriteMcsSerial

ACTIONS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "actions")
ALL_ACTIONS = [
    (DiagnoseSessionTickets, {}),
    (CheckPreconditions, {}),
    (SetGsanMinserial, {"serial": 40000}),
    (WriteMcsSerial, {"serial": 40000}),
    (RestartMcs, {"timeout": 30}),
    (RunTestBackup, {"timeout": 30}),
    (ReleaseNodeLock, {"lock_owner": "wf1"}),
    (AcquireNodeLock, {"lock_owner": "wf1"}),
    (FlushMcs, {}),
    (RecordRemediation, {"serial": 40000}),
]


class ManyActions(NodeCase):
    """Runs any of the pack's actions against the one simulated node: ``act(cls, **params)``."""

    def act(self, cls, **params):
        self.action_cls = cls
        return self.run_action(server=SERVER, **params)


class TestHostileInput(NodeCase, BaseActionTestCase):
    action_cls = SetGsanMinserial

    @pytest.fixture(autouse=True)
    def _no_transport(self, monkeypatch):
        """Any attempt to reach the node fails the test: validation must come first."""
        self.opened = []
        monkeypatch.setattr(avamar_action, "open_transport", lambda *a, **k: self.opened.append(a) or 1 / 0)

    def check_refused(self, cls, params, needle):
        self.action_cls = cls
        ok, res = self.run_action(**params)
        assert not ok
        assert res["error"]["step"] == "validate"
        assert res["error"]["state_left"] == "nothing was run"
        assert needle in res["error"]["reason"], res["error"]["reason"]
        assert self.opened == []

    def test_server_with_shell_metacharacters_is_refused_by_every_action(self):
        for cls, params in ALL_ACTIONS:
            self.check_refused(cls, dict(params, server="ava01;rm -rf /"), "server name")

    def test_unknown_server_is_refused_by_every_action(self):
        for cls, params in ALL_ACTIONS:
            self.check_refused(cls, dict(params, server="ava99"), "unknown server 'ava99'")

    def test_non_integer_serials_are_refused(self):
        for bad in ("28500; rm -rf /", "28500.5", "-1", "0x7000", 28500.0, True, None, "", 0, 2**63):
            for cls in (SetGsanMinserial, WriteMcsSerial):
                self.check_refused(cls, {"server": SERVER, "serial": bad}, "serial")
        assert self.srl() == str(self.sim.state()["mcs_next_serial"]).encode()

    def test_other_hostile_parameters_are_refused(self):
        base = {"server": SERVER, "serial": 40000}
        self.check_refused(SetGsanMinserial, dict(base, lock_owner="a b;c"), "lock_owner")
        self.check_refused(SetGsanMinserial, dict(base, max_attempts="6;x"), "max_publickey")
        self.check_refused(RunTestBackup, {"server": SERVER, "client": "/clients/$(reboot)"}, "client name")
        self.check_refused(RunTestBackup, {"server": SERVER, "dataset": "x\nrm"}, "dataset")
        self.check_refused(RestartMcs, {"server": SERVER, "wait_seconds": "soon"}, "wait_seconds")
        self.check_refused(ReleaseNodeLock, {"server": SERVER, "lock_owner": ""}, "lock_owner")
        self.check_refused(DiagnoseSessionTickets, {"server": SERVER, "verify_serial": "39000; id"}, "verify_serial")
        self.check_refused(FlushMcs, {"server": SERVER, "timeout": 0}, "timeout")

    def test_the_actions_enforce_their_metadata_bounds_again(self):
        """st2 refuses out-of-range values at scheduling; a direct call must be refused the same way."""
        checked = 0
        for cls, base in ALL_ACTIONS:
            meta = action_metadata(cls)
            for name, spec in meta["parameters"].items():
                if name == "server":
                    continue
                bad = []
                if spec.get("type") == "integer" and "minimum" in spec:
                    bad = [spec["minimum"] - 1, spec["maximum"] + 1]
                elif spec.get("type") == "string" and "pattern" in spec:
                    bad = ["$(reboot)", "a b\nc"]
                for value in bad:
                    assert not re.match(spec.get("pattern", "^$"), str(value)), (name, value)
                    self.check_refused(cls, dict(base, server=SERVER, **{name: value}), "")
                    checked += 1
        assert checked >= 30


def action_metadata(cls):
    """The metadata of the action whose entry point defines ``cls``."""
    for path in glob.glob(os.path.join(ACTIONS_DIR, "*.yaml")):
        with open(path, encoding="utf-8") as handle:
            meta = yaml.safe_load(handle)
        if meta.get("entry_point") == cls.__module__ + ".py":
            return meta
    raise AssertionError(f"no metadata for {cls.__name__}")


def test_every_parameter_of_these_actions_is_constrained_in_the_metadata():
    free = {"detection", "dry_run", "timeout"}  # an object validated field by field; a boolean; st2's runner param
    for cls, _ in ALL_ACTIONS:
        for name, spec in action_metadata(cls)["parameters"].items():
            if name in free:
                continue
            kind = spec["type"]
            assert (kind == "integer" and {"minimum", "maximum"} <= set(spec)) or (
                kind == "string" and "pattern" in spec
            ), (cls.__name__, name, spec)


class TestSerialSafety(ManyActions, BaseActionTestCase):
    action_cls = SetGsanMinserial

    def test_serial_not_above_gsan_or_mcs_is_refused_before_any_write(self):
        for serial in (27000, 28300, 28451):  # below GSAN; above GSAN but at or below MCS
            ok, res = self.act(SetGsanMinserial, serial=serial)
            assert not ok and res["error"]["step"] == "check_serial", res
            assert "temp_dir" not in res and "lock" not in res
        # Equal to GSAN's serial: already there (a re-run), a no-op that runs nothing that writes.
        ok, res = self.act(SetGsanMinserial, serial=28000)
        assert ok and res["noop"] is True and res["attempts"] == [] and "lock" not in res
        assert self.sim.state()["gsan_minimal_serial"] == 28000

    def test_gsan_refusing_every_attempt_fails_bounded(self):
        self.sim.set_knobs(threshold_extra=10**9)
        ok, res = self.act(SetGsanMinserial, serial=28500, max_attempts=3)
        assert not ok and res["error"]["step"] == "register_public_key"
        assert [a["accepted"] for a in res["attempts"]] == [False, False, False]
        serials = [a["serial"] for a in res["attempts"]]
        assert serials == sorted(set(serials)) and serials[0] == 28500
        assert self.sim.state()["gsan_minimal_serial"] == 28000
        assert not os.path.exists(res["temp_dir"])

    def test_mcs_write_only_the_serial_gsan_holds_never_lower(self):
        ok, res = self.act(WriteMcsSerial, serial=40000)  # GSAN holds 28000, not 40000
        assert not ok and res["error"]["step"] == "check_serial"
        assert "not the serial GSAN verifiably holds" in res["error"]["reason"]
        self.sim.set_scenario("mcs_restored_old_flush", gsan_minimal=30000, mcs_serial=31000)
        ok, res = self.act(WriteMcsSerial, serial=30000)  # would lower MCS
        assert not ok and "lower" in res["error"]["reason"]
        assert self.srl() == b"31000"
        self.sim.set_scenario("mcs_restored_old_flush", gsan_minimal=30000, mcs_serial=30000)
        ok, res = self.act(WriteMcsSerial, serial=30000)  # converged: no-op
        assert ok and res["noop"] is True and res["changed"] is False and res["backup_path"] is None

    def test_readonly_srl_fails_at_write_and_leaves_mcs_unchanged(self):
        self.sim.set_scenario("mcs_restored_old_flush", gsan_minimal=30000, mcs_serial=29000)
        self.sim.inject_fault("srl_write", "readonly")
        ok, res = self.act(WriteMcsSerial, serial=30000)
        assert not ok and res["error"]["step"] == "write_srl", res
        assert "MCS unchanged at 29000" in res["error"]["state_left"]
        self.sim.clear_faults()
        assert self.srl() == b"29000"

    def test_mcs_that_does_not_come_back_fails_wait_step(self):
        self.sim.inject_fault("mcserver.sh", "no_restart")
        ok, res = self.act(RestartMcs, timeout=3)
        assert not ok, res
        assert res["error"]["step"] in ("restart", "wait_for_mcs")
        assert res["restarted"] is (res["error"]["step"] == "wait_for_mcs")

    def test_preconditions_unsafe_during_maintenance_and_takes_no_lock(self):
        self.sim.set_scenario("maintenance_running")
        ok, res = self.act(CheckPreconditions, lock_owner="wf1")
        assert ok and res["safe"] is False
        assert any("running" in r for r in res["reasons"]), res["reasons"]
        assert res["notes"] == [] and res["services"]["mcs"] == "up"
        assert not os.path.exists(NodePaths(self.sim.root).lock_dir)


class TestMcsDown(ManyActions, BaseActionTestCase):
    """A restart that did not complete leaves GSAN and the .srl agreeing and MCS down: the pack
    must see it (diagnose) and may act on it (preconditions), so that a re-run finishes the work."""

    action_cls = DiagnoseSessionTickets
    scenario = "mcs_down"

    def test_diagnose_reports_mcs_down_and_proposes_a_higher_serial(self):
        ok, diag = self.act(DiagnoseSessionTickets)
        assert ok, diag
        assert diag["mcs_status"] == "down"
        assert diag["in_sync"] is False and diag["drift"] == "mcs_down", diag
        assert any(f.startswith("MCS is down (dpnctl)") for f in diag["findings"]), diag["findings"]
        assert diag["proposed_serial"] > max(diag["gsan_minserial"], diag["mcs_serial"])
        self.sim.set_scenario("healthy")
        ok, diag = self.act(DiagnoseSessionTickets)
        assert ok and diag["mcs_status"] == "up" and diag["in_sync"] is True and diag["drift"] == "none", diag

    def test_diagnose_goes_on_without_mcs_state_when_dpnctl_fails(self):
        self.sim.set_scenario("healthy")
        self.sim.inject_fault("dpnctl", "error", exit_code=3, match="mcs", message="dpnctl: simulated failure")
        ok, diag = self.act(DiagnoseSessionTickets)
        assert ok, diag
        assert diag["mcs_status"] is None and diag["in_sync"] is True, diag
        assert any("printed no MCS status" in f for f in diag["findings"]), diag["findings"]
        self.sim.inject_fault("dpnctl", "hang", match="mcs", seconds=30)
        ok, diag = self.act(DiagnoseSessionTickets, command_timeout=2)
        assert ok, diag
        assert diag["mcs_status"] is None and diag["in_sync"] is True, diag
        assert any(f.startswith("MCS status could not be read") for f in diag["findings"]), diag["findings"]

    def test_preconditions_are_safe_with_a_note_and_the_lock_can_be_taken(self):
        ok, res = self.act(CheckPreconditions, lock_owner="wf1")
        assert ok and res["safe"] is True and res["reasons"] == [], res
        assert res["services"]["mcs"] == "down" and res["services"]["gsan"] == "up"
        assert len(res["notes"]) == 1 and res["notes"][0].startswith("MCS is not up (dpnctl status: down)")
        assert res["lock"]["holder"] is None and res["activities"] == []  # read-only: nothing taken
        assert not os.path.exists(NodePaths(self.sim.root).lock_dir)
        ok, res = self.act(AcquireNodeLock, lock_owner="wf1")
        assert ok and res["safe"] is True and res["lock"]["acquired"] is True, res

    def test_preconditions_still_unsafe_when_gsan_is_down(self):
        # The simulator has no GSAN-down scenario: dpnctl itself answers that GSAN is down.
        self.sim.inject_fault(
            "dpnctl", "error", exit_code=0, message="dpnctl: INFO: gsan status: down.\ndpnctl: INFO: MCS status: down."
        )
        for cls in (CheckPreconditions, AcquireNodeLock):
            ok, res = self.act(cls, lock_owner="wf1")
            assert ok and res["safe"] is False, res
            assert res["reasons"] == ["GSAN is not up (dpnctl status: down)"], res["reasons"]
            assert res["services"]["mcs"] == "down" and len(res["notes"]) == 1
            assert not os.path.exists(NodePaths(self.sim.root).lock_dir)  # unsafe: no lock left behind

    def test_restart_starts_mcs_when_it_is_down(self):
        ok, res = self.act(RestartMcs, timeout=30)
        assert ok and res["restarted"] is True and res["status"] == "up", res
        assert self.sim.state()["mcs_status"] == "up"


class TestTestBackupStart(NodeCase, BaseActionTestCase):
    action_cls = RunTestBackup

    def test_a_start_that_times_out_may_have_started_a_backup(self):
        self.sim.inject_fault("mccli", "hang", match="backup-dataset", seconds=30)
        ok, res = self.run_action(server=SERVER, timeout=2)
        assert not ok and res["error"]["step"] == "start_backup", res
        assert res["error"]["state_left"] == "a test backup may have started; check `mccli activity show`"

    def test_a_start_refused_by_mccli_started_no_backup(self):
        self.sim.inject_fault("mccli", "error", exit_code=3, match="backup-dataset", message="mccli: simulated failure")
        ok, res = self.run_action(server=SERVER, timeout=10)
        assert not ok and res["error"]["step"] == "start_backup", res
        assert res["error"]["state_left"] == "no backup was started"


class TestNodeLock(ManyActions, BaseActionTestCase):
    action_cls = SetGsanMinserial

    def test_second_owner_is_refused_with_the_holder_named(self):
        ok, res = self.act(AcquireNodeLock, lock_owner="wf-A")
        assert ok and res["safe"] is True and res["lock"]["acquired"] is True
        for cls in (CheckPreconditions, AcquireNodeLock):
            ok, res = self.act(cls, lock_owner="wf-B")
            assert ok and res["safe"] is False and any("wf-A" in r for r in res["reasons"]), res
            assert res["lock"] is None or res["lock"]["holder"]["owner"] == "wf-A"
        ok, res = self.act(CheckPreconditions, lock_owner="wf-A")  # its own lock is no reason
        assert ok and res["safe"] is True and res["lock"]["held_by_caller"] is True
        for cls, params in (
            (SetGsanMinserial, {"serial": 40000}),
            (RestartMcs, {"timeout": 10}),
            (RunTestBackup, {"timeout": 10}),
        ):
            ok, res = self.act(cls, lock_owner="wf-B", **params)
            assert not ok and res["error"]["step"] == "lock", (cls, res)
            assert "wf-A" in res["error"]["reason"]
        ok, res = self.act(SetGsanMinserial, serial=40000)  # no owner: the action's own lock is refused too
        assert not ok and res["error"]["step"] == "lock"
        ok, res = self.act(ReleaseNodeLock, lock_owner="wf-B")
        assert not ok and "wf-A" in res["error"]["reason"]
        assert self.sim.state()["gsan_minimal_serial"] == 28000
        ok, res = self.act(ReleaseNodeLock, lock_owner="wf-A")
        assert ok and res["released"] is True
        ok, res = self.act(SetGsanMinserial, serial=40000, lock_owner="wf-B")
        assert ok and res["lock"]["acquired"] is True

    def test_two_concurrent_remediations_exactly_one_changes(self):
        results = {}
        barrier = threading.Barrier(2)

        def remediate(owner, serial):
            barrier.wait()
            self.action_cls = SetGsanMinserial
            action = self.get_action_instance(config=self.config)
            results[owner] = action.run(server=SERVER, serial=serial, lock_owner=owner)

        threads = [threading.Thread(target=remediate, args=(o, s)) for o, s in (("wf-A", 40000), ("wf-B", 50000))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        oks = [owner for owner, (ok, _) in results.items() if ok]
        assert len(oks) == 1, results
        loser = ({"wf-A", "wf-B"} - set(oks)).pop()
        assert results[loser][1]["error"]["step"] == "lock"
        assert oks[0] in results[loser][1]["error"]["reason"]
        assert self.sim.state()["gsan_minimal_serial"] == results[oks[0]][1]["accepted_serial"]

    def test_stale_lock_is_taken_over(self):
        settings = server_settings(self.config, SERVER)
        with LocalTransport(settings) as transport:
            paths = NodePaths(self.sim.root)
            NodeLock(transport, paths, clock=lambda: 1000.0).acquire("wf-dead")
            with open(os.path.join(paths.lock_dir, "owner")) as handle:
                assert json.load(handle)["owner"] == "wf-dead"
        ok, res = self.act(SetGsanMinserial, serial=40000, lock_owner="wf-new")
        assert ok, res
        took = res["lock"]["took_over"]
        assert took["previous_owner"] == "wf-dead" and took["reason"] == "stale" and took["previous"]["stale"] is True
        with open(os.path.join(NodePaths(self.sim.root).lock_dir, "owner")) as handle:
            assert json.load(handle)["owner"] == "wf-new"
