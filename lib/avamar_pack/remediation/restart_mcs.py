"""``restart_mcs``: KB step 7. ``mcserver.sh --restart`` then wait for ``MCS status: up.``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from avamar_pack.node.lock import LockStatus
from avamar_pack.node.node import AvamarNode
from avamar_pack.remediation import lock_scope
from avamar_pack.remediation.report import StepReport, optional
from avamar_pack.remediation.steps import node_state
from avamar_pack.remediation.waiting import Wait

LONGEST_POLL_S = 5.0
BY_HAND = "to finish by hand: `mcserver.sh --restart`, then `dpnctl status mcs` until `MCS status: up.`"


@dataclass
class McsRestartReport(StepReport):
    """``restarted``: the restart command completed; ``status``: MCS's last status read while waiting;
    ``duration_s``: from the restart to that read."""

    restarted: bool = False
    duration_s: Optional[float] = None
    status: Optional[str] = None
    lock: Optional[LockStatus] = optional()


def restart_mcs(node: AvamarNode, wait: Wait, *, lock_owner: Optional[str]) -> McsRestartReport:
    """Restart MCS and wait (at most ``wait.timeout`` s, the restart included) until it is up."""
    report = McsRestartReport()
    timeout = wait.timeout

    def left(what: str) -> Callable[[], str]:
        return lambda: f"{what}; {node_state(node)}; {BY_HAND}"

    with lock_scope.held(node, lock_owner, "restart_mcs", report):
        poll = wait.start(LONGEST_POLL_S)
        with report.step(
            "restart",
            left("mcserver.sh --restart did not complete: MCS may be down"),
            on_timeout=left(f"mcserver.sh --restart ran past {timeout:g}s: MCS may be down"),
        ):
            node.restart_mcs(timeout=timeout)
        report.restarted = True

        def read_status() -> Optional[str]:
            with report.step("wait_for_mcs", left("MCS was restarted; its status could not be read")):
                report.status = node.mcs_status()
            report.duration_s = poll.elapsed_s()
            return report.status

        poll.until(
            read_status,
            lambda status: status == "up",
            lambda status: report.failed(
                "wait_for_mcs",
                f"MCS is not up {timeout:g}s after the restart (dpnctl: {status})",
                left("MCS was restarted and is not up: backups cannot get session tickets")(),
            ),
        )
    return report
