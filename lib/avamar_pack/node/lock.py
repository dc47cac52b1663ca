"""The remediation lock, held ON THE NODE so that two remediations of one server never overlap.

StackStorm's concurrency policy only serialises executions it schedules itself; a second st2
cluster, an operator running `st2 run` by hand with another action, or a stuck execution would
slip past it. The node is the one place every remediation must go through, so the lock lives
there:

* ``mkdir <lock_dir>`` is atomic on every POSIX file system: exactly one caller creates it.
* The creator writes ``owner`` inside (owner id, host, time) so others can name the holder.
* A lock older than ``ttl_s`` (default 2 h) is stale (its holder died). It is taken over by
  renaming it away (``mv`` is atomic, one taker wins), checking that what was renamed is the
  stale record judged a moment before, and creating a fresh one. Take-overs are logged.

Owner ids are validated (``^[A-Za-z0-9_.:-]{1,128}$``): they travel into files and messages.
"""

from __future__ import annotations

import json
import logging
import posixpath
import re
import secrets
import socket
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional

from avamar_pack.errors import AvamarPackError, LockHeld, ValidationError
from avamar_pack.node import commands
from avamar_pack.node.paths import NodePaths
from avamar_pack.transport.base import Transport

LOG = logging.getLogger(__name__)

OWNER_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
DEFAULT_TTL_S = 2 * 3600
COMMAND_TIMEOUT_S = 30.0
OWNER_FILE = "owner"


def validate_lock_owner(value: Any) -> Optional[str]:
    """None stays None; anything else must match ``OWNER_RE``."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not OWNER_RE.match(value):
        raise ValidationError(
            f"lock_owner {str(value)[:60]!r} is not valid (letters, digits, '_', '.', ':', '-'; 1..128)"
        )
    return value


@dataclass(frozen=True)
class LockInfo:
    """Who holds the lock, as written in its owner file (``owner`` None when unreadable)."""

    owner: Optional[str]
    host: Optional[str]
    acquired_at: Optional[float]
    age_s: Optional[float]
    stale: bool

    def as_dict(self) -> Dict[str, Any]:
        return {
            "owner": self.owner,
            "host": self.host,
            "acquired_at": self.acquired_at,
            "age_s": None if self.age_s is None else round(self.age_s, 1),
            "stale": self.stale,
        }

    def describe(self) -> str:
        who = self.owner or "an unknown owner"
        where = f" on {self.host}" if self.host else ""
        age = f", {int(self.age_s)} s ago" if self.age_s is not None else ""
        return f"{who}{where}{age}"


class NodeLock:
    """The lock directory of one node, reached through a transport."""

    def __init__(
        self,
        transport: Transport,
        paths: NodePaths,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        command_timeout_s: float = COMMAND_TIMEOUT_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._t = transport
        self.path = paths.lock_dir
        self._owner_file = posixpath.join(self.path, OWNER_FILE)
        self._parent = posixpath.dirname(self.path)
        self._ttl_s = ttl_s
        self._clock = clock
        self._timeout = command_timeout_s

    # -- reading ----------------------------------------------------------------------------
    def holder(self) -> Optional[LockInfo]:
        """The current holder, or None when the lock is free."""
        res = self._t.run(commands.stat_mtime(self.path), timeout=self._timeout)
        if res.exit_code != 0:
            return None  # no lock directory
        dir_mtime = _float(res.stdout.strip())
        # A missing or garbled owner file: the holder is unknown and judged by the directory's age.
        record = self._read_record(self._owner_file)
        owner = record.get("owner")
        owner = owner if isinstance(owner, str) and OWNER_RE.match(owner) else None
        host = record.get("host") if isinstance(record.get("host"), str) else None
        acquired = _float(record.get("acquired_at")) or dir_mtime
        age = None if acquired is None else max(0.0, self._clock() - acquired)
        stale = age is not None and age > self._ttl_s
        return LockInfo(owner=owner, host=(host or "")[:255] or None, acquired_at=acquired, age_s=age, stale=stale)

    # -- taking and giving back -----------------------------------------------------------
    def acquire(self, owner: str) -> Dict[str, Any]:
        """Take the lock for ``owner`` or confirm ``owner`` holds it (re-entrant).

        Returns ``{owner, acquired (new), reentrant, took_over}``; raises LockHeld naming the
        holder when someone else holds a lock that is not stale.
        """
        owner = validate_lock_owner(owner) or ""
        if not owner:
            raise ValidationError("lock owner is required")
        took_over: Optional[Dict[str, Any]] = None
        for _ in range(3):  # a lost race against another taker is retried a couple of times
            if self._try_create(owner):
                return {"owner": owner, "acquired": True, "reentrant": False, "took_over": took_over}
            info = self.holder()
            if info is None:
                continue  # released between our mkdir and our look: try again
            if info.owner == owner:
                return {"owner": owner, "acquired": False, "reentrant": True, "took_over": None}
            if not info.stale:
                raise LockHeld(
                    f"{self._t.host}: another remediation holds the node lock {self.path}: held by "
                    f"{info.describe()} (stale after {int(self._ttl_s)} s); refusing to change anything"
                )
            if self._break_stale(info):
                took_over = info.as_dict()
                LOG.warning("node lock %s was stale (held by %s); taken over by %s",
                            self.path, info.describe(), owner)
        raise LockHeld(
            f"{self._t.host}: could not take the node lock {self.path}: other remediations keep racing for it"
        )

    def release(self, owner: str) -> Dict[str, Any]:
        """Give the lock back if ``owner`` holds it. Idempotent: a free lock is not an error.

        Raises LockHeld when another owner holds it (their lock is never removed).
        """
        owner = validate_lock_owner(owner) or ""
        info = self.holder()
        if info is None:
            return {"owner": owner, "released": False, "was_held": False}
        if info.owner != owner:
            raise LockHeld(
                f"{self._t.host}: node lock {self.path} is held by {info.describe()}, not by {owner}; left alone"
            )
        self._t.run(commands.remove_tree(self.path), timeout=self._timeout, check=True)
        return {"owner": owner, "released": True, "was_held": True}

    # -- internals ------------------------------------------------------------------------
    def _try_create(self, owner: str) -> bool:
        self._t.run(commands.mkdir_parents(self._parent), timeout=self._timeout, check=True)
        res = self._t.run(commands.mkdir_exclusive(self.path), timeout=self._timeout)
        if res.exit_code != 0:
            return False
        record = json.dumps({"owner": owner, "host": socket.gethostname()[:255], "acquired_at": self._clock()})
        argv = commands.write_new_file(self._owner_file, record)
        self._t.run(argv, timeout=self._timeout, check=True)
        return True

    def _read_record(self, path: str) -> Dict[str, Any]:
        try:
            record = json.loads(self._t.read_file(path, max_bytes=4096, timeout=self._timeout).decode("utf-8"))
        except (AvamarPackError, ValueError):
            return {}
        return record if isinstance(record, dict) else {}

    def _break_stale(self, judged: LockInfo) -> bool:
        """Rename the stale lock away; put it back if it turns out not to be the one judged."""
        aside = f"{self.path}.stale-{secrets.token_hex(6)}"
        res = self._t.run(commands.rename_no_clobber(self.path, aside), timeout=self._timeout)
        if res.exit_code != 0:
            return False  # someone else moved it first
        record = self._read_record(posixpath.join(aside, OWNER_FILE))
        if record.get("owner") != judged.owner or _float(record.get("acquired_at")) not in (None, judged.acquired_at):
            # A fresh lock was created between our look and our rename: give it back.
            self._t.run(commands.rename_no_clobber(aside, self.path), timeout=self._timeout)
            return False
        self._t.run(commands.remove_tree(aside), timeout=self._timeout)
        return True


def _float(value: Any) -> Optional[float]:
    try:
        return float(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None
