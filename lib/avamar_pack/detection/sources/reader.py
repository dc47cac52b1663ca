"""Complete lines of a followed inode, read in big blocks: the bytes the detection engine sees.

``follower`` decides WHICH inode is read and from where; this module reads it:

* Partial lines wait in the inode's line buffer (``Tracked.buf``) for their newline; a line
  longer than ``max_line`` bytes is skipped whole, with a reason, and never held in memory
  beyond ``max_line``.
* ``RawLine.start``/``RawLine.end`` and ``RawBlock.start``/``RawBlock.end`` are byte offsets in
  the inode, so the caller can store a position that points exactly at a line start.
* ``read_blocks`` reads ``BLOCK`` bytes at a time into ONE reused buffer (``os.preadv``: no fresh
  memory per read) and hands the complete lines of each read over as one ``RawBlock``, so that a
  backlog is searched at C speed (``detection/catchup.py``); what cannot go in a block (the end of
  a line started in the previous read, a possible over-long line) comes as ``RawLine``s.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator, List, Optional, Union

from avamar_pack.detection.sources.follower import Follower, Tracked

BLOCK = 1024 * 1024  # bytes per read: a backlog is searched at C speed, and a block still fits the CPU caches
MAX_LINE = 256 * 1024


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
    skipped ``RawLine`` instead). ``data`` is the reader's buffer: valid only until the next
    piece is asked for."""

    start: int
    end: int
    data: bytearray
    lo: int

    def lines(self) -> List[RawLine]:
        """The block's lines, copied out of the buffer (for a consumer that keeps them)."""
        out: List[RawLine] = []
        pos, stop = self.lo, self.lo + self.end - self.start
        while pos < stop:
            nl = self.data.find(b"\n", pos, stop) + 1
            out.append(RawLine(self.start + pos - self.lo, self.start + nl - self.lo, bytes(self.data[pos : nl - 1])))
            pos = nl
        return out


Piece = Union[RawLine, RawBlock]


class LineReader:
    """Reads the complete lines of ``Tracked`` inodes (their read offset and partial line live on them)."""

    def __init__(self, *, max_line: int = MAX_LINE) -> None:
        self.max_line = max_line
        self.notes: List[str] = []  # read failures, for the caller to log
        self._buffer: Optional[bytearray] = None

    def read_blocks(self, tracked: Tracked, max_bytes: Optional[int] = None) -> Iterator[Piece]:
        """The complete lines appended since the last call (bounded by ``max_bytes`` when given).

        Runs of ordinary lines come as ``RawBlock``s; a pending partial line is completed through
        ``_split``, and a read that might hold a line longer than ``max_line`` is split line by
        line (see ``_maybe_long_line``). A generator over one reused buffer: each block must be
        used before the next piece is asked for.
        """
        if tracked.fd is None:
            return
        if self._buffer is None or len(self._buffer) != BLOCK:
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
            if budget > 0:
                budget -= size
            yield from self._split_blocks(tracked, buffer, size)

    def _split_blocks(self, tracked: Tracked, buffer: bytearray, size: int) -> Iterator[Piece]:
        base = tracked.read_offset
        pos = 0
        out: List[RawLine] = []
        if tracked.buf or tracked.discarding:  # finish the pending line first
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

    def _split(self, tracked: Tracked, chunk: bytes, lines: List[RawLine]) -> None:
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
            if tracked.discarding or len(tracked.buf) + len(piece) > self.max_line:
                reason = f"line of more than {self.max_line} bytes at offset {tracked.buf_start} skipped"
                lines.append(RawLine(tracked.buf_start, end, None, reason))
                tracked.discarding = False
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


def read_copy(path: str, start: int, max_line: int = MAX_LINE) -> List[RawLine]:
    """Lines of ``path`` from byte ``start`` to its end (the copy of a copytruncated file)."""
    try:
        st = os.stat(path)
    except OSError:
        return []
    follower = Follower({})
    tracked = follower.open(path, "copy", st, start)
    if tracked is None:
        return []
    reader = LineReader(max_line=max_line)
    try:
        lines: List[RawLine] = []
        for piece in reader.read_blocks(tracked):
            lines.extend(piece.lines() if isinstance(piece, RawBlock) else [piece])
        last = reader.final_line(tracked)
        if last is not None:
            lines.append(last)
        return lines
    finally:
        follower.close(tracked)
