"""``release_node_lock``: give back the node lock ``lock_owner`` holds (idempotent)."""

from __future__ import annotations

from typing import Any, Dict

from avamar_pack.node.node import AvamarNode
from avamar_pack.remediation.steps import step


def release_node_lock(node: AvamarNode, lock_owner: str, result: Dict[str, Any]) -> Dict[str, Any]:
    """Release the lock held by ``lock_owner``; a free lock is fine (idempotent)."""
    with step("release_lock", "the node lock is unchanged"):
        status = node.lock.release(lock_owner)
    result.update(
        owner=lock_owner,
        released=status.released,
        was_held=status.released,
        lock=status.with_scope("workflow").as_dict(),
    )
    return result
