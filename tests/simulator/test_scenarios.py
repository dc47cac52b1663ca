"""Each scenario puts GSAN and MCS in the state the KB describes, and the commands show it."""

from __future__ import annotations

import glob
import os
import re

import pytest
from avamar_pack.parsing.mccli import parse_activities, parse_backup_started, parse_response

AUTH_FAIL = "avtar FATAL <5704>: Fatal Server Error occurred (MSG_ERR_AUTH_FAIL)"


def gsan_warnings(node) -> list:
    return [line for line in open(node.gsan_log).read().splitlines() if "sessionkeytable" in line]


def test_healthy_backup_completes_and_serials_advance(sim_node):
    before = sim_node.state()
    result = sim_node.run_backup("client01")
    assert result["ok"] and result["serial"] == before["mcs_next_serial"]
    after = sim_node.state()
    assert after["gsan_max_used"] == result["serial"]
    assert int(open(sim_node.srl_path).read()) == result["serial"] + 1
    assert gsan_warnings(sim_node) == []
    dpn = sim_node.run(["dpnctl", "status"]).stdout.splitlines()
    assert dpn == [
        "dpnctl: INFO: gsan status: up",
        "dpnctl: INFO: MCS status: up.",
        "dpnctl: INFO: emt status: up.",
        "dpnctl: INFO: Backup scheduler status: up.",
        "dpnctl: INFO: Maintenance windows scheduler status: enabled.",
    ]


def test_healthy_mccli_output_matches_the_pack_parser(sim_node):
    started = sim_node.run(["mccli", "client", "backup-dataset", "--name=client01", "--domain=/clients"])
    assert started.returncode == 0
    activity_id = parse_backup_started(parse_response(started.stdout))
    shown = sim_node.run(["mccli", "activity", "show"])
    activities = parse_activities(shown.stdout)
    assert [(a.id, a.status, a.error_code, a.client, a.domain) for a in activities] == [
        (activity_id, "Completed", 0, "client01", "/clients")
    ]
    assert activities[0].succeeded


def test_running_backup_shows_running_until_its_end(make_sim_node):
    node = make_sim_node("healthy", backup_seconds=3600)
    node.run(["mccli", "client", "backup-dataset", "--name=c1"])
    (activity,) = parse_activities(node.run(["mccli", "activity", "show"]).stdout)
    assert activity.status == "Running" and activity.end_time == "N/A" and activity.active


def test_mcs_restored_old_flush_fails_with_1418_and_keeps_failing(make_sim_node):
    node = make_sim_node("mcs_restored_old_flush")
    first, second = node.run_backup("a"), node.run_backup("b")
    assert (first["ok"], first["reason"], first["serial"]) == (False, "used", 28451)
    assert (second["ok"], second["serial"]) == (False, 28452)
    assert AUTH_FAIL in open(first["log_file"]).read()
    warnings = gsan_warnings(node)
    assert len(warnings) == 2 and warnings[0].endswith("serial=28451 was used already")
    assert open(node.gsan_err_log).read().splitlines()[-2:] == open(node.gsan_log).read().splitlines()[-2:]
    assert all(
        re.match(r"\d{4}/\d\d/\d\d-\d\d:\d\d:\d\d\.\d{5} \{0\.1\} \[srvm-518654#srv:481\]  WARN: <1418> ", line)
        for line in warnings
    )
    failed = parse_activities(node.run(["mccli", "activity", "show"]).stdout)
    assert [a.status for a in failed] == ["Failed", "Failed"] and not failed[0].succeeded


def test_below_minimal_serial_logs_1479(make_sim_node):
    node = make_sim_node("healthy", gsan_minimal=30000, gsan_max_used=100, mcs_serial=29000)
    result = node.run_backup("a")
    assert result["reason"] == "below_min"
    assert gsan_warnings(node)[0].endswith(
        "[srvm-518654#srv:481]  WARN: <1479> sessionkeytable::setpublickey new serial=29000 less than current "
        "minserial=30000"
    )


def test_gsan_rolled_back_fails_without_a_sessionkeytable_warning_until_key_registered(make_sim_node, tmp_path):
    node = make_sim_node("gsan_rolled_back")
    state = node.state()
    assert state["gsan_minimal_serial"] < state["mcs_next_serial"] and not state["gsan_key_matches"]
    result = node.run_backup("a")
    assert not result["ok"] and AUTH_FAIL in open(result["log_file"]).read()
    assert gsan_warnings(node) == []
    key = tmp_path / "mcecroot.pub"
    key.write_text(node.public_key_pem())
    serial = node.state()["mcs_next_serial"] + 5000
    assert node.run(["avmaint", "publickey", f"--keyfile={key}", f"--serial={serial}", "--ava"]).returncode == 0
    node.run(["bash", "-c", f"echo -n {serial} > {node.srl_path}"])
    assert node.run(["mcserver.sh", "--restart"]).returncode == 0
    assert node.run_backup("a")["ok"]


def test_keystore_rebuilt_logs_1426(make_sim_node):
    node = make_sim_node("keystore_rebuilt")
    result = node.run_backup("a")
    assert result["reason"] == "signature"
    assert gsan_warnings(node)[0].endswith(
        "[srvm-525136#srv:775]  WARN: <1426> sessionkeytable::comparesignature incorrect signature"
    )


def test_maintenance_running_shows_in_avmaint_status(make_sim_node, sim_node):
    busy = make_sim_node("maintenance_running")
    assert busy.run(["avmaint", "gcstatus"]).stdout == '<gcstatus status="running"/>\n'
    assert busy.run(["avmaint", "hfscheckstatus"]).stdout == '<hfscheckstatus status="running"/>\n'
    assert 'status="processing"' in busy.run(["avmaint", "cpstatus"]).stdout
    assert sim_node.run(["avmaint", "gcstatus"]).stdout == '<gcstatus status="idle"/>\n'
    assert sim_node.run(["avmaint", "cpstatus"]).stdout.startswith('<cpstatus tag="cp.')


def test_mcs_down(make_sim_node):
    node = make_sim_node("mcs_down")
    assert node.run(["dpnctl", "status", "mcs"]).stdout == "dpnctl: INFO: MCS status: down.\n"
    assert node.run(["dpnctl", "status", "sched"]).stdout == "dpnctl: INFO: Backup scheduler status: down.\n"
    assert node.run(["dpnctl", "status", "gsan"]).stdout == "dpnctl: INFO: gsan status: up\n"
    test = node.run(["mcserver.sh", "--test"])
    assert test.returncode != 0
    mccli = node.run(["mccli", "activity", "show"])
    assert mccli.returncode != 0 and parse_response(mccli.stdout).rc != 0
    assert not node.run_backup("a")["ok"]
    assert node.run(["mcserver.sh", "--start"]).returncode == 0
    assert node.run(["dpnctl", "status", "mcs"]).stdout == "dpnctl: INFO: MCS status: up.\n"


@pytest.mark.parametrize("clients", [3, 12])
def test_storm_writes_one_failing_client_log_per_client(make_sim_node, clients):
    node = make_sim_node("storm", clients=clients)
    logs = sorted(glob.glob(os.path.join(node.client_log_dir, "*.log")))
    assert len(logs) == clients
    assert all(AUTH_FAIL in open(path).read() for path in logs)
    assert len(gsan_warnings(node)) == clients


def test_set_scenario_resets_an_existing_node(sim_node):
    sim_node.set_scenario("mcs_restored_old_flush")
    assert open(sim_node.srl_path, "rb").read() == b"28451"
    assert sim_node.state()["scenario"] == "mcs_restored_old_flush"
    with pytest.raises(ValueError, match="unknown scenario"):
        sim_node.set_scenario("nope")
    with pytest.raises(ValueError, match="unknown knob"):
        sim_node.set_scenario("healthy", bogus=1)
