"""``acquire_node_lock``: take the node lock for ``lock_owner``, then check preconditions again under it.

A lock held by another owner is taken over when it is stale (older than the TTL, as always) or
when st2 says the execution that owns it has ended (a cancelled or crashed workflow leaves its
lock behind: Orquesta has no ``finally``). Only a positive answer counts: st2 KNOWS the owner
execution and its status is final (not one of ``st2api.LIVE_STATUSES``). An owner st2 does not
know (404) may belong to another st2 instance managing the same node, so it is "cannot tell",
like an unreachable API: the age rule decides. The question is not asked for an owner that is
not an st2 execution id (a single action's own lock) nor for a lock whose record names another
st2 API URL. A take-over is reported in
``lock.took_over`` of the result (previous owner, its st2 status) and in a note for the chat.

When the re-check says unsafe, a lock this call took is given back at once (an unsafe answer
leaves nothing behind); a lock the owner already held is kept for its ``release_node_lock``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Optional, Tuple

from avamar_pack.errors import LockHeld
from avamar_pack.node.lock import LockInfo, LockStatus
from avamar_pack.node.node import AvamarNode
from avamar_pack.remediation.check_preconditions import PreconditionsReport, check_preconditions
from avamar_pack.st2api import LIVE_STATUSES, St2Api, St2ApiError

ST2_EXECUTION_ID_LEN = 24

# execution id -> (live?, st2 status) ; live None = cannot tell
Liveness = Callable[[str], Tuple[Optional[bool], Optional[str]]]


def acquire_node_lock(
    node: AvamarNode,
    lock_owner: str,
    *,
    liveness: Optional[Liveness] = None,
    st2_api: Optional[str] = None,
) -> PreconditionsReport:
    """The lock taken (``lock``) and the preconditions re-checked under it (``safe``, ``reasons``, ...)."""
    taking = PreconditionsReport()  # what a failure to take the lock reports: safe false, no lock
    judge = _judge(liveness, st2_api) if liveness is not None else None
    refused: Optional[LockHeld] = None
    with taking.step("lock"):
        try:
            status = node.lock.acquire(lock_owner, judge=judge, st2_api=st2_api).with_scope("workflow")
        except LockHeld as exc:
            refused = exc
    report = check_preconditions(node, lock_owner)
    if refused is not None:
        # Someone live holds it: not an error of this action, an unsafe answer (like the check).
        if not any("node lock" in reason for reason in report.reasons):
            report.reasons.append(str(refused))  # e.g. lost every race for it
        report.safe = False
        return report
    report.lock = status
    if status.took_over is not None:
        report.notes.append(_takeover_note(status))
    if not report.safe and status.acquired:
        with report.step(
            "release_lock", f"the node lock is still held by {lock_owner}; remove it with release_node_lock"
        ):
            node.lock.release(lock_owner)
        report.lock = replace(status, holder=None, released=True)
    return report


def _judge(liveness: Liveness, st2_api: Optional[str]) -> Callable[[LockInfo], Optional[Tuple[str, Optional[str]]]]:
    def judge(info: LockInfo) -> Optional[Tuple[str, Optional[str]]]:
        owner = info.owner or ""
        if info.st2_api is not None and info.st2_api != st2_api:
            return None  # taken through another st2 API: only its age can free it
        if len(owner) != ST2_EXECUTION_ID_LEN or not all(c in "0123456789abcdef" for c in owner):
            return None  # a single action's own lock, not an execution id
        live, status = liveness(owner)
        if live is False:
            return "owner_not_live", status
        return None  # live, or st2 cannot tell: keep the age rule

    return judge


def _takeover_note(status: LockStatus) -> str:
    took = status.took_over
    if took is None:
        return ""
    who = took.previous.describe()
    if took.reason == "stale":
        return f"took over a stale node lock held by {who} (older than the lock's time limit)"
    return (
        f"took over the node lock held by {who}: its st2 execution is {took.previous_status or 'gone'} "
        "(cancelled, crashed or timed out without releasing it)"
    )


def st2_liveness(api: St2Api) -> Liveness:
    """Whether st2 knows the execution as ended (False), live (True) or cannot tell (None), and its status.

    Stricter than ``st2api.execution_is_live`` on purpose: a 404 is "cannot tell" here, because
    the node lock is shared by every st2 instance that manages the node."""

    def liveness(execution_id: str) -> Tuple[Optional[bool], Optional[str]]:
        try:
            execution = api.get_execution(execution_id)
        except St2ApiError:
            return None, None
        status = str(execution.get("status") or "")[:32]
        if not status:
            return None, None
        return status in LIVE_STATUSES, status

    return liveness
