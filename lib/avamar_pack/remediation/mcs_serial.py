"""``write_mcs_serial``: KB step 6 done safely.

Only the serial GSAN holds right now (keytable minimal serial == ``serial``: GSAN accepted and
verified it), never lower than the current ``.srl`` (equal is a converged no-op), written
atomically with the old file kept beside it, in ``echo -n`` format, owner and mode preserved
(checked), then read back and compared byte for byte.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, Optional

from avamar_pack import serials
from avamar_pack.errors import StepFailed
from avamar_pack.node import commands
from avamar_pack.node.node import AvamarNode
from avamar_pack.parsing.srl import format_srl
from avamar_pack.remediation import lock
from avamar_pack.remediation.steps import step


def backup_path_for(srl_path: str, now: Optional[datetime] = None) -> str:
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"{srl_path}.bak-{stamp}"


def write_mcs_serial(node: AvamarNode, serial: int, *, dry_run: bool, lock_owner: Optional[str],
                     result: Dict[str, Any]) -> Dict[str, Any]:
    result.update(previous=None, written=None, backup_path=None, changed=False, dry_run=dry_run)
    with step("read_serials"):
        gsan = node.keytable().minimal_serial
        previous = node.read_srl()
    result.update(previous=previous, gsan_minserial=gsan)
    with step("check_serial", f"MCS unchanged at {previous}"):
        decision = serials.check_mcs_write(serial, gsan, previous)
    if decision == serials.NOOP:
        result.update(written=serial, noop=True)
        return result

    srl = node.paths.srl
    backup = backup_path_for(srl)
    data = format_srl(serial)
    if dry_run:
        result["planned"] = {"write_file_atomic": srl, "content": data.decode("ascii"), "backup_path": backup}
        return result

    with lock.held(node, lock_owner, "write_mcs_serial", result):
        with step("stat_srl", f"MCS unchanged at {previous}"):
            before = _owner_mode(node, srl)
        with step("write_srl", f"MCS unchanged at {previous} (the atomic write leaves the file as it was on failure)"):
            node.write_srl(serial, backup)
        result.update(backup_path=backup, changed=True)
        left = f"{srl} rewritten; the previous value {previous} is kept at {backup}"
        with step("verify", left):
            read_back = node.read_srl_bytes()
            after = _owner_mode(node, srl)
        if read_back != data:
            raise StepFailed("verify", f"{srl} reads back {read_back[:40]!r}, expected {data!r}", left)
        if after != before:
            raise StepFailed("verify", f"owner/mode of {srl} changed from {before} to {after}", left)
        result.update(written=serial, owner_mode=after)
    return result


def _owner_mode(node: AvamarNode, path: str) -> str:
    return node.run(commands.stat_owner_mode(path), check=True).stdout.strip()
