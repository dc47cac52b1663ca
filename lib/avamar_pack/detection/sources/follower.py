"""Follow log files named by globs, by inode, without losing lines across rotations.

Why not StackStorm's ``FileWatchSensor`` or Salt's ``log`` beacon: both follow a *path* and lose
the lines written between their last read and a rotation, re-read or skip after a restart, and
hand over partial lines. Here:

* Files are tracked by (device, inode). The globs are re-evaluated on every pass, so files that
  appear later are picked up (from their first byte), and a file renamed to another matching
  name is the same file.
* Rename rotation (``mv app.log app.log.1``; a new ``app.log``): the old inode stays open and is
  read to its end (also what the writer adds through its still-open descriptor during
  ``grace_seconds``), then dropped; the new file is read from byte 0.
* copytruncate (``cp app.log app.log.1; : > app.log``): the size drops below our offset, or the
  bytes before it change. The lines written between our last read and the copy are in the copy:
  a rotated sibling (``find_copy``: logrotate's names only, a few candidates) whose bytes just
  before our offset match the signature we kept is read from our offset to its end first, then
  the truncated file from 0. (Lines written between the copy and the truncation are lost for
  every reader; that is copytruncate's own race.) Compressed copies (``.gz``) are not read: with
  ``delaycompress`` the newest copy is still plain, without it the tail is lost (warned).
* Known blind spot: a copytruncate whose new content is byte-identical to the old one up to our
  offset (and at least that long) cannot be told from "nothing happened" by any signature: the
  old tail (in the copy) and the new lines before our offset are then missed. Real avtar logs
  start every run with a timestamped line, so this needs identical timestamps.
* Partial lines wait in a buffer for their newline; a line longer than ``max_line`` bytes is
  skipped whole, with a reason, and never held in memory beyond ``max_line``.
* ``RawLine.start``/``RawLine.end`` are byte offsets in the inode, so the caller can store a position
  that points exactly at a line start.

The follower holds no parsing and no persistence: ``files.FileSource`` builds discovery,
restarts and copytruncate recovery on it, and the cursor decides what a position means.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import stat as stat_mod
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

CHUNK = 64 * 1024
BLOCK = 1024 * 1024  # read_blocks: big reads (a backlog is searched at C speed) that still fit the CPU caches
MAX_LINE = 256 * 1024
SIG_BYTES = 4096  # how much content before an offset identifies it (hashed)
MAX_COPY_CANDIDATES = 4  # rotated copies checked after a truncation, newest first
# The names logrotate gives a copytruncate copy of ``<name>``: ``<name>.1`` (``<name>.<n>``) and,
# with ``dateext``, ``<name>-YYYYMMDD`` (``dateformat`` may add the hour or seconds).
_COPY_SUFFIX = re.compile(r"(?:\.[0-9]{1,4}|-[0-9]{8,14})\Z")


@dataclass
class RawLine:
    """A line as bytes with its offsets in the inode (``data`` None: skipped, see ``reason``)."""

    start: int
    end: int
    data: Optional[bytes]  # None: the line was skipped, ``reason`` says why
    reason: str = ""


@dataclass
class RawBlock:
    """Complete lines ``[start, end)`` of the inode, at ``data[lo:lo + end - start]``: each one
    newline-terminated and at most ``max_line`` bytes long (a longer one is handed over as a
    skipped ``RawLine`` instead). ``data`` is the follower's read buffer: valid only until the
    next piece is asked for."""

    start: int
    end: int
    data: bytearray
    lo: int


@dataclass
class Tracked:
    """One followed inode."""

    key: str  # "dev:inode"
    path: str
    kind: str
    dev: int
    inode: int
    fd: Optional[int]
    read_offset: int  # next byte to read
    buf: bytearray = field(default_factory=bytearray)
    buf_start: int = 0
    discarding: bool = False  # inside a line longer than max_line
    gone_since: Optional[float] = None  # when its path stopped naming this inode
    last_growth: float = 0.0

    def signature(self, offset: int) -> str:
        """Hash of the bytes just before ``offset`` (identifies this content after a copy or inode reuse)."""
        if self.fd is None or offset <= 0:
            return ""
        start = max(0, offset - SIG_BYTES)
        try:
            return _digest(os.pread(self.fd, offset - start, start))
        except OSError:
            return ""


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest() if data else ""


def read_signature(path: str, offset: int) -> str:
    """``Tracked.signature`` of the file at ``path`` ("" if it cannot be read or ``offset`` is 0)."""
    if offset <= 0:
        return ""
    start = max(0, offset - SIG_BYTES)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return ""
    try:
        return _digest(os.pread(fd, offset - start, start))
    except OSError:
        return ""
    finally:
        os.close(fd)


class Follower:
    """Tracks the files matching ``globs`` (kind -> patterns) and hands out complete lines."""

    def __init__(
        self,
        globs: Dict[str, List[str]],
        *,
        max_line: int = MAX_LINE,
        grace_seconds: float = 5.0,
        clock: Callable[[], float],
    ) -> None:
        self.globs = globs
        self.max_line = max_line
        self.grace = grace_seconds
        self.clock = clock
        self.files: Dict[str, Tracked] = {}
        self.notes: List[str] = []  # reasons of things skipped or recovered, for the caller to log
        self._buffer: Optional[bytearray] = None  # read_blocks' reused read buffer

    # -- discovery ---------------------------------------------------------------------------

    def watched_dirs(self) -> List[str]:
        """Directories that hold (or will hold) matching files: what the wake-up should watch."""
        dirs = set()
        for patterns in self.globs.values():
            for pattern in patterns:
                parent = os.path.dirname(pattern) or "."
                if glob.has_magic(parent):
                    dirs.update(d for d in glob.glob(parent) if os.path.isdir(d))
                elif os.path.isdir(parent):
                    dirs.add(parent)
        return sorted(dirs)

    def scan(self) -> Dict[str, Tuple[str, str, os.stat_result, str]]:
        """key -> (path, kind, stat, pattern) of every regular file the globs match now."""
        found: Dict[str, Tuple[str, str, os.stat_result, str]] = {}
        for kind, patterns in self.globs.items():
            for pattern in patterns:
                for path in sorted(glob.glob(pattern)):
                    try:
                        st = os.stat(path)
                    except OSError:
                        continue
                    if stat_mod.S_ISREG(st.st_mode):
                        found.setdefault(f"{st.st_dev}:{st.st_ino}", (path, kind, st, pattern))
        return found

    def open(self, path: str, kind: str, st: os.stat_result, offset: int) -> Optional[Tracked]:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError as exc:
            self.notes.append(f"{path}: cannot open: {exc.strerror}")
            return None
        fst = os.fstat(fd)
        if (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino):  # replaced between stat and open
            os.close(fd)
            return None
        key = f"{st.st_dev}:{st.st_ino}"
        tracked = Tracked(
            key=key,
            path=path,
            kind=kind,
            dev=st.st_dev,
            inode=st.st_ino,
            fd=fd,
            read_offset=offset,
            buf_start=offset,
            last_growth=self.clock(),
        )
        self.files[key] = tracked
        return tracked

    def find_inode_near(self, path: str, dev: int, inode: int) -> Optional[str]:
        """A file in ``path``'s directory that is inode ``inode`` (a rotated-away file after a restart)."""
        directory = os.path.dirname(path) or "."
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if st.st_ino == inode and st.st_dev == dev and stat_mod.S_ISREG(st.st_mode):
                        return entry.path
        except OSError:
            return None
        return None

    def find_copy(self, tracked: Tracked, offset: int, sig: str) -> Optional[str]:
        """After a copytruncate: the rotated copy (``app.log.1``, ``app.log-20240101``) holding our old content.

        Only logrotate's names for ``tracked.path`` in its own directory are candidates (no
        recursive glob), the newest ``MAX_COPY_CANDIDATES`` of them; a candidate must be at least
        ``offset`` long and its bytes before ``offset`` must hash to ``sig``. Without a signature
        (a position saved by an older version, or offset 0) nothing can be proven: None.
        """
        if not sig or offset <= 0:
            return None
        directory = os.path.dirname(tracked.path) or "."
        base = os.path.basename(tracked.path)
        candidates: List[Tuple[float, str]] = []
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    name = entry.name
                    if not (name.startswith(base) and _COPY_SUFFIX.fullmatch(name, len(base))):
                        continue
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if stat_mod.S_ISREG(st.st_mode) and st.st_ino != tracked.inode and st.st_size >= offset:
                        candidates.append((st.st_mtime, entry.path))
        except OSError:
            return None
        # Newest first: the copy just made is the newest rotated file whatever the naming scheme.
        for _mtime, path in sorted(candidates, key=lambda c: (-c[0], c[1]))[:MAX_COPY_CANDIDATES]:
            if read_signature(path, offset) == sig:
                return path
        return None

    # -- reading -----------------------------------------------------------------------------

    def read_lines(self, tracked: Tracked, max_bytes: Optional[int] = None) -> List[RawLine]:
        """Complete lines appended since the last call (bounded by ``max_bytes`` when given)."""
        lines: List[RawLine] = []
        if tracked.fd is None:
            return lines
        budget = max_bytes if max_bytes is not None else -1
        while budget != 0:
            want = CHUNK if budget < 0 else min(CHUNK, budget)
            try:
                chunk = os.pread(tracked.fd, want, tracked.read_offset)
            except OSError as exc:
                self.notes.append(f"{tracked.path}: read failed: {exc.strerror}")
                break
            if not chunk:
                break
            tracked.last_growth = self.clock()
            if budget > 0:
                budget -= len(chunk)
            self._split(tracked, chunk, lines)
        return lines

    def read_blocks(self, tracked: Tracked, max_bytes: Optional[int] = None) -> Iterator[Union[RawLine, RawBlock]]:
        """What ``read_lines`` returns, with runs of ordinary lines kept together as ``RawBlock``s.

        Same bytes, same offsets, same partial-line and long-line handling: a pending partial
        line is completed through ``_split``; a block that might hold a line longer than
        ``max_line`` is split line by line too (see ``_maybe_long_line``). A generator: the
        file is read into one reused buffer (no fresh memory per read), so each block must be
        used before the next piece is asked for.
        """
        if tracked.fd is None:
            return
        if self._buffer is None:
            self._buffer = bytearray(BLOCK)
        buffer = self._buffer
        budget = max_bytes if max_bytes is not None else -1
        while budget != 0:
            want = BLOCK if budget < 0 else min(BLOCK, budget)
            try:
                size = os.preadv(tracked.fd, [memoryview(buffer)[:want]], tracked.read_offset)
            except OSError as exc:
                self.notes.append(f"{tracked.path}: read failed: {exc.strerror}")
                break
            if not size:
                break
            tracked.last_growth = self.clock()
            if budget > 0:
                budget -= size
            yield from self._split_blocks(tracked, buffer, size)

    def _split_blocks(self, tracked: Tracked, buffer: bytearray, size: int) -> Iterator[Union[RawLine, RawBlock]]:
        base = tracked.read_offset
        pos = 0
        out: List[RawLine] = []
        if tracked.buf or tracked.discarding:  # finish the pending line first, exactly as _split does
            nl = buffer.find(b"\n", 0, size)
            self._split(tracked, bytes(buffer[: size if nl < 0 else nl + 1]), out)
            yield from out
            if nl < 0:
                return
            pos = nl + 1
        last = buffer.rfind(b"\n", pos, size)
        if last < 0 or self._maybe_long_line(buffer, pos, last + 1):
            out = []
            self._split(tracked, bytes(buffer[pos:size]), out)
            yield from out
            return
        end = last + 1
        tracked.read_offset = tracked.buf_start = base + end
        yield RawBlock(base + pos, base + end, buffer, pos)
        if end < size:  # the partial last line waits in the line buffer (copied before the next read)
            self._split(tracked, bytes(buffer[end:size]), [])

    def _maybe_long_line(self, chunk: bytearray, start: int, end: int) -> bool:
        """True when ``chunk[start:end]`` may hold a line longer than ``max_line`` (then split it line by line).

        A gap of more than ``max_line`` bytes between two newlines contains a whole window of
        ``max_line // 2`` bytes at a multiple of that stride: a window without a newline is checked.
        """
        if end - start <= self.max_line:
            return False
        stride = max(1, self.max_line // 2)
        for window in range(start, end, stride):
            if chunk.find(b"\n", window, min(window + stride, end)) < 0:
                return True
        return False

    def _split(self, tracked: Tracked, chunk: bytes, lines: List) -> None:
        base = tracked.read_offset
        tracked.read_offset += len(chunk)
        pos = 0
        while pos < len(chunk):
            nl = chunk.find(b"\n", pos)
            if nl < 0:
                self._append_partial(tracked, chunk[pos:])
                return
            piece = chunk[pos:nl]
            end = base + nl + 1
            if tracked.discarding:
                lines.append(
                    RawLine(
                        tracked.buf_start,
                        end,
                        None,
                        f"line of more than {self.max_line} bytes at offset {tracked.buf_start} skipped",
                    )
                )
                tracked.discarding = False
            elif len(tracked.buf) + len(piece) > self.max_line:
                lines.append(
                    RawLine(
                        tracked.buf_start,
                        end,
                        None,
                        f"line of more than {self.max_line} bytes at offset {tracked.buf_start} skipped",
                    )
                )
            else:
                data = bytes(tracked.buf) + piece if tracked.buf else piece
                lines.append(RawLine(tracked.buf_start, end, data))
            tracked.buf = bytearray()
            tracked.buf_start = end
            pos = nl + 1

    def _append_partial(self, tracked: Tracked, piece: bytes) -> None:
        if tracked.discarding:
            return
        if len(tracked.buf) + len(piece) > self.max_line:
            tracked.buf = bytearray()  # never hold more than max_line; the line is skipped at its newline
            tracked.discarding = True
            return
        tracked.buf += piece

    def final_line(self, tracked: Tracked) -> Optional[RawLine]:
        """The unterminated last line of a file that will not grow any more (rotated away)."""
        end = tracked.read_offset
        if tracked.discarding:
            tracked.discarding = False
            reason = f"unterminated line of more than {self.max_line} bytes skipped"
            line = RawLine(tracked.buf_start, end, None, reason)
        elif tracked.buf:
            line = RawLine(tracked.buf_start, end, bytes(tracked.buf))
        else:
            return None
        tracked.buf = bytearray()
        tracked.buf_start = end
        return line

    def reset(self, tracked: Tracked, offset: int) -> None:
        """Start reading ``tracked`` again at ``offset`` (copytruncate: 0), dropping any partial line."""
        tracked.read_offset = offset
        tracked.buf = bytearray()
        tracked.buf_start = offset
        tracked.discarding = False

    def size(self, tracked: Tracked) -> Optional[int]:
        if tracked.fd is None:
            return None
        try:
            return os.fstat(tracked.fd).st_size
        except OSError:
            return None

    def close(self, tracked: Tracked) -> None:
        if tracked.fd is not None:
            try:
                os.close(tracked.fd)
            except OSError:
                pass
            tracked.fd = None
        self.files.pop(tracked.key, None)

    def close_all(self) -> None:
        for tracked in list(self.files.values()):
            self.close(tracked)


def read_copy(path: str, start: int, max_line: int = MAX_LINE) -> Iterable[RawLine]:
    """Lines of ``path`` from byte ``start`` to its end (the copy of a copytruncated file)."""
    try:
        st = os.stat(path)
    except OSError:
        return []
    follower = Follower({}, max_line=max_line, clock=lambda: 0.0)
    tracked = follower.open(path, "copy", st, start)
    if tracked is None:
        return []
    try:
        lines = follower.read_lines(tracked)
        last = follower.final_line(tracked)
        if last is not None:
            lines.append(last)
        return lines
    finally:
        follower.close(tracked)
