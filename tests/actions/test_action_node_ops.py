"""Node operations around the KB's steps: running MCS activities, the lock take-over, the MCS flush,
the ``.srl`` backups kept, the pack's records on the node and the evidence they make stale.

Every test drives the actions (``BaseActionTestCase``) against the simulator over the local
transport with a config filled the way st2's loader fills it.
"""

from __future__ import annotations

import glob
import json
import os
import shutil

from acquire_node_lock import AcquireNodeLock
from actions_testkit import SERVER, NodeCase
from avamar_pack.node.paths import NodePaths
from avamar_pack.st2api import St2ApiError as ApiError
from check_preconditions import CheckPreconditions
from diagnose_session_tickets import DiagnoseSessionTickets
from flush_mcs import FlushMcs
from record_remediation import RecordRemediation
from release_node_lock import ReleaseNodeLock
from restart_mcs import RestartMcs
from set_gsan_minserial import SetGsanMinserial
from st2tests.base import BaseActionTestCase
from write_mcs_serial import WriteMcsSerial

DEAD_RUN = "5f1c2a9e8d7b6c5a4f3e2d1c"  # an st2 execution id (24 hex digits)
ME = "6a0b1c2d3e4f5a6b7c8d9e0f"


class FakeApi:
    """The one st2 call the lock take-over makes: GET an execution (status, or an API error)."""

    api_url = "http://127.0.0.1:9101/v1"

    def __init__(self, statuses):
        self.statuses = statuses
        self.asked = []

    def get_execution(self, execution_id):
        self.asked.append(execution_id)
        answer = self.statuses.get(execution_id, 404)
        if isinstance(answer, int):
            raise ApiError(f"execution {execution_id}: {answer}", status=None if answer == 0 else answer)
        return {"id": execution_id, "status": answer}


class Cases(NodeCase):
    action_cls = DiagnoseSessionTickets
    api = None

    def act(self, cls, **params):
        self.action_cls = cls
        action = self.get_action_instance(config=self.config)
        if self.api is not None:
            action.st2_api_factory = lambda: self.api
        elif cls is AcquireNodeLock:

            def outside_st2():
                raise ApiError("no st2 API URL (outside StackStorm)")

            action.st2_api_factory = outside_st2
        ok, result = action.run(server=SERVER, **params)
        if not ok:
            assert set(result["error"]) == {"step", "reason", "state_left"}, result
        return ok, result

    def remediate(self, detection=None, owner=ME):
        """The workflow's node steps through the actions; returns the accepted serial."""
        ok, diag = self.act(DiagnoseSessionTickets, detection=detection)
        assert ok and diag["in_sync"] is False, diag
        ok, pre = self.act(AcquireNodeLock, lock_owner=owner)
        assert ok and pre["safe"] is True, pre
        ok, gsan = self.act(SetGsanMinserial, serial=diag["proposed_serial"], lock_owner=owner)
        assert ok and gsan["verified"] is True and gsan["registration_recorded"] is True, gsan
        accepted = gsan["accepted_serial"]
        ok, mcs = self.act(WriteMcsSerial, serial=accepted, lock_owner=owner)
        assert ok, mcs
        ok, rst = self.act(RestartMcs, timeout=60, lock_owner=owner)
        assert ok and rst["status"] == "up", rst
        ok, verify = self.act(DiagnoseSessionTickets, verify_serial=accepted, detection=detection)
        assert ok and verify["in_sync"] is True, verify  # the old lines predate the registration
        self.sim.run_backup("client00")  # a backup works again
        ok, flush = self.act(FlushMcs, lock_owner=owner)
        assert ok and flush["flushed"] is True, flush
        ok, rec = self.act(RecordRemediation, serial=accepted, lock_owner=owner)
        assert ok and rec["recorded"] is True, rec
        ok, rel = self.act(ReleaseNodeLock, lock_owner=owner)
        assert ok and rel["released"] is True, rel
        return accepted


class TestActivities(Cases, BaseActionTestCase):
    scenario = "mcs_restored_old_flush"

    def test_running_restore_or_replication_is_unsafe_and_named(self):
        for kind in ("restore", "replication"):
            self.sim.set_scenario("mcs_restored_old_flush")
            activity = self.sim.start_activity(kind, f"{kind}-client01")
            for cls, params in ((CheckPreconditions, {}), (AcquireNodeLock, {"lock_owner": ME})):
                ok, res = self.act(cls, **params)
                assert ok and res["safe"] is False, res
                assert any(activity in r and kind in r for r in res["reasons"]), res["reasons"]
                listed = [a for a in res["activities"] if a["id"] == activity]
                assert listed and listed[0]["type"] == kind and listed[0]["status"] == "Running", res["activities"]
                assert set(listed[0]) >= {"id", "type", "client", "status", "started"}
            assert not os.path.exists(NodePaths(self.sim.root).lock_dir)  # unsafe: no lock left
            self.sim.end_activity(activity, "Completed")
            ok, res = self.act(CheckPreconditions)
            assert ok and res["safe"] is True and res["activities"] == [], res

    def test_running_backups_are_listed_and_noted_but_not_unsafe(self):
        hung = self.sim.start_activity("backup", "db01", hang=True, started_ago=7200)
        ok, res = self.act(CheckPreconditions)
        assert ok and res["safe"] is True, res
        assert [a["id"] for a in res["activities"]] == [hung] and res["activities"][0]["type"] == "backup"
        assert res["activities"][0]["client"].endswith("db01")
        assert any(hung in note and "backup" in note for note in res["notes"]), res["notes"]

    def test_activities_that_cannot_be_read_while_mcs_is_up_are_a_reason(self):
        self.sim.inject_fault("mccli", "error", exit_code=3, match="activity", message="mccli: simulated failure")
        ok, res = self.act(CheckPreconditions)
        assert ok and res["safe"] is False and any("activities could not be read" in r for r in res["reasons"])


class TestLockTakeover(Cases, BaseActionTestCase):
    scenario = "mcs_restored_old_flush"

    def test_a_cancelled_runs_lock_is_taken_over_with_a_note(self):
        self.sim.leave_lock(DEAD_RUN, age_seconds=600)
        self.api = FakeApi({DEAD_RUN: "canceled"})
        ok, res = self.act(AcquireNodeLock, lock_owner=ME)
        assert ok and res["safe"] is True, res
        took = res["lock"]["took_over"]
        assert took["previous_owner"] == DEAD_RUN and took["previous_status"] == "canceled", took
        assert took["reason"] == "owner_not_live" and res["lock"]["acquired"] is True
        assert any(DEAD_RUN in note and "canceled" in note for note in res["notes"]), res["notes"]
        assert self.sim.lock_holder()["owner"] == ME and self.api.asked == [DEAD_RUN]

    def test_a_lock_of_a_live_or_unknown_owner_is_kept(self):
        self.sim.leave_lock(DEAD_RUN, age_seconds=600)
        for answer in ("running", "paused", 404, 0, 500):  # live, unknown to this st2, unreachable, error
            self.api = FakeApi({DEAD_RUN: answer})
            ok, res = self.act(AcquireNodeLock, lock_owner=ME)
            assert ok and res["safe"] is False and any(DEAD_RUN in r for r in res["reasons"]), (answer, res)
            assert self.sim.lock_holder()["owner"] == DEAD_RUN and self.api.asked == [DEAD_RUN]

    def test_outside_st2_only_the_age_rule_frees_a_lock(self):
        self.sim.leave_lock(DEAD_RUN, age_seconds=600)
        ok, res = self.act(AcquireNodeLock, lock_owner=ME)
        assert ok and res["safe"] is False
        shutil.rmtree(NodePaths(self.sim.root).lock_dir)
        self.sim.leave_lock(DEAD_RUN, age_seconds=3 * 3600)  # past the 2 h TTL
        ok, res = self.act(AcquireNodeLock, lock_owner=ME)
        assert ok and res["safe"] is True and res["lock"]["took_over"]["reason"] == "stale", res

    def test_an_action_owned_lock_is_never_asked_about(self):
        self.sim.leave_lock("set_gsan_minserial.0a1b2c3d4e5f", age_seconds=5)
        self.api = FakeApi({})
        ok, res = self.act(AcquireNodeLock, lock_owner=ME)
        assert ok and res["safe"] is False and self.api.asked == []


class TestFlushAndBackups(Cases, BaseActionTestCase):
    scenario = "mcs_restored_old_flush"

    def test_flush_is_refused_on_a_drifted_node_and_skipped_when_configured_off(self):
        ok, res = self.act(FlushMcs)
        assert not ok and res["error"]["step"] == "check_state", res
        assert "no registered serial" in res["error"]["reason"]
        assert "nothing was run" in res["error"]["state_left"]
        ok, res = self.act(FlushMcs, serial=30000)  # a serial GSAN does not hold
        assert not ok and res["error"]["step"] == "check_state" and "does not hold" in res["error"]["reason"], res
        assert self.sim.state()["mcs_flush_count"] == 0
        self.config["remediation"]["flush_mcs"] = False
        ok, res = self.act(FlushMcs)
        assert ok and res["flushed"] is False and "flush_mcs is false" in res["skipped"]

    def test_a_failed_flush_reports_what_it_left(self):
        self.sim.set_scenario("healthy")
        self.sim.inject_fault("mcserver.sh", "error", exit_code=2, match="flush", message="mcserver.sh: simulated")
        ok, res = self.act(FlushMcs, serial=20000)
        assert not ok and res["error"]["step"] == "flush", res
        assert "mcserver.sh --flush" in res["error"]["state_left"] and "GSAN 20000" in res["error"]["state_left"]

    def test_write_keeps_only_the_newest_srl_backups(self):
        self.sim.set_scenario("mcs_restored_old_flush", gsan_minimal=30000, mcs_serial=29000)
        old = [f"{self.sim.srl_path}.bak-20200101T0000{i:02d}.000000Z" for i in range(7)]
        for path in old:
            with open(path, "wb") as handle:
                handle.write(b"1")
        self.config["remediation"]["srl_backups_kept"] = 3
        ok, res = self.act(WriteMcsSerial, serial=30000)
        assert ok and res["changed"] is True, res
        kept = sorted(glob.glob(self.sim.srl_path + ".bak-*"))
        assert len(kept) == 3 and res["backup_path"] in kept, kept
        assert sorted(res["backups_removed"]) == old[:5]


class TestRecordsMakeOldEvidenceStale(Cases, BaseActionTestCase):
    def rerun_after_remediation_is_in_sync(self, scenario):
        self.sim.set_scenario(scenario)
        if scenario not in ("mcs_down", "storm"):  # storm's clients failed already (more would get fresh serials)
            self.fail_backups(3)
        accepted = self.remediate()
        before = self.sim.state()
        ok, again = self.act(DiagnoseSessionTickets)
        assert ok and again["in_sync"] is True and again["drift"] == "none", again
        assert again["last_remediation"]["serial"] == accepted
        assert any("last remediated this node" in f for f in again["findings"]), again["findings"]
        after = self.sim.state()
        assert after["gsan_minimal_serial"] == before["gsan_minimal_serial"] == accepted
        assert after["mcs_flush_count"] == before["mcs_flush_count"]

    def test_rerun_in_sync_mcs_restored_old_flush(self):
        self.rerun_after_remediation_is_in_sync("mcs_restored_old_flush")

    def test_rerun_in_sync_keystore_rebuilt(self):
        self.rerun_after_remediation_is_in_sync("keystore_rebuilt")

    def test_rerun_in_sync_mcs_down(self):
        self.rerun_after_remediation_is_in_sync("mcs_down")

    def test_rerun_in_sync_storm(self):
        self.rerun_after_remediation_is_in_sync("storm")

    def test_gsan_rolled_back_with_only_the_trigger_as_evidence_is_remediated(self):
        self.sim.set_scenario("gsan_rolled_back")
        self.fail_backups(2)
        for path in glob.glob(os.path.join(NodePaths(self.sim.root).client_log_dir, "*")):
            os.remove(path)  # the client logs live on the clients, not on the utility node
        ok, diag = self.act(DiagnoseSessionTickets)
        assert ok and diag["in_sync"] is True  # nothing on the node shows the outage
        detection = auth_failure_payload(count=25)
        ok, diag = self.act(DiagnoseSessionTickets, detection=detection)
        assert ok and diag["in_sync"] is False and diag["drift"] == "gsan_behind", diag
        assert any("The trigger reports 25 failed backup(s)" in f for f in diag["findings"]), diag["findings"]
        assert diag["detection"]["trigger"] == "backup_auth_failure"
        self.remediate(detection=detection)
        ok, again = self.act(DiagnoseSessionTickets, detection=detection)  # the same old trigger again
        assert ok and again["in_sync"] is True, again

    def test_record_is_refused_when_the_node_does_not_hold_the_serial(self):
        ok, res = self.act(RecordRemediation, serial=99000)
        assert not ok and res["error"]["step"] == "check_serial", res
        assert not os.path.exists(NodePaths(self.sim.root).record("last_remediation"))

    def test_a_garbled_record_is_a_finding_not_a_failure(self):
        path = NodePaths(self.sim.root).record("last_remediation")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            json.dump({"name": "last_remediation", "serial": "$(reboot)", "node_time": "soon"}, handle)
        self.fail_backups(1)
        ok, diag = self.act(DiagnoseSessionTickets)
        assert ok and diag["in_sync"] is False and diag["last_remediation"] is None, diag
        assert any("record could not be used" in f for f in diag["findings"])


class TestVerifySerial(Cases, BaseActionTestCase):
    def test_verify_judges_the_node_after_the_registration(self):
        self.fail_backups(3)  # 1418 + 5704 lines, before any fix
        ok, diag = self.act(DiagnoseSessionTickets)
        ok, gsan = self.act(SetGsanMinserial, serial=diag["proposed_serial"])
        accepted = gsan["accepted_serial"]
        ok, _ = self.act(WriteMcsSerial, serial=accepted)
        ok, _ = self.act(RestartMcs, timeout=60)
        ok, plain = self.act(DiagnoseSessionTickets)  # without verify_serial the old lines still count
        assert ok and plain["in_sync"] is False, plain
        ok, verify = self.act(DiagnoseSessionTickets, verify_serial=accepted)
        assert ok and verify["in_sync"] is True and verify["proposed_serial"] is None, verify
        ok, wrong = self.act(DiagnoseSessionTickets, verify_serial=accepted + 5000)  # GSAN does not hold it
        assert ok and wrong["in_sync"] is False and wrong["drift"] == "gsan_behind", wrong


def auth_failure_payload(count=1, server=SERVER):
    return {
        "server": server,
        "client": "/clients/web01",
        "clients": ["/clients/web01", "/clients/db01"],
        "codes": [8609, 5704, 5126, 8941, 7001],
        "message": "2026-11-25 10:00:03 avtar FATAL <5704>: Fatal Server Error occurred (MSG_ERR_AUTH_FAIL)",
        "ticket": {"SECURETICKETLOGIN": 452, "serial": 1, "seq": 0},
        "log_file": "/var/log/avtar.log",
        "first_seen": "2020-01-01T10:00:03",
        "last_seen": "2020-01-01T10:05:03",
        "count": count,
        "source": "file",
    }
