"""Property tests beyond tests/lib/test_lib_parsing_properties.py (which feeds each parser
strings built from real line pieces): here arbitrary BYTES and arbitrary Unicode text go into
every parser and validator, and the properties that matter for safety are checked:

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

import pytest
from avamar_pack import serials
from avamar_pack.config import (
    MAX_SERIAL,
    validate_client_name,
    validate_serial,
    validate_server_name,
)
from avamar_pack.detection.payloads import clean_text
from avamar_pack.errors import ParseError, UnsafeOperation, ValidationError
from avamar_pack.node.lock import validate_lock_owner
from avamar_pack.parsing import avmaint, avtar, dpnctl, gsan, keytable, maintenance, mccli, srl
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
