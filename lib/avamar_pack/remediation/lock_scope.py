"""The node lock around mutating steps (``held``): taken per action or kept for a workflow.

With a ``lock_owner`` (the workflow passes its execution id, after ``acquire_node_lock`` took
the lock) a mutating action confirms it holds the lock (or takes it when free) and keeps it
across actions until ``release_node_lock``. Without one, the action holds the lock for its own
duration only. ``report.lock`` is always a ``LockStatus``: one shape for every action.
"""

from __future__ import annotations

import secrets
from contextlib import contextmanager
from dataclasses import replace
from typing import ContextManager, Iterator, Optional, Protocol

from avamar_pack.node.lock import LockStatus
from avamar_pack.node.node import AvamarNode
from avamar_pack.remediation.steps import StateLeft


class LockedReport(Protocol):
    """A report (``remediation.report.StepReport``) with a ``lock`` field."""

    lock: Optional[LockStatus]

    def step(self, name: str, state_left: StateLeft = ..., *, on_timeout: StateLeft = ...) -> ContextManager[None]: ...


@contextmanager
def held(node: AvamarNode, lock_owner: Optional[str], action: str, report: LockedReport) -> Iterator[str]:
    """Hold the node lock around a block; records ``report.lock``. LockHeld -> StepFailed("lock")."""
    owner = lock_owner or f"{action}.{secrets.token_hex(6)}"
    with report.step("lock"):
        status = node.lock.acquire(owner).with_scope("workflow" if lock_owner else "action")
    report.lock = status
    try:
        yield owner
    finally:
        if not lock_owner:
            with report.step(
                "unlock", "the change is done but the node lock is still held; remove it with release_node_lock"
            ):
                released = node.lock.release(owner)
            # The status of the take, now given back: nobody holds it.
            report.lock = replace(status, holder=None, released=released.released)
