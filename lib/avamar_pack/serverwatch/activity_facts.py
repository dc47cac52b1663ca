"""What the server sensor reads out of one ``mccli activity show`` row (parsing.mccli.Activity).

Values stay as MCS printed them in ``Activity``; these helpers turn the few the sensor needs into
numbers, and refuse anything odd (a value that does not parse is "unknown", never a guess).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Optional

from avamar_pack.detection.payloads import valid_client
from avamar_pack.parsing.mccli import Activity

_ELAPSED_RE = re.compile(r"^([0-9]{1,6})h:([0-9]{1,2})m:([0-9]{1,2})s\Z")
_BYTES_RE = re.compile(r"^([0-9]{1,15}(?:\.[0-9]{1,6})?)\s{0,4}(bytes|byte|b|kb|mb|gb|tb)?\Z", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "byte": 1, "bytes": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40}
_START_RE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})(?: (UTC|GMT))?\Z")
_ID_RE = re.compile(r"^[0-9]{1,32}\Z")
#: Over, and not a success, and not stopped by someone: a failed backup.
NOT_FAILURES = frozenset({"canceled", "cancelled"})


def activity_id(act: Activity) -> Optional[str]:
    return act.id if _ID_RE.match(act.id or "") else None


def is_backup(act: Activity) -> bool:
    """``Scheduled Backup``, ``On-Demand Backup`` [C]; restores and replications are not backups
    (the one classification of the pack: ``parsing.mccli.activity_kind``)."""
    return act.kind == "backup"


def is_running(act: Activity) -> bool:
    return (act.status or "").strip().lower() == "running"


def is_failed(act: Activity) -> bool:
    status = (act.status or "").strip().lower()
    return bool(status) and not act.active and not act.succeeded and status not in NOT_FAILURES


def elapsed_seconds(act: Activity) -> Optional[int]:
    match = _ELAPSED_RE.match((act.elapsed or "").strip())
    if not match:
        return None
    hours, minutes, seconds = (int(g) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def progress_bytes(act: Activity) -> Optional[float]:
    """``0 bytes`` -> 0, ``1.8 MB`` -> 1887436.8; None when MCS printed something else."""
    match = _BYTES_RE.match((act.progress_bytes or "").strip())
    if not match:
        return None
    return float(match.group(1)) * _UNITS[(match.group(2) or "").lower()]


def started_iso(act: Activity) -> str:
    """``2026-11-25 10:00:01 UTC`` -> ISO 8601 (with +00:00 when MCS says UTC); "" when unknown."""
    match = _START_RE.match((act.start_time or "").strip())
    if not match:
        return ""
    try:
        when = datetime(*(int(g) for g in match.groups()[:6]))
    except ValueError:
        return ""
    return (when.replace(tzinfo=timezone.utc) if match.group(7) else when).isoformat()


def client_name(act: Activity) -> Optional[str]:
    return valid_client(act.client)


__all__ = [
    "activity_id",
    "client_name",
    "elapsed_seconds",
    "is_backup",
    "is_failed",
    "is_running",
    "progress_bytes",
    "started_iso",
    "valid_client",
]
