"""AvamarServerSensor against the simulated utility node, over the local, REAL SSH and Salt transports.

The client logs of the simulated node are NOT visible to the sensor (it never reads them; only
GSAN's log and ``mccli activity show`` on the node): the drift must be seen from the server side
alone, within one poll, and its trigger remediates the node through the pack's rule, the workflow
and the approval gate (the local runner's real Orquesta engine, alice approving in chat).
SSH goes through the suite's sshd (tests/fixtures/servicekit/sshd.py),
Salt through its salt-master/minion/api (servicekit/salt.py; slow: one test).
"""

from __future__ import annotations

import io

import pytest
from avamar_pack.parsing import gsan
from avamar_server_sensor import AvamarServerSensor
from packkit import validate_dispatched_payloads
from st2_local.chat_transcript import ChatTranscript
from st2_local.demo_chat import answer_in_chat
from st2_local.pack_loader import load_pack
from st2_local.sim_pack_config import sim_pack_config
from st2_local.workflow_runner import WorkflowRunner
from st2tests.base import BaseSensorTestCase

WORKFLOW = "avamar.remediate_session_tickets"
APPROVER, BOT = "alice", "chatops_bot"


class SimServerSensorTest(BaseSensorTestCase):
    sensor_cls = AvamarServerSensor

    @pytest.fixture(autouse=True)
    def _fixtures(self, request, make_sim_node):
        self.request = request
        self.make_sim_node = make_sim_node
        self.sensors = []
        yield
        for sensor in self.sensors:
            sensor.cleanup()

    def tearDown(self) -> None:
        validate_dispatched_payloads(self)
        super().tearDown()

    def entry(self, kind: str, node) -> dict:
        base = {"avamar_root": node.root, "command_path": [node.bin_dir, "/usr/bin", "/bin"]}
        if kind == "ssh":
            base.update(self.request.getfixturevalue("sshd_service").server_entry())
        elif kind == "salt":
            base.update(self.request.getfixturevalue("salt_service").server_entry())
        else:
            base["transport"] = "local"
        return base

    def start(self, kind: str, node, server: str = "ava01", **sensor_cfg):
        cfg = sim_pack_config(
            node.root,
            server=server,
            entry=self.entry(kind, node),
            sensor=dict({"dedup_window_seconds": 900, "stall_minutes": 60}, **sensor_cfg),
            approval={"route": "avamar", "users": [APPROVER], "chatops_users": [BOT]},
            remediation=None,
        )
        if kind == "salt":
            cfg["salt"] = self.request.getfixturevalue("salt_service").salt_config()
        self.cfg = cfg
        self.mark = len(self.get_dispatched_triggers())
        sensor = self.get_sensor_instance(config=cfg)
        sensor.setup()
        self.sensors.append(sensor)
        sensor.poll()  # the first poll: from the end of gsan.log, a baseline of MCS's activities
        return sensor

    def of(self, trigger: str):
        """Payloads of ``trigger`` dispatched since the current scene started (``self.mark``)."""
        return [
            d["payload"] for d in self.get_dispatched_triggers()[self.mark :] if d["trigger"] == f"avamar.{trigger}"
        ]

    def drift_is_seen_within_one_poll(self, kind: str) -> None:
        node = self.make_sim_node("healthy", restart_seconds=0)
        for client in ("web01", "web02"):  # history: healthy backups, noise in gsan.log
            assert node.run(["mccli", "client", "backup-dataset", f"--name={client}"]).returncode == 0
        node.gsan_noise(50)
        sensor = self.start(kind, node)
        sensor.poll()
        assert self.of("session_ticket_warning") == self.of("backup_auth_failure") == []
        # The KB's root cause: MCS restored from an old flush. The next scheduled backups fail;
        # their avtar logs stay on the clients (here: the node's clientlogs, which the sensor never reads).
        node.restore_mcs_from_flush()
        node.set_scenario("mcs_restored_old_flush")
        for client in ("db01", "db02"):
            node.run(["mccli", "client", "backup-dataset", f"--name={client}"])
        sensor.poll()  # ONE poll
        warnings = self.of("session_ticket_warning")
        assert [w["code"] for w in warnings] == [1418] and warnings[0]["source"] == "server"
        (failure,) = self.of("backup_auth_failure")
        assert failure["server"] == "ava01" and failure["source"] == "mcs" and failure["client"] == "db01"
        assert failure["codes"][0] == 5704 and 1418 in failure["codes"]
        assert sensor.watch.stats["ava01"]["commands"] == 2  # steady state: one bounded read + mccli
        self.remediated_through_the_rule_and_the_approval_gate(node, failure)

    def remediated_through_the_rule_and_the_approval_gate(self, node, payload) -> None:
        """The trigger goes to the pack's rules; the workflow waits at core.ask; alice approves in chat."""
        pack = load_pack()
        quiet = io.StringIO()
        with WorkflowRunner(pack, self.cfg, transcript=ChatTranscript(quiet), progress=quiet) as runner:
            enforcements = runner.dispatch_trigger("avamar.backup_auth_failure", payload)
            (run,) = [e.run for e in enforcements if e.run is not None and e.action_ref == WORKFLOW]
            assert run.status == "paused" and run.pending_inquiry is not None, quiet.getvalue()[-2000:]
            assert node.state()["gsan_minimal_serial"] == 28000  # nothing changed before the approval
            answer_in_chat(runner, run, lambda _id: ("yes", ""), APPROVER, BOT, "avamar", lambda _text: None)
        output = run.output or {}
        assert output.get("outcome") == "remediated", quiet.getvalue()[-3000:]
        state = node.state()
        with open(node.srl_path, encoding="ascii") as handle:
            srl = int(handle.read())
        assert state["gsan_minimal_serial"] == output["accepted_serial"] and srl >= output["accepted_serial"]
        assert state["mcs_flushed_serial"] >= output["accepted_serial"]  # MCS's latest flush holds it
        assert node.run_backup("db03")["ok"]

    def hung_backup_gives_one_stall(self, kind: str) -> None:
        node = self.make_sim_node("keystore_rebuilt", restart_seconds=0, refused_backup="hang")
        sensor = self.start(kind, node, server="ava02")  # its own server: the datastore is shared
        hung = node.start_activity("backup", "db09", hang=True, started_ago=2 * 3600)
        node.run_backup("db10")  # hangs now (0 minutes so far) while GSAN logs 1426
        for _ in range(3):
            sensor.poll()
        (stalled,) = self.of("backup_stalled")
        assert stalled["server"] == "ava02"
        assert [a["id"] for a in stalled["activities"]] == [hung]
        assert stalled["activities"][0]["client"] == "db09" and stalled["activities"][0]["minutes"] >= 119
        assert [w["code"] for w in self.of("session_ticket_warning")] == [1426]
        assert self.of("backup_auth_failure") == []  # hung, not failed

    def test_local_drift(self) -> None:
        self.drift_is_seen_within_one_poll("local")

    def test_local_hung_backup(self) -> None:
        self.hung_backup_gives_one_stall("local")

    def test_local_rotating_gsan_log_of_the_simulator(self) -> None:
        node = self.make_sim_node("mcs_restored_old_flush", restart_seconds=0, gsan_log_max_bytes=2000)
        sensor = self.start("local", node, dedup_window_seconds=0)
        for i in range(12):
            node.run_backup(f"c{i:02d}")  # a 1418 in gsan.log while MCS reuses serials; rotating
            node.gsan_noise(3)
            if i % 3 == 2:
                sensor.poll()
        sensor.poll()
        assert len(node.gsan_logs()) > 2  # it did rotate, several times
        written = []  # ground truth: every warning in gsan.log and its rotations, oldest first
        for path in reversed(node.gsan_logs()):
            with open(path, encoding="utf-8") as handle:
                written += [w.serial for line in handle for w in gsan.scan_line(line)]
        # MCS reuses 28451..28460 (GSAN used up to 28460): ten refused, then 28461 is accepted.
        assert written == list(range(28451, 28461))
        assert [w["serial"] for w in self.of("session_ticket_warning")] == written  # each once, in order

    @pytest.mark.ssh
    def test_ssh_drift_and_hung_backup(self) -> None:
        self.drift_is_seen_within_one_poll("ssh")
        self.hung_backup_gives_one_stall("ssh")

    @pytest.mark.salt
    def test_salt_drift_and_hung_backup(self) -> None:
        self.drift_is_seen_within_one_poll("salt")
        self.hung_backup_gives_one_stall("salt")
