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
* A younger lock is taken over only when the caller's ``judge`` says its holder is gone (the
  ``acquire_node_lock`` action asks st2 whether the owning execution is still live).

Every answer about the lock is one type, ``LockStatus`` (read, acquire, release alike).

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
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Tuple

from avamar_pack.errors import AvamarPackError, LockHeld, ValidationError
from avamar_pack.node import commands
from avamar_pack.node.paths import NodePaths
from avamar_pack.transport.base import Transport

LOG = logging.getLogger(__name__)

OWNER_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}\Z")
_API_RE = re.compile(r"^https?://[A-Za-z0-9_.:\[\]/-]{1,250}\Z")  # the st2 API URL recorded with a lock
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
    """Who holds the lock, as written in its owner file (``owner`` None when unreadable).

    ``st2_api``: the st2 API URL of the execution that took it, when it was taken from st2; only
    that st2 can say whether the owner is still live (another st2 instance does not know it)."""

    owner: Optional[str]
    host: Optional[str]
    acquired_at: Optional[float]
    age_s: Optional[float]
    stale: bool
    st2_api: Optional[str] = None

    def as_dict(self) -> Dict[str, Any]:
        return {
            "owner": self.owner,
            "host": self.host,
            "acquired_at": self.acquired_at,
            "age_s": None if self.age_s is None else round(self.age_s, 1),
            "stale": self.stale,
            "st2_api": self.st2_api,
        }

    def describe(self) -> str:
        who = self.owner or "an unknown owner"
        where = f" on {self.host}" if self.host else ""
        age = f", {int(self.age_s)} s ago" if self.age_s is not None else ""
        return f"{who}{where}{age}"


@dataclass(frozen=True)
class Takeover:
    """Why a lock held by someone else was taken: its record and the verdict."""

    previous: LockInfo
    reason: str  # "stale" (older than the TTL) or "owner_not_live" (st2 says the execution ended)
    previous_status: Optional[str] = None  # the owning execution's st2 status, when known

    def as_dict(self) -> Dict[str, Any]:
        return {
            "previous_owner": self.previous.owner,
            "previous": self.previous.as_dict(),
            "reason": self.reason,
            "previous_status": self.previous_status,
        }


@dataclass(frozen=True)
class LockStatus:
    """The one answer about the node lock, for a read, an acquire and a release.

    ``owner``: the caller (None for a plain read); ``holder``: who holds it after the call (None:
    free); ``acquired``: this call created it; ``reentrant``: the caller held it already;
    ``released``: this call removed it; ``took_over``: a lock of someone else was taken and why;
    ``scope``: "workflow" (kept across actions for a lock_owner), "action" (this action only)."""

    owner: Optional[str] = None
    holder: Optional[LockInfo] = None
    acquired: bool = False
    reentrant: bool = False
    released: bool = False
    took_over: Optional[Takeover] = None
    scope: Optional[str] = None
    notes: Tuple[str, ...] = field(default=())

    @property
    def held_by_caller(self) -> bool:
        return self.owner is not None and self.holder is not None and self.holder.owner == self.owner

    @property
    def free(self) -> bool:
        return self.holder is None

    def with_scope(self, scope: str) -> LockStatus:
        return LockStatus(
            self.owner, self.holder, self.acquired, self.reentrant, self.released, self.took_over, scope, self.notes
        )

    def as_dict(self) -> Dict[str, Any]:
        """Fixed keys, whatever the operation: what ``result["lock"]`` of every action holds."""
        return {
            "owner": self.owner,
            "held_by_caller": self.held_by_caller,
            "holder": None if self.holder is None else self.holder.as_dict(),
            "acquired": self.acquired,
            "reentrant": self.reentrant,
            "released": self.released,
            "took_over": None if self.took_over is None else self.took_over.as_dict(),
            "scope": self.scope,
        }

    def __getitem__(self, key: str) -> Any:  # read like the action result it becomes
        return self.as_dict()[key]


# Decides whether a lock held by someone else (and not stale) may be taken: None = no, else the
# Takeover reason and the owner's status. Raising is a "cannot tell": the lock is left alone.
Judge = Callable[[LockInfo], Optional[Tuple[str, Optional[str]]]]


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
        api = record.get("st2_api")
        api = api if isinstance(api, str) and _API_RE.match(api) else None
        acquired = _float(record.get("acquired_at")) or dir_mtime
        age = None if acquired is None else max(0.0, self._clock() - acquired)
        stale = age is not None and age > self._ttl_s
        return LockInfo(
            owner=owner, host=(host or "")[:255] or None, acquired_at=acquired, age_s=age, stale=stale, st2_api=api
        )

    def status(self, owner: Optional[str] = None) -> LockStatus:
        """Who holds the lock now, seen by ``owner`` (a read: nothing changes)."""
        return LockStatus(owner=validate_lock_owner(owner), holder=self.holder())

    # -- taking and giving back -----------------------------------------------------------
    def acquire(self, owner: str, *, judge: Optional[Judge] = None, st2_api: Optional[str] = None) -> LockStatus:
        """Take the lock for ``owner`` or confirm ``owner`` holds it (re-entrant).

        A lock held by someone else is taken over when it is stale, or when ``judge`` says its
        holder is gone; otherwise LockHeld names the holder. ``st2_api`` is written into the
        record so that a later taker can ask the same st2 about this owner.
        """
        owner = validate_lock_owner(owner) or ""
        if not owner:
            raise ValidationError("lock owner is required")
        if st2_api is not None and not _API_RE.match(st2_api):
            st2_api = None
        took_over: Optional[Takeover] = None
        for _ in range(3):  # a lost race against another taker is retried a couple of times
            if self._try_create(owner, st2_api):
                mine = LockInfo(
                    owner=owner, host=_hostname(), acquired_at=self._clock(), age_s=0.0, stale=False, st2_api=st2_api
                )
                return LockStatus(owner=owner, holder=mine, acquired=True, took_over=took_over)
            info = self.holder()
            if info is None:
                continue  # released between our mkdir and our look: try again
            if info.owner == owner:
                return LockStatus(owner=owner, holder=info, reentrant=True)
            verdict = ("stale", None) if info.stale else self._ask(judge, info)
            if verdict is None:
                raise LockHeld(
                    f"{self._t.host}: another remediation holds the node lock {self.path}: held by "
                    f"{info.describe()} (stale after {int(self._ttl_s)} s); refusing to change anything"
                )
            if self._break_stale(info):
                took_over = Takeover(previous=info, reason=verdict[0], previous_status=verdict[1])
                LOG.warning(
                    "node lock %s taken over by %s from %s (%s, owner status %s)",
                    self.path,
                    owner,
                    info.describe(),
                    verdict[0],
                    verdict[1],
                )
        raise LockHeld(
            f"{self._t.host}: could not take the node lock {self.path}: other remediations keep racing for it"
        )

    def release(self, owner: str) -> LockStatus:
        """Give the lock back if ``owner`` holds it. Idempotent: a free lock is not an error.

        Raises LockHeld when another owner holds it (their lock is never removed).
        """
        owner = validate_lock_owner(owner) or ""
        info = self.holder()
        if info is None:
            return LockStatus(owner=owner)
        if info.owner != owner:
            raise LockHeld(
                f"{self._t.host}: node lock {self.path} is held by {info.describe()}, not by {owner}; left alone"
            )
        self._t.run(commands.remove_tree(self.path), timeout=self._timeout, check=True)
        return LockStatus(owner=owner, released=True)

    @staticmethod
    def _ask(judge: Optional[Judge], info: LockInfo) -> Optional[Tuple[str, Optional[str]]]:
        if judge is None:
            return None
        try:
            return judge(info)
        except Exception as exc:  # noqa: BLE001 - a judge that cannot tell leaves the lock alone
            LOG.warning("could not judge the node lock held by %s: %s", info.describe(), exc)
            return None

    # -- internals ------------------------------------------------------------------------
    def _try_create(self, owner: str, st2_api: Optional[str] = None) -> bool:
        self._t.run(commands.mkdir_parents(self._parent), timeout=self._timeout, check=True)
        res = self._t.run(commands.mkdir_exclusive(self.path), timeout=self._timeout)
        if res.exit_code != 0:
            return False
        fields: Dict[str, Any] = {"owner": owner, "host": _hostname(), "acquired_at": self._clock()}
        if st2_api:
            fields["st2_api"] = st2_api
        record = json.dumps(fields)
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


def _hostname() -> str:
    return socket.gethostname()[:255]


def _float(value: Any) -> Optional[float]:
    try:
        return float(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None
