"""``restart_mcs``: KB step 7. ``mcserver.sh --restart`` then wait for ``MCS status: up.``."""

from __future__ import annotations

import time
from typing import Any, Dict, Optional

from avamar_pack.errors import StepFailed
from avamar_pack.node.node import AvamarNode
from avamar_pack.remediation import lock
from avamar_pack.remediation.steps import step


def restart_mcs(node: AvamarNode, timeout: float, *, lock_owner: Optional[str], result: Dict[str, Any],
                clock=time.monotonic, sleep=time.sleep) -> Dict[str, Any]:
    result.update(restarted=False, duration_s=None, status=None)
    poll_s = max(0.1, min(5.0, timeout / 30.0))
    with lock.held(node, lock_owner, "restart_mcs", result):
        started = clock()
        slow = f"mcserver.sh --restart ran past {timeout:g}s: MCS may be down; check `dpnctl status mcs`"
        with step("restart", "MCS state unknown: mcserver.sh --restart did not complete", on_timeout=slow):
            node.restart_mcs(timeout=timeout)
        result["restarted"] = True
        status = None
        while True:
            with step("wait_for_mcs", "MCS was restarted; its status could not be read"):
                status = node.mcs_status()
            result["status"] = status
            result["duration_s"] = round(clock() - started, 3)
            if status == "up":
                return result
            if clock() - started >= timeout:
                raise StepFailed("wait_for_mcs", f"MCS is not up {timeout:g}s after the restart (dpnctl: {status})",
                                 "MCS was restarted and is not up: backups cannot get session tickets")
            sleep(poll_s)
