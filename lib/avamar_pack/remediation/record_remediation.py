"""``record_remediation``: write the pack's "last successful remediation" record on the node.

Written at the end of a verified remediation, only when the node really is in that state: GSAN's
minimal serial is ``serial`` (what the remediation registered) and MCS's ``.srl`` is at or above
it. Every later diagnosis treats evidence logged before the record as stale (``node.records``
says why the record lives on the node). A re-run with the same serial rewrites it (converges).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from avamar_pack.node import records
from avamar_pack.node.lock import LockStatus
from avamar_pack.node.node import AvamarNode
from avamar_pack.remediation import lock_scope
from avamar_pack.remediation.report import StepReport, optional


@dataclass
class RecordReport(StepReport):
    """``recorded`` and the ``record`` written at ``path``; the serials it was checked against."""

    path: str
    recorded: bool = False
    record: Optional[records.NodeRecord] = None
    gsan_minserial: Optional[int] = optional()
    mcs_serial: Optional[int] = optional()
    lock: Optional[LockStatus] = optional()


def record_remediation(node: AvamarNode, serial: int, *, lock_owner: Optional[str]) -> RecordReport:
    report = RecordReport(path=node.paths.record(records.LAST_REMEDIATION))
    with report.step("read_serials"):
        gsan = node.keytable().minimal_serial
        mcs = node.read_srl()
    report.gsan_minserial, report.mcs_serial = gsan, mcs
    if gsan != serial or mcs < serial:
        raise report.failed(
            "check_serial",
            f"the node does not hold serial {serial} (GSAN minimal serial {gsan}, "
            f"MCS .srl {mcs}): a remediation that did not take is not recorded",
            "nothing was written; the previous record (if any) is unchanged",
        )
    with lock_scope.held(node, lock_owner, "record_remediation", report):
        with report.step("write_record", "the record was not written; the previous one (if any) is unchanged"):
            report.record = records.write_record(
                node, records.LAST_REMEDIATION, serial, owner=lock_owner, gsan_minserial=gsan, mcs_serial=mcs
            )
    report.recorded = True
    return report
