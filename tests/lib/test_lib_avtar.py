"""avtar client log parsing: every line the KB and AVAMAR_FACTS.md quote, verbatim."""

from datetime import datetime
from pathlib import Path

import pytest
from avamar_pack.parsing import avtar

DATA = Path(__file__).resolve().parents[1] / "data" / "parsing"

FACT_LINES = [
    (
        "2019-12-31 07:35:23 avtar Error <8609>: Connection killed from GSAN. (Log #1)",
        "Error",
        8609,
        "Connection killed from GSAN.",
        1,
    ),
    (
        "2019-12-31 07:35:23 avtar FATAL <5704>: Fatal Server Error occurred (MSG_ERR_AUTH_FAIL), aborting execution "
        "(SECURETICKETLOGIN=452 serial=1 seq=0 flags=R:H:0 kind=0 rsp=MSG_ERR_AUTH_FAIL) (Log #1)",
        "FATAL",
        5704,
        "Fatal Server Error occurred (MSG_ERR_AUTH_FAIL), aborting execution "
        "(SECURETICKETLOGIN=452 serial=1 seq=0 flags=R:H:0 kind=0 rsp=MSG_ERR_AUTH_FAIL)",
        1,
    ),
    (
        "2019-12-31 07:35:23 avtar Error <5126>: Login error 5: Authorization failure (Session Ticket login) (Log #1)",
        "Error",
        5126,
        "Login error 5: Authorization failure (Session Ticket login)",
        1,
    ),
    (
        "2019-12-31 07:35:23 avtar FATAL <8941>: Fatal server connection problem, aborting initialization. "
        "Verify correct server address and login credentials. (Log #1)",
        "FATAL",
        8941,
        "Fatal server connection problem, aborting initialization. "
        "Verify correct server address and login credentials.",
        1,
    ),
    (
        "2019-12-31 07:35:23 avtar Error <7001>: Exiting avtar with run-at-end script failure -1 (Log #1)",
        "Error",
        7001,
        "Exiting avtar with run-at-end script failure -1",
        1,
    ),
    (
        "2019-12-31 07:35:23 avtar Info <6149>: Error summary: 4 errors: 8941, 5704, 5126, 8609",
        "Info",
        6149,
        "Error summary: 4 errors: 8941, 5704, 5126, 8609",
        None,
    ),
    (
        "2019-10-03 09:50:11 avtar Info <5314>: Command completed (1 warning, exit code 0: success)",
        "Info",
        5314,
        "Command completed (1 warning, exit code 0: success)",
        None,
    ),
    (
        "2019-10-03 09:50:11 avtar Info <5314>: Command failed "
        "(5 errors, 2 warnings, exit code 10007: miscellaneous error)",
        "Info",
        5314,
        "Command failed (5 errors, 2 warnings, exit code 10007: miscellaneous error)",
        None,
    ),
    (
        "2019-12-31 07:35:23 avtar Info <5552>: Connecting to Avamar Server (avamar.com)",
        "Info",
        5552,
        "Connecting to Avamar Server (avamar.com)",
        None,
    ),
]


@pytest.mark.parametrize("line,severity,code,text,log_no", FACT_LINES)
def test_standard_lines_from_the_facts(line, severity, code, text, log_no):
    scan = avtar.scan_line(line)
    assert scan.skipped == []
    assert scan.records == [avtar.AvtarRecord(datetime(*_stamp(line)), severity, code, text, log_no, "standard")]
    assert avtar.might_matter(line)


def _stamp(line):
    date, time = line.split(" ")[:2]
    return [int(x) for x in date.split("-")] + [int(x) for x in time.split(":")]


def test_internal_line_shape():
    scan = avtar.scan_line("2019/10/03-09:49:29.42089 [avtar]  <1291> FIPS mode enabled")
    assert scan.records == [
        avtar.AvtarRecord(datetime(2019, 10, 3, 9, 49, 29, 420890), "Info", 1291, "FIPS mode enabled", None, "internal")
    ]


def test_end_banner_is_a_record_with_its_timestamp():
    line = "----- END avtar log 2019-10-03 09:50:11 UTC  (1 warning, 0 errors, 0 fatal errors)"
    (record,) = avtar.scan_line(line).records
    assert record.shape == "banner" and record.code == 0
    assert record.text == "END avtar log 2019-10-03 09:50:11 UTC  (1 warning, 0 errors, 0 fatal errors)"
    assert record.timestamp == datetime(2019, 10, 3, 9, 50, 11)
    assert avtar.might_matter(line)


def test_kb_seed_first_line_runs_five_records_together():
    first, _ = (DATA / "avtar_kb_seed.txt").read_text().splitlines()
    scan = avtar.scan_line(first)
    assert scan.skipped == []
    assert [(r.severity, r.code, r.log_no) for r in scan.records] == [
        ("Error", 8609, 1),
        ("FATAL", 5704, 1),
        ("Error", 5126, 1),
        ("FATAL", 8941, 1),
        ("Error", 7001, 1),
    ]
    assert all(r.timestamp == datetime(2019, 12, 31, 7, 35, 23) for r in scan.records)
    assert avtar.parse_ticket(scan.records[1].text) == {
        "securelogin": 452,
        "serial": 1,
        "seq": 0,
        "flags": "R:H:0",
        "kind": 0,
        "rsp": "MSG_ERR_AUTH_FAIL",
    }


def test_kb_seed_second_line_with_cut_timestamp():
    _, second = (DATA / "avtar_kb_seed.txt").read_text().splitlines()
    scan = avtar.scan_line(second)
    codes = [r.code for r in scan.records]
    assert codes == [8474, 6555, 5552, 5554, 5993, 5993, 5581, 18854, 8609, 9772, 5704, 5126, 8941, 6149, 5917, 7001]
    first = scan.records[0]
    assert first.timestamp is None and first.severity == "Info"
    assert first.text == "- Log file path: /usr/local/avamar/var/clientlogs/some-Unix.log"
    assert scan.skipped == ["timestamp cut to '9-12-31 07:35:23': record kept without timestamp"]
    assert all(r.timestamp == datetime(2019, 12, 31, 7, 35, 23) for r in scan.records[1:])
    assert scan.records[13].text == "Error summary: 4 errors: 8941, 5704, 5126, 8609"
    assert scan.records[-1].text == "Exiting avtar with run-at-end script failure -1"


def test_crlf_and_windows_paths():
    line = "2019-12-31 07:35:23 avtar Info <8474>: - Log file path: C:\\Program Files\\avs\\var\\clientlogs\\x.log\r\n"
    (record,) = avtar.scan_line(line).records
    assert record.text == "- Log file path: C:\\Program Files\\avs\\var\\clientlogs\\x.log"


def test_junk_is_skipped_with_a_reason():
    scan = avtar.scan_line("Os logs do Avtar podem mostrar:")
    assert scan.records == []
    assert scan.skipped == ["not an avtar record: 'Os logs do Avtar podem mostrar:'"]
    assert avtar.scan_line("   \r\n") == avtar.AvtarScan([], [])


def test_impossible_date_keeps_record_without_timestamp():
    scan = avtar.scan_line("2019-13-45 07:35:23 avtar Error <8609>: Connection killed from GSAN.")
    assert [(r.timestamp, r.code) for r in scan.records] == [(None, 8609)]
    assert scan.skipped == ["impossible timestamp '2019-13-45 07:35:23': record kept without timestamp"]


def test_long_line_is_cut_with_a_reason():
    line = "2019-12-31 07:35:23 avtar Error <8609>: " + "x" * (avtar.MAX_LINE * 2)
    scan = avtar.scan_line(line)
    assert scan.skipped == [f"line of {len(line)} characters cut at {avtar.MAX_LINE}"]
    assert len(scan.records[0].text) < avtar.MAX_LINE


def test_might_matter_is_false_for_ordinary_info_lines():
    assert not avtar.might_matter("2019-12-31 07:35:23 avtar Info <5993>: - Connect: Connected to 10.x.x.x:29000")
    assert not avtar.might_matter("2019/10/03-09:49:29.42089 [avtar]  <1291> FIPS mode enabled")
    # A pasted line whose first record is an unimportant Info one still holds the records after it.
    pasted = (
        "2019-12-31 07:35:23 avtar Info <5993>: - Connect: Connected to 10.0.0.1:29000 "
        "2019-12-31 07:35:23 avtar FATAL <5704>: Fatal Server Error occurred (MSG_ERR_AUTH_FAIL)"
    )
    assert avtar.might_matter(pasted)
    # Quoting MSG_ERR_AUTH_FAIL is not a failure (only an Error/FATAL <5704> record is one).
    assert not avtar.might_matter("2019-12-31 07:35:23 avtar Info <5993>: peer said rsp=MSG_ERR_AUTH_FAIL")
    assert avtar.might_matter("2019-12-31 07:35:23 avtar Info <6555>: Initializing connection")
    assert avtar.might_matter("2019-12-31 07:35:23 avtar Info <5551>: Command Line: avtar --account=/clients/c1")


def test_parse_ticket_edge_cases():
    assert avtar.parse_ticket("no ticket here") is None
    assert avtar.parse_ticket("SECURETICKETLOGIN=abc serial=99999999999999999999") == {
        "securelogin": "abc",
        "serial": "99999999999999999999",
    }


def test_windows_banner_with_two_spaces_and_crlf():
    start = "-----  START avtar log 2024-03-04 01:00:02 W. Europe Standard Time  [19.4.100-124 Windows]\r\n"
    (banner,) = avtar.scan_line(start).records
    assert (banner.shape, banner.text[:15], banner.timestamp) == (
        "banner",
        "START avtar log",
        datetime(2024, 3, 4, 1, 0, 2),
    )
    line = (
        "2024-03-04 01:00:05 avtar Info <8474>: - Log file path: "
        "C:\\Program Files\\avs\\var\\clientlogs\\MOD-1709510402-Windows.log\r\n"
    )
    (record,) = avtar.scan_line(line).records
    assert record.text.endswith("MOD-1709510402-Windows.log") and avtar.might_matter(line)
    assert avtar.scan_line("-- START avtar log 2024-03-04").records == []  # two dashes: not a banner


def test_internal_shape_with_severity_word_and_run_together():
    line = (
        "2019/10/03-09:49:29.42089 [avtar]  ERROR: <5704> MSG_ERR_AUTH_FAIL seen "
        "2019/10/03-09:49:30 [avtar]  <1291> FIPS mode enabled"
    )
    scan = avtar.scan_line(line)
    assert [(r.severity, r.code, r.text, r.shape) for r in scan.records] == [
        ("Error", 5704, "MSG_ERR_AUTH_FAIL seen", "internal"),
        ("Info", 1291, "FIPS mode enabled", "internal"),
    ]
    assert scan.records[1].timestamp == datetime(2019, 10, 3, 9, 49, 30)
    assert avtar.might_matter(line)
