"""Follow GSAN's ``gsan.log`` on a utility node from a saved byte position, over a transport.

State (JSON-able, saved by the caller in the datastore): the ``live`` position - inode, byte
offset of the first byte not yet accounted for (always a line start), and a hash of the bytes
just before it - and, while a rotated file is still being read, a ``drain`` position found by
inode (plus the ``queue`` of newer rotated files never read).

One poll costs one bounded read (``reads.read_range``: the hash bytes plus at most ``budget``
new bytes) in the steady state. Then:

* the inode changed: GSAN's log was rotated by rename (``gsan.log`` -> ``gsan.log.001``). The old
  inode is found again by ``find`` among ``gsan.log.<n>`` and read to its end from the saved
  offset (``drain``), then the new ``gsan.log`` from byte 0;
* same inode but shorter than the offset, or other bytes before it (the hash differs): truncated
  (copytruncate). A rotated file whose bytes before the offset match the hash holds the unread
  tail: it is drained from the offset, then the file is read from 0. No such file: the bytes
  written after the offset before the truncation are lost; that is said, once;
* first start (no state): from the end of the file (after its last newline), like ``tail -F``,
  or from byte 0 with ``from_beginning`` (the first catch-up then goes ``budget`` bytes a poll).

Only lines that may hold a session-ticket warning (``gsan.might_matter``) are returned, each
with the state at its start and after it, so the caller can dispatch a warning and then save
exactly that position (with the detection ``Cursor``'s record index inside the line): a crash or
a transport failure never skips a warning not yet dispatched.
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import asdict, dataclass, field, replace
from typing import Any, List, Optional

from avamar_pack.parsing import gsan
from avamar_pack.serverwatch import reads
from avamar_pack.transport.base import Transport

SIG_BYTES = 64
TAIL_PROBE = 4096  # how far back from the end the first start looks for a line start
MAX_LINE = gsan.MAX_LINE
DEFAULT_BUDGET = 4 << 20  # new bytes per poll per server
COMMAND_TIMEOUT = 30.0


def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32] if data else ""


@dataclass
class Position:
    inode: int
    offset: int
    sig: str = ""  # hash of the min(SIG_BYTES, offset) bytes before offset; "" = unknown, not checked
    skipping: bool = False  # inside a line longer than MAX_LINE: drop bytes up to its newline

    @classmethod
    def from_dict(cls, raw: Any) -> Optional[Position]:
        try:
            cur = cls(int(raw["inode"]), int(raw["offset"]), str(raw.get("sig", "")), bool(raw.get("skipping")))
        except (KeyError, TypeError, ValueError):
            return None
        return cur if cur.offset >= 0 and cur.inode >= 0 else None


@dataclass
class FollowState:
    live: Optional[Position] = None
    drain: Optional[Position] = None
    # Inodes of rotated files NEWER than the drained one and never read (several rotations while
    # the sensor was down or between two polls), oldest first: each is read from byte 0 next.
    queue: List[int] = field(default_factory=list)

    def copy(self) -> FollowState:
        return FollowState(
            replace(self.live) if self.live else None, replace(self.drain) if self.drain else None, list(self.queue)
        )

    def as_dict(self) -> dict:
        return {
            "live": asdict(self.live) if self.live else None,
            "drain": asdict(self.drain) if self.drain else None,
            "queue": list(self.queue),
        }

    @classmethod
    def from_dict(cls, raw: Any) -> FollowState:
        raw = raw if isinstance(raw, dict) else {}
        queue = [int(i) for i in raw.get("queue") or [] if isinstance(i, int) and not isinstance(i, bool)]
        return cls(
            Position.from_dict(raw.get("live")) if raw.get("live") else None,
            Position.from_dict(raw.get("drain")) if raw.get("drain") else None,
            queue,
        )


@dataclass
class LogLine:
    text: str
    start: int  # byte offset of the line in its file
    end: int  # byte offset just after its newline
    before: FollowState  # the follower's state at the line's start (nothing of it accounted for)
    state: FollowState  # the follower's state once this line is accounted for


@dataclass
class FollowResult:
    lines: List[LogLine]
    state: FollowState
    bytes_read: int = 0
    commands: int = 0
    more: bool = False  # the budget ran out with bytes left: the next poll goes on
    notes: List[str] = field(default_factory=list)


class GsanFollower:
    """Follows one log path (``gsan.log`` under the node's ``avamar_root``)."""

    def __init__(
        self, path: str, *, from_beginning: bool = False, budget: int = DEFAULT_BUDGET, timeout: float = COMMAND_TIMEOUT
    ) -> None:
        self.path = path
        self.directory, self.name = posixpath.split(path)
        self.from_beginning = from_beginning
        self.budget = max(1, min(int(budget), reads.MAX_READ))
        self.timeout = timeout

    def poll(self, transport: Transport, state: FollowState) -> FollowResult:
        """Read what was appended since ``state``. Transport errors propagate (state untouched)."""
        run = _Pass(self, transport, state.copy())
        if run.state.live is None:
            run.start()
        else:
            run.follow(depth=0)
        return FollowResult(run.lines, run.state, run.bytes_read, run.commands, run.more, run.notes)


class _Pass:
    def __init__(self, follower: GsanFollower, transport: Transport, state: FollowState) -> None:
        self.f = follower
        self.t = transport
        self.state = state
        self.budget = follower.budget
        self.lines: List[LogLine] = []
        self.notes: List[str] = []
        self.bytes_read = 0
        self.commands = 0
        self.more = False

    # -- primitives --------------------------------------------------------------------------
    def _read(self, path: str, start: int, count: int) -> Optional[reads.RangeRead]:
        self.commands += 1
        res = self.t.run(reads.read_range(path, start, count), timeout=self.f.timeout)
        if res.exit_code != 0:
            return None
        got = reads.parse_range(res.stdout)
        self.bytes_read += len(got.data)
        return got

    def _listing(self) -> List[reads.ListedFile]:
        self.commands += 1
        res = self.t.run(reads.list_rotations(self.f.directory, self.f.name), timeout=self.f.timeout)
        return reads.parse_listing(res.stdout, self.f.name)

    # -- first start ---------------------------------------------------------------------------
    def start(self) -> None:
        first = self._read(self.f.path, 0, 0)
        if first is None:
            self.notes.append(f"{self.f.path} cannot be read yet: following starts when it can")
            return
        if self.f.from_beginning or first.size == 0:
            self.state.live = Position(first.inode, 0)
        else:
            probe_start = max(0, first.size - TAIL_PROBE)
            probe = self._read(self.f.path, probe_start, first.size - probe_start)
            if probe is None or probe.inode != first.inode:
                return  # rotated this very moment: start on the next poll
            data = probe.data
            newline = data.rfind(b"\n")
            skipping = False
            if newline >= 0:
                rel = newline + 1
            elif probe_start == 0:
                rel = 0  # one partial line: it is new
            else:
                rel, skipping = len(data), True  # the middle of a huge line: from its end
            offset = probe_start + rel
            need = min(SIG_BYTES, offset)
            sig = _hash(data[rel - need : rel]) if rel >= need else ""
            self.state.live = Position(first.inode, offset, sig, skipping)
        self.notes.append(f"following {self.f.path} from byte {self.state.live.offset}")

    # -- steady state ----------------------------------------------------------------------------
    def follow(self, depth: int) -> None:
        if self.state.drain is not None:
            self.drain()
            if self.state.drain is not None or self.budget <= 0:
                return
        cur = self.state.live
        need = min(SIG_BYTES, cur.offset)
        got = self._read(self.f.path, cur.offset - need, need + self.budget)
        if got is None:
            self.notes.append(f"{self.f.path} could not be read (being rotated?): tried again next poll")
            return
        if got.inode != cur.inode:
            self.notes.append(
                f"{self.f.path} was rotated (inode {cur.inode} -> {got.inode}): the old file "
                f"is read to its end from byte {cur.offset}, then the new one from 0"
            )
            self.state.drain, self.state.live = cur, Position(got.inode, 0)
            if depth == 0:
                self.follow(depth + 1)
            return
        if got.size < cur.offset or (cur.sig and _hash(got.data[:need]) != cur.sig):
            self.truncated(cur, got.inode, need)
            if depth == 0:
                self.follow(depth + 1)
            return
        self.consume("live", cur, got.data, need, final=False)

    def truncated(self, cur: Position, inode: int, need: int) -> None:
        """Copytruncate: drain the rotated copy holding the bytes after ``cur.offset``, if one does."""
        copy: Optional[Position] = None
        if cur.sig:
            for cand in reads.rotation_order(self._listing(), self.f.name)[:2]:
                if cand.size < cur.offset:
                    continue
                got = self._read(reads.join(self.f.directory, cand.name), cur.offset - need, need)
                if got is not None and got.inode == cand.inode and _hash(got.data[:need]) == cur.sig:
                    copy = Position(cand.inode, cur.offset, cur.sig, cur.skipping)
                    self.notes.append(
                        f"{self.f.path} was truncated (copytruncate): {cand.name} is read from byte {cur.offset} first"
                    )
                    break
        if copy is None:
            self.notes.append(
                f"{self.f.path} was truncated or replaced below byte {cur.offset} and no rotated "
                f"file holds the old content: what was written after byte {cur.offset} before "
                "the truncation is lost; reading it from 0"
            )
        self.state.drain, self.state.live = copy, Position(inode, 0)

    def drain(self) -> None:
        """Read the rotated file being drained to its end, then the newer unread ones from 0."""
        while self.state.drain is not None and self.budget > 0:
            d = self.state.drain
            listing = self._listing()
            match = next((f for f in listing if f.inode == d.inode), None)
            if match is None:
                self.notes.append(
                    f"the rotated {self.f.name} (inode {d.inode}) is gone: its bytes after {d.offset} were not read"
                )
                self._next_drain(listing, None)
                continue
            need = min(SIG_BYTES, d.offset)
            got = self._read(reads.join(self.f.directory, match.name), d.offset - need, need + self.budget)
            if got is None or got.inode != d.inode:
                return  # renamed again meanwhile: found by inode on the next poll
            if d.sig and _hash(got.data[:need]) != d.sig:
                self.notes.append(f"{match.name} no longer holds what was read before byte {d.offset}: dropped")
                self._next_drain(listing, match)
                continue
            final = d.offset + len(got.data) - need >= got.size
            self.consume("drain", d, got.data, need, final=final)
            if not final:
                return
            self._next_drain(listing, match)

    def _next_drain(self, listing: List[reads.ListedFile], done: Optional[reads.ListedFile]) -> None:
        """After ``done``: rotated files newer than it (lower number) that the live cursor never
        reached were written after it and before the live file: read each from 0, oldest first."""
        if done is not None and not self.state.queue:
            order = reads.rotation_order(listing, self.f.name)
            newer = order[: next((i for i, f in enumerate(order) if f.inode == done.inode), 0)]
            live = self.state.live.inode if self.state.live else None
            self.state.queue = [f.inode for f in reversed(newer) if f.inode != live]
            if self.state.queue:
                self.notes.append(
                    f"{len(self.state.queue)} rotated file(s) newer than {done.name} were never read: read from byte 0"
                )
        self.state.drain = Position(self.state.queue.pop(0), 0) if self.state.queue else None

    def consume(self, which: str, cur: Position, window: bytes, need: int, *, final: bool) -> None:
        """Split the new bytes into lines; ``window`` starts ``need`` bytes before ``cur.offset``."""
        payload = window[need:]
        self.budget -= len(payload)
        if self.budget <= 0 and not final:
            self.more = True
        skipping = cur.skipping
        pos = 0

        def at(end: int, skip: bool) -> Position:
            offset = cur.offset + end
            keep = min(SIG_BYTES, offset)
            return Position(cur.inode, offset, _hash(window[need + end - keep : need + end]), skip)

        def keep_line(text: str, begin: int, end: int) -> None:
            if gsan.might_matter(text):
                before, after = self.state.copy(), self.state.copy()
                setattr(before, which, at(begin, False))
                setattr(after, which, at(end, False))
                self.lines.append(LogLine(text, cur.offset + begin, cur.offset + end, before, after))

        while True:
            newline = payload.find(b"\n", pos)
            if newline < 0:
                break
            raw, begin = payload[pos:newline], pos
            pos = newline + 1
            if skipping:
                skipping = False
                continue
            if len(raw) > MAX_LINE:
                self.notes.append(f"{self.f.path}: a line of {len(raw)} bytes was skipped (limit {MAX_LINE})")
                continue
            keep_line(raw.decode("utf-8", "replace"), begin, pos)
        tail = payload[pos:]
        if final and tail and not skipping and len(tail) <= MAX_LINE:
            # The last line of a rotated file that will not grow any more.
            keep_line(tail.decode("utf-8", "replace"), pos, len(payload))
            pos = len(payload)
        elif len(tail) > MAX_LINE or (skipping and tail):
            if not skipping:
                self.notes.append(f"{self.f.path}: a line longer than {MAX_LINE} bytes is skipped")
            pos, skipping = len(payload), True
        setattr(self.state, which, at(pos, skipping))
