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

from typing import Any, Dict, Optional

from avamar_pack.errors import StepFailed
from avamar_pack.node import records
from avamar_pack.node.node import AvamarNode
from avamar_pack.remediation import lock_scope
from avamar_pack.remediation.steps import step

BY_HAND = "run `mcserver.sh --flush` on the utility node once MCS is up on the new serial"


def flush_mcs(
    node: AvamarNode,
    *,
    enabled: bool,
    timeout: float,
    lock_owner: Optional[str],
    result: Dict[str, Any],
    serial: Optional[int] = None,
) -> Dict[str, Any]:
    result.update(flushed=False, skipped=None, srl_before=None, srl_after=None, gsan_minserial=None, mcs_status=None)
    if not enabled:
        result["skipped"] = "remediation.flush_mcs is false in the pack config"
        return result
    with step("read_state"):
        gsan = node.keytable().minimal_serial
        before = node.read_srl()
        mcs = node.mcs_status()
        if serial is None:
            registration = records.read_record(node, records.REGISTRATION)
            serial = registration.serial if registration else None
    result.update(gsan_minserial=gsan, srl_before=before, mcs_status=mcs, serial=serial)
    unchanged = f"nothing was run: GSAN {gsan}, MCS .srl {before}, MCS {mcs or 'status unknown'}"
    if serial is None:
        raise StepFailed(
            "check_state",
            "no registered serial to keep: pass serial (the remediation's accepted "
            "serial) or run set_gsan_minserial first",
            unchanged,
        )
    if gsan != serial or before < serial:
        raise StepFailed(
            "check_state",
            f"the node does not hold the registered serial {serial} (GSAN {gsan}, "
            f"MCS .srl {before}): flushing would keep the drift in MCS's backup",
            unchanged,
        )
    if mcs != "up":
        raise StepFailed(
            "check_state",
            f"MCS is not up (dpnctl: {mcs or 'not reported'}): it cannot flush",
            f"{unchanged}; {BY_HAND}",
        )

    with lock_scope.held(node, lock_owner, "flush_mcs", result):
        slow = (
            f"mcserver.sh --flush ran past {timeout:g}s: the flush may or may not have completed; "
            f"GSAN {gsan}, MCS .srl {before} before it; {BY_HAND}"
        )
        with step(
            "flush",
            f"mcserver.sh --flush failed: MCS's latest flush may hold an older serial; GSAN {gsan}, "
            f"MCS .srl {before}; {BY_HAND}",
            on_timeout=slow,
        ):
            node.flush_mcs(timeout=timeout)
        with step("verify", f"mcserver.sh --flush ran; the .srl could not be read back (it held {before})"):
            after = node.read_srl()
        result["srl_after"] = after
        if after < before or after < gsan:
            raise StepFailed(
                "verify",
                f"after the flush the .srl reads {after} (before: {before}, GSAN: {gsan})",
                f"MCS .srl {after}, GSAN {gsan}: re-run diagnose_session_tickets",
            )
        result["flushed"] = True
    return result
