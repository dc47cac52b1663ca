"""Injected faults: error exit, hang, partial output, disk full, MCS that does not come back,
and a prefs directory that refuses the pack's own write of the .srl."""

from __future__ import annotations

import os
import subprocess
import time

import pytest


def test_error_fault_exits_non_zero_with_message_and_can_be_limited(sim_node):
    sim_node.inject_fault("avmaint", "error", exit_code=7, times=1, message="ERROR: avmaint: connect failed")
    first = sim_node.run(["avmaint", "cat", "/sysinfo/security/keytable"])
    assert (first.returncode, first.stdout, first.stderr) == (7, "", "ERROR: avmaint: connect failed\n")
    second = sim_node.run(["avmaint", "cat", "/sysinfo/security/keytable"])
    assert second.returncode == 0 and "<keytable" in second.stdout
    assert sim_node.state()["faults"] == {}


def test_fault_match_only_hits_matching_calls(sim_node):
    sim_node.inject_fault("avmaint", "error", match="publickey")
    assert sim_node.run(["avmaint", "gcstatus"]).returncode == 0
    assert sim_node.run(["avmaint", "publickey", "--keyfile=x", "--serial=1", "--ava"]).returncode == 1


def test_hang_fault_sleeps_past_a_timeout(sim_node):
    sim_node.inject_fault("dpnctl", "hang", seconds=30)
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        sim_node.run(["dpnctl", "status"], timeout=1.5)
    assert time.monotonic() - started < 10


def test_partial_output_cuts_the_answer(sim_node):
    full = sim_node.run(["avmaint", "cat", "/sysinfo/security/keytable"]).stdout
    sim_node.inject_fault("avmaint", "partial")
    cut = sim_node.run(["avmaint", "cat", "/sysinfo/security/keytable"])
    assert cut.returncode == 0 and cut.stdout == full[: len(full) // 2] and "</keytable>" not in cut.stdout


def test_disk_full_on_flush_and_on_ticket_write_through(sim_node):
    before = open(sim_node.srl_path, "rb").read()
    sim_node.inject_fault("mcserver.sh", "disk_full")
    flush = sim_node.run(["mcserver.sh", "--flush"])
    assert flush.returncode != 0 and "No space left on device" in flush.stderr
    sim_node.inject_fault("avtar", "disk_full")
    assert sim_node.run(["avtar", "--backup", "--account=/clients/c1"]).returncode == 0
    assert open(sim_node.srl_path, "rb").read() == before  # MCS could not persist its serial


def test_no_restart_leaves_mcs_down(sim_node):
    sim_node.inject_fault("mcserver.sh", "no_restart")
    restart = sim_node.run(["mcserver.sh", "--restart"])
    assert restart.returncode != 0
    assert sim_node.run(["dpnctl", "status", "mcs"]).stdout == "dpnctl: INFO: MCS status: down.\n"
    sim_node.clear_faults()
    assert sim_node.run(["mcserver.sh", "--start"]).returncode == 0
    assert sim_node.state()["mcs_status"] == "up"


def test_restart_takes_mcs_down_for_the_configured_time_and_reloads_the_srl(make_sim_node):
    node = make_sim_node("healthy", restart_seconds=1.5)
    with open(node.srl_path, "w") as handle:
        handle.write("50000")
    proc = subprocess.Popen(["mcserver.sh", "--restart"], env=node.env(), stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 5
    seen_down = False
    while proc.poll() is None and time.monotonic() < deadline:
        seen_down |= node.run(["dpnctl", "status", "mcs"]).stdout == "dpnctl: INFO: MCS status: down.\n"
        time.sleep(0.05)
    assert proc.wait(timeout=10) == 0 and seen_down
    assert node.state()["mcs_next_serial"] == 50000


def test_restart_with_a_bad_srl_does_not_start(sim_node):
    with open(sim_node.srl_path, "w") as handle:
        handle.write("38000\nx")
    assert sim_node.run(["mcserver.sh", "--restart"]).returncode != 0
    state = sim_node.state()
    assert state["mcs_status"] == "down" and "does not hold a serial" in state["mcs_start_error"]


def test_srl_write_fault_refuses_writes_to_the_prefs_dir(sim_node):
    sim_node.inject_fault("srl_write", "readonly")
    prefs = os.path.dirname(sim_node.srl_path)
    with pytest.raises(OSError):
        with open(os.path.join(prefs, "sessionticket.srl.tmp"), "wb") as handle:
            handle.write(b"38000")
    with pytest.raises(OSError):
        with open(sim_node.srl_path, "wb") as handle:
            handle.write(b"38000")
    sim_node.clear_faults()
    with open(sim_node.srl_path, "wb") as handle:
        handle.write(b"38000")
    assert open(sim_node.srl_path, "rb").read() == b"38000"


def test_unknown_fault_and_command_are_refused(sim_node):
    with pytest.raises(ValueError):
        sim_node.inject_fault("avmaint", "explode")
    with pytest.raises(ValueError):
        sim_node.inject_fault("rm", "error")
