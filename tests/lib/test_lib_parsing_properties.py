"""Property tests: every parser returns a typed value or raises ParseError, within bounds."""

import time

from avamar_pack.diagnosis import diagnose, evidence_from_avtar_lines, evidence_from_gsan_lines
from avamar_pack.errors import ParseError, UnsafeOperation
from avamar_pack.parsing import avmaint, avtar, dpnctl, gsan, keytable, maintenance, mccli, srl
from avamar_pack.parsing.avtar_runs import MAX_CODES, MAX_FAILURE_LINES, MAX_RUN_LINES, RunAssembler, group_runs
from avamar_pack.serials import MAX_SERIAL, next_attempt, propose_serial
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# Text built from the pieces real lines are made of, so the parsers' interesting paths are hit.
AVTAR_PIECES = [
    "2019-12-31 07:35:23 avtar ",
    "9-12-31 07:35:23 avtar ",
    "Info ",
    "Error ",
    "FATAL ",
    "Warning ",
    "<5704>: ",
    "<8474>: ",
    "<5314>: ",
    "<7001>",
    "(Log #1)",
    " (Log #",
    "SECURETICKETLOGIN=452 ",
    "serial=1 ",
    "kind=x ",
    "MSG_ERR_AUTH_FAIL",
    "2019/10/03-09:49:29.42089 [avtar]  ",
    "<1291> ",
    "----- END avtar log ",
    "----- START avtar log ",
    "Command completed ",
    "Command failed ",
    "- Log file path: C:\\x\\y.log ",
    "Connecting to Avamar Server (a.b) ",
    "\r\n",
    " ",
    "-",
    ":",
    "<",
    ">",
]
GSAN_PIECES = [
    "2010/09/30-17:17:05.79312 ",
    "{0.1} ",
    "[srvm-1#srv:2] ",
    "WARN: ",
    "ERROR: ",
    "FATAL ERROR: ",
    "<1479> ",
    "<1418> ",
    "<1426> ",
    "<0001> ",
    "sessionkeytable::setpublickey ",
    "new serial=",
    "<x> ",
    "28451 ",
    "less than current minserial=",
    "99999999999999999999999 ",
    "was used already ",
    "session ticket with serial=",
    "incorrect signature ",
    "minserial ",
    " ",
    "\r",
]
XML_PIECES = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    "<keytable",
    " minimalserial=",
    '"38000"',
    '"-1"',
    '"x"',
    ">",
    "/>",
    "</keytable>",
    "<!DOCTYPE x>",
    "<!ENTITY a 'b'>",
    "&a;",
    "<gcstatus",
    "<cpstatus",
    " status=",
    '"running"',
    '"idle"',
    "<child/>",
    " ",
    "\x00",
    "é",
]
MCCLI_PIECES = [
    "0,23000,CLI command completed successfully.\n",
    "0,22305,started\n",
    "activity-id 123\n",
    "ID  Status   Error Code Client\n",
    "--- -------- ---------- ------\n",
    "1   Running  0          c1\n",
    "2   Failed   x          c2\n",
    "-",
    " ",
    "\n",
    "N/A",
    "1,2,3",
]


def pieces(alphabet):
    return st.lists(st.one_of(st.sampled_from(alphabet), st.text(max_size=8)), max_size=40).map("".join)


@SETTINGS
@given(pieces(AVTAR_PIECES))
def test_avtar_scan_never_raises_and_is_bounded(line):
    scan = avtar.scan_line(line)
    assert len(scan.records) <= len(line) // 8 + 1
    assert all(r.severity in avtar.SEVERITIES and r.shape in ("standard", "internal", "banner") for r in scan.records)
    assert all(isinstance(reason, str) for reason in scan.skipped)
    ticket = avtar.parse_ticket(line)
    assert ticket is None or len(ticket) <= avtar.MAX_TICKET_FIELDS + 1
    if scan.records and any(r.is_failure or r.code in (5704, 8474, 5314) for r in scan.records):
        assert avtar.might_matter(line)


@SETTINGS
@given(st.lists(pieces(AVTAR_PIECES), max_size=30))
def test_run_grouping_never_raises_and_is_bounded(lines):
    records = avtar.scan_lines(lines).records
    runs = group_runs(records, log_file="/x/y.log")
    assembler = RunAssembler("/x/y.log")
    streamed = []
    for record in records:
        streamed.extend(assembler.feed(record))
        streamed.extend(assembler.flush())
    for run in runs + streamed:
        assert len(run.codes) <= MAX_CODES and len(set(run.codes)) == len(run.codes)
        assert len(run.lines) <= MAX_RUN_LINES + MAX_FAILURE_LINES
    evidence_from_avtar_lines(lines)


@SETTINGS
@given(pieces(GSAN_PIECES))
def test_gsan_never_raises(line):
    record = gsan.parse_line(line)
    assert record is None or record.severity in ("", "WARN", "ERROR", "FATAL ERROR")
    for warning in gsan.scan_line(line):
        assert warning.kind == gsan.KIND_BY_CODE[warning.code]
        for value in (warning.serial, warning.minserial):
            assert value is None or 0 <= value <= gsan.MAX_SERIAL
    evidence_from_gsan_lines([line])


@SETTINGS
@given(st.one_of(pieces(XML_PIECES), st.binary(max_size=200)))
def test_xml_parsers_raise_only_parse_error(data):
    for parse in (keytable.parse_keytable, maintenance.parse_activity_status):
        try:
            result = parse(data)
        except ParseError:
            continue
        if parse is keytable.parse_keytable:
            assert 0 <= result.minimal_serial <= keytable.MAX_SERIAL
        else:
            assert result.running == (result.status in maintenance.RUNNING_STATUSES)


@SETTINGS
@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_srl_round_trip(n):
    data = srl.format_srl(n)
    assert b"\n" not in data
    assert srl.parse_srl(data) == srl.parse_srl_strict(data) == srl.parse_srl(data + b"\n") == n
    assert keytable.parse_keytable(f'<keytable minimalserial="{n}"/>').minimal_serial == n


@SETTINGS
@given(st.binary(max_size=80))
def test_srl_raises_only_parse_error(data):
    try:
        value = srl.parse_srl(data)
    except ParseError:
        return
    assert data.rstrip(b"\n").isdigit() and 0 <= value <= 2**63 - 1


@SETTINGS
@given(st.text(max_size=300))
def test_avmaint_and_dpnctl_never_raise(text):
    err = avmaint.parse_avmaint_error(text)
    assert err is None or err.line in text
    status = dpnctl.parse_status(text)
    for value in (status.gsan, status.mcs, status.emt, status.backup_scheduler, status.maintenance_scheduler):
        assert value is None or (value == value.lower() and not value.endswith("."))


@SETTINGS
@given(pieces(MCCLI_PIECES))
def test_mccli_raises_only_parse_error(text):
    try:
        resp = mccli.parse_response(text)
        assert len(resp.body_lines) <= text.count("\n") + text.count("\r") + 1
        mccli.parse_backup_started(resp)
    except ParseError:
        pass
    try:
        for activity in mccli.parse_activities(text):
            assert activity.id
    except ParseError:
        pass


@SETTINGS
@given(
    st.integers(0, 10**15), st.integers(0, 10**15), st.one_of(st.none(), st.integers(0, 10**15)), st.integers(1, 10**6)
)
def test_proposed_serial_clears_everything(gsan_min, mcs, seen, margin):
    proposed = propose_serial(gsan_min, mcs, seen, margin)
    assert proposed % 1000 == 0
    assert max(gsan_min, mcs, seen or 0) + margin <= proposed < max(gsan_min, mcs, seen or 0) + margin + 1000
    diag = diagnose("s", gsan_min, mcs, [], margin)
    assert diag.in_sync == (mcs >= gsan_min) and (diag.proposed_serial is None) == diag.in_sync


@SETTINGS
@given(st.integers(0, MAX_SERIAL), st.integers(0, 45), st.integers(1, 10**9))
def test_next_attempt_is_strictly_increasing_or_refused(refused, attempt, margin):
    try:
        nxt = next_attempt(refused, attempt, margin)
    except UnsafeOperation:
        return
    assert refused < nxt <= MAX_SERIAL and nxt % 1000 == 0


def test_pathological_lines_stay_linear():
    # Long runs of the characters the expressions repeat on: each must finish well under a second
    # (a quadratic expression takes minutes on 64 KiB).
    for line in (
        "-" * avtar.MAX_LINE,
        " " * avtar.MAX_LINE,
        "2019-12-31 07:35:23 " * 3000,
        "[avtar] " * 8000,
        "9" * avtar.MAX_LINE,
        "<1479> sessionkeytable " * 2500,
    ):
        started = time.perf_counter()
        scan = avtar.scan_line(line)
        gsan.scan_line(line)
        gsan.parse_line(line)
        dpnctl.parse_status(line)
        avmaint.parse_avmaint_error(line)
        assert time.perf_counter() - started < 2.0, line[:40]
        assert len(scan.records) <= 3000
