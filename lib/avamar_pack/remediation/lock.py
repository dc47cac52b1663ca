"""The node lock around mutating steps, and the ``release_node_lock`` action's logic.

With a ``lock_owner`` (the workflow passes its execution id) the lock is taken on first use and
kept across actions until ``release_node_lock``; a second call by the same owner continues
(re-entrant). Without one, a mutating action holds the lock for its own duration only.
"""

from __future__ import annotations

import secrets
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Optional

from avamar_pack.node.node import AvamarNode
from avamar_pack.remediation.steps import step


@contextmanager
def held(node: AvamarNode, lock_owner: Optional[str], action: str, result: Dict[str, Any]) -> Iterator[str]:
    """Hold the node lock around a block; records ``result["lock"]``. LockHeld -> StepFailed("lock")."""
    owner = lock_owner or f"{action}.{secrets.token_hex(6)}"
    with step("lock"):
        result["lock"] = dict(node.lock.acquire(owner), scope="workflow" if lock_owner else "action")
    try:
        yield owner
    finally:
        if not lock_owner:
            with step("unlock", "the change is done but the node lock is still held; remove it with release_node_lock"):
                result["lock"]["released"] = node.lock.release(owner)["released"]


def release_node_lock(node: AvamarNode, lock_owner: str, result: Dict[str, Any]) -> Dict[str, Any]:
    """Release the lock held by ``lock_owner``; a free lock is fine (idempotent)."""
    with step("release_lock", "the node lock is unchanged"):
        result.update(node.lock.release(lock_owner))
    return result
