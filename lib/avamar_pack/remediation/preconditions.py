"""``check_preconditions``: is it safe to touch session tickets now?

Dell's procedures check ``dpnctl status`` first and avoid work while maintenance (checkpoint,
garbage collection, hfscheck) runs [C]. Unsafe when: GSAN is not up, a maintenance activity
runs or cannot be read, or another remediation holds the node lock. Every reason is listed; a
read failure is a reason, not a crash, so the answer is always ``safe`` + ``reasons``.

MCS not up is NOT a reason: the remediation restarts MCS anyway (KB step 7), and refusing would
leave a node whose restart did not complete with no way for the pack to finish its own work.
It is reported in ``services`` and as a line of ``notes`` (facts worth knowing that do not
make the answer unsafe).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from avamar_pack.errors import AvamarPackError, LockHeld
from avamar_pack.node.node import AvamarNode


def check_preconditions(node: AvamarNode, lock_owner: Optional[str], result: Dict[str, Any]) -> Dict[str, Any]:
    reasons: List[str] = []
    notes: List[str] = []
    services: Dict[str, Optional[str]] = {}
    maintenance: Dict[str, Any] = {}
    result.update(safe=False, reasons=reasons, notes=notes, services=services, maintenance=maintenance)

    try:
        status = node.dpnctl_status()
        services.update(gsan=status.gsan, mcs=status.mcs, emt=status.emt, backup_scheduler=status.backup_scheduler,
                        maintenance_scheduler=status.maintenance_scheduler)
        if services["gsan"] != "up":
            reasons.append(f"GSAN is not up (dpnctl status: {services['gsan'] or 'not reported'})")
        if services["mcs"] != "up":
            notes.append(f"MCS is not up (dpnctl status: {services['mcs'] or 'not reported'}): "
                         "the remediation's restart starts it")
    except AvamarPackError as exc:
        reasons.append(f"dpnctl status could not be read: {exc}")

    try:
        for activity, st in node.maintenance().items():
            maintenance[activity] = {"status": st.status, "running": st.running}
            if st.running:
                reasons.append(f"{activity.replace('_', ' ')} is running ({st.status}): wait until it finishes")
    except AvamarPackError as exc:
        reasons.append(f"maintenance status could not be read: {exc}")

    # With a lock_owner the lock is taken only when everything else is safe: an unsafe answer
    # must not leave a lock behind for the caller to clean up.
    try:
        if lock_owner and not reasons:
            result["lock"] = node.lock.acquire(lock_owner)
        else:
            holder = node.lock.holder()
            result["lock"] = None if holder is None else holder.as_dict()
            if holder is not None and not holder.stale and holder.owner != lock_owner:
                reasons.append(f"another remediation holds the node lock: {holder.describe()}")
    except LockHeld as exc:
        reasons.append(str(exc))
    except AvamarPackError as exc:
        reasons.append(f"the node lock could not be checked: {exc}")

    result["safe"] = not reasons
    return result
