"""``check_preconditions``: is it safe to touch session tickets now? Read-only: never takes the lock.

Dell's procedures check ``dpnctl status`` first and avoid work while maintenance (checkpoint,
garbage collection, hfscheck) runs [C]; restarting MCS interrupts its running activities [C].
Unsafe when: GSAN is not up, a maintenance activity runs or cannot be read, a restore or a
replication is running (named by activity id: the restart would cut it off), MCS is up but its
activities cannot be read, or another remediation holds the node lock. Every reason is listed;
a read failure is a reason, not a crash, so the answer is always ``safe`` + ``reasons``.

Not reasons, reported in ``notes``: MCS not up (the remediation restarts it anyway, KB step 7,
and refusing would leave a node whose restart did not complete with no way for the pack to
finish its own work), and running backups (they fail while the tickets are refused; the
approval request names them, ``activities`` lists them). The lock is taken by
``acquire_node_lock``, which runs this same check again once it holds the lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from avamar_pack.errors import AvamarPackError
from avamar_pack.node.lock import LockStatus
from avamar_pack.node.node import AvamarNode
from avamar_pack.remediation.report import StepReport, optional

BLOCKING_KINDS = ("restore", "replication")
MAX_LISTED_ACTIVITIES = 50


@dataclass
class PreconditionsReport(StepReport):
    """The result of ``check_preconditions`` and of ``acquire_node_lock`` (which re-checks under the lock).

    ``lock``: the lock as read (check) or as taken (acquire), None when it could not be read.
    The four read-outs are set by the check; an ``acquire_node_lock`` that failed before it
    reports ``safe``, ``reasons`` and ``lock`` only."""

    safe: bool = False
    reasons: List[str] = field(default_factory=list)
    lock: Optional[LockStatus] = None
    notes: Optional[List[str]] = optional()
    services: Optional[Dict[str, Optional[str]]] = optional()
    maintenance: Optional[Dict[str, Any]] = optional()
    activities: Optional[List[Dict[str, Any]]] = optional()


def check_preconditions(node: AvamarNode, lock_owner: Optional[str] = None) -> PreconditionsReport:
    """``safe, reasons, notes, services, maintenance, activities, lock``; never raises for a read failure.

    ``lock_owner``: the caller's own lock is not a reason (``acquire_node_lock`` re-checks under it)."""
    reasons: List[str] = []
    notes: List[str] = []
    services: Dict[str, Optional[str]] = {}
    maintenance: Dict[str, Any] = {}
    activities: List[Dict[str, Any]] = []
    report = PreconditionsReport(
        reasons=reasons, notes=notes, services=services, maintenance=maintenance, activities=activities
    )

    _check_services(node, services, reasons, notes)
    _check_maintenance(node, maintenance, reasons)
    _check_activities(node, services.get("mcs"), activities, reasons, notes)
    try:
        report.lock = node.lock.status(lock_owner)
        holder = report.lock.holder
        if holder is not None and not holder.stale and not report.lock.held_by_caller:
            reasons.append(f"another remediation holds the node lock: {holder.describe()}")
    except AvamarPackError as exc:
        report.lock = None
        reasons.append(f"the node lock could not be checked: {exc}")

    report.safe = not reasons
    return report


def _check_services(node: AvamarNode, services: Dict[str, Optional[str]], reasons: List[str], notes: List[str]) -> None:
    try:
        status = node.dpnctl_status()
    except AvamarPackError as exc:
        reasons.append(f"dpnctl status could not be read: {exc}")
        return
    services.update(
        gsan=status.gsan,
        mcs=status.mcs,
        emt=status.emt,
        backup_scheduler=status.backup_scheduler,
        maintenance_scheduler=status.maintenance_scheduler,
    )
    if services["gsan"] != "up":
        reasons.append(f"GSAN is not up (dpnctl status: {services['gsan'] or 'not reported'})")
    if services["mcs"] != "up":
        notes.append(
            f"MCS is not up (dpnctl status: {services['mcs'] or 'not reported'}): the remediation's restart starts it"
        )


def _check_maintenance(node: AvamarNode, maintenance: Dict[str, Any], reasons: List[str]) -> None:
    try:
        for activity, st in node.maintenance().items():
            maintenance[activity] = {"status": st.status, "running": st.running}
            if st.running:
                reasons.append(f"{activity.replace('_', ' ')} is running ({st.status}): wait until it finishes")
    except AvamarPackError as exc:
        reasons.append(f"maintenance status could not be read: {exc}")


def _check_activities(
    node: AvamarNode, mcs: Optional[str], activities: List[Dict[str, Any]], reasons: List[str], notes: List[str]
) -> None:
    """Running MCS activities; a restore or replication blocks, backups are listed."""
    try:
        running = [a for a in node.activities() if a.active]
    except AvamarPackError as exc:
        if mcs is not None and mcs != "up":
            # MCS is down: it runs nothing, and mccli cannot answer without it.
            return
        reasons.append(f"running MCS activities could not be read (mccli activity show): {exc}")
        return
    for activity in running[:MAX_LISTED_ACTIVITIES]:
        activities.append(
            {
                "id": activity.id,
                "type": activity.kind,
                "client": activity.client_name,
                "status": activity.status,
                "started": activity.start_time,
                "mcs_type": activity.type,
            }
        )
    if len(running) > MAX_LISTED_ACTIVITIES:
        notes.append(f"{len(running)} activities are running; the first {MAX_LISTED_ACTIVITIES} are listed")
    for activity in running:
        if activity.kind in BLOCKING_KINDS:
            reasons.append(
                f"a {activity.kind} is running (activity {activity.id}, client "
                f"{activity.client_name or 'unknown'}): restarting MCS would interrupt it; "
                "wait until it finishes"
            )
    backups = [a for a in running if a.kind == "backup"]
    if backups:
        names = ", ".join(f"{a.id} ({a.client_name or 'unknown client'})" for a in backups[:10])
        more = f" and {len(backups) - 10} more" if len(backups) > 10 else ""
        notes.append(
            f"{len(backups)} backup(s) running: {names}{more}; restarting MCS ends them "
            "(they cannot get session tickets until the fix anyway)"
        )
