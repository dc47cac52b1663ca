"""Helpers for the AvamarServerSensor tests: a utility node made of plain files and a stand-in mccli.

The node is a directory used as ``avamar_root``: ``data01/cur/gsan.log`` written with GSAN's [C]
line shapes (``2010/09/30-17:17:05.79312 {0.1} [srvm-518654#srv:481]  WARN: <1418> ...``), and a
``bin/mccli`` that prints ``activities.txt`` (an ``mccli activity show`` answer this kit renders in
the [C] columns) or, when ``mcs_down`` exists, MCS's connection error. The sensor reaches it over
the real local transport, so every byte goes through the same commands as on a real node.
``FlakyTransport`` makes a server unreachable on demand.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Optional, Sequence

from avamar_pack.errors import TransportError
from avamar_pack.transport import Transport, open_transport
from avamar_sim.activities import ACTIVITY_COLUMNS, format_table

MCCLI = """#!/bin/sh
# stand-in mccli: `activity show` prints what the test put in activities.txt
here=$(dirname "$0")/..
if [ -e "$here/mcs_down" ]; then echo "1,30999,Unable to connect to the Administrator Server."; exit 1; fi
[ "$1 $2" = "activity show" ] || { echo "1,30998,Invalid command or option."; exit 1; }
echo "0,23000,CLI command completed successfully."
cat "$here/activities.txt"
"""


def gsan_warning(
    code: int, serial: int = 28451, minserial: int = 38000, when: str = "2026/12/01-10:00:00.12345"
) -> str:
    """One GSAN line as the KB shows it, with GSAN's time prefix."""
    body = {
        1479: f"[srvm-518654#srv:481]  WARN: <1479> sessionkeytable::setpublickey new serial={serial} "
        f"less than current minserial={minserial}",
        1418: f"[srvm-518654#srv:481]  WARN: <1418> sessionkeytable::setpublickey session ticket with "
        f"serial={serial} was used already",
        1426: "[srvm-525136#srv:775]  WARN: <1426> sessionkeytable::comparesignature incorrect signature",
    }[code]
    return f"{when} {{0.1}} {body}\n"


def gsan_noise(i: int, when: str = "2026/12/01-10:00:00.00001") -> str:
    return f"{when} {{0.1}} [gsan:stripemgr:112]  <4051> stripe flush complete stripes={i} bytes=33554432\n"


def activity_row(
    act_id: str,
    status: str,
    client: str,
    *,
    error: int = 0,
    start: str = "2026-12-01 10:00:00 UTC",
    elapsed: str = "00h:00m:05s",
    end: Optional[str] = None,
    kind: str = "Scheduled Backup",
    progress: str = "1.8 MB",
) -> Dict[str, str]:
    running = status == "Running"
    return {
        "ID": act_id,
        "Status": status,
        "Error Code": str(error),
        "Start Time": start,
        "Elapsed": elapsed,
        "End Time": "N/A" if running else (end or start),
        "Type": kind,
        "Progress Bytes": progress,
        "New Bytes": "0%" if status != "Completed" else "<0.05%",
        "Client": client,
        "Domain": "/clients",
    }


def activity_table(rows: Sequence[Mapping[str, str]]) -> str:
    """The ``mccli activity show`` table of ``rows`` (column title -> cell), laid out by the simulator's formatter."""
    return "\n".join(format_table([[r[title] for title, _ in ACTIVITY_COLUMNS] for r in rows])) + "\n"


class FileNode:
    """A utility node made of files (see the module docstring)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.bin = os.path.join(root, "bin")
        self.cur = os.path.join(root, "data01", "cur")
        os.makedirs(self.bin, exist_ok=True)
        os.makedirs(self.cur, exist_ok=True)
        with open(os.path.join(self.bin, "mccli"), "w", encoding="ascii") as handle:
            handle.write(MCCLI)
        os.chmod(os.path.join(self.bin, "mccli"), 0o755)  # noqa: S103 - the node's command
        self.gsan_log = os.path.join(self.cur, "gsan.log")
        open(self.gsan_log, "a").close()
        self.set_activities([])

    def append(self, *lines: str, path: Optional[str] = None) -> None:
        with open(path or self.gsan_log, "a", encoding="utf-8") as handle:
            handle.write("".join(lines))

    def rotate(self, n: int = 1) -> str:
        """Rename rotation, as logrotate's default: gsan.log -> gsan.log.00N, a new empty gsan.log."""
        rotated = f"{self.gsan_log}.{n:03d}"
        os.replace(self.gsan_log, rotated)
        open(self.gsan_log, "a").close()
        return rotated

    def copytruncate(self) -> str:
        rotated = f"{self.gsan_log}.001"
        with open(self.gsan_log, "rb") as src, open(rotated, "wb") as dst:
            dst.write(src.read())
        with open(self.gsan_log, "r+b") as handle:
            handle.truncate(0)
        return rotated

    def set_activities(self, rows: Sequence[Mapping[str, str]]) -> None:
        with open(os.path.join(self.root, "activities.txt"), "w", encoding="utf-8") as handle:
            handle.write(activity_table(rows))

    def mcs_down(self, down: bool) -> None:
        flag = os.path.join(self.root, "mcs_down")
        if down:
            open(flag, "w").close()
        elif os.path.exists(flag):
            os.unlink(flag)

    def server_entry(self) -> Dict[str, Any]:
        return {"transport": "local", "avamar_root": self.root, "command_path": [self.bin, "/usr/bin", "/bin"]}


class FlakyTransport(Transport):
    """The real transport of a server, that can be made to fail like an unreachable node."""

    name = "flaky"

    def __init__(self, inner: Transport) -> None:
        super().__init__(inner.settings)
        self.inner = inner
        self.down = False
        self.fail_on: Optional[str] = None  # fail only commands whose argv[0] is this
        self.calls: List[List[str]] = []

    def _check(self, argv: Sequence[str]) -> None:
        self.calls.append(list(argv))
        if self.down or (self.fail_on is not None and argv[0] == self.fail_on):
            raise TransportError(self.host, f"`{argv[0]}`", "connection refused (simulated outage)")

    # The hooks of Transport, over the inner transport's: the same command, environment and result.
    def _command_env(self, env):
        return self.inner._command_env(env)

    def _exec(self, argv, *, timeout, stdin, env):
        self._check(argv)
        return self.inner._exec(argv, timeout=timeout, stdin=stdin, env=env)

    def _read_file(self, path, limit, timeout):
        raise AssertionError("the server sensor never reads a whole file")

    def _write_file_atomic(self, path, data, backup_path, timeout):
        raise AssertionError("the server sensor never writes to the node")

    def close(self) -> None:
        self.inner.close()


class FlakyFactory:
    """transport_factory for ServerWatch: one FlakyTransport per server, kept for the test to drive."""

    def __init__(self) -> None:
        self.by_server: Dict[str, FlakyTransport] = {}
        self.down: Dict[str, bool] = {}
        self.opened = 0

    def __call__(self, settings, config) -> Transport:
        self.opened += 1
        flaky = FlakyTransport(open_transport(settings, config))
        flaky.down = self.down.get(settings.name, False)
        self.by_server[settings.name] = flaky
        return flaky

    def set_down(self, server: str, down: bool) -> None:
        self.down[server] = down
        if server in self.by_server:
            self.by_server[server].down = down
