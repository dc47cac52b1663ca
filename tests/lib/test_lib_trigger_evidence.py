"""The trigger payload as diagnosis evidence: validated field by field, never trusted (issue 12.6)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from avamar_pack.trigger_evidence import MAX_PAYLOAD_CHARS, from_payload

AUTH_LINE = "2026-11-25 10:00:03 avtar FATAL <5704>: Fatal Server Error occurred (MSG_ERR_AUTH_FAIL)"
GSAN_1418 = (
    "2026/11/25-10:00:02.12345 {0.1} [srvm-525136#srv:775] WARN: <1418> sessionkeytable::setpublickey "
    "session ticket with serial=28452 was used already"
)


def auth_payload(**changes):
    payload = {
        "server": "ava01",
        "client": "/clients/web01",
        "clients": ["/clients/web01", "/clients/db01"],
        "codes": [8609, 5704, 5126, 8941, 7001],
        "message": AUTH_LINE,
        "ticket": None,
        "log_file": "C:\\Program Files\\avs\\var\\avtar.log",
        "first_seen": "2026-11-25T10:00:03",
        "last_seen": "2026-11-25T10:42:03",
        "count": 25,
        "source": "file",
    }
    payload.update(changes)
    return payload


def warning_payload(**changes):
    payload = {
        "server": "ava01",
        "code": 1418,
        "kind": "serial_used",
        "serial": 28452,
        "minserial": None,
        "line": GSAN_1418,
        "seen_at": "2026-11-25T10:00:02",
        "source": "file",
    }
    payload.update(changes)
    return payload


def test_auth_failure_payload_becomes_weighted_evidence_and_a_finding():
    out = from_payload(auth_payload(), "ava01")
    assert out.trigger == "backup_auth_failure" and out.ignored == []
    [item] = out.evidence
    assert item.kind == "auth_failure" and item.count == 25 and item.source == "trigger"
    assert item.timestamp == datetime(2026, 11, 25, 10, 42, 3)
    assert item.line.startswith("trigger: 2026-11-25 10:00:03 avtar FATAL <5704>")
    assert out.findings == [
        "The trigger reports 25 failed backup(s) with MSG_ERR_AUTH_FAIL (avtar 5704) on "
        "/clients/web01, /clients/db01 between 2026-11-25 10:00:03 and 2026-11-25 10:42:03 "
        "(seen by the sensor's file source)."
    ]


def test_warning_payload_is_read_from_its_line():
    out = from_payload(warning_payload(serial=1), "ava01")  # the line wins over the fields
    [item] = out.evidence
    assert item.kind == "serial_used" and item.serial == 28452
    assert item.timestamp == datetime(2026, 11, 25, 10, 0, 2, 123450)
    out = from_payload(warning_payload(line="not a gsan line"), "ava01")
    assert out.evidence[0].serial == 28452 and "detection.line (not a GSAN sessionkeytable line)" in out.ignored


def test_stalled_payload_is_cited_but_is_no_drift_evidence():
    payload = {
        "server": "ava01",
        "source": "mcs",
        "activities": [
            {"id": "9154987654321234", "client": "/clients/db01", "started": "x", "minutes": 120},
            {"id": "1; reboot", "client": "$(id)", "minutes": 5},
        ],
    }
    out = from_payload(payload, "ava01")
    assert out.trigger == "backup_stalled" and out.evidence == []
    assert "9154987654321234 (/clients/db01, 120 min)" in out.findings[0] and "reboot" not in out.findings[0]
    assert "detection.activities (some entries)" in out.ignored


@pytest.mark.parametrize(
    "payload",
    [
        None,
        {},
        "",
        [],
        7,
        "not json at all {",
        {"server": "ava02", "count": 5, "codes": [5704]},
        {"server": "ava01;rm", "count": 5},
        {"server": "ava01"},
        {"server": "ava01", "count": 3, "codes": [5126]},
        {"server": "ava01", "code": 9999, "kind": "x"},
        {"server": "ava01", "activities": "all"},
    ],
)
def test_payloads_that_do_not_validate_add_no_evidence(payload):
    out = from_payload(payload, "ava01")
    assert out.evidence == []


def test_hostile_fields_are_ignored_one_by_one():
    out = from_payload(
        auth_payload(
            count="25; reboot",
            codes=[5704, "x", True],
            clients=["/clients/ok", "$(id)"],
            message="<!channel> please",
            first_seen="yesterday",
            source="email",
        ),
        "ava01",
    )
    [item] = out.evidence  # 5704 in the codes still makes it an auth failure, counted once
    assert item.count == 1 and item.line == "trigger: avtar FATAL <5704> (MSG_ERR_AUTH_FAIL), from the trigger"
    expected = {
        "detection.count",
        "detection.codes (some or all)",
        "detection.clients (some or all)",
        "detection.message (not an avtar 5704 line)",
        "detection.first_seen",
        "detection.source",
    }
    assert expected <= set(out.ignored)
    text = " ".join(out.findings)
    assert "$(id)" not in text and "<!channel>" not in text and "email" not in text


def test_a_payload_rendered_as_text_is_decoded_and_an_oversized_one_ignored():
    assert from_payload(json.dumps(auth_payload()), "ava01").evidence[0].count == 25
    assert from_payload(repr(auth_payload()), "ava01").evidence[0].count == 25  # a Python literal, never eval'd
    huge = auth_payload(message="x" * (MAX_PAYLOAD_CHARS + 1))
    assert from_payload(huge, "ava01").evidence == [] and from_payload(json.dumps(huge), "ava01").evidence == []
    assert from_payload("__import__('os').system('id')", "ava01").evidence == []


def test_zoned_times_become_utc_like_the_rest():
    out = from_payload(auth_payload(last_seen="2026-11-25T11:42:03+01:00"), "ava01")
    assert out.evidence[0].timestamp == datetime(2026, 11, 25, 10, 42, 3)
