"""``diagnose_session_tickets``: read GSAN's and MCS's serials, MCS's state and the log evidence
(KB steps 1-2 and the KB's grep), then apply ``avamar_pack.diagnosis``. Read-only: never takes
the lock.

MCS's state matters because a restart that did not complete (KB step 7) leaves GSAN and the
``.srl`` agreeing while MCS is down: without it the diagnosis would say "in sync" and nothing
would ever start MCS on the serial GSAN accepted. A ``dpnctl`` that cannot be read is not fatal:
the diagnosis goes on without the state and says so in its findings.

The pack's own records on the node (``node.records``) move the staleness cut-off: evidence
logged before its last successful remediation does not count, and with ``verify_serial`` only
evidence logged after that serial's registration counts. An unreadable record is a finding,
never a reason to stop. ``detection`` (the trigger payload, untrusted) is validated by
``trigger_evidence`` and adds its evidence and findings.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from avamar_pack import trigger_evidence
from avamar_pack.diagnosis import Diagnosis, diagnose, evidence_from_avtar_lines, evidence_from_gsan_lines
from avamar_pack.errors import AvamarPackError
from avamar_pack.node import records
from avamar_pack.node.node import AvamarNode
from avamar_pack.remediation.report import StepReport

GSAN_LOG_PATTERNS = ("gsan.log*", "err.log*")
MAX_GSAN_FILES = 12
MAX_GSAN_LINES = 2000
CLIENT_LOG_PATTERNS = ("*.log",)
MAX_CLIENT_FILES = 20
CLIENT_TAIL_LINES = 400


@dataclass
class DiagnosisReport(StepReport):
    """The serials and MCS's state as they are read (a failure reports what was read so far), then
    the diagnosis (``Diagnosis.to_dict``: PRODUCT.md's fields) and what it was based on.

    ``mcs_status`` is a key once it was asked for, None when it could not be read (then
    ``unread_finding`` says why, second in ``findings``)."""

    gsan_minserial: Optional[int] = None
    mcs_serial: Optional[int] = None
    mcs_status_read: bool = False
    mcs_status: Optional[str] = None
    unread_finding: str = ""
    diagnosis: Optional[Diagnosis] = None
    gsan_logs: Optional[List[str]] = None
    client_logs: Optional[List[str]] = None
    last_remediation: Optional[records.NodeRecord] = None
    verify_serial: Optional[int] = None
    detection: Optional[trigger_evidence.TriggerEvidence] = None

    def as_result(self) -> Dict[str, Any]:
        result: Dict[str, Any] = {}
        if self.gsan_minserial is not None:
            result["gsan_minserial"] = self.gsan_minserial
        if self.mcs_serial is not None:
            result["mcs_serial"] = self.mcs_serial
        if self.mcs_status_read:
            result["mcs_status"] = self.mcs_status
        if self.diagnosis is None:
            return result
        result.update(self.diagnosis.to_dict())
        if self.unread_finding:
            result["findings"].insert(1, self.unread_finding)
        result["logs_read"] = {"gsan": self.gsan_logs, "client": self.client_logs}
        result["last_remediation"] = self.last_remediation.as_dict() if self.last_remediation else None
        result["verify_serial"] = self.verify_serial
        result["detection"] = None if self.detection is None else self.detection.as_dict()
        return result


def diagnose_session_tickets(
    node: AvamarNode,
    server: str,
    margin: int,
    *,
    detection: Any = None,
    verify_serial: Optional[int] = None,
) -> DiagnosisReport:
    report = DiagnosisReport(verify_serial=verify_serial)
    with report.step("read_keytable"):
        report.gsan_minserial = gsan_minserial = node.keytable().minimal_serial
    with report.step("read_srl"):
        report.mcs_serial = mcs_serial = node.read_srl()
    report.mcs_status, report.unread_finding = _read_mcs_status(node)
    report.mcs_status_read = True
    mcs_up = None if report.mcs_status is None else report.mcs_status == "up"

    with report.step("read_gsan_logs"):
        gsan_dir = posixpath.dirname(node.paths.gsan_log)
        gsan_files = node.list_files(gsan_dir, GSAN_LOG_PATTERNS, MAX_GSAN_FILES)
        gsan_lines = node.grep_ticket_warnings(gsan_files, MAX_GSAN_LINES)
    with report.step("read_client_logs"):
        client_files = node.list_files(node.paths.client_log_dir, CLIENT_LOG_PATTERNS, MAX_CLIENT_FILES)
        client_lines: List[str] = []
        for lines in node.tail_files(client_files, CLIENT_TAIL_LINES).values():
            client_lines.extend(lines)

    notes: List[str] = []
    last = _read_record(node, records.LAST_REMEDIATION, notes)
    registration = _read_record(node, records.REGISTRATION, notes) if verify_serial is not None else None
    registered_at = registration.node_time if registration and registration.serial == verify_serial else None
    trigger = trigger_evidence.from_payload(detection, server)

    evidence = evidence_from_gsan_lines(gsan_lines) + evidence_from_avtar_lines(client_lines) + trigger.evidence
    context = trigger.findings + notes
    if last is not None:
        context.append(
            f"The pack last remediated this node at {last.node_time.isoformat(sep=' ')} (node clock, "
            f"serial {last.serial}): evidence logged before it is not counted."
        )
    with report.step("diagnose"):
        diagnosis = diagnose(
            server,
            gsan_minserial,
            mcs_serial,
            evidence,
            margin,
            mcs_up=mcs_up,
            stale_before=last.node_time if last else None,
            verify_serial=verify_serial,
            registered_at=registered_at,
            context=context,
        )
    report.diagnosis = diagnosis
    report.gsan_logs, report.client_logs = gsan_files, client_files
    report.last_remediation, report.detection = last, trigger
    return report


def _read_record(node: AvamarNode, name: str, notes: List[str]) -> Optional[records.NodeRecord]:
    try:
        return records.read_record(node, name)
    except AvamarPackError as exc:
        notes.append(f"The pack's {name.replace('_', ' ')} record could not be used ({exc}); it was ignored.")
        return None


def _read_mcs_status(node: AvamarNode) -> Tuple[Optional[str], str]:
    """MCS's state from ``dpnctl status mcs`` (None when unknown) and, when unknown, a finding why."""
    try:
        status = node.mcs_status()
    except AvamarPackError as exc:
        return None, f"MCS status could not be read ({exc}); diagnosed from the serials and logs only."
    if status is None:
        return None, "dpnctl status mcs printed no MCS status; diagnosed from the serials and logs only."
    return status, ""
