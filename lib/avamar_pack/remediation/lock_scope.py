"""The node lock around mutating steps (``held``): taken per action or kept for a workflow.

With a ``lock_owner`` (the workflow passes its execution id, after ``acquire_node_lock`` took
the lock) a mutating action confirms it holds the lock (or takes it when free) and keeps it
across actions until ``release_node_lock``. Without one, the action holds the lock for its own
duration only. ``result["lock"]`` is always ``LockStatus.as_dict()``: one shape for every action.
"""

from __future__ import annotations

import secrets
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Optional

from avamar_pack.node.lock import LockStatus
from avamar_pack.node.node import AvamarNode
from avamar_pack.remediation.steps import step


@contextmanager
def held(node: AvamarNode, lock_owner: Optional[str], action: str, result: Dict[str, Any]) -> Iterator[str]:
    """Hold the node lock around a block; records ``result["lock"]``. LockHeld -> StepFailed("lock")."""
    owner = lock_owner or f"{action}.{secrets.token_hex(6)}"
    with step("lock"):
        status = node.lock.acquire(owner).with_scope("workflow" if lock_owner else "action")
    result["lock"] = status.as_dict()
    try:
        yield owner
    finally:
        if not lock_owner:
            with step("unlock", "the change is done but the node lock is still held; remove it with release_node_lock"):
                released = node.lock.release(owner)
            result["lock"] = _after_release(status, released).as_dict()


def _after_release(taken: LockStatus, released: LockStatus) -> LockStatus:
    return LockStatus(
        owner=taken.owner,
        holder=None,
        acquired=taken.acquired,
        reentrant=taken.reentrant,
        released=released.released,
        took_over=taken.took_over,
        scope=taken.scope,
    )
