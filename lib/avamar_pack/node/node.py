"""``AvamarNode``: the KB's reads and writes on one utility node, over any transport.

Each method runs one command (or reads/writes one file) through the ``Transport`` and returns
parsed, typed values. Output is parsed by ``avamar_pack.parsing``; nothing from the node is
ever interpolated into another command. Errors are the transport's (``TransportError``,
``CommandTimeout``, ``CommandFailed``) or ``ParseError``; the remediation modules turn them
into ``StepFailed`` with the step and the state left behind.
"""

from __future__ import annotations

import posixpath
import re
from typing import Dict, List, Optional, Sequence, Tuple

from avamar_pack.errors import ParseError
from avamar_pack.node import commands
from avamar_pack.node.lock import DEFAULT_TTL_S, NodeLock
from avamar_pack.node.paths import NodePaths
from avamar_pack.parsing.dpnctl import DpnctlStatus, parse_status
from avamar_pack.parsing.keytable import Keytable, parse_keytable
from avamar_pack.parsing.maintenance import MaintenanceStatus, parse_activity_status
from avamar_pack.parsing.mccli import Activity, parse_activities
from avamar_pack.parsing.srl import format_srl, parse_srl
from avamar_pack.transport.base import CommandResult, Transport

# Default timeout of one command (seconds). Long operations (restart, backup) take theirs from
# the caller.
DEFAULT_COMMAND_TIMEOUT_S = 120.0
# A node path we accept from `find` output: absolute, no control characters.
_SAFE_PATH_RE = re.compile(r"^/[^\x00-\x1f\x7f]{1,4095}\Z")


class AvamarNode:
    """One Avamar utility node: a transport plus where things live on it."""

    def __init__(
        self,
        transport: Transport,
        paths: NodePaths,
        *,
        lock_ttl_s: float = DEFAULT_TTL_S,
        command_timeout_s: float = DEFAULT_COMMAND_TIMEOUT_S,
    ) -> None:
        self.transport = transport
        self.timeout_s = command_timeout_s
        self.paths = paths
        self.lock = NodeLock(transport, paths, ttl_s=lock_ttl_s, command_timeout_s=command_timeout_s)

    @property
    def host(self) -> str:
        return self.transport.host

    def run(self, argv: Sequence[str], *, timeout: Optional[float] = None, check: bool = False) -> CommandResult:
        return self.transport.run(argv, timeout=timeout or self.timeout_s, check=check)

    # -- GSAN ---------------------------------------------------------------------------------
    def keytable(self) -> Keytable:
        """KB step 1/5: ``avmaint cat /sysinfo/security/keytable``."""
        res = self.run(commands.KEYTABLE, check=True)
        return parse_keytable(res.stdout)

    def register_public_key(self, keyfile: str, serial: int) -> CommandResult:
        """KB step 4. Not checked: the caller reads a refusal from the output."""
        return self.run(commands.publickey(keyfile, serial))

    def maintenance(self) -> Dict[str, MaintenanceStatus]:
        """Checkpoint, garbage collection and hfscheck status, by activity name."""
        out: Dict[str, MaintenanceStatus] = {}
        for activity, argv in commands.MAINTENANCE_STATUS.items():
            res = self.run(argv, check=True)
            out[activity] = parse_activity_status(res.stdout)
        return out

    # -- services -------------------------------------------------------------------------
    def dpnctl_status(self) -> DpnctlStatus:
        res = self.run(commands.DPNCTL_STATUS, check=True)
        return parse_status(res.stdout + "\n" + res.stderr)

    def mcs_status(self) -> Optional[str]:
        """``up``, ``down`` ... from ``dpnctl status mcs`` (None when not printed)."""
        res = self.run(commands.DPNCTL_STATUS_MCS)
        return parse_status(res.stdout + "\n" + res.stderr).mcs

    def restart_mcs(self, timeout: float) -> CommandResult:
        return self.run(commands.MCSERVER_RESTART, timeout=timeout, check=True)

    def flush_mcs(self, timeout: Optional[float] = None) -> CommandResult:
        return self.run(commands.MCSERVER_FLUSH, timeout=timeout, check=True)

    def activities(self) -> List[Activity]:
        """Every activity ``mccli activity show`` lists (ParseError when mccli answers an error)."""
        res = self.run(commands.MCCLI_ACTIVITIES, check=True)
        return parse_activities(res.stdout)

    # -- MCS's serial file -------------------------------------------------------------------
    def read_srl_bytes(self) -> bytes:
        return self.transport.read_file(self.paths.srl, max_bytes=4096, timeout=self.timeout_s)

    def read_srl(self) -> int:
        """KB step 2: the serial in ``sessionticket.srl``."""
        return parse_srl(self.read_srl_bytes())

    def write_srl(self, serial: int, backup_path: str) -> bytes:
        """KB step 6 done safely: atomic replace, old file kept at ``backup_path``."""
        data = format_srl(serial)
        self.transport.write_file_atomic(self.paths.srl, data, backup_path=backup_path, timeout=self.timeout_s)
        return data

    # -- files and logs ----------------------------------------------------------------------
    def list_files(self, directory: str, patterns: Sequence[str], limit: int) -> List[str]:
        """Newest first, at most ``limit``; an absent directory gives an empty list."""
        res = self.run(commands.list_files(directory, patterns))
        entries: List[Tuple[float, str]] = []
        for line in res.stdout.splitlines():
            stamp, _, path = line.partition(" ")
            try:
                mtime = float(stamp)
            except ValueError:
                continue
            path = posixpath.normpath(path)
            if _SAFE_PATH_RE.match(path) and posixpath.dirname(path) == posixpath.normpath(directory):
                entries.append((mtime, path))
        entries.sort(reverse=True)
        return [p for _, p in entries[:limit]]

    def grep_ticket_warnings(self, files: Sequence[str], max_lines: int) -> List[str]:
        """The KB's ``grep -i "sessionkeytable\\|minserial"`` over ``files``, last ``max_lines``."""
        if not files:
            return []
        res = self.run(commands.grep_ticket_warnings(files, max_lines))
        # grep exits 1 when nothing matched; >1 is an error worth surfacing.
        if res.exit_code > 1 and not res.stdout:
            raise ParseError(f"grep over GSAN logs failed: {res.stderr.strip()[:200]}")
        return res.stdout.splitlines()[-max_lines:]

    def remove_files(self, paths: Sequence[str]) -> None:
        """Remove regular files the caller listed (from ``list_files``); a missing one is fine."""
        if paths:
            self.run(commands.remove_files(paths), check=True)

    def tail_files(self, files: Sequence[str], lines: int) -> Dict[str, List[str]]:
        """Last ``lines`` lines of each file, by path (``tail -v`` headers split them)."""
        if not files:
            return {}
        res = self.run(commands.tail(files, lines))
        out: Dict[str, List[str]] = {}
        current: Optional[List[str]] = None
        wanted = set(files)
        for line in res.stdout.splitlines():
            if line.startswith("==> ") and line.endswith(" <==") and line[4:-4] in wanted:
                current = out.setdefault(line[4:-4], [])
                continue
            if current is not None:
                current.append(line)
        for lines_of in out.values():
            while lines_of and not lines_of[-1]:
                lines_of.pop()  # tail separates files with a blank line
        return out
