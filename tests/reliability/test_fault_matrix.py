"""Fault matrix: each mutating step x each fault, through the whole workflow on the simulator.

For every cell that applies, the remediation workflow runs on the local runner (real orquesta
conductor, approval answered yes) against a drifted simulated node with the fault injected, and
the test asserts:

* no serial is ever lowered (a thread samples the .srl and GSAN's minimal serial every 5 ms);
* MCS never holds a serial GSAN has not accepted (every .srl write is checked, as it happens,
  against GSAN's minimal serial and key);
* the outcome is ``failed`` and names the failed step and the state left behind (in the result
  and in the chat report), and that ``state_left`` is TRUE: the GSAN serial, the ``.srl`` value
  and MCS's status it reports are the simulator's, and once GSAN moved it says so and gives the
  commands that finish by hand;
* once the fault is cleared, a re-run ends ``remediated`` and a backup then succeeds.

Faults are real where the machine allows it: commands fail or hang in the simulator; the
transport is dropped by killing the sshd process serving the pack's ssh connection while the
command runs (the node's command kills its own sshd parent); a full disk is a 64 KiB tmpfs,
filled, mounted over MCS's prefs directory (the .srl write) or under the public key's private
export directory (publickey) - this needs root and fails loudly otherwise.
The matrix is printed (``-s``), written to ``<basetemp>/fault_matrix.txt`` and shown in the
terminal summary.
"""

from __future__ import annotations

import os
import stat
import subprocess
from typing import Any, Dict, List, Optional, Tuple

import pytest
from relkit import (
    SERVER,
    GsanFirstCheck,
    Recorder,
    SerialWatcher,
    read_srl,
    run_remediation,
    sim_config,
)

STEPS = ["publickey", "srl_write", "mcs_restart", "test_backup"]
FAULTS = ["command_error", "hang", "transport_dropped", "disk_full", "mcs_no_restart"]
# The workflow task each mutating step runs in.
TASK = {
    "publickey": "set_gsan_minserial",
    "srl_write": "write_mcs_serial",
    "mcs_restart": "restart_mcs",
    "test_backup": "run_test_backup",
}
NOT_APPLICABLE = {
    ("publickey", "mcs_no_restart"): "the step does not restart MCS",
    ("srl_write", "hang"): "the write is one atomic replace done by the transport, no node command that can hang "
    "(the remote write script's timeout is the transport's, see tests/transport)",
    ("srl_write", "mcs_no_restart"): "the step does not restart MCS",
    ("mcs_restart", "disk_full"): "mcserver.sh --restart writes no file (it only reads the .srl)",
    ("test_backup", "mcs_no_restart"): "the step does not restart MCS",
}
# Cells where the fault does not make the step fail: the run must still end well and safe.
UNAFFECTED = {
    ("test_backup", "disk_full"): "a full disk on the node fails MCS's own ticket write-through, not the backup: "
    "the test backup completes",
}
HANG_TIMEOUT_S = 3  # command_timeout of every action in the hang cells
# The workflow refuses waits under 60 s (an MCS restart takes minutes): the restart and backup
# waits of the hang cells are that minimum, and the hung commands outlast it.
WAIT_S = 60
RESULTS: Dict[Tuple[str, str], str] = {}


def cells() -> List[Any]:
    return [pytest.param(s, f, id=f"{s}-{f}") for s in STEPS for f in FAULTS if (s, f) not in NOT_APPLICABLE]


# -- faults --------------------------------------------------------------------------------------
KILL_SSHD_WRAPPER = r"""#!/bin/sh
# Fault rig (tests/reliability): when armed and called with MATCH, kill the sshd process that
# serves this command's connection (the nearest sshd ancestor), i.e. drop the transport mid-step.
if [ -e "FLAG" ]; then
  case " $* " in *"MATCH"*)
    p=$PPID
    while [ "$p" -gt 1 ]; do
      if [ "$(cat /proc/$p/comm 2>/dev/null)" = sshd ]; then kill -9 "$p"; sleep 2; exit 137; fi
      p=$(awk '{print $4}' /proc/$p/stat)
    done;;
  esac
fi
exec "REAL" "$@"
"""


class Fault:
    """Injects one fault in one step of a node; ``clear()`` puts the node back to normal."""

    def __init__(self, step: str, fault: str, node: Any, request: Any) -> None:
        self.step, self.fault, self.node, self.request = step, fault, node, request
        self.mount: Optional[str] = None
        self.flag = os.path.join(node.root, "drop-transport.flag")
        self.command, self.match = {
            "publickey": ("avmaint", "publickey"),
            "mcs_restart": ("mcserver.sh", "--restart"),
            "test_backup": ("mccli", "backup-dataset"),
            "srl_write": (None, None),
        }[step]

    def config(self) -> Dict[str, Any]:
        config = sim_config(self.node)
        if self.fault == "transport_dropped":
            sshd = self.request.getfixturevalue("sshd_service")
            config["servers"][SERVER].update(sshd.server_entry())
        return config

    def inject(self) -> None:
        node, f = self.node, self.fault
        if f == "command_error" and self.step == "srl_write":
            node.inject_fault("srl_write", "readonly")
        elif f == "command_error":
            node.inject_fault(
                self.command,
                "error",
                exit_code=3,
                match=self.match,
                message=f"{self.command}: simulated failure (fault matrix)",
            )
        elif f == "hang":
            node.inject_fault(self.command, "hang", seconds=WAIT_S * 2, match=self.match)
        elif f == "transport_dropped" and self.step != "srl_write":
            self._wrap_with_sshd_killer()
            open(self.flag, "w").close()
        elif f == "disk_full" and self.step == "srl_write":
            self._fill_prefs_dir()
        elif f == "disk_full" and self.step == "publickey":
            self._fill_key_export_dir()
        elif f == "disk_full":
            node.inject_fault(self.command, "disk_full", match=self.match)
        elif f == "mcs_no_restart":
            node.inject_fault("mcserver.sh", "no_restart")
        elif f != "transport_dropped":
            raise AssertionError(f"no rig for {self.step} x {f}")

    def clear(self) -> None:
        self.node.clear_faults()
        if os.path.exists(self.flag):
            os.unlink(self.flag)
        if self.mount:
            filler = os.path.join(self.mount, ".filler")
            if os.path.exists(filler):
                os.unlink(filler)

    def teardown(self) -> None:
        self.clear()
        if self.mount:
            subprocess.run(["umount", "-l", self.mount], check=False)

    def _wrap_with_sshd_killer(self) -> None:
        real = os.path.join(self.node.bin_dir, self.command)
        os.rename(real, real + ".real")
        with open(real, "w") as handle:
            handle.write(
                KILL_SSHD_WRAPPER.replace("FLAG", self.flag)
                .replace("MATCH", self.match)
                .replace("REAL", real + ".real")
            )
        os.chmod(real, os.stat(real + ".real").st_mode | stat.S_IXUSR)

    def _fill_key_export_dir(self) -> None:
        """The step's own write is the public key export, into a private dir under /tmp: point
        that parent at a full 64 KiB tmpfs (filling the host's /tmp would break everything else)."""
        parent = os.path.join(self.node.root, "full-tmp")
        os.makedirs(parent)
        self._mount_tmpfs(parent)
        self._fill(parent)
        monkeypatch = self.request.getfixturevalue("monkeypatch")
        monkeypatch.setattr("avamar_pack.node.keystore.TEMP_PARENT", parent)
        # The actions run in their own processes: relkit's subprocess hook applies it there.
        monkeypatch.setenv("RELKIT_KEY_TEMP_PARENT", parent)

    def _mount_tmpfs(self, target: str) -> None:
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", target], capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise RuntimeError(f"the disk-full cells mount a 64 KiB tmpfs (needs root / CAP_SYS_ADMIN): {proc.stderr}")
        self.mount = target

    @staticmethod
    def _fill(directory: str) -> None:
        fd = os.open(os.path.join(directory, ".filler"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:  # ENOSPC: the file system is full now
            pass
        finally:
            os.close(fd)

    def _fill_prefs_dir(self) -> None:
        """A real ENOSPC: a tiny tmpfs over the prefs directory, holding the node's files, filled."""
        prefs = os.path.dirname(self.node.srl_path)
        saved = {}
        for name in os.listdir(prefs):
            with open(os.path.join(prefs, name), "rb") as handle:
                saved[name] = (handle.read(), os.stat(os.path.join(prefs, name)).st_mode)
        self._mount_tmpfs(prefs)
        for name, (data, mode) in saved.items():
            with open(os.path.join(prefs, name), "wb") as handle:
                handle.write(data)
            os.chmod(os.path.join(prefs, name), stat.S_IMODE(mode))
        self._fill(prefs)


# -- the matrix ----------------------------------------------------------------------------------
@pytest.mark.timeout(300)
@pytest.mark.parametrize("step,fault", cells())
def test_fault_cell(step, fault, make_sim_node, monkeypatch, request):
    try:
        run_cell(step, fault, make_sim_node, monkeypatch, request)
    except BaseException as exc:
        RESULTS[(step, fault)] = f"FAIL: {str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}"
        raise


def run_cell(step: str, fault: str, make_sim_node: Any, monkeypatch: Any, request: Any) -> None:
    node = make_sim_node("mcs_restored_old_flush", restart_seconds=0)
    for i in range(2):
        node.run_backup(f"client{i:02d}")  # the evidence: failing backups
    rig = Fault(step, fault, node, request)
    config = rig.config()
    gsan_check = GsanFirstCheck(node)
    drop_pid = None
    if step == "srl_write" and fault == "transport_dropped":
        drop_pid = request.getfixturevalue("sshd_service").daemon.pid
    # The actions run in their own processes: the recorder's hook checks each .srl write there.
    recorder = Recorder(monkeypatch, on_write=gsan_check, node=node, drop_sshd_pid=drop_pid)
    srl_before = read_srl(node)
    watchers: List[SerialWatcher] = []
    rig.inject()
    try:
        with SerialWatcher(node) as watcher:
            watchers.append(watcher)
            run, runner = run_remediation(
                config, command_timeout=HANG_TIMEOUT_S, mcs_restart_timeout=WAIT_S, test_backup_timeout=WAIT_S
            )
            runner.close()
        out = run.output
        assert out is not None, run.errors
        if (step, fault) in UNAFFECTED:
            assert out["outcome"] == "remediated", out
            verdict = f"PASS (step unaffected: {UNAFFECTED[(step, fault)]}); remediated"
        else:
            verdict = check_failed_then_converges(step, node, config, rig, recorder, out, runner, watchers)
    finally:
        rig.teardown()
    gsan_check.collect(recorder)
    for w in watchers:
        assert w.lowered() == [], w.lowered()
    assert gsan_check.writes, "no .srl write was recorded: the recording hook did not run in the actions"
    assert gsan_check.violations == [], gsan_check.violations
    assert all(serial >= (srl_before or 0) for serial in gsan_check.writes), gsan_check.writes
    RESULTS[(step, fault)] = verdict


def check_state_left_is_true(step: str, node: Any, out: Dict[str, Any]) -> None:
    """What the report says the node holds is what the simulator holds."""
    left = out["state_left"]
    state = node.state()
    assert (
        f"Node now: GSAN minimal serial {state['gsan_minimal_serial']}, sessionticket.srl {read_srl(node)}, "
        f"MCS {state['mcs_status']}" in left
    ), (left, state["gsan_minimal_serial"], read_srl(node))
    changes = out["changes"]
    if changes["gsan_serial"] is not None:
        # GSAN moved: the report says to what, what the .srl holds, whether MCS restarted, and how to finish.
        assert changes["gsan_serial"] == state["gsan_minimal_serial"], (changes, state)
        assert f"GSAN minimal serial set to {changes['gsan_serial']}" in left, left
        assert "MCS restarted" in left or "MCS not restarted" in left or "MCS restart state unknown" in left, left
        if changes["srl_written"] is None:
            assert f"echo -n {changes['gsan_serial']} > {node.srl_path} && mcserver.sh --restart" in left, left
        elif changes["mcs_restarted"] is not True:
            assert "`mcserver.sh --restart`" in left, left
    elif step == "publickey":
        assert read_srl(node) == out["before"]["mcs_serial"], "GSAN did not move yet the .srl did"


def check_failed_then_converges(
    step: str,
    node: Any,
    config: Dict[str, Any],
    rig: Fault,
    recorder: Any,
    out: Dict[str, Any],
    runner: Any,
    watchers: List[SerialWatcher],
) -> str:
    """The first run failed at the step, naming it and the true state left; cleared, a re-run converges."""
    assert out["outcome"] == "failed", out
    error = out["error"]
    assert error["step"] == TASK[step], error
    assert error["reason"] and error["state_left"], error
    report = runner.transcript.messages[-1].message
    assert f"FAILED at step `{TASK[step]}`" in report and "State left" in report, report
    assert out["lock_release"] == "released", out
    rig.clear()
    recorder.disarm_drop()
    check_state_left_is_true(step, node, out)
    with SerialWatcher(node) as watcher:
        watchers.append(watcher)
        # Over the local transport even when the fault was a dropped ssh connection: what is
        # re-checked is the node's state, and a second ssh run would double the cell's time.
        rerun, rerunner = run_remediation(sim_config(node), command_timeout=30)
        rerunner.close()
    assert rerun.output["outcome"] == "remediated", (
        rerun.output["outcome"],
        rerun.output.get("error"),
        rerun.output.get("state_left"),
    )
    assert node.state()["gsan_minimal_serial"] == rerun.output["accepted_serial"]
    assert node.run_backup("client-after")["ok"], node.state()
    return f"PASS: failed at {error['step']}; state left: {error['state_left'][:90]}; re-run remediated"


def matrix_table() -> str:
    """The matrix as a table: every cell is a result, "not run", or n/a with its reason.

    Printed in the terminal summary (tests/reliability/conftest.py) after the cells ran, in
    whatever order they ran: each cell asserts its own result, so no test depends on another.
    """
    lines = [f"{'step':<12} {'fault':<18} result", "-" * 100]
    for step in STEPS:
        for fault in FAULTS:
            if (step, fault) in NOT_APPLICABLE:
                cell = f"n/a: {NOT_APPLICABLE[(step, fault)]}"
            else:
                cell = RESULTS.get((step, fault), "not run")
            lines.append(f"{step:<12} {fault:<18} {cell}")
    return "\n".join(lines)


def test_every_cell_is_either_run_or_not_applicable_with_a_reason():
    applicable = [(s, f) for s in STEPS for f in FAULTS if (s, f) not in NOT_APPLICABLE]
    assert len(applicable) + len(NOT_APPLICABLE) == len(STEPS) * len(FAULTS)
    assert all(reason.strip() for reason in NOT_APPLICABLE.values())
    assert set(NOT_APPLICABLE) <= {(s, f) for s in STEPS for f in FAULTS}
