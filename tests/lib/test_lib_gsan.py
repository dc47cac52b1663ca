"""GSAN log parsing: the KB's session-ticket warnings, verbatim."""

from datetime import datetime
from pathlib import Path

import pytest
from avamar_pack.parsing import gsan

DATA = Path(__file__).resolve().parents[1] / "data" / "parsing"


def test_kb_seed_lines_with_run_together_warnings():
    first, second = (DATA / "gsan_kb_seed.txt").read_text().splitlines()
    assert gsan.might_matter(first) and gsan.might_matter(second)
    assert [(w.code, w.kind, w.serial, w.minserial, w.timestamp) for w in gsan.scan_line(first)] == [
        (1479, "serial_below_minserial", None, None, None),
        (1426, "incorrect_signature", None, None, None),
    ]
    assert gsan.scan_line(first)[1].text == (
        "[srvm-525136#srv:775] WARN: <1426> sessionkeytable::comparesignature incorrect signature"
    )
    assert [(w.code, w.kind, w.serial) for w in gsan.scan_line(second)] == [
        (1418, "serial_used", 28451),
        (1426, "incorrect_signature", None),
    ]
    assert gsan.scan_line(second)[0].text == (
        "WARN: <1418> sessionkeytable::setpublickey session ticket with serial=28451 was used already"
    )


@pytest.mark.parametrize(
    "line,expected",
    [
        (
            "[srvm-518654#srv:481] WARN: <1479> sessionkeytable::setpublickey "
            "new serial=<x> less than current minserial=<y>",
            (1479, "serial_below_minserial", None, None),
        ),
        (
            "2026/11/25-10:00:01.12345 {0.1} [srvm-518654#srv:481] WARN: <1479> sessionkeytable::setpublickey "
            "new serial=28451 less than current minserial=30000",
            (1479, "serial_below_minserial", 28451, 30000),
        ),
        (
            "WARN: <1418> sessionkeytable::setpublickey session ticket with serial=28451 was used already",
            (1418, "serial_used", 28451, None),
        ),
        (
            "[srvm-525136#srv:775] WARN: <1426> sessionkeytable::comparesignature incorrect signature",
            (1426, "incorrect_signature", None, None),
        ),
    ],
)
def test_ticket_warnings(line, expected):
    (warning,) = gsan.scan_line(line)
    assert (warning.code, warning.kind, warning.serial, warning.minserial) == expected
    assert warning.text == line


def test_time_prefix_gives_timestamp():
    line = (
        "2026/11/25-10:00:01.12345 {0.1} [srvm-1#srv:2]  WARN: <1418> sessionkeytable::setpublickey "
        "session ticket with serial=5 was used already"
    )
    (warning,) = gsan.scan_line(line)
    assert warning.timestamp == datetime(2026, 11, 25, 10, 0, 1, 123450)


def test_parse_line_shapes():
    record = gsan.parse_line("2010/09/30-17:17:05.79312 {0.1} [licensevalidator:177]  FATAL ERROR: <0001> expired")
    assert record == gsan.GsanRecord(
        datetime(2010, 9, 30, 17, 17, 5, 793120), "0.1", "licensevalidator:177", "FATAL ERROR", 1, "expired"
    )
    record = gsan.parse_line("[srvm-525136#srv:775] WARN: <1426> sessionkeytable::comparesignature incorrect signature")
    assert (record.timestamp, record.component, record.severity, record.code) == (
        None,
        "srvm-525136#srv:775",
        "WARN",
        1426,
    )
    record = gsan.parse_line("2010/09/30-17:17:05.79312 {0.1} [gc:12]  gc started")
    assert (record.severity, record.code, record.text) == ("", None, "gc started")
    record = gsan.parse_line("2010/09/30-17:17:05 [x:1]  ERROR: <0002> oops\r\n")
    assert (record.severity, record.code, record.text) == ("ERROR", 2, "oops")
    assert gsan.parse_line("grep -i sessionkeytable") is None
    assert gsan.parse_line("") is None


def test_unrelated_codes_and_text_are_ignored():
    assert gsan.scan_line("WARN: <1479> something else entirely") == []
    assert gsan.scan_line('grep -i "sessionkeytable\\|minserial" /data01/cur/gsan.log.00?') == []
    assert not gsan.might_matter("2010/09/30-17:17:05.79312 {0.1} [gc:12]  gc started")
