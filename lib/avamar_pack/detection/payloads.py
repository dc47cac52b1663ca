"""Trigger payloads, and which configured Avamar server a log line belongs to.

Everything here comes from untrusted log text, so every string that reaches a payload is
validated (client names) or cleaned and bounded (messages, lines). A payload never carries
anything a rule could turn into shell syntax: the one field rules pass on, ``server``, is
always the name of a configured server, never text taken from the log.
"""

from __future__ import annotations

import logging
import posixpath
import re
from datetime import datetime, timezone
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from avamar_pack.config import ServerSettings, server_settings, validate_client_name
from avamar_pack.errors import ValidationError

AUTH_FAILURE_TRIGGER = "avamar.backup_auth_failure"
TICKET_WARNING_TRIGGER = "avamar.session_ticket_warning"

MAX_TEXT = 2048
MAX_CLIENTS = 100  # distinct clients listed in one folded dispatch (count keeps counting)

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

log = logging.getLogger(__name__)


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


class ServerMap:
    """Maps what a log says (avtar's ``Connecting to Avamar Server (host)``, a log path) to a server name.

    Order for client failures: a server whose ``host`` or ``hostnames`` equals the host avtar
    connected to; else a server whose ``avamar_root`` (when not ``/``) prefixes the log path;
    else the only configured server; else no server (the caller skips, with the reason).
    GSAN lines map by ``avamar_root`` prefix, else the only server.
    """

    def __init__(self, servers: Sequence[ServerSettings]) -> None:
        self.servers = list(servers)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ServerMap:
        servers = []
        for name in sorted((config or {}).get("servers") or {}):
            try:
                servers.append(server_settings(config, name))
            except ValidationError as exc:  # one bad entry must not blind the sensor for the others
                log.warning("servers.%s ignored by the sensor: %s", name, exc)
        return cls(servers)

    def _by_root(self, log_path: Optional[str]) -> Optional[str]:
        if not log_path:
            return None
        path = posixpath.normpath(log_path)
        best: Optional[Tuple[int, str]] = None
        for server in self.servers:
            root = server.avamar_root
            if root != "/" and (path == root or path.startswith(root.rstrip("/") + "/")):
                if best is None or len(root) > best[0]:
                    best = (len(root), server.name)
        return best[1] if best else None

    def _only(self) -> Optional[str]:
        return self.servers[0].name if len(self.servers) == 1 else None

    def for_client(self, host: Optional[str], log_path: Optional[str]) -> Tuple[Optional[str], str]:
        """(server name or None, how it was chosen or why none was)."""
        if host:
            wanted = host.lower()
            for server in self.servers:
                names = [server.host, *server.hostnames]
                if any(n.lower() == wanted for n in names if n):
                    return server.name, f"host {host}"
        by_root = self._by_root(log_path)
        if by_root:
            return by_root, "avamar_root prefix"
        only = self._only()
        if only:
            return only, "only configured server"
        if not self.servers:
            return None, "no server is configured"
        return None, f"host {host!r} matches no configured server and no avamar_root prefixes {log_path!r}"

    def for_gsan(self, log_path: Optional[str]) -> Tuple[Optional[str], str]:
        by_root = self._by_root(log_path)
        if by_root:
            return by_root, "avamar_root prefix"
        only = self._only()
        if only:
            return only, "only configured server"
        return None, f"no avamar_root prefixes {log_path!r} and {len(self.servers)} servers are configured"


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


def warning_payload(
    *,
    server: str,
    code: int,
    kind: str,
    serial: Optional[int],
    minserial: Optional[int],
    line: str,
    seen_at: str,
    source: str,
) -> Dict[str, Any]:
    """``avamar.session_ticket_warning`` payload (PRODUCT.md)."""
    return {
        "server": server,
        "code": int(code),
        "kind": kind,
        "serial": serial,
        "minserial": minserial,
        "line": clean_text(line),
        "seen_at": seen_at,
        "source": source,
    }
