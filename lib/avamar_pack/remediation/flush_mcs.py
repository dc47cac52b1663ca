"""``flush_mcs``: after a verified remediation, ``mcserver.sh --flush`` so MCS's latest flush holds the
new serial.

The KB's root cause is an MCS restored from an old flush: its ``.srl`` goes back to a serial GSAN
already saw. Until MCS flushes again, its latest flush still holds the old serial and the next
MCS restore brings the drift straight back. Flushing is safe only on a node that is in order, or
it would preserve the drift: MCS up, GSAN holding the serial the remediation registered
(``serial``, else the pack's registration record, ``node.records``) and MCS's ``.srl`` at or
above it. Anything else is refused with nothing run. After the flush the ``.srl`` is read back: it
must not have gone below what it held nor below GSAN's floor.

``remediation.flush_mcs: false`` (config) turns the step into a reported no-op.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional

from avamar_pack.node import records
from avamar_pack.node.lock import LockStatus
from avamar_pack.node.node import AvamarNode
from avamar_pack.remediation import lock_scope
from avamar_pack.remediation.report import StepReport, optional

BY_HAND = "run `mcserver.sh --flush` on the utility node once MCS is up on the new serial"


@dataclass
class FlushReport(StepReport):
    """``flushed``, or ``skipped`` (why); the state read before (``gsan_minserial``,
    ``srl_before``, ``mcs_status``, ``serial``: the registered serial to keep, None when none
    is known) and ``srl_after``. ``serial`` is a key once the state was read."""

    flushed: bool = False
    skipped: Optional[str] = None
    srl_before: Optional[int] = None
    srl_after: Optional[int] = None
    gsan_minserial: Optional[int] = None
    mcs_status: Optional[str] = None
    state_read: bool = False
    serial: Optional[int] = None
    lock: Optional[LockStatus] = optional()

    def as_result(self) -> Dict[str, Any]:
        result = super().as_result()
        del result["state_read"]
        if not self.state_read:
            del result["serial"]
        return result


def flush_mcs(
    node: AvamarNode,
    *,
    enabled: bool,
    timeout: float,
    lock_owner: Optional[str],
    serial: Optional[int] = None,
) -> FlushReport:
    report = FlushReport()
    if not enabled:
        report.skipped = "remediation.flush_mcs is false in the pack config"
        return report
    with report.step("read_state"):
        gsan = node.keytable().minimal_serial
        before = node.read_srl()
        mcs = node.mcs_status()
        if serial is None:
            registration = records.read_record(node, records.REGISTRATION)
            serial = registration.serial if registration else None
    report.gsan_minserial, report.srl_before, report.mcs_status = gsan, before, mcs
    report.serial, report.state_read = serial, True
    unchanged = f"nothing was run: GSAN {gsan}, MCS .srl {before}, MCS {mcs or 'status unknown'}"
    if serial is None:
        raise report.failed(
            "check_state",
            "no registered serial to keep: pass serial (the remediation's accepted "
            "serial) or run set_gsan_minserial first",
            unchanged,
        )
    if gsan != serial or before < serial:
        raise report.failed(
            "check_state",
            f"the node does not hold the registered serial {serial} (GSAN {gsan}, "
            f"MCS .srl {before}): flushing would keep the drift in MCS's backup",
            unchanged,
        )
    if mcs != "up":
        raise report.failed(
            "check_state",
            f"MCS is not up (dpnctl: {mcs or 'not reported'}): it cannot flush",
            f"{unchanged}; {BY_HAND}",
        )

    with lock_scope.held(node, lock_owner, "flush_mcs", report):
        slow = (
            f"mcserver.sh --flush ran past {timeout:g}s: the flush may or may not have completed; "
            f"GSAN {gsan}, MCS .srl {before} before it; {BY_HAND}"
        )
        with report.step(
            "flush",
            f"mcserver.sh --flush failed: MCS's latest flush may hold an older serial; GSAN {gsan}, "
            f"MCS .srl {before}; {BY_HAND}",
            on_timeout=slow,
        ):
            node.flush_mcs(timeout=timeout)
        with report.step("verify", f"mcserver.sh --flush ran; the .srl could not be read back (it held {before})"):
            after = node.read_srl()
        report.srl_after = after
        if after < before or after < gsan:
            raise report.failed(
                "verify",
                f"after the flush the .srl reads {after} (before: {before}, GSAN: {gsan})",
                f"MCS .srl {after}, GSAN {gsan}: re-run diagnose_session_tickets",
            )
        report.flushed = True
    return report
