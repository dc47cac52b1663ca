"""Failed backups in MCS that coincide with GSAN's session-ticket warnings: the outage, seen agentless.

Without the client's avtar log the sensor cannot read ``FATAL <5704> ... MSG_ERR_AUTH_FAIL``. What
the utility node shows instead is a backup that MCS lists as failed while GSAN logs that it refused
a session ticket (1479 / 1418 / 1426). Either alone proves little (backups fail for many reasons; a
warning may come from an old client); together they are the KB's failure.

"Coincide" is judged on the sensor's own clock, when each was first SEEN, within ``window_s``
(both ways: the failure may show up a poll before its warning is read, or after). GSAN's log
times carry no zone and MCS's may be another clock, so their printed times are not compared.

Each failed activity is judged once (its id is remembered, bounded). On a server's first poll the
failures already listed are only remembered (a baseline), never reported: they predate the
warnings the sensor can see. Pure; JSON-able state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

from avamar_pack.detection.folding import Failure
from avamar_pack.detection.payloads import clean_text
from avamar_pack.parsing.mccli import Activity
from avamar_pack.serverwatch import activity_facts as facts

#: avtar's MSG_ERR_AUTH_FAIL code: what a backup refused by GSAN's ticket check reports on the
#: client. The MCS-sourced payload carries it (first) so rules written for the avtar failure
#: (``codes contains 5704``) treat this failure the same; the message says it was inferred.
AUTH_FAIL_CODE = 5704
MAX_SEEN = 5000
MAX_PENDING = 1000
MAX_WARNINGS = 1000


@dataclass(frozen=True)
class Matched:
    activity_id: str
    failure: Failure


class FailureCorrelator:
    def __init__(self, window_s: float, state: Optional[Dict[str, Any]] = None) -> None:
        self.window = max(1.0, float(window_s))
        state = state if isinstance(state, dict) else {}
        self.seen: List[str] = [str(x) for x in state.get("seen", []) if isinstance(x, str)][-MAX_SEEN:]
        self._seen = set(self.seen)
        self.pending: Dict[str, Dict[str, Any]] = {
            str(k): dict(v)
            for k, v in (state.get("pending") or {}).items()
            if isinstance(v, dict) and isinstance(v.get("at"), (int, float))
        }
        self.warnings: List[Dict[str, Any]] = [
            dict(w) for w in state.get("warnings", []) if isinstance(w, dict) and isinstance(w.get("at"), (int, float))
        ]

    def note_warning(self, code: int, now: float) -> None:
        self.warnings.append({"at": float(now), "code": int(code)})
        del self.warnings[: max(0, len(self.warnings) - MAX_WARNINGS)]

    def update(self, server: str, activities: Sequence[Activity], now: float, *, baseline: bool) -> List[Matched]:
        """Failed backups that coincide with a warning, to fold and dispatch now. They stay pending
        until the caller ``resolve``s each one (after its dispatch): a failed dispatch loses none."""
        for act in activities:
            act_id = facts.activity_id(act)
            if not act_id or act_id in self._seen or not facts.is_backup(act) or not facts.is_failed(act):
                continue
            self._remember(act_id)
            if baseline or len(self.pending) >= MAX_PENDING:
                continue
            self.pending[act_id] = {
                "at": float(now),
                "client": act.client or "",
                "status": act.status or "",
                "error_code": act.error_code,
                "started": facts.started_iso(act),
            }
        self.warnings = [w for w in self.warnings if now - w["at"] <= 2 * self.window]
        found: List[Matched] = []
        for act_id in sorted(self.pending):
            item = self.pending[act_id]
            near = [w for w in self.warnings if abs(w["at"] - item["at"]) <= self.window]
            if near:
                failure = self._failure(server, act_id, item, near)
                if failure is None:
                    del self.pending[act_id]  # a client name we cannot pass on: nothing to dispatch
                else:
                    found.append(Matched(act_id, failure))
            elif now - item["at"] > self.window:
                del self.pending[act_id]  # no ticket warning near it: not this outage
        return found

    def resolve(self, act_id: str) -> None:
        """The failure of ``act_id`` was folded or dispatched: it is no longer pending."""
        self.pending.pop(act_id, None)

    def _remember(self, act_id: str) -> None:
        self.seen.append(act_id)
        self._seen.add(act_id)
        if len(self.seen) > MAX_SEEN:
            for old in self.seen[: len(self.seen) - MAX_SEEN]:
                self._seen.discard(old)
            del self.seen[: len(self.seen) - MAX_SEEN]

    def _failure(self, server: str, act_id: str, item: Dict[str, Any], near: List[Dict[str, Any]]) -> Optional[Failure]:
        client = facts.valid_client(item["client"])
        if client is None:
            return None
        warning_codes = sorted({int(w["code"]) for w in near})
        codes = [AUTH_FAIL_CODE]
        if isinstance(item["error_code"], int) and item["error_code"] not in codes:
            codes.append(item["error_code"])
        codes += [c for c in warning_codes if c not in codes]
        message = clean_text(
            f"MCS activity {act_id} of {client}: {item['status']} (error code {item['error_code']}) while GSAN "
            f"refused session tickets (warning {', '.join(str(c) for c in warning_codes)}); 5704 inferred: "
            "the client's avtar log was not read"
        )
        started = item["started"] or ""
        return Failure(
            server=server,
            client=client,
            codes=codes,
            message=message,
            ticket=None,
            log_file=f"mccli activity show on {server}",
            first_seen=started,
            last_seen=started,
            source="mcs",
        )

    def state(self) -> Dict[str, Any]:
        return {
            "seen": list(self.seen),
            "pending": {k: dict(v) for k, v in sorted(self.pending.items())},
            "warnings": [dict(w) for w in self.warnings],
        }
