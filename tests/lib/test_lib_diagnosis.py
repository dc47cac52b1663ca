"""Diagnosis: the decision table, staleness rules, evidence helpers and the result shape."""

import itertools
import json
from datetime import datetime
from pathlib import Path

import pytest
from avamar_pack.diagnosis import (
    MCS_DOWN_FINDING,
    Evidence,
    diagnose,
    evidence_from_avtar_lines,
    evidence_from_gsan_lines,
)
from avamar_pack.errors import ValidationError

DATA = Path(__file__).resolve().parents[1] / "data" / "parsing"
T0 = datetime(2026, 11, 25, 10, 0, 0)
BEFORE = datetime(2026, 11, 25, 9, 0, 0)
AFTER = datetime(2026, 11, 25, 11, 0, 0)
GSAN = 20000

BELOW = Evidence("gsan", "serial_below_minserial", 19000, 20000, AFTER, "WARN: <1479> below")
USED = Evidence("gsan", "serial_used", 28451, None, AFTER, "WARN: <1418> used 28451")
SIG = Evidence("gsan", "incorrect_signature", None, None, AFTER, "WARN: <1426> incorrect signature")
AUTH = Evidence("avtar", "auth_failure", None, None, AFTER, "avtar FATAL <5704>: ... MSG_ERR_AUTH_FAIL")
SUCCESS = Evidence("avtar", "backup_succeeded", None, None, T0, "avtar Info <5314>: Command completed")

RESULT_KEYS = {
    "server",
    "gsan_minserial",
    "mcs_serial",
    "highest_seen_serial",
    "in_sync",
    "findings",
    "proposed_serial",
    "evidence",
    "drift",
}


def expected_drift(relation, behind, signature, auth, mcs_up):
    """The documented decision table, in order."""
    if relation == "<" or behind:
        return "mcs_behind"
    if signature:
        return "signature_mismatch"
    if auth and relation == ">":
        return "gsan_behind"
    if mcs_up is False:
        return "mcs_down"
    return "none"


SCENARIOS = list(
    itertools.product(
        ["<", "=", ">"], [None, "1479", "1418"], [False, True], [False, True], [False, True], [None, True, False]
    )
)


@pytest.mark.parametrize("relation,behind,signature,auth,with_success,mcs_up", SCENARIOS)
def test_decision_table(relation, behind, signature, auth, with_success, mcs_up):
    mcs = {"<": GSAN - 500, "=": GSAN, ">": GSAN + 8451}[relation]
    evidence = (
        ([BELOW] if behind == "1479" else [USED] if behind == "1418" else [])
        + ([SIG] if signature else [])
        + ([AUTH] if auth else [])
        + ([SUCCESS] if with_success else [])
    )
    diag = diagnose("ava01", GSAN, mcs, evidence, 1000, mcs_up=mcs_up)
    drift = expected_drift(relation, behind, signature, auth, mcs_up)
    assert diag.drift == drift
    assert diag.in_sync is (drift == "none")
    # MCS down is always reported, whichever drift wins; up or unknown is not mentioned
    assert (MCS_DOWN_FINDING in diag.findings) is (mcs_up is False)
    seen = [v for e in evidence for v in (e.serial, e.minserial) if v is not None]
    assert diag.highest_seen_serial == (max(seen) if seen else None)
    if drift == "none":
        assert diag.proposed_serial is None
        assert diag.findings[-1] == "GSAN and MCS are in sync: no session-ticket drift found."
    else:
        floor = max([GSAN, mcs] + seen) + 1000
        assert diag.proposed_serial % 1000 == 0 and floor <= diag.proposed_serial < floor + 1000
        assert any(f.startswith("Diagnosis: ") for f in diag.findings)
        assert f"Proposed new serial: {diag.proposed_serial}" in diag.findings[-1]
    # the evidence lines are the current problem lines, then the latest success
    problems = [e.line for e in evidence if e.kind != "backup_succeeded"]
    assert diag.evidence == problems + ([SUCCESS.line] if with_success else [])
    result = diag.to_dict()
    assert set(result) == RESULT_KEYS
    assert json.loads(json.dumps(result)) == result


@pytest.mark.parametrize("item", [BELOW, USED, SIG, AUTH])
@pytest.mark.parametrize("when,current", [(BEFORE, False), (AFTER, True)])
def test_timestamped_evidence_older_than_last_success_is_stale(item, when, current):
    dated = Evidence(item.source, item.kind, item.serial, item.minserial, when, item.line)
    older_success = Evidence("avtar", "backup_succeeded", None, None, BEFORE - (AFTER - BEFORE), "old success")
    diag = diagnose("ava01", GSAN, GSAN + 100, [older_success, SUCCESS, dated], 1000)
    assert diag.in_sync is not current
    if not current:
        assert diag.evidence == [SUCCESS.line]  # the latest success, not the older one
        assert any("1 older log line ignored: a backup succeeded at 2026-11-25 10:00:00" in f for f in diag.findings)


@pytest.mark.parametrize(
    "item,gsan_floor,current",
    [
        (Evidence("gsan", "serial_used", 28451, None, None, "used"), 20000, True),
        (Evidence("gsan", "serial_used", 28451, None, None, "used"), 28451, False),
        (Evidence("gsan", "serial_used", 28451, None, None, "used"), 38000, False),
        (Evidence("gsan", "serial_used", None, None, None, "used"), 38000, True),
        (Evidence("gsan", "serial_below_minserial", 19000, 20000, None, "below"), 20000, True),
        (Evidence("gsan", "serial_below_minserial", 19000, 20000, None, "below"), 38000, False),
        (Evidence("gsan", "serial_below_minserial", None, None, None, "below <x> <y>"), 38000, True),
        (Evidence("gsan", "incorrect_signature", None, None, None, "sig"), 38000, True),
        (Evidence("avtar", "auth_failure", None, None, None, "auth"), 38000, True),
    ],
)
def test_undated_evidence_is_current_unless_the_floor_moved_above_it(item, gsan_floor, current):
    # MCS above GSAN and a success on record: only current evidence can make a drift.
    diag = diagnose("ava01", gsan_floor, gsan_floor + 10, [item, SUCCESS], 1000)
    assert diag.in_sync is not current
    assert (item.line in diag.evidence) is current


def test_kb_story_from_verbatim_lines():
    gsan_lines = (DATA / "gsan_kb_seed.txt").read_text().splitlines()
    avtar_lines = (DATA / "avtar_kb_seed.txt").read_text().splitlines()
    evidence = evidence_from_gsan_lines(gsan_lines) + evidence_from_avtar_lines(avtar_lines)
    assert [e.kind for e in evidence] == [
        "serial_below_minserial",
        "incorrect_signature",
        "serial_used",
        "incorrect_signature",
        "auth_failure",
        "auth_failure",
    ]
    assert all(e.source == "avtar" for e in evidence[4:])
    assert evidence[4].line.startswith("2019-12-31 07:35:23 avtar FATAL <5704>: Fatal Server Error occurred")
    diag = diagnose("avamar.com", 20000, 28451, evidence, 1000)
    assert (diag.drift, diag.highest_seen_serial, diag.proposed_serial) == ("mcs_behind", 28451, 30000)
    assert diag.evidence == [e.line for e in evidence]  # all current, all distinct, in order
    # After the KB's fix (GSAN 38000, MCS 38000) the same undated lines no longer count... except those
    # without a serial, which the caller must age out with a successful backup:
    success = evidence_from_avtar_lines(
        ["2019-12-31 08:00:00 avtar Info <5314>: Command completed (1 warning, exit code 0: success)"]
    )
    assert success[0].kind == "backup_succeeded" and success[0].timestamp == datetime(2019, 12, 31, 8, 0)
    dated_auth = [e for e in evidence if e.kind == "auth_failure"]
    assert diagnose("avamar.com", 38000, 38000, dated_auth + success, 1000).in_sync


def test_gsan_behind_example():
    diag = diagnose("ava01", 20000, 28451, [AUTH], 1000)
    assert diag.drift == "gsan_behind" and diag.proposed_serial == 30000
    assert "Diagnosis: GSAN is behind MCS (MCS holds a larger session-ticket serial than GSAN)." in diag.findings


def test_mcs_down_after_an_unfinished_restart_proposes_a_serial_above_everything_seen():
    # The state a failed restart leaves: GSAN and the .srl agree on the new serial, MCS is down.
    agreed = 41000
    up = diagnose("ava01", agreed, agreed, [], 1000, mcs_up=True)
    assert up.drift == "none" and up.in_sync and up.proposed_serial is None
    assert diagnose("ava01", agreed, agreed, [], 1000).to_dict() == up.to_dict()  # None: as before
    down = diagnose("ava01", agreed, agreed, [USED], 1000, mcs_up=False)
    assert down.drift == "mcs_behind", "a serial drift is named first; MCS down is still reported"
    down = diagnose("ava01", agreed, agreed, [], 1000, mcs_up=False)
    assert down.drift == "mcs_down" and down.in_sync is False
    assert down.proposed_serial == 42000  # serials only go up: redoing the procedure converges
    assert MCS_DOWN_FINDING in down.findings
    assert down.findings[-1].startswith("Proposed new serial: 42000")
    assert down.to_dict()["drift"] == "mcs_down"


@pytest.mark.parametrize("mcs_up", [0, 1, "down", "up"])
def test_mcs_up_must_be_a_bool_or_none(mcs_up):
    with pytest.raises(ValidationError, match="mcs_up"):
        diagnose("ava01", 1, 1, [], 1, mcs_up=mcs_up)


def test_evidence_is_capped():
    items = [Evidence("avtar", "auth_failure", None, None, None, f"line {i}") for i in range(100)]
    diag = diagnose("ava01", 1, 2, items, 1000)
    assert len(diag.evidence) == 20 and diag.evidence[0] == "line 0"


@pytest.mark.parametrize("args", [(-1, 0, 1000), (0, None, 1000), (0, 0, -1), (True, 0, 1000)])
def test_validation(args):
    with pytest.raises(ValidationError):
        diagnose("ava01", args[0], args[1], [], args[2])
    with pytest.raises(ValidationError, match="unknown evidence kind"):
        diagnose("ava01", 1, 1, [Evidence("gsan", "weird", None, None, None, "x")], 1)


# -- the pack's records and verification (issue 14) --------------------------------------------------
RECORD = datetime(2026, 11, 25, 10, 30, 0)  # the pack's last successful remediation (node clock)
OLD = [Evidence(e.source, e.kind, e.serial, e.minserial, T0, e.line) for e in (BELOW, USED, SIG, AUTH)]


def test_evidence_before_the_last_remediation_is_stale():
    for item in OLD:
        diag = diagnose("ava01", GSAN, GSAN + 100, [item], 1000)
        assert diag.in_sync is False, item  # current without the record
        diag = diagnose("ava01", GSAN, GSAN + 100, [item], 1000, stale_before=RECORD)
        assert diag.in_sync is True and diag.evidence == [], item
        assert any("last successful remediation of this node was at 2026-11-25 10:30:00" in f for f in diag.findings)
    late = Evidence("gsan", "incorrect_signature", None, None, AFTER, "WARN: <1426> after the record")
    diag = diagnose("ava01", GSAN, GSAN + 100, OLD + [late], 1000, stale_before=RECORD)
    assert diag.drift == "signature_mismatch" and diag.evidence == [late.line]


def test_verify_serial_discounts_what_predates_the_registration():
    serial = 39000
    old_used = Evidence("gsan", "serial_used", 28452, None, T0, "WARN: <1418> serial=28452 was used already")
    old_below = Evidence("gsan", "serial_below_minserial", 28452, 38000, T0, "WARN: <1479> below 38000")
    old_auth = Evidence("avtar", "auth_failure", None, None, T0, "avtar FATAL <5704>")
    trigger = Evidence("trigger", "auth_failure", None, None, AFTER, "trigger: avtar FATAL <5704>", count=25)
    evidence = [old_used, old_below, old_auth, trigger]
    # A correctly fixed node: GSAN 39000, MCS 39000. Without verify the old lines say otherwise.
    assert diagnose("ava01", serial, serial, evidence, 10000).in_sync is False
    registered = datetime(2026, 11, 25, 10, 10, 0)
    for when in (registered, None):
        diag = diagnose("ava01", serial, serial, evidence, 10000, verify_serial=serial, registered_at=when)
        assert diag.in_sync is True and diag.proposed_serial is None, (when, diag.findings)
        assert any(f.startswith(f"Verifying serial {serial}") for f in diag.findings)
    # Evidence logged after the registration still counts.
    new_used = Evidence("gsan", "serial_used", 39001, None, AFTER, "WARN: <1418> serial=39001 was used already")
    diag = diagnose(
        "ava01", serial, serial + 5, evidence + [new_used], 10000, verify_serial=serial, registered_at=registered
    )
    assert diag.drift == "mcs_behind" and new_used.line in diag.evidence
    new_auth = Evidence("avtar", "auth_failure", None, None, AFTER, "avtar FATAL <5704> after")
    diag = diagnose("ava01", serial, serial + 5, [new_auth], 10000, verify_serial=serial, registered_at=registered)
    assert diag.drift == "gsan_behind"
    # GSAN lost the registration.
    diag = diagnose("ava01", serial - 1000, serial, [], 10000, verify_serial=serial, registered_at=registered)
    assert diag.drift == "gsan_behind" and any("no longer holds the registration" in f for f in diag.findings)


def test_trigger_counts_weigh_and_context_is_cited():
    trigger = Evidence("trigger", "auth_failure", None, None, AFTER, "trigger: avtar FATAL <5704>", count=25)
    diag = diagnose("ava01", 25000, 30210, [trigger], 10000, context=["The trigger reports 25 failed backup(s)."])
    assert diag.drift == "gsan_behind"
    assert diag.findings[1] == "The trigger reports 25 failed backup(s)."
    assert any("25 failures with avtar FATAL 5704" in f for f in diag.findings)


@pytest.mark.parametrize("bad", [0, -1, True, "39000", 1.5])
def test_verify_serial_must_be_a_positive_integer(bad):
    with pytest.raises(ValidationError):
        diagnose("ava01", GSAN, GSAN, [], 1000, verify_serial=bad)
