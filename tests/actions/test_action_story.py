"""The KB's procedure through every action, over each transport, against the simulator.

Scenario ``mcs_restored_old_flush`` is the KB's: MCS near 28451, GSAN refuses 28500 and accepts
a higher serial. Every transport runs the same story and the same failure answers.
"""

from __future__ import annotations

import os

from acquire_node_lock import AcquireNodeLock
from actions_testkit import SERVER, NodeCase
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

OWNER = "wf-0123456789abcdef"


class StoryCases(NodeCase):
    action_cls = DiagnoseSessionTickets

    def act(self, cls, **params):
        self.action_cls = cls
        return self.run_action(server=SERVER, **params)

    def test_kb_story_end_to_end(self):
        self.fail_backups(3)
        ok, diag = self.act(DiagnoseSessionTickets)
        assert ok, diag
        assert diag["in_sync"] is False and diag["drift"] == "mcs_behind"
        assert diag["mcs_status"] == "up"
        assert diag["gsan_minserial"] == 28000 and diag["mcs_serial"] == self.sim.state()["mcs_next_serial"]
        assert diag["proposed_serial"] > max(diag["highest_seen_serial"], diag["mcs_serial"])
        assert any("5704" in line or "1418" in line for line in diag["evidence"])

        ok, pre = self.act(CheckPreconditions)
        assert ok and pre["safe"] is True and pre["reasons"] == [] and pre["notes"] == [], pre
        assert pre["services"]["gsan"] == "up" and pre["services"]["mcs"] == "up"
        assert pre["activities"] == [] and pre["lock"]["holder"] is None  # read-only

        ok, pre = self.act(AcquireNodeLock, lock_owner=OWNER)
        assert ok and pre["safe"] is True and pre["lock"]["acquired"] is True, pre
        assert pre["lock"]["held_by_caller"] is True and pre["lock"]["took_over"] is None

        # The KB's numbers: 28500 is refused, a higher serial is accepted and verified.
        ok, gsan = self.act(SetGsanMinserial, serial=28500, max_attempts=6, lock_owner=OWNER)
        assert ok, gsan
        refusal = "ERROR: avmaint: publickey: server_exception(MSG_ERR_INVALID_PARAMETERS)"
        assert gsan["attempts"][0] == {"serial": 28500, "accepted": False, "error": refusal}
        assert gsan["attempts"][-1]["accepted"] is True
        accepted = gsan["accepted_serial"]
        assert accepted == gsan["attempts"][-1]["serial"] > 28500
        assert gsan["verified"] is True
        assert self.sim.state()["gsan_minimal_serial"] == accepted
        assert gsan["temp_dir_removed"] is True and not os.path.exists(gsan["temp_dir"])

        old = self.srl()
        mode = os.stat(self.sim.srl_path).st_mode
        ok, mcs = self.act(WriteMcsSerial, serial=accepted, lock_owner=OWNER)
        assert ok, mcs
        assert mcs["previous"] == int(old) and mcs["written"] == accepted
        assert self.srl() == str(accepted).encode()  # `echo -n` format: no newline
        with open(mcs["backup_path"], "rb") as handle:
            assert handle.read() == old
        assert os.stat(self.sim.srl_path).st_mode == mode

        ok, rst = self.act(RestartMcs, timeout=60, lock_owner=OWNER)
        assert ok and rst["restarted"] is True and rst["status"] == "up", rst
        assert rst["duration_s"] >= 0

        # Verify: the old 1418 and 5704 lines predate the registration and do not count.
        ok, verify = self.act(DiagnoseSessionTickets, verify_serial=accepted)
        assert ok and verify["in_sync"] is True and verify["drift"] == "none", verify
        assert verify["verify_serial"] == accepted

        ok, bkp = self.act(RunTestBackup, timeout=60, lock_owner=OWNER)
        assert ok and bkp["succeeded"] is True and bkp["status"] == "Completed", bkp
        assert bkp["activity_id"].isdigit() and bkp["codes"] == []

        ok, flush = self.act(FlushMcs, lock_owner=OWNER)
        assert ok and flush["flushed"] is True and flush["srl_after"] >= accepted, flush
        assert self.sim.state()["mcs_flushed_serial"] >= accepted

        ok, rec = self.act(RecordRemediation, serial=accepted, lock_owner=OWNER)
        assert ok and rec["recorded"] is True and rec["record"]["serial"] == accepted, rec

        ok, rel = self.act(ReleaseNodeLock, lock_owner=OWNER)
        assert ok and rel["released"] is True
        ok, rel = self.act(ReleaseNodeLock, lock_owner=OWNER)  # idempotent
        assert ok and rel["released"] is False

        ok, after = self.act(DiagnoseSessionTickets)
        assert ok and after["in_sync"] is True and after["drift"] == "none", after

        # A re-run converges: GSAN already holds the serial, MCS already has it.
        ok, again = self.act(SetGsanMinserial, serial=accepted)
        assert ok and again["noop"] is True and again["accepted_serial"] == accepted and again["attempts"] == []

    def test_backup_before_remediation_fails_with_codes_and_log_tail(self):
        ok, bkp = self.act(RunTestBackup, timeout=60)
        assert ok, bkp
        assert bkp["succeeded"] is False
        assert 5704 in bkp["codes"]
        assert any("MSG_ERR_AUTH_FAIL" in line for line in bkp["client_log_tail"])

    def test_command_error_names_the_step_and_changes_nothing(self):
        self.sim.inject_fault("avmaint", "error", match="publickey", message="avmaint: simulated I/O error")
        ok, res = self.act(SetGsanMinserial, serial=40000)
        assert not ok
        assert res["error"]["step"] == "register_public_key"
        assert "simulated I/O error" in res["error"]["reason"]
        assert "unchanged at 28000" in res["error"]["state_left"]
        assert res["attempts"] == [{"serial": 40000, "accepted": False, "error": "avmaint: simulated I/O error"}]
        assert self.sim.state()["gsan_minimal_serial"] == 28000
        assert res["temp_dir_removed"] is True and not os.path.exists(res["temp_dir"])
        assert res["lock"]["released"] is True  # the action's own lock is given back on failure

    def test_timeout_stops_the_command_and_says_state_is_unknown(self):
        self.sim.inject_fault("avmaint", "hang", match="publickey", seconds=30)
        ok, res = self.act(SetGsanMinserial, serial=40000, command_timeout=3)
        assert not ok
        assert res["error"]["step"] == "register_public_key"
        assert "may or may not" in res["error"]["state_left"]
        assert not os.path.exists(res["temp_dir"])

    def test_dry_run_lists_exact_commands_and_writes_nothing(self):
        before = self.sim.state()
        ok, res = self.act(SetGsanMinserial, serial=40000, dry_run=True)
        assert ok and res["dry_run"] is True and res["accepted_serial"] is None
        planned = res["planned_commands"]
        assert planned[0] == ["mkdir", "-m", "700", "--", res["temp_dir"]]
        assert planned[1][:2] == ["sh", "-c"] and planned[1][3:] == [
            "sh",
            self.sim.keystore_path,
            res["temp_dir"] + "/mcecroot.pub",
        ]
        assert planned[2] == [
            "avmaint",
            "publickey",
            f"--keyfile={res['temp_dir']}/mcecroot.pub",
            "--serial=40000",
            "--ava",
        ]
        assert not os.path.exists(res["temp_dir"])
        assert self.sim.state()["gsan_minimal_serial"] == before["gsan_minimal_serial"]

        self.sim.set_scenario("mcs_restored_old_flush", gsan_minimal=30000, mcs_serial=29000)
        ok, res = self.act(WriteMcsSerial, serial=30000, dry_run=True)
        assert ok, res
        assert res["written"] is None and res["backup_path"] is None and res["changed"] is False
        assert res["planned"]["write_file_atomic"] == self.sim.srl_path
        assert res["planned"]["content"] == "30000"
        assert res["planned"]["backup_path"].startswith(self.sim.srl_path + ".bak-")
        assert self.srl() == b"29000"
        assert not os.path.exists(res["planned"]["backup_path"])


class TestStoryLocal(StoryCases, BaseActionTestCase):
    transport = "local"


class TestStorySsh(StoryCases, BaseActionTestCase):
    transport = "ssh"


class TestStorySalt(StoryCases, BaseActionTestCase):
    transport = "salt"
