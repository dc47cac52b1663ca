"""Pure diagnosis: GSAN's minimal serial + MCS's serial + log evidence -> Diagnosis.

Inputs: ``gsan_minserial`` (``avmaint cat /sysinfo/security/keytable``), ``mcs_serial``
(``sessionticket.srl``) and ``Evidence`` taken from GSAN and avtar logs and from the trigger
payload (``trigger_evidence``; source ``trigger``, one item may stand for ``count`` failures).
Evidence kinds: ``serial_below_minserial`` (GSAN 1479), ``serial_used`` (1418),
``incorrect_signature`` (1426), ``auth_failure`` (avtar FATAL 5704) and ``backup_succeeded``
(avtar 5314 ``Command completed``).

Rules, applied in this order:

1. Staleness. Timestamped evidence at or before the cut-off is stale: the most recent
   ``backup_succeeded`` (a backup worked after it), ``stale_before`` (the pack's last successful
   remediation of the node, ``node.records``) and, when verifying, ``registered_at`` (when the
   serial being verified was registered). Evidence without a timestamp (the KB's pasted lines)
   counts as current unless a registration since then moved GSAN's floor above it: for 1479
   when ``gsan_minserial`` > its ``minserial``, for the others when its ``serial`` <=
   ``gsan_minserial``. (GSAN and avtar timestamps are compared as written: both are local
   times, like the node clock of the records.)
   Verifying (``verify_serial`` N: judge the node as it is after registering N): GSAN warnings
   about serials below N (1479 with minserial < N, 1418 with serial < N) are stale, and so is the
   trigger's evidence (it started the run, so it is older than the registration); without a
   ``registered_at`` the remaining undated-by-serial evidence (5704, 1426) cannot be placed
   before or after the registration and is not counted. GSAN below N means GSAN lost the
   registration: ``gsan_behind``.
2. ``mcs_behind``: ``mcs_serial < gsan_minserial``, or current 1479/1418 evidence. MCS was
   restored from an old flush and hands out serials GSAN already saw or that are below its floor.
3. ``signature_mismatch``: current 1426 evidence (the MCS keystore was rebuilt).
4. ``gsan_behind``: current auth failures (5704) with ``mcs_serial > gsan_minserial`` and none of
   the above (the KB: "when MCS has a larger session ticket than GSAN, GSAN is behind").
5. ``mcs_down``: ``mcs_up is False`` (``dpnctl status mcs`` says MCS is not up) and none of the
   above. A previous restart (KB step 7) may not have completed, so the serials cannot be trusted
   to be in use; redoing the procedure with a fresh serial converges (serials only go up) and its
   restart starts MCS. ``mcs_up`` None (not known) or True changes nothing here. Whatever the
   drift, ``mcs_up is False`` adds a finding saying MCS is down.
6. Otherwise ``none``: in sync. (MCS's serial above GSAN's floor is normal: MCS counts up from
   the last registration as it hands out tickets.)

``highest_seen_serial`` is the largest serial or minserial in any evidence (stale included: the
new serial must clear everything GSAN ever saw), None when there is none; the avtar ticket's own
``serial=`` field is not used (its meaning is not public). ``proposed_serial`` (None when in
sync) is ``serials.propose_serial``: the smallest multiple of 1000 >= max(gsan_minserial,
mcs_serial, highest_seen_serial) + margin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, Iterable, List, Optional

from avamar_pack.errors import ValidationError
from avamar_pack.parsing import avtar, gsan
from avamar_pack.parsing.avtar_runs import format_record
from avamar_pack.serials import propose_serial

MAX_EVIDENCE_LINES = 20
MAX_LINE_CHARS = 1000
MCS_DOWN_FINDING = (
    "MCS is down (dpnctl): a previous restart may not have completed; the remediation registers "
    "a new serial and starts MCS."
)

KINDS = ("serial_below_minserial", "serial_used", "incorrect_signature", "auth_failure", "backup_succeeded")
DRIFTS = ("none", "mcs_behind", "signature_mismatch", "gsan_behind", "mcs_down")


@dataclass(frozen=True)
class Evidence:
    source: str  # "gsan" | "avtar" | "trigger"
    kind: str  # one of KINDS
    serial: Optional[int]
    minserial: Optional[int]
    timestamp: Optional[datetime]
    line: str
    count: int = 1  # failures this item stands for (a trigger folds many)


@dataclass(frozen=True)
class Diagnosis:
    server: str
    gsan_minserial: int
    mcs_serial: int
    highest_seen_serial: Optional[int]
    in_sync: bool
    drift: str
    findings: List[str] = field(default_factory=list)
    proposed_serial: Optional[int] = None
    evidence: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        """The action result (PRODUCT.md's fields plus ``drift``); JSON-serialisable."""
        return {
            "server": self.server,
            "gsan_minserial": self.gsan_minserial,
            "mcs_serial": self.mcs_serial,
            "highest_seen_serial": self.highest_seen_serial,
            "in_sync": self.in_sync,
            "drift": self.drift,
            "findings": list(self.findings),
            "proposed_serial": self.proposed_serial,
            "evidence": list(self.evidence),
        }


def evidence_from_gsan_lines(lines: Iterable[str]) -> List[Evidence]:
    """Evidence from GSAN log lines (several warnings on one line are all taken)."""
    found: List[Evidence] = []
    for line in lines:
        for warning in gsan.scan_line(line):
            found.append(
                Evidence(
                    "gsan",
                    warning.kind,
                    warning.serial,
                    warning.minserial,
                    warning.timestamp,
                    warning.text[:MAX_LINE_CHARS],
                )
            )
    return found


def evidence_from_avtar_lines(lines: Iterable[str]) -> List[Evidence]:
    """``auth_failure`` per FATAL 5704 record and ``backup_succeeded`` per ``5314 Command completed``."""
    found: List[Evidence] = []
    for line in lines:
        for record in avtar.scan_line(line).records:
            if record.code == avtar.CODE_AUTH_FAIL and record.severity in avtar.FAILURE_SEVERITIES:
                kind = "auth_failure"
            elif record.code == avtar.CODE_COMMAND_DONE and "Command completed" in record.text:
                kind = "backup_succeeded"
            else:
                continue
            found.append(Evidence("avtar", kind, None, None, record.timestamp, format_record(record)[:MAX_LINE_CHARS]))
    return found


@dataclass(frozen=True)
class _Cutoff:
    """When evidence stops counting, and (verifying) which serial the node was just given."""

    at: Optional[datetime]
    verify_serial: Optional[int]
    registered_at: Optional[datetime]


def _is_current(e: Evidence, gsan_minserial: int, cut: _Cutoff) -> bool:
    if cut.verify_serial is not None:
        if e.source == "trigger":
            return False  # it started this run: older than the registration being verified
        if e.kind == "serial_below_minserial" and e.minserial is not None and e.minserial < cut.verify_serial:
            return False
        if e.kind == "serial_used" and e.serial is not None and e.serial < cut.verify_serial:
            return False
        if cut.registered_at is None and e.kind in ("auth_failure", "incorrect_signature"):
            return False  # no record of when the serial was registered: cannot be placed after it
    if e.timestamp is not None:
        return cut.at is None or e.timestamp > cut.at
    if e.kind == "serial_below_minserial":
        return e.minserial is None or gsan_minserial <= e.minserial
    return e.serial is None or e.serial > gsan_minserial


def _latest(*stamps: Optional[datetime]) -> Optional[datetime]:
    present = [s for s in stamps if s is not None]
    return max(present) if present else None


def _count(items: Iterable[Evidence]) -> int:
    return sum(e.count for e in items)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def diagnose(
    server: str,
    gsan_minserial: int,
    mcs_serial: int,
    evidence: Iterable[Evidence],
    margin: int,
    *,
    mcs_up: Optional[bool] = None,
    stale_before: Optional[datetime] = None,
    verify_serial: Optional[int] = None,
    registered_at: Optional[datetime] = None,
    context: Iterable[str] = (),
) -> Diagnosis:
    """Apply the module's rules; raises ValidationError on a bad serial, margin or ``mcs_up``.

    ``mcs_up``: MCS's state from ``dpnctl status mcs`` (None when it is not known).
    ``stale_before``: the node time of the pack's last successful remediation (None: none).
    ``verify_serial``/``registered_at``: judge the node as it is after registering that serial.
    ``context``: findings about the inputs (e.g. the trigger's evidence), listed after the serials."""
    for name, value in (("gsan_minserial", gsan_minserial), ("mcs_serial", mcs_serial), ("margin", margin)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValidationError(f"{name} must be a non-negative integer, got {value!r}")
    if verify_serial is not None and (
        isinstance(verify_serial, bool) or not isinstance(verify_serial, int) or verify_serial <= 0
    ):
        raise ValidationError(f"verify_serial must be a positive integer, got {verify_serial!r}")
    if mcs_up is not None and not isinstance(mcs_up, bool):
        raise ValidationError(f"mcs_up must be True, False or None, got {mcs_up!r}")
    items = list(evidence)
    for e in items:
        if e.kind not in KINDS:
            raise ValidationError(f"unknown evidence kind {e.kind!r}")

    successes = [e for e in items if e.kind == "backup_succeeded"]
    last_success = _latest(*(e.timestamp for e in successes))
    cut = _Cutoff(
        at=_latest(last_success, stale_before, registered_at if verify_serial is not None else None),
        verify_serial=verify_serial,
        registered_at=registered_at,
    )
    problems = [e for e in items if e.kind != "backup_succeeded"]
    current = [e for e in problems if _is_current(e, gsan_minserial, cut)]
    stale_count = _count(problems) - _count(current)

    seen = [v for e in items for v in (e.serial, e.minserial) if v is not None]
    highest_seen = max(seen) if seen else None

    def current_of(*kinds: str) -> List[Evidence]:
        return [e for e in current if e.kind in kinds]

    behind = current_of("serial_below_minserial", "serial_used")
    signature = current_of("incorrect_signature")
    auth = current_of("auth_failure")

    findings = [f"GSAN minimal serial is {gsan_minserial}; MCS sessionticket.srl holds {mcs_serial}."]
    findings.extend(context)
    if verify_serial is not None:
        when = (
            f" (registered at {registered_at.isoformat(sep=' ')}, node clock)"
            if registered_at
            else " (no record of when it was registered: avtar 5704 and GSAN 1426 lines are not counted)"
        )
        findings.append(f"Verifying serial {verify_serial}{when}: only evidence logged after its registration counts.")
        if gsan_minserial < verify_serial:
            findings.append(
                f"GSAN's minimal serial {gsan_minserial} is below the registered serial {verify_serial}: "
                "GSAN no longer holds the registration."
            )
    if mcs_serial < gsan_minserial:
        findings.append(
            f"MCS's serial {mcs_serial} is below GSAN's minimal serial {gsan_minserial}: "
            "MCS hands out session tickets GSAN refuses."
        )
    if behind:
        used = sorted({e.serial for e in behind if e.serial is not None})
        detail = f" (serials {', '.join(str(s) for s in used[:5])})" if used else ""
        findings.append(
            f"GSAN reports {_plural(len(behind), 'ticket')} with an old or already used serial"
            f"{detail}: warnings 1479/1418."
        )
    if signature:
        findings.append(
            f"GSAN reports {_plural(len(signature), 'incorrect signature')} (warning 1426): "
            "the MCS key GSAN knows does not match the one signing tickets."
        )
    if auth:
        findings.append(
            f"Backups fail with MSG_ERR_AUTH_FAIL ({_plural(_count(auth), 'failure')} with avtar FATAL 5704)."
        )
    if mcs_up is False:
        findings.append(MCS_DOWN_FINDING)
    if stale_count:
        why = _why_stale(last_success, stale_before, cut)
        findings.append(f"{_plural(stale_count, 'older log line')} ignored: {why}.")

    if mcs_serial < gsan_minserial or behind:
        drift = "mcs_behind"
        findings.append("Diagnosis: MCS is behind GSAN (MCS restored from an older state reuses serials).")
    elif verify_serial is not None and gsan_minserial < verify_serial:
        drift = "gsan_behind"
        findings.append("Diagnosis: GSAN is behind the serial just registered (GSAN rolled back or refused it).")
    elif signature:
        drift = "signature_mismatch"
        findings.append(
            "Diagnosis: signature mismatch (the MCS keystore was rebuilt); "
            "re-register the mcecroot key with GSAN at a new serial."
        )
    elif auth and mcs_serial > gsan_minserial:
        drift = "gsan_behind"
        findings.append("Diagnosis: GSAN is behind MCS (MCS holds a larger session-ticket serial than GSAN).")
    elif mcs_up is False:
        drift = "mcs_down"
        findings.append(
            "Diagnosis: MCS is down with no other drift found; redo the procedure at a new serial "
            "so that MCS starts on a serial GSAN accepted."
        )
    else:
        drift = "none"
        if auth:
            findings.append(
                "Backups fail with MSG_ERR_AUTH_FAIL but the serials agree: session-ticket drift is not the cause."
            )
        findings.append("GSAN and MCS are in sync: no session-ticket drift found.")

    in_sync = drift == "none"
    proposed = None if in_sync else propose_serial(gsan_minserial, mcs_serial, highest_seen, max(margin, 1))
    if proposed is not None:
        findings.append(
            f"Proposed new serial: {proposed} (above every serial seen plus a margin of {margin}, "
            "rounded up to a multiple of 1000)."
        )

    lines: List[str] = []
    for e in current + ([max(successes, key=lambda s: s.timestamp or datetime.min)] if successes else []):
        if e.line not in lines and len(lines) < MAX_EVIDENCE_LINES:
            lines.append(e.line)

    return Diagnosis(
        server=server,
        gsan_minserial=gsan_minserial,
        mcs_serial=mcs_serial,
        highest_seen_serial=highest_seen,
        in_sync=in_sync,
        drift=drift,
        findings=findings,
        proposed_serial=proposed,
        evidence=lines,
    )


def _why_stale(last_success: Optional[datetime], stale_before: Optional[datetime], cut: _Cutoff) -> str:
    reasons = []
    if last_success or not (stale_before or cut.verify_serial is not None):
        reasons.append("a backup succeeded" + (f" at {last_success.isoformat(sep=' ')}" if last_success else ""))
    if stale_before:
        reasons.append(f"the pack's last successful remediation of this node was at {stale_before.isoformat(sep=' ')}")
    if cut.verify_serial is not None:
        reasons.append(f"they predate the registration of serial {cut.verify_serial}")
    return " or ".join(reasons + ["GSAN's floor moved above them since"])
