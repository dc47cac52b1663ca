"""The server sensor's pure parts, tested directly: bounded-read answers, stall tracking, correlation."""

from __future__ import annotations

import base64

import pytest
from avamar_pack.errors import ParseError
from avamar_pack.parsing.mccli import parse_activities
from avamar_pack.serverwatch import reads
from avamar_pack.serverwatch.mcs_failures import FailureCorrelator
from avamar_pack.serverwatch.stalls import StallTracker
from server_sensor_kit import activity_row, activity_table


def acts(*rows):
    return parse_activities("0,23000,CLI command completed successfully.\n" + activity_table(rows))


# -- commands and their answers ------------------------------------------------------------------
def test_read_command_is_an_argument_list_with_a_constant_script():
    argv = reads.read_range("/data01/cur/gsan.log", 1024, 4096)
    assert argv == ["sh", "-c", reads.READ_RANGE_SCRIPT, "sh", "/data01/cur/gsan.log", "1024", "4096"]
    for bad in (("relative/gsan.log", 0, 1), ("/x\n; reboot", 0, 1), ("/x", -1, 1), ("/x", 0, reads.MAX_READ + 1)):
        with pytest.raises(ValueError):
            reads.read_range(*bad)
    with pytest.raises(ValueError):
        reads.list_rotations("/data01/cur", "gsan.log; rm -rf /")


def test_range_answers_are_parsed_strictly():
    data = b"2026/12/01-10:00:00.1 {0.1} WARN: <1418> x\n\xff\xfe raw bytes\n"
    got = reads.parse_range(f"123 4567\n{base64.b64encode(data).decode()}\n")
    assert (got.inode, got.size, got.data) == (123, 4567, data)
    assert reads.parse_range("123 0\n").data == b""
    for hostile in ("", "not a stat line\n", "1 2 3\n", "12 34\n%%%not base64%%%\n", "-1 5\n"):
        with pytest.raises(ParseError):
            reads.parse_range(hostile)


def test_listing_keeps_only_the_log_and_its_numbered_rotations():
    out = (
        "11 100 gsan.log\n12 90 gsan.log.001\n13 80 gsan.log.002\n14 70 gsan.log.003.gz\n"
        "15 60 gsan.log.bak\nhostile line $(x)\n16 50 gsan.log.1\n"
    )
    files = reads.parse_listing(out, "gsan.log")
    assert [f.name for f in files] == ["gsan.log", "gsan.log.001", "gsan.log.002", "gsan.log.1"]
    assert [f.name for f in reads.rotation_order(files, "gsan.log")] == ["gsan.log.001", "gsan.log.1", "gsan.log.002"]


# -- stalls ------------------------------------------------------------------------------------
def test_a_stall_is_reported_once_and_only_for_running_backups():
    tracker = StallTracker(3600)
    rows = [
        activity_row("1001", "Running", "db01", elapsed="00h:30m:00s", progress="0 bytes"),
        activity_row("1002", "Running", "nas01", kind="Restore", elapsed="05h:00m:00s", progress="0 bytes"),
        activity_row("1003", "Waiting-Client", "web01", elapsed="05h:00m:00s", progress="0 bytes"),
    ]
    assert tracker.update(acts(*rows), 10_000.0) == []
    (stalled,) = tracker.update(acts(*rows), 10_000.0 + 1800)
    assert stalled["id"] == "1001" and stalled["minutes"] == 60
    assert tracker.update(acts(*rows), 10_000.0 + 7200) == []
    assert tracker.update(acts(), 20_000.0) == [] and tracker.state() == {}  # finished: forgotten


def test_stall_state_round_trips_and_ignores_garbage():
    tracker = StallTracker(60, {"1": {"progress": "1.0 MB", "since": 5.0, "reported": True}, "2": "junk", "3": {}})
    assert list(tracker.state()) == ["1"]
    assert StallTracker(60, tracker.state()).state() == tracker.state()


# -- failures that coincide with warnings ---------------------------------------------------------
def test_failures_need_a_warning_within_the_window_either_way_and_count_once():
    corr = FailureCorrelator(600)
    failed = acts(activity_row("2001", "Failed", "db01", error=10007))
    assert corr.update("ava01", failed, 100.0, baseline=True) == []  # history
    failed2 = acts(
        activity_row("2001", "Failed", "db01", error=10007), activity_row("2002", "Failed", "db02", error=10007)
    )
    assert corr.update("ava01", failed2, 200.0, baseline=False) == []  # no warning yet: pending
    corr.note_warning(1479, 500.0)
    (matched,) = corr.update("ava01", failed2, 500.0, baseline=False)
    assert matched.activity_id == "2002" and matched.failure.codes == [5704, 10007, 1479]
    assert matched.failure.source == "mcs" and matched.failure.ticket is None
    assert corr.update("ava01", failed2, 510.0, baseline=False)[0].activity_id == "2002"  # until resolved
    corr.resolve("2002")
    assert corr.update("ava01", failed2, 520.0, baseline=False) == []
    late = acts(activity_row("2003", "Failed", "db03", error=10007))
    assert corr.update("ava01", late, 5000.0, baseline=False) == []
    corr.note_warning(1418, 5000.0 + 601)  # outside the window: not the same event
    assert corr.update("ava01", late, 5000.0 + 601, baseline=False) == []


def test_correlator_state_round_trips():
    corr = FailureCorrelator(600)
    corr.note_warning(1426, 1.0)
    corr.update("ava01", acts(activity_row("3001", "Failed", "db01", error=10007)), 2.0, baseline=False)
    again = FailureCorrelator(600, corr.state())
    assert again.state() == corr.state() and again.update("ava01", [], 3.0, baseline=False)[0].activity_id == "3001"
