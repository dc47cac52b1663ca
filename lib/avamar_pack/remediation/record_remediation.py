"""``record_remediation``: write the pack's "last successful remediation" record on the node.

Written at the end of a verified remediation, only when the node really is in that state: GSAN's
minimal serial is ``serial`` (what the remediation registered) and MCS's ``.srl`` is at or above
it. Every later diagnosis treats evidence logged before the record as stale (``node.records``
says why the record lives on the node). A re-run with the same serial rewrites it (converges).
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from avamar_pack.errors import StepFailed
from avamar_pack.node import records
from avamar_pack.node.node import AvamarNode
from avamar_pack.remediation import lock_scope
from avamar_pack.remediation.steps import step


def record_remediation(
    node: AvamarNode, serial: int, *, lock_owner: Optional[str], result: Dict[str, Any]
) -> Dict[str, Any]:
    result.update(recorded=False, record=None, path=node.paths.record(records.LAST_REMEDIATION))
    with step("read_serials"):
        gsan = node.keytable().minimal_serial
        mcs = node.read_srl()
    result.update(gsan_minserial=gsan, mcs_serial=mcs)
    if gsan != serial or mcs < serial:
        raise StepFailed(
            "check_serial",
            f"the node does not hold serial {serial} (GSAN minimal serial {gsan}, "
            f"MCS .srl {mcs}): a remediation that did not take is not recorded",
            "nothing was written; the previous record (if any) is unchanged",
        )
    with lock_scope.held(node, lock_owner, "record_remediation", result):
        with step("write_record", "the record was not written; the previous one (if any) is unchanged"):
            record = records.write_record(
                node, records.LAST_REMEDIATION, serial, owner=lock_owner, gsan_minserial=gsan, mcs_serial=mcs
            )
    result.update(recorded=True, record=record.as_dict())
    return result
