"""``release_node_lock``: give back the node lock ``lock_owner`` holds (idempotent)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from avamar_pack.node.lock import LockStatus
from avamar_pack.node.node import AvamarNode
from avamar_pack.remediation.report import StepReport, optional


@dataclass
class ReleaseReport(StepReport):
    """``released``: this call removed the lock (``was_held`` says the same: a lock the owner did
    not hold is not an error). A failure reports nothing but the error."""

    owner: Optional[str] = optional()
    released: Optional[bool] = optional()
    was_held: Optional[bool] = optional()
    lock: Optional[LockStatus] = optional()


def release_node_lock(node: AvamarNode, lock_owner: str) -> ReleaseReport:
    """Release the lock held by ``lock_owner``; a free lock is fine (idempotent)."""
    report = ReleaseReport()
    with report.step("release_lock", "the node lock is unchanged"):
        status = node.lock.release(lock_owner)
    report.owner, report.released, report.was_held = lock_owner, status.released, status.released
    report.lock = status.with_scope("workflow")
    return report
