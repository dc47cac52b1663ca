"""``diagnose_session_tickets``: read GSAN's and MCS's serials, MCS's state and the log evidence
(KB steps 1-2 and the KB's grep), then apply ``avamar_pack.diagnosis``. Read-only: never takes
the lock.

MCS's state matters because a restart that did not complete (KB step 7) leaves GSAN and the
``.srl`` agreeing while MCS is down: without it the diagnosis would say "in sync" and nothing
would ever start MCS on the serial GSAN accepted. A ``dpnctl`` that cannot be read is not fatal:
the diagnosis goes on without the state and says so in its findings.
"""

from __future__ import annotations

import posixpath
from typing import Any, Dict, List, Optional, Tuple

from avamar_pack.diagnosis import diagnose, evidence_from_avtar_lines, evidence_from_gsan_lines
from avamar_pack.errors import AvamarPackError
from avamar_pack.node.node import AvamarNode
from avamar_pack.remediation.steps import step

GSAN_LOG_PATTERNS = ("gsan.log*", "err.log*")
MAX_GSAN_FILES = 12
MAX_GSAN_LINES = 2000
CLIENT_LOG_PATTERNS = ("*.log",)
MAX_CLIENT_FILES = 20
CLIENT_TAIL_LINES = 400


def diagnose_session_tickets(node: AvamarNode, server: str, margin: int, result: Dict[str, Any]) -> Dict[str, Any]:
    with step("read_keytable"):
        gsan_minserial = node.keytable().minimal_serial
    result["gsan_minserial"] = gsan_minserial
    with step("read_srl"):
        mcs_serial = node.read_srl()
    result["mcs_serial"] = mcs_serial
    mcs_status, unread = _read_mcs_status(node)
    result["mcs_status"] = mcs_status
    mcs_up = None if mcs_status is None else mcs_status == "up"

    with step("read_gsan_logs"):
        gsan_dir = posixpath.dirname(node.paths.gsan_log)
        gsan_files = node.list_files(gsan_dir, GSAN_LOG_PATTERNS, MAX_GSAN_FILES)
        gsan_lines = node.grep_ticket_warnings(gsan_files, MAX_GSAN_LINES)
    with step("read_client_logs"):
        client_files = node.list_files(node.paths.client_log_dir, CLIENT_LOG_PATTERNS, MAX_CLIENT_FILES)
        client_lines: List[str] = []
        for lines in node.tail_files(client_files, CLIENT_TAIL_LINES).values():
            client_lines.extend(lines)

    evidence = evidence_from_gsan_lines(gsan_lines) + evidence_from_avtar_lines(client_lines)
    with step("diagnose"):
        diagnosis = diagnose(server, gsan_minserial, mcs_serial, evidence, margin, mcs_up=mcs_up)
    result.update(diagnosis.to_dict())
    if unread:
        result["findings"].insert(1, unread)
    result["logs_read"] = {"gsan": gsan_files, "client": client_files}
    return result


def _read_mcs_status(node: AvamarNode) -> Tuple[Optional[str], str]:
    """MCS's state from ``dpnctl status mcs`` (None when unknown) and, when unknown, a finding why."""
    try:
        status = node.mcs_status()
    except AvamarPackError as exc:
        return None, f"MCS status could not be read ({exc}); diagnosed from the serials and logs only."
    if status is None:
        return None, "dpnctl status mcs printed no MCS status; diagnosed from the serials and logs only."
    return status, ""
