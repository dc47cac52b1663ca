"""``write_mcs_serial``: KB step 6 done safely.

Only the serial GSAN holds right now (keytable minimal serial == ``serial``: GSAN accepted and
verified it), never lower than the current ``.srl`` (equal is a converged no-op), written
atomically with the old file kept beside it, in ``echo -n`` format, owner and mode preserved
(checked), then read back and compared byte for byte. Backups beyond the newest
``backups_kept`` (config ``remediation.srl_backups_kept``) are removed afterwards, so ``prefs/``
does not fill up with them; a failed clean-up is reported, never a failure of the write.

A failure after the write says what the ``.srl``, GSAN and MCS read back as, and the command
that completes the procedure by hand.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Dict, List, Optional

from avamar_pack import serials
from avamar_pack.errors import AvamarPackError
from avamar_pack.node import commands
from avamar_pack.node.lock import LockStatus
from avamar_pack.node.node import AvamarNode
from avamar_pack.parsing.srl import format_srl
from avamar_pack.remediation import lock_scope
from avamar_pack.remediation.report import StepReport, optional
from avamar_pack.remediation.steps import node_state


def backup_path_for(srl_path: str, now: Optional[datetime] = None) -> str:
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"{srl_path}.bak-{stamp}"


BACKUP_MARK = ".bak-"


@dataclass
class McsSerialReport(StepReport):
    """The result of ``write_mcs_serial``; ``optional()`` keys appear on the paths that set them.

    ``previous``: the ``.srl`` before; ``written``: the serial it holds after (also on a no-op);
    ``changed``: this run wrote it; ``planned``: a dry run's write; ``backups_removed``: old
    ``.srl`` backups pruned (``backups_prune_error`` when that failed, never a failure)."""

    dry_run: bool = False
    previous: Optional[int] = None
    written: Optional[int] = None
    backup_path: Optional[str] = None
    changed: bool = False
    gsan_minserial: Optional[int] = optional()
    noop: Optional[bool] = optional()
    planned: Optional[Dict[str, str]] = optional()
    lock: Optional[LockStatus] = optional()
    owner_mode: Optional[str] = optional()
    backups_removed: Optional[List[str]] = optional()
    backups_prune_error: Optional[str] = optional()


def write_mcs_serial(
    node: AvamarNode,
    serial: int,
    *,
    dry_run: bool,
    lock_owner: Optional[str],
    backups_kept: int = 5,
) -> McsSerialReport:
    report = McsSerialReport(dry_run=dry_run)
    with report.step("read_serials"):
        gsan = node.keytable().minimal_serial
        previous = node.read_srl()
    report.previous, report.gsan_minserial = previous, gsan
    with report.step("check_serial", f"MCS unchanged at {previous}"):
        decision = serials.check_mcs_write(serial, gsan, previous)
    if decision == serials.NOOP:
        report.written, report.noop = serial, True
        return report

    srl = node.paths.srl
    backup = backup_path_for(srl)
    data = format_srl(serial)
    if dry_run:
        report.planned = {"write_file_atomic": srl, "content": data.decode("ascii"), "backup_path": backup}
        return report

    by_hand = (
        f"GSAN holds {serial}; MCS was not restarted. To finish by hand: "
        f"`echo -n {serial} > {srl}` then `mcserver.sh --restart`"
    )

    def left(what: str) -> Callable[[], str]:
        return lambda: f"{what}; {node_state(node)}; {by_hand}"

    with lock_scope.held(node, lock_owner, "write_mcs_serial", report):
        with report.step("stat_srl", f"MCS unchanged at {previous}"):
            before = _owner_mode(node, srl)
        with report.step("write_srl", lambda: _after_failed_write(node, previous, by_hand)):
            node.write_srl(serial, backup)
        report.backup_path, report.changed = backup, True
        written = left(f"{srl} rewritten; the previous value {previous} is kept at {backup}")
        with report.step("verify", written):
            read_back = node.read_srl_bytes()
            after = _owner_mode(node, srl)
        if read_back != data:
            raise report.failed("verify", f"{srl} reads back {read_back[:40]!r}, expected {data!r}", written())
        if after != before:
            raise report.failed("verify", f"owner/mode of {srl} changed from {before} to {after}", written())
        report.written, report.owner_mode = serial, after
        report.backups_removed = _prune_backups(node, srl, backups_kept, report)
    return report


def _after_failed_write(node: AvamarNode, previous: int, by_hand: str) -> str:
    """The .srl as read back after a failed write (the atomic write leaves it as it was)."""
    try:
        now = node.read_srl()
    except Exception as exc:  # noqa: BLE001 - describing the state must never hide the failure
        return f"MCS's .srl could not be read back ({type(exc).__name__}; it held {previous}); {by_hand}"
    if now == previous:
        return f"MCS unchanged at {previous} (read back; the atomic write leaves the file as it was); {by_hand}"
    return f"MCS's .srl now reads {now} (it held {previous}); {node_state(node)}; {by_hand}"


def _prune_backups(node: AvamarNode, srl: str, keep: int, report: McsSerialReport) -> List[str]:
    """Remove ``.srl`` backups older than the newest ``keep`` (names sort by their UTC stamp)."""
    prefix = posixpath.basename(srl) + BACKUP_MARK
    try:
        found = node.list_files(posixpath.dirname(srl), (prefix + "*",), limit=10000)
        backups = sorted((p for p in found if posixpath.basename(p).startswith(prefix)), reverse=True)
        old = backups[keep:]
        node.remove_files(old)
    except AvamarPackError as exc:
        report.backups_prune_error = str(exc)[:300]
        return []
    return old


def _owner_mode(node: AvamarNode, path: str) -> str:
    return node.run(commands.stat_owner_mode(path), check=True).stdout.strip()
