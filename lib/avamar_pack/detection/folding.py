"""Per-server folding of auth failures, like Event-Driven Ansible's ``once_within``.

One desynchronised Avamar server fails every backup of every client. The workflow needs to
run once per server, not once per client, so:

* the FIRST failure of a server dispatches at once (count 1) and opens a window of
  ``window_seconds`` for that server;
* failures of the same server inside the window are FOLDED: counted, their clients, codes and
  times merged into one pending payload;
* when the window ends, if anything was folded, the pending payload is dispatched (its ``count``
  is the number of folded failures) and a new window opens at that moment, so a storm that
  goes on gets exactly one dispatch per window; if nothing was folded, the window just closes
  and the next failure dispatches at once again.

Summing ``count`` over the dispatches of a server gives every failure seen, none dropped.

Session-ticket warnings (GSAN) are not folded but suppressed: one dispatch per (server, code)
per window, the repeats counted in the state and logged. Nothing downstream counts warnings.

Everything here is pure: time comes in as an argument (``now``, seconds) and the state is a
JSON-able dict, so the sensor can store it next to the file positions in one datastore write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from avamar_pack.detection.payloads import MAX_CLIENTS, failure_payload, warning_payload
from avamar_pack.parsing.gsan import TicketWarning


@dataclass(frozen=True)
class Failure:
    """One auth-failure run, already mapped to a configured server and cleaned."""

    server: str
    client: str
    codes: List[int]
    message: str
    ticket: Optional[Dict[str, Any]]
    log_file: str
    first_seen: str
    last_seen: str
    source: str


def _pending_from(failure: Failure) -> Dict[str, Any]:
    return {
        "count": 1,
        "clients": [failure.client],
        "codes": list(failure.codes),
        "message": failure.message,
        "ticket": failure.ticket,
        "log_file": failure.log_file,
        "first_seen": failure.first_seen,
        "last_seen": failure.last_seen,
        "source": failure.source,
    }


def _merge(pending: Dict[str, Any], failure: Failure) -> None:
    pending["count"] += 1
    if failure.client not in pending["clients"] and len(pending["clients"]) < MAX_CLIENTS:
        pending["clients"].append(failure.client)
    for code in failure.codes:
        if code not in pending["codes"]:
            pending["codes"].append(code)
    # The latest failure's evidence is the most useful to the workflow (its ticket serial).
    pending["message"] = failure.message
    pending["ticket"] = failure.ticket
    pending["log_file"] = failure.log_file
    pending["first_seen"] = min(pending["first_seen"], failure.first_seen)
    pending["last_seen"] = max(pending["last_seen"], failure.last_seen)


def _payload(server: str, pending: Dict[str, Any]) -> Dict[str, Any]:
    return failure_payload(
        server=server,
        **{
            k: pending[k]
            for k in ("clients", "codes", "message", "ticket", "log_file", "first_seen", "last_seen", "count", "source")
        },
    )


class FailureFolder:
    """once_within folding of auth failures per server (see the module docstring)."""

    def __init__(self, window_seconds: float, state: Optional[Dict[str, Any]] = None) -> None:
        self.window = max(0.0, float(window_seconds))
        # server -> {"window_end": float, "pending": dict | None}
        self.servers: Dict[str, Dict[str, Any]] = {}
        if state:
            for server, entry in state.items():
                if isinstance(entry, dict) and isinstance(entry.get("window_end"), (int, float)):
                    self.servers[server] = {"window_end": float(entry["window_end"]), "pending": entry.get("pending")}

    def add(self, failure: Failure, now: float) -> Optional[Dict[str, Any]]:
        """Fold ``failure`` in; returns the payload to dispatch now, or None when it was folded."""
        entry = self.servers.get(failure.server)
        if entry is not None and now < entry["window_end"]:
            if entry["pending"] is None:
                entry["pending"] = _pending_from(failure)
            else:
                _merge(entry["pending"], failure)
            return None
        pending = entry["pending"] if entry else None  # due() not called in time: nothing is lost
        if pending is None:
            pending = _pending_from(failure)
        else:
            _merge(pending, failure)
        self.servers[failure.server] = {"window_end": now + self.window, "pending": None}
        return _payload(failure.server, pending)

    def due(self, now: float) -> List[Dict[str, Any]]:
        """Payloads of windows that ended with folded failures; closes empty windows."""
        out: List[Dict[str, Any]] = []
        for server in sorted(self.servers):
            entry = self.servers[server]
            if now < entry["window_end"]:
                continue
            if entry["pending"] is not None:
                out.append(_payload(server, entry["pending"]))
                self.servers[server] = {"window_end": now + self.window, "pending": None}
            else:
                del self.servers[server]
        return out

    def next_deadline(self) -> Optional[float]:
        ends = [e["window_end"] for e in self.servers.values() if e["pending"] is not None]
        return min(ends) if ends else None

    def state(self) -> Dict[str, Any]:
        return {server: dict(entry) for server, entry in self.servers.items()}


class WarningSuppressor:
    """At most one warning dispatch per (server, code) per window; repeats are counted."""

    def __init__(self, window_seconds: float, state: Optional[Dict[str, Any]] = None) -> None:
        self.window = max(0.0, float(window_seconds))
        self.keys: Dict[str, Dict[str, Any]] = {}
        for key, entry in (state or {}).items():
            if isinstance(entry, dict) and isinstance(entry.get("window_end"), (int, float)):
                self.keys[key] = {
                    "window_end": float(entry["window_end"]),
                    "suppressed": int(entry.get("suppressed", 0)),
                }

    def payload(self, server: str, warning: TicketWarning, source: str, now: float) -> Optional[Dict[str, Any]]:
        """The trigger payload of ``warning`` on ``server``; None when it is a repeat within the window (counted)."""
        return warning_payload(server, warning, source) if self.admit(server, warning.code, now) else None

    def admit(self, server: str, code: int, now: float) -> bool:
        key = f"{server}|{code}"
        entry = self.keys.get(key)
        if entry is not None and now < entry["window_end"]:
            entry["suppressed"] += 1
            return False
        self.keys[key] = {"window_end": now + self.window, "suppressed": 0}
        return True

    def expire(self, now: float) -> None:
        for key in [k for k, e in self.keys.items() if now >= e["window_end"]]:
            del self.keys[key]

    def state(self) -> Dict[str, Any]:
        return {key: dict(entry) for key, entry in self.keys.items()}
