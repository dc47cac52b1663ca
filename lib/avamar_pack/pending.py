"""One pending approval per server: is another remediation of this server waiting for its answer?

StackStorm's concurrency policy counts only scheduled and running executions; a workflow waiting
at ``core.ask`` is ``paused`` and does not count, so every new dispatch window for the same
server starts another remediation. That run asks st2 here whether a run of the same server is
paused (waiting for approval) and, if so, folds its failures into it instead of asking again.

The folded counts live in the pack's datastore (key ``fold.<server>.<pending id>``, one day TTL)
so that each later run can say how many failures and which clients are now waiting on the one
approval. When st2 cannot be asked, this says so and the run goes on: a second approval request
is better than a lost failure.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Mapping, Optional

from avamar_pack.st2api import St2Api, St2ApiError

WORKFLOW = "avamar.remediate_session_tickets"
WAITING_STATUSES = ("pausing", "paused")
FOLD_TTL_S = 24 * 3600
MAX_CLIENTS = 100


def fold_key(server: str, pending_id: str) -> str:
    return f"fold.{server}.{pending_id}"


def pending_runs(api: St2Api, server: str, own_id: Optional[str]) -> List[Dict[str, Any]]:
    """Paused remediations of ``server`` other than ``own_id``, oldest first."""
    runs = [
        e
        for e in api.list_executions(WORKFLOW, WAITING_STATUSES)
        if str(e.get("id")) != str(own_id or "")
        and isinstance(e.get("parameters"), Mapping)
        and e["parameters"].get("server") == server
    ]
    return sorted(runs, key=lambda e: str(e.get("start_timestamp") or ""))


def merge(previous: Any, failures: Mapping[str, Any]) -> Dict[str, Any]:
    """Totals folded into one pending run after adding ``failures`` (count, clients, runs)."""
    total: Dict[str, Any] = {"count": 0, "clients": [], "runs": 0}
    if isinstance(previous, Mapping):
        total["count"] = previous.get("count") if isinstance(previous.get("count"), int) else 0
        total["clients"] = [c for c in previous.get("clients") or [] if isinstance(c, str)]
        total["runs"] = previous.get("runs") if isinstance(previous.get("runs"), int) else 0
    total["count"] += int(failures.get("count") or 1)
    total["runs"] += 1
    for client in failures.get("clients") or []:
        if client not in total["clients"] and len(total["clients"]) < MAX_CLIENTS:
            total["clients"].append(client)
    return total


def check_pending(
    api_factory: Callable[[], St2Api],
    server: str,
    own_id: Optional[str],
    failures: Mapping[str, Any],
    get_value: Callable[[str], Optional[str]],
    set_value: Callable[[str, str], Any],
) -> Dict[str, Any]:
    """``pending`` true (with the pending run and the folded totals) or false (with a note why)."""
    result: Dict[str, Any] = {
        "server": server,
        "pending": False,
        "pending_execution_id": None,
        "folded": dict(failures),
        "total": None,
        "note": None,
    }
    try:
        runs = pending_runs(api_factory(), server, own_id)
    except St2ApiError as exc:
        result["note"] = f"could not ask st2 for a pending approval of {server} ({exc}); going on"
        return result
    if not runs:
        return result
    pending_id = str(runs[0]["id"])
    key = fold_key(server, pending_id)
    try:
        previous = json.loads(get_value(key) or "null")
    except ValueError:
        previous = None
    total = merge(previous, failures)
    try:
        set_value(key, json.dumps(total))
    except Exception as exc:  # noqa: BLE001 - the datastore only keeps the totals for the next message
        result["note"] = f"the folded totals could not be saved ({type(exc).__name__})"
    result.update(pending=True, pending_execution_id=pending_id, total=total)
    return result
