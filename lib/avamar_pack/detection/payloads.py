"""Trigger payloads: names, builders, and the cleaning of everything taken from log text.

Everything here comes from untrusted log text, so every string that reaches a payload is
validated (client names) or cleaned and bounded (messages, lines). A payload never carries
anything a rule could turn into shell syntax: the one field rules pass on, ``server``, is
always the name of a configured server (``servers.py``), never text taken from the log.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from avamar_pack.config import validate_client_name
from avamar_pack.errors import ValidationError
from avamar_pack.parsing.gsan import TicketWarning

AUTH_FAILURE_TRIGGER = "avamar.backup_auth_failure"
TICKET_WARNING_TRIGGER = "avamar.session_ticket_warning"

MAX_TEXT = 2048
MAX_CLIENTS = 100  # distinct clients listed in one folded dispatch (count keeps counting)

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(text: Optional[str], limit: int = MAX_TEXT) -> str:
    """Printable, bounded text: control characters become spaces, long text is cut."""
    if not text:
        return ""
    text = _CONTROL_RE.sub(" ", text.replace("\ufffd", "?"))
    return text[:limit].strip()


def iso(value: Optional[datetime], fallback: Optional[datetime] = None) -> str:
    """ISO 8601. Log timestamps carry no zone (the node's local time); detection times are UTC."""
    value = value or fallback or datetime.now(timezone.utc)
    return value.isoformat()


def valid_client(name: Optional[str]) -> Optional[str]:
    """The client name if it passes the config validator, else None (hostile or garbled text)."""
    if not name:
        return None
    try:
        return validate_client_name(name)
    except ValidationError:
        return None


def failure_payload(
    *,
    server: str,
    clients: List[str],
    codes: List[int],
    message: str,
    ticket: Optional[Dict[str, Any]],
    log_file: str,
    first_seen: str,
    last_seen: str,
    count: int,
    source: str,
) -> Dict[str, Any]:
    """``avamar.backup_auth_failure`` payload (PRODUCT.md). ``client`` is the first client folded in."""
    return {
        "server": server,
        "client": clients[0] if clients else "",
        "clients": list(clients[:MAX_CLIENTS]),
        "codes": [int(c) for c in codes],
        "message": clean_text(message),
        "ticket": dict(ticket) if ticket else None,
        "log_file": clean_text(log_file, 1024),
        "first_seen": first_seen,
        "last_seen": last_seen,
        "count": int(count),
        "source": source,
    }


def warning_payload(server: str, warning: TicketWarning, source: str) -> Dict[str, Any]:
    """``avamar.session_ticket_warning`` payload (PRODUCT.md) of a GSAN ``warning`` on ``server``."""
    return {
        "server": server,
        "code": int(warning.code),
        "kind": warning.kind,
        "serial": warning.serial,
        "minserial": warning.minserial,
        "line": clean_text(warning.text),
        "seen_at": iso(warning.timestamp, datetime.now(timezone.utc)),
        "source": source,
    }
