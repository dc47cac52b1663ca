"""Issue 13's node: backups that fail or hang while tickets are refused; gsan.log grows and rotates."""

from __future__ import annotations

import os

from avamar_pack.parsing import avtar, gsan
from avamar_pack.parsing.mccli import parse_activities


def activity(node, activity_id):
    return next(a for a in parse_activities(node.run(["mccli", "activity", "show"]).stdout) if a.id == activity_id)


def ticket_warnings(paths):
    found = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                found.extend(w.code for w in gsan.scan_line(line))
    return found


def test_refused_backup_fails_with_error_code_client_log_and_gsan_warning(make_sim_node):
    node = make_sim_node("mcs_restored_old_flush", backup_seconds=1)
    result = node.run_backup("client01")
    assert not result["ok"] and not result["hung"] and result["reason"] == "used"
    assert activity(node, result["activity_id"]).status == "Running"  # visible over time
    assert activity(node, result["activity_id"]).error_code == 0
    node.set_knobs(backup_seconds=0)
    later = node.run_backup("client02")
    failed = activity(node, later["activity_id"])
    assert failed.status == "Failed" and failed.error_code == 10007 and failed.progress_bytes == "0 bytes"
    with open(later["log_file"], encoding="utf-8") as handle:
        codes = [r.code for line in handle for r in avtar.scan_line(line).records if r.is_failure]
    assert 5704 in codes
    assert ticket_warnings([node.gsan_log, node.gsan_err_log]).count(1418) == 4  # 2 runs x 2 files


def test_refused_backup_hangs_running_with_no_progress_and_no_5704(make_sim_node):
    node = make_sim_node("keystore_rebuilt", refused_backup="hang")
    proc = node.run(["avtar", "--backup", "--account=/clients/db01"])
    assert proc.returncode == 124 and "5704" not in proc.stdout
    assert "Using Secure Session Ticket Format" in proc.stdout.splitlines()[-1]
    (act,) = parse_activities(node.run(["mccli", "activity", "show"]).stdout)
    assert act.status == "Running" and act.progress_bytes == "0 bytes" and act.client == "db01"
    assert ticket_warnings([node.gsan_log]) == [1426]
    assert node.state()["running_activities"][0]["hang"] is True


def test_a_healthy_backup_grows_gsan_log_without_a_ticket_warning(sim_node):
    assert os.path.getsize(sim_node.gsan_log) == 0
    assert sim_node.run_backup("web01")["ok"]
    assert os.path.getsize(sim_node.gsan_log) > 0
    assert sim_node.gsan_noise(40) > 0
    assert ticket_warnings([sim_node.gsan_log]) == []
    with open(sim_node.gsan_log, encoding="utf-8") as handle:
        assert all(gsan.parse_line(line) is not None for line in handle)


def test_gsan_log_rotates_by_rename_to_00n_keeping_nine(make_sim_node):
    node = make_sim_node("mcs_restored_old_flush", gsan_log_max_bytes=600)
    first_inode = os.stat(node.gsan_log).st_ino
    for i in range(12):
        node.run_backup(f"c{i:02d}")
        node.gsan_noise(3)
    logs = node.gsan_logs()
    assert logs[0] == node.gsan_log and logs[1].endswith("gsan.log.001")
    assert [os.path.basename(p) for p in logs[1:]] == [f"gsan.log.{n:03d}" for n in range(1, len(logs))]
    assert 2 <= len(logs) - 1 <= 9
    assert os.stat(node.gsan_log).st_ino != first_inode
    assert all(os.path.getsize(p) <= 600 for p in logs)
    assert ticket_warnings(logs).count(1418) >= 1
    for _ in range(12):
        node.rotate_gsan_log()
    assert len(node.gsan_logs()) == 10  # gsan.log + .001 ... .009
