"""Property tests of every parser and validator, in one place (issue 17: one home per concept).

Two kinds of input: text built from the PIECES real lines are made of (so the parsers'
interesting paths are hit: run grouping, ticket fields, run-together records, bounds), and
arbitrary BYTES and Unicode text. The properties that matter for safety are checked:

* each parser returns its typed value or raises ParseError - never another exception;
* a serial is only ever accepted from ASCII decimal digits, in 0..2^63-1 (keytable, .srl,
  parameters), so nothing else can become a number the pack writes;
* the serial checks never allow lowering GSAN or MCS, nor an MCS serial GSAN does not hold;
* validators accept only names made of their safe characters (no shell or template syntax);
* what goes to chat or a payload has no control characters and is bounded; redacted argv
  never holds the secret.
"""

from __future__ import annotations

import re
import string
import time

import pytest
from avamar_pack import serials
from avamar_pack.config import (
    MAX_SERIAL,
    validate_client_name,
    validate_serial,
    validate_server_name,
)
from avamar_pack.detection.payloads import clean_text
from avamar_pack.diagnosis import diagnose, evidence_from_avtar_lines, evidence_from_gsan_lines
from avamar_pack.errors import ParseError, UnsafeOperation, ValidationError
from avamar_pack.node.lock import validate_lock_owner
from avamar_pack.parsing import avmaint, avtar, dpnctl, gsan, keytable, maintenance, mccli, srl
from avamar_pack.parsing.avtar_runs import MAX_CODES, MAX_FAILURE_LINES, MAX_RUN_LINES, RunAssembler, group_runs
from avamar_pack.serials import next_attempt, propose_serial
from avamar_pack.transport.redact import redact
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
ASCII_DIGITS = re.compile(r"[0-9]+")
# Arbitrary bytes, as a transport or a log file could hand them over, in the decodings the
# pack uses (UTF-8 with replacement, and Latin-1 where every byte maps to a character).
BYTES = st.binary(max_size=600)
TEXT = st.one_of(
    st.text(max_size=400), BYTES.map(lambda b: b.decode("utf-8", "replace")), BYTES.map(lambda b: b.decode("latin-1"))
)


def only_parse_error(fn, *args):
    """The call's value, or None when it raised ParseError; any other exception fails the test."""
    try:
        return fn(*args)
    except ParseError:
        return None


@SETTINGS
@given(TEXT)
def test_line_parsers_take_any_text(text):
    scan = avtar.scan_line(text)
    for record in scan.records:
        assert record.severity in avtar.SEVERITIES and isinstance(record.code, int)
    ticket = avtar.parse_ticket(text)
    assert ticket is None or len(ticket) <= avtar.MAX_TICKET_FIELDS + 1
    gsan.parse_line(text)
    for warning in gsan.scan_line(text):
        for value in (warning.serial, warning.minserial):
            assert value is None or 0 <= value <= gsan.MAX_SERIAL


@SETTINGS
@given(TEXT)
def test_command_output_parsers_raise_only_parse_error(text):
    err = avmaint.parse_avmaint_error(text)
    assert err is None or err.line in text
    dpnctl.parse_status(text)
    resp = only_parse_error(mccli.parse_response, text)
    if resp is not None:
        only_parse_error(mccli.parse_backup_started, resp)
    activities = only_parse_error(mccli.parse_activities, text) or []
    assert all(a.id for a in activities)
    only_parse_error(maintenance.parse_activity_status, text)


@SETTINGS
@given(st.one_of(BYTES, TEXT))
def test_keytable_takes_any_input_and_raises_only_parse_error(data):
    only_parse_error(keytable.parse_keytable, data)
    only_parse_error(maintenance.parse_activity_status, data)


@SETTINGS
@given(st.text(max_size=30))
def test_keytable_serial_comes_only_from_ascii_digits(value):
    assume('"' not in value and "&" not in value and "<" not in value)
    doc = f'<keytable minimalserial="{value}"/>'
    parsed = only_parse_error(keytable.parse_keytable, doc)
    if parsed is not None:
        assert ASCII_DIGITS.fullmatch(value.strip()), f"serial accepted from {value!r}"
        assert parsed.minimal_serial == int(value.strip()) <= MAX_SERIAL


@pytest.mark.parametrize("digits", ["３８０００", "٣٨٠٠٠", "३८०००"])
def test_keytable_refuses_non_ascii_digits(digits):
    """The examples hypothesis finds first, kept explicit: Python's int() and \\d accept them."""
    with pytest.raises(ParseError):
        keytable.parse_keytable(f'<keytable minimalserial="{digits}"/>')


@SETTINGS
@given(st.one_of(BYTES, TEXT))
def test_srl_value_comes_only_from_ascii_digits(data):
    for parse in (srl.parse_srl, srl.parse_srl_strict):
        value = only_parse_error(parse, data)
        if value is not None:
            raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogateescape")
            assert re.fullmatch(rb"[0-9]+\n?", raw), f"{parse.__name__} accepted {raw!r}"
            assert 0 <= value <= MAX_SERIAL


@SETTINGS
@given(
    st.one_of(
        st.text(max_size=25),
        st.integers(),
        st.floats(allow_nan=True),
        st.booleans(),
        st.none(),
        st.binary(max_size=10),
        st.lists(st.integers(), max_size=2),
    )
)
def test_serial_parameters_are_ascii_integers_in_range(value):
    try:
        accepted = validate_serial(value)
    except ValidationError:
        return
    assert isinstance(accepted, int) and not isinstance(accepted, bool) and 0 < accepted <= MAX_SERIAL
    if isinstance(value, str):
        assert ASCII_DIGITS.fullmatch(value), value
    else:
        assert type(value) is int


SAFE_NAME = set(string.ascii_letters + string.digits + "_.-")
SAFE_CLIENT = SAFE_NAME | {"/"}
SAFE_OWNER = SAFE_NAME | {":"}


@SETTINGS
@given(st.text(max_size=80))
def test_validators_accept_only_safe_characters(text):
    # Server and client names reach argv (mccli --name=, paths), so they may not look like an
    # option either; a lock owner only travels inside a JSON record written by a fixed script.
    for validate, safe, no_dash in (
        (validate_server_name, SAFE_NAME, True),
        (validate_client_name, SAFE_CLIENT, True),
        (validate_lock_owner, SAFE_OWNER, False),
    ):
        try:
            accepted = validate(text)
        except ValidationError:
            continue
        if accepted is None:  # lock_owner: empty means "no owner"
            assert text == ""
            continue
        assert set(accepted) <= safe, (validate.__name__, accepted)
        assert not (no_dash and accepted.startswith("-")), (validate.__name__, accepted)


INTS = st.integers(min_value=0, max_value=MAX_SERIAL)


@SETTINGS
@given(INTS, INTS, INTS)
def test_a_new_serial_never_lowers_gsan_or_mcs(serial, gsan_min, mcs):
    try:
        serials.check_new_serial(serial, gsan_min, mcs)
    except UnsafeOperation:
        assert serial <= gsan_min or serial <= mcs
        return
    assert serial > gsan_min and serial > mcs


@SETTINGS
@given(INTS, st.one_of(st.none(), INTS), INTS)
def test_mcs_only_ever_gets_the_serial_gsan_holds_and_never_lower(serial, gsan_verified, current):
    try:
        decision = serials.check_mcs_write(serial, gsan_verified, current)
    except UnsafeOperation:
        return
    assert serial == gsan_verified
    assert (decision == serials.NOOP and serial == current) or (decision == serials.WRITE and serial > current)


@SETTINGS
@given(st.text(max_size=5000), st.integers(min_value=1, max_value=3000))
def test_payload_text_is_printable_and_bounded(text, limit):
    cleaned = clean_text(text, limit)
    assert len(cleaned) <= limit
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", cleaned)


@SETTINGS
@given(
    st.lists(st.text(max_size=20), max_size=6),
    st.text(min_size=8, max_size=30),
    st.sampled_from(["-storepass", "-keypass", "--password", "-password", "-pass"]),
)
def test_redacted_argv_never_holds_a_secret_option_value(before, secret, option):
    assume(not secret.startswith("-"))
    argv = ["keytool", *before, option, secret]
    out = redact(argv)
    assert len(out) == len(argv)
    assert out[-1] != secret or secret == "***"


# -- text built from real line pieces ------------------------------------------------------------

PIECE_SETTINGS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

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


@PIECE_SETTINGS
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


# Lines the sensor's shortcuts (issue 16) take, and lines they must leave to the general search.
SHORTCUT_LINES = [
    "2019-12-31 07:38:25 avtar FATAL <5704>: Fatal Server Error occurred (MSG_ERR_AUTH_FAIL) (Log #1)\r\n",
    "2019-12-31 07:38:19 avtar Info <5552>: Connecting to Avamar Server (avamar-a.example.com)\n",
    "2019-12-31 07:38:19 avtar Info <5552>: quoting avtar Info <6555>: twice 2019-12-31 07:38:19 avtar Error <1>: x",
    "2019-13-45 07:38:19 avtar Info <6555>: an impossible date",
    "2019-12-31 07:38:19 avtar Info <6555>: Initializing connection ----- END avtar log 2019-12-31 07:38:20 UTC",
    "2019/12/31-07:01:52.33445 {0.1} [srvm-518654#srv:481]  WARN: <1479> sessionkeytable::setpublickey new "
    "serial=32505 less than current minserial=40282",
    "2019/12/31-07:01:52.33445 {0.1} [srvm-1#srv:1]  WARN: <1418> sessionkeytable::setpublickey serial=<x> "
    "was used already <1426> sessionkeytable::comparesignature incorrect signature",
    "  WARN: <1426> sessionkeytable::comparesignature incorrect signature",
]


def _general_avtar(line):
    return avtar._scan_headers(line[: avtar.MAX_LINE].rstrip("\r\n"), [], [])


@PIECE_SETTINGS
@given(st.one_of(pieces(AVTAR_PIECES), st.sampled_from(SHORTCUT_LINES)))
def test_the_avtar_shortcut_gives_what_the_header_search_gives(line):
    """One standard record alone on its line is parsed without the header search: same records."""
    assert avtar.scan_line(line).records == avtar.records(line) == _general_avtar(line)


@pytest.mark.parametrize("line", SHORTCUT_LINES)
def test_the_shortcuts_agree_on_lines_shaped_like_real_ones(line):
    assert avtar.scan_line(line).records == _general_avtar(line)
    found = [(m.span(), m.groupdict()) for m in gsan._headers(line)]
    assert found == [(m.span(), m.groupdict()) for m in gsan._HEADER_RE.finditer(line)]


@PIECE_SETTINGS
@given(pieces(GSAN_PIECES))
def test_the_gsan_shortcut_finds_the_headers_finditer_finds(line):
    found = [(m.span(), m.groupdict()) for m in gsan._headers(line)]
    assert found == [(m.span(), m.groupdict()) for m in gsan._HEADER_RE.finditer(line)]


@PIECE_SETTINGS
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


@PIECE_SETTINGS
@given(pieces(GSAN_PIECES))
def test_gsan_never_raises(line):
    record = gsan.parse_line(line)
    assert record is None or record.severity in ("", "WARN", "ERROR", "FATAL ERROR")
    for warning in gsan.scan_line(line):
        assert warning.kind == gsan.KIND_BY_CODE[warning.code]
        for value in (warning.serial, warning.minserial):
            assert value is None or 0 <= value <= gsan.MAX_SERIAL
    evidence_from_gsan_lines([line])


@PIECE_SETTINGS
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


@PIECE_SETTINGS
@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_srl_round_trip(n):
    data = srl.format_srl(n)
    assert b"\n" not in data
    assert srl.parse_srl(data) == srl.parse_srl_strict(data) == srl.parse_srl(data + b"\n") == n
    assert keytable.parse_keytable(f'<keytable minimalserial="{n}"/>').minimal_serial == n


@PIECE_SETTINGS
@given(st.binary(max_size=80))
def test_srl_raises_only_parse_error(data):
    try:
        value = srl.parse_srl(data)
    except ParseError:
        return
    assert data.rstrip(b"\n").isdigit() and 0 <= value <= 2**63 - 1


@PIECE_SETTINGS
@given(st.text(max_size=300))
def test_avmaint_and_dpnctl_never_raise(text):
    err = avmaint.parse_avmaint_error(text)
    assert err is None or err.line in text
    status = dpnctl.parse_status(text)
    for value in (status.gsan, status.mcs, status.emt, status.backup_scheduler, status.maintenance_scheduler):
        assert value is None or (value == value.lower() and not value.endswith("."))


@PIECE_SETTINGS
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


@PIECE_SETTINGS
@given(
    st.integers(0, 10**15), st.integers(0, 10**15), st.one_of(st.none(), st.integers(0, 10**15)), st.integers(1, 10**6)
)
def test_proposed_serial_clears_everything(gsan_min, mcs, seen, margin):
    proposed = propose_serial(gsan_min, mcs, seen, margin)
    assert proposed % 1000 == 0
    assert max(gsan_min, mcs, seen or 0) + margin <= proposed < max(gsan_min, mcs, seen or 0) + margin + 1000
    diag = diagnose("s", gsan_min, mcs, [], margin)
    assert diag.in_sync == (mcs >= gsan_min) and (diag.proposed_serial is None) == diag.in_sync


@PIECE_SETTINGS
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
