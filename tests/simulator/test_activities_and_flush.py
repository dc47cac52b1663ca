"""MCS activities of every kind, `mccli activity show` over time, the flush record, the leftover lock."""

from __future__ import annotations

import json
import time

import pytest
from avamar_pack.config import ServerSettings
from avamar_pack.node.lock import NodeLock
from avamar_pack.node.paths import NodePaths
from avamar_pack.parsing.mccli import parse_activities
from avamar_pack.transport.local import LocalTransport


def shown(node, *extra: str):
    return {act.id: act for act in parse_activities(node.run(["mccli", "activity", "show", *extra]).stdout)}


def write_srl(node, serial: int) -> None:
    """The KB's `echo -n N > sessionticket.srl`."""
    with open(node.srl_path, "w") as handle:
        handle.write(str(serial))


def test_restore_and_replication_run_until_ended_with_growing_progress(sim_node):
    restore = sim_node.start_activity("restore", "fileserver01", started_ago=30)
    replication = sim_node.start_activity("replication", "ava-dr")
    first = shown(sim_node)
    assert first[restore].status == "Running" and first[restore].active
    assert first[restore].type == "Restore" and first[restore].client == "fileserver01"
    assert first[restore].end_time == "N/A" and first[restore].error_code == 0
    assert first[replication].type == "Replication Source"
    assert first[restore].elapsed.startswith("00h:00m:3")  # backdated by 30 s
    # MCS's own view of the node: H3's preconditions read it to refuse a restart.
    running = {a["id"]: a["kind"] for a in sim_node.state()["running_activities"]}
    assert running == {restore: "restore", replication: "replication"}
    assert first[restore].progress_bytes != "0 bytes"  # 30 s at a steady rate
    sim_node.end_activity(restore)
    after = shown(sim_node)
    assert after[restore].status == "Completed" and after[restore].end_time != "N/A"
    assert after[replication].status == "Running"
    assert [a["id"] for a in sim_node.state()["running_activities"]] == [replication]


def test_hung_activity_keeps_its_progress_and_an_id_filter(sim_node):
    hung = sim_node.start_activity("backup", "db01", hang=True, started_ago=7200, progress_bytes=4096)
    other = sim_node.start_activity("backup", "web01", seconds=3600)
    one = shown(sim_node)[hung]
    time.sleep(1.1)
    again = shown(sim_node, f"--id={hung}")
    assert list(again) == [hung]
    assert one.status == again[hung].status == "Running"
    assert one.progress_bytes == again[hung].progress_bytes == "4.0 KB"
    assert one.elapsed.startswith("02h:00m:")
    assert shown(sim_node)[other].status == "Running"


def test_mcs_restart_interrupts_running_activities(sim_node):
    restore = sim_node.start_activity("restore", "fileserver01")
    assert sim_node.run(["mcserver.sh", "--restart"]).returncode == 0
    act = shown(sim_node)[restore]
    assert act.status == "Dropped Session" and not act.active and act.error_code != 0
    assert sim_node.state()["running_activities"] == []


def test_activity_arguments_are_checked(sim_node):
    with pytest.raises(ValueError):
        sim_node.start_activity("checkpoint", "x")
    with pytest.raises(ValueError):
        sim_node.start_activity("backup", "two words")
    with pytest.raises(ValueError):
        sim_node.end_activity("123")


def test_flush_is_recorded_and_an_mcs_restore_brings_it_back(make_sim_node):
    node = make_sim_node("mcs_restored_old_flush", restart_seconds=0)
    before = node.state()
    assert before["mcs_flushed_serial"] == 28451 and before["mcs_flush_count"] == 0
    # The KB's fix, by hand: MCS gets 38000 and is restarted; nothing refreshes its flush yet.
    write_srl(node, 38000)
    assert node.run(["mcserver.sh", "--restart"]).returncode == 0
    assert node.state()["mcs_flushed_serial"] == 28451
    assert node.restore_mcs_from_flush() == 28451  # ... so an MCS restore brings the drift back
    write_srl(node, 38000)
    assert node.run(["mcserver.sh", "--restart"]).returncode == 0
    flush = node.run(["mcserver.sh", "--flush"])
    assert flush.returncode == 0
    state = node.state()
    assert state["mcs_flushed_serial"] == 38000 and state["mcs_flush_count"] == 1 and state["mcs_flushed_at"]
    assert node.restore_mcs_from_flush() == 38000
    with open(node.srl_path) as handle:
        assert handle.read() == "38000"


def test_a_failed_flush_is_not_recorded(sim_node):
    sim_node.inject_fault("mcserver.sh", "disk_full", match="--flush")
    assert sim_node.run(["mcserver.sh", "--flush"]).returncode != 0
    assert sim_node.state()["mcs_flush_count"] == 0


def test_leftover_lock_is_read_by_the_packs_own_node_lock(sim_node):
    sim_node.leave_lock("st2-exec-5f1c2a", age_seconds=600)
    settings = ServerSettings(name="ava01", transport="local", avamar_root=sim_node.root)
    with LocalTransport(settings) as transport:
        holder = NodeLock(transport, NodePaths(sim_node.root)).holder()
    assert holder is not None and holder.owner == "st2-exec-5f1c2a" and holder.host == "st2-worker-1"
    assert 590 <= holder.age_s <= 700 and not holder.stale
    assert sim_node.lock_holder()["owner"] == "st2-exec-5f1c2a"
    with pytest.raises(FileExistsError):
        sim_node.leave_lock("another")
    with pytest.raises(ValueError):
        sim_node.leave_lock("bad owner; rm -rf /")


def test_packs_lock_release_clears_what_lock_holder_sees(sim_node):
    assert sim_node.lock_holder() is None
    sim_node.leave_lock("wf-1", age_seconds=3 * 3600)
    settings = ServerSettings(name="ava01", transport="local", avamar_root=sim_node.root)
    with LocalTransport(settings) as transport:
        lock = NodeLock(transport, NodePaths(sim_node.root))
        assert lock.holder().stale
        assert lock.release("wf-1")["released"]
    assert sim_node.lock_holder() is None
    assert json.loads(json.dumps(sim_node.state()))["scenario"] == "healthy"
