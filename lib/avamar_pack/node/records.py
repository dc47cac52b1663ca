"""Small records the pack keeps ON THE NODE, in its state directory beside the node lock.

* ``registration``: the serial ``set_gsan_minserial`` got GSAN to accept and verify, and when
  (the node's clock). ``diagnose_session_tickets(verify_serial=N)`` judges only evidence logged
  after the registration of N.
* ``last_remediation``: the pack's last successful remediation (``record_remediation``, after
  MCS runs on the new serial and the verification passed). Any diagnosis treats evidence logged
  before it as stale, so a re-run after a successful remediation finds nothing to do.

Why on the node and not in st2's datastore: the node is what the records describe and what
every remediation goes through (like the lock). They survive a reinstall of StackStorm, are seen
by every st2 instance that manages the node (a DR st2, a second cluster), need no st2 API call
or credentials, and an administrator can read or delete them with ``cat``/``rm``.

Times are the node's local clock as ``date`` prints it (``node_time``): GSAN and avtar stamp
their lines with local time and no zone, so that is what evidence times are compared with. The
UTC time of the st2 host is kept beside it for people. Values are validated before they are
written and again when read back: a record is a file anyone with root on the node could edit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, Optional

from avamar_pack.errors import AvamarPackError, ParseError
from avamar_pack.node import commands
from avamar_pack.node.lock import OWNER_RE
from avamar_pack.node.node import AvamarNode

REGISTRATION = "registration"
LAST_REMEDIATION = "last_remediation"
RECORD_NAMES = (REGISTRATION, LAST_REMEDIATION)
MAX_RECORD_BYTES = 4096
MAX_SERIAL = 2**63 - 1
_NODE_TIME_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\Z")


@dataclass(frozen=True)
class NodeRecord:
    """One record: which serial, when on the node's clock, who wrote it."""

    name: str
    serial: int
    node_time: datetime  # naive, the node's local clock
    written_utc: Optional[str] = None
    owner: Optional[str] = None
    gsan_minserial: Optional[int] = None
    mcs_serial: Optional[int] = None

    def as_dict(self) -> Dict[str, Any]:
        return {
            "name": self.name,
            "serial": self.serial,
            "node_time": self.node_time.strftime("%Y-%m-%dT%H:%M:%S"),
            "written_utc": self.written_utc,
            "owner": self.owner,
            "gsan_minserial": self.gsan_minserial,
            "mcs_serial": self.mcs_serial,
        }


def node_time(node: AvamarNode) -> datetime:
    """The node's local clock now (``date``), to the second; ParseError when it prints nonsense."""
    res = node.run(commands.NODE_LOCAL_TIME, check=True)
    return _parse_node_time(res.stdout.strip())


def write_record(
    node: AvamarNode,
    name: str,
    serial: int,
    *,
    owner: Optional[str] = None,
    gsan_minserial: Optional[int] = None,
    mcs_serial: Optional[int] = None,
    at: Optional[datetime] = None,
) -> NodeRecord:
    """Write record ``name`` (atomic replace) and return what was written."""
    if name not in RECORD_NAMES:
        raise ValueError(f"unknown record {name!r}")
    record = NodeRecord(
        name=name,
        serial=_serial(serial),
        node_time=at or node_time(node),
        written_utc=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        owner=owner if owner and OWNER_RE.match(owner) else None,
        gsan_minserial=None if gsan_minserial is None else _serial(gsan_minserial),
        mcs_serial=None if mcs_serial is None else _serial(mcs_serial),
    )
    text = json.dumps(record.as_dict(), sort_keys=True)
    node.run(commands.write_record(node.paths.record(name), text), check=True)
    return record


def read_record(node: AvamarNode, name: str) -> Optional[NodeRecord]:
    """Record ``name``, or None when there is none. ParseError when it exists but is not valid."""
    path = node.paths.record(name)
    res = node.run(commands.stat_mtime(path))
    if res.exit_code != 0:
        return None  # no record yet
    try:
        raw = json.loads(node.transport.read_file(path, max_bytes=MAX_RECORD_BYTES, timeout=node.timeout_s))
    except (ValueError, AvamarPackError) as exc:
        raise ParseError(f"the pack's record {path} cannot be read: {exc}") from None
    if not isinstance(raw, dict) or raw.get("name") != name:
        raise ParseError(f"the pack's record {path} is not a {name} record")
    try:
        return NodeRecord(
            name=name,
            serial=_serial(raw.get("serial")),
            node_time=_parse_node_time(raw.get("node_time")),
            written_utc=raw["written_utc"] if isinstance(raw.get("written_utc"), str) else None,
            owner=raw["owner"] if isinstance(raw.get("owner"), str) and OWNER_RE.match(raw["owner"]) else None,
            gsan_minserial=_optional_serial(raw.get("gsan_minserial")),
            mcs_serial=_optional_serial(raw.get("mcs_serial")),
        )
    except (TypeError, ValueError) as exc:
        raise ParseError(f"the pack's record {path} holds an invalid value: {exc}") from None


def _parse_node_time(text: Any) -> datetime:
    if not isinstance(text, str) or not _NODE_TIME_RE.match(text):
        raise ParseError(f"node time {str(text)[:40]!r} is not YYYY-MM-DDTHH:MM:SS")
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise ParseError(f"node time {text!r} is not a real date") from None


def _serial(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_SERIAL:
        raise ValueError(f"serial {str(value)[:30]!r} is not an integer in 1..2^63-1")
    return value


def _optional_serial(value: Any) -> Optional[int]:
    return None if value is None else _serial(value)
