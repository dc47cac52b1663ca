"""``restart_mcs``: KB step 7. ``mcserver.sh --restart`` then wait for ``MCS status: up.``."""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, Optional

from avamar_pack.errors import StepFailed
from avamar_pack.node.node import AvamarNode
from avamar_pack.remediation import lock_scope
from avamar_pack.remediation.steps import node_state, step


def restart_mcs(
    node: AvamarNode,
    timeout: float,
    *,
    lock_owner: Optional[str],
    result: Dict[str, Any],
    clock=time.monotonic,
    sleep=time.sleep,
) -> Dict[str, Any]:
    result.update(restarted=False, duration_s=None, status=None)
    poll_s = max(0.1, min(5.0, timeout / 30.0))
    by_hand = "to finish by hand: `mcserver.sh --restart`, then `dpnctl status mcs` until `MCS status: up.`"

    def left(what: str) -> Callable[[], str]:
        return lambda: f"{what}; {node_state(node)}; {by_hand}"

    with lock_scope.held(node, lock_owner, "restart_mcs", result):
        started = clock()
        with step(
            "restart",
            left("mcserver.sh --restart did not complete: MCS may be down"),
            on_timeout=left(f"mcserver.sh --restart ran past {timeout:g}s: MCS may be down"),
        ):
            node.restart_mcs(timeout=timeout)
        result["restarted"] = True
        status = None
        while True:
            with step("wait_for_mcs", left("MCS was restarted; its status could not be read")):
                status = node.mcs_status()
            result["status"] = status
            result["duration_s"] = round(clock() - started, 3)
            if status == "up":
                return result
            if clock() - started >= timeout:
                raise StepFailed(
                    "wait_for_mcs",
                    f"MCS is not up {timeout:g}s after the restart (dpnctl: {status})",
                    left("MCS was restarted and is not up: backups cannot get session tickets")(),
                )
            sleep(poll_s)
