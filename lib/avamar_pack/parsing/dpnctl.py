"""Parse ``dpnctl status``.

Lines [C]: ``gsan status: up``, ``MCS status: up.``, ``emt status: up.``,
``Backup scheduler status: up.``, ``Maintenance windows scheduler status: enabled.``;
``dpnctl status maint`` ends ``suspended.`` when stopped, ``dpnctl status sched`` ends ``down.``.
Real lines carry a ``dpnctl: INFO: `` prefix [I], so the prefix is optional here, as is the
trailing dot. Values are lowercased without the dot; a service not printed is None. Other
``<name> status: <value>`` lines are kept in ``others`` (name lowercased).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional

MAX_TEXT = 1 << 20
MAX_LINES = 1000

_STATUS_RE = re.compile(
    r"^\s{0,8}(?:dpnctl: {1,4}(?:INFO|WARNING|WARN|ERROR): {1,4})?"
    r"(?P<name>[A-Za-z][A-Za-z0-9 _-]{0,60}?) status: {0,4}(?P<value>[A-Za-z][A-Za-z0-9 _/-]{0,60}?)\.?\s*\Z"
)
_FIELDS = {
    "gsan": "gsan",
    "mcs": "mcs",
    "emt": "emt",
    "backup scheduler": "backup_scheduler",
    "maintenance windows scheduler": "maintenance_scheduler",
}


@dataclass(frozen=True)
class DpnctlStatus:
    gsan: Optional[str] = None
    mcs: Optional[str] = None
    emt: Optional[str] = None
    backup_scheduler: Optional[str] = None
    maintenance_scheduler: Optional[str] = None
    lines: List[str] = field(default_factory=list)
    others: Dict[str, str] = field(default_factory=dict)


def parse_status(text: str) -> DpnctlStatus:
    """Service states from ``dpnctl status`` output; never raises on text input."""
    values: Dict[str, str] = {}
    others: Dict[str, str] = {}
    lines: List[str] = []
    if not isinstance(text, str):
        return DpnctlStatus()
    for raw in text[:MAX_TEXT].splitlines()[: MAX_LINES * 10]:
        match = _STATUS_RE.match(raw)
        if not match:
            continue
        name = " ".join(match.group("name").split()).lower()
        value = " ".join(match.group("value").split()).lower()
        if len(lines) < MAX_LINES:
            lines.append(raw.strip())
        key = _FIELDS.get(name)
        if key is not None:
            values[key] = value
        elif len(others) < MAX_LINES:
            others[name] = value
    return DpnctlStatus(lines=lines, others=others, **values)
