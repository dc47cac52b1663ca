"""The file source: log files named by globs, followed by inode, resumed after restarts, rotation recovered.

Built on ``follower`` (which inodes: by device and inode, across rotations) and ``reader`` (their
complete lines, in blocks). This module adds what needs memory across passes and restarts:

* discovery: the globs are re-evaluated on every pull; a file first seen since the last saved
  state is new on disk and read from byte 0, unless its glob itself is new to the sensor (the
  very first start, or a glob added to the config): then, like ``tail -F``, only new lines
  (``sensor.read_existing_logs`` reads those from 0 too);
* restart: a saved position (device, inode, offset, signature) is resumed where it points; a
  saved inode that no glob names any more was rotated away while the sensor was down: it is
  found again in its directory by inode and read to its end;
* copytruncate, while running or while down: the size dropped below what was read, or the bytes
  before it changed (the saved signature does not match). The rotated copy whose bytes before
  the offset match the signature is read from that offset to its end first, then
  ``StreamReset``, then the file from 0. A checkpoint taken meanwhile stores the signature of
  the content the position refers to (the saved one before recovery, the copy's while reading
  it), so a kill during the recovery repeats it.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional

from avamar_pack.detection.positions import FilePosition
from avamar_pack.detection.sources import (
    Block,
    CaughtUp,
    Item,
    Line,
    Note,
    Stream,
    StreamEnded,
    StreamOpened,
    StreamReset,
)
from avamar_pack.detection.sources.follower import Follower, Tracked, read_signature
from avamar_pack.detection.sources.reader import MAX_LINE, LineReader, RawBlock, RawLine, read_copy


class _Followed:
    """One followed inode and what recovery needs to know about the bytes before its position."""

    def __init__(self, tracked: Tracked, stream: Stream) -> None:
        self.tracked = tracked
        self.stream = stream
        self.sig = tracked.signature(tracked.buf_start)  # of the bytes before buf_start
        self.pending_sig: Optional[str] = None  # restored position found truncated, not recovered yet
        self.copy_path: Optional[str] = None  # reading the rotated copy (offsets are the copy's)


class FileSource:
    """Lines of the files matching ``globs`` (kind -> patterns); see the module docstring."""

    def __init__(
        self,
        globs: Dict[str, List[str]],
        saved: Mapping[str, FilePosition],
        known_patterns: Iterable[str],
        *,
        from_beginning: bool = False,
        max_line: int = MAX_LINE,
        clock: Callable[[], float] = time.time,
        logger: Optional[Any] = None,
        grace_seconds: float = 5.0,
    ) -> None:
        self.follower = Follower(globs)
        self.reader = LineReader(max_line=max_line)
        self.clock = clock
        self.grace = grace_seconds  # how long a rotated-away file is still read (its writer may hold it open)
        self.saved: Dict[str, FilePosition] = dict(saved)
        self.known_patterns = set(known_patterns)
        self.from_beginning = from_beginning
        self.log = logger or logging.getLogger(__name__)
        self.followed: Dict[str, _Followed] = {}
        self.started = False
        self._backlog = False

    @property
    def backlog(self) -> bool:
        return self._backlog

    @property
    def resumable(self) -> bool:
        return True

    def forget(self, stream: Stream) -> None:
        """Files are forgotten only when they end (``StreamEnded``)."""

    def watched_dirs(self) -> List[str]:
        return self.follower.watched_dirs()

    def patterns(self) -> List[str]:
        """The globs to save with the positions (none before the first discovery)."""
        return sorted(self.known_patterns) if self.started else []

    # -- pulling -----------------------------------------------------------------------------

    def pull(self, max_bytes: Optional[int] = None) -> Iterator[Item]:
        self._backlog = False
        yield from self._discover(self.clock())
        for key in sorted(self.followed):
            followed = self.followed.get(key)
            if followed is not None:
                yield from self._read(followed, max_bytes)
        notes, self.follower.notes, self.reader.notes = self.follower.notes + self.reader.notes, [], []
        for note in notes:
            yield Note(note)

    def checkpoint(self, stream: Stream, offset: int, skip: int, counted: bool) -> Optional[FilePosition]:
        followed = self.followed.get(stream.key)
        if followed is None:
            return None
        tracked = followed.tracked
        if followed.pending_sig is not None:
            sig = followed.pending_sig
        elif followed.copy_path is not None:
            sig = read_signature(followed.copy_path, offset)
        else:
            sig = tracked.signature(offset)
        return FilePosition(
            path=tracked.path,
            kind=tracked.kind,
            dev=tracked.dev,
            inode=tracked.inode,
            offset=offset,
            skip=skip,
            counted=counted,
            sig=sig,
        )

    def close(self) -> None:
        self.follower.close_all()
        self.followed.clear()

    # -- discovery ---------------------------------------------------------------------------

    def _discover(self, now: float) -> Iterator[Item]:
        found = self.follower.scan()
        for key, (path, kind, st, pattern) in found.items():
            followed = self.followed.get(key)
            if followed is not None:  # renamed to another matching name: the same file
                followed.tracked.path = followed.stream.label = path
                followed.tracked.gone_since = None
                continue
            saved = self.saved.pop(key, None)
            if saved is not None and saved.kind == kind:
                tracked = self.follower.open(path, kind, st, saved.offset)
                if tracked is None:
                    continue
                followed = self._add(tracked, pattern)
                if st.st_size < saved.offset or (saved.sig and tracked.signature(saved.offset) != saved.sig):
                    # Truncated while we were down (copytruncate; or the inode was reused): the first
                    # read recovers as when it happens while we run. Until then a checkpoint keeps the
                    # saved signature, not a hash of the new content.
                    followed.sig = followed.pending_sig = saved.sig
                yield StreamOpened(followed.stream, saved.offset, saved.skip, saved.counted)
                continue
            if saved is not None:
                yield Note(f"{path}: was followed as {saved.kind}, now matches the {kind} globs: read from 0")
                start = 0
            elif not self.from_beginning and pattern not in self.known_patterns:
                start = last_line_start(path, st.st_size)  # first start or a new glob: only new lines
            else:
                start = 0  # appeared since the last saved state: all of it is new
            tracked = self.follower.open(path, kind, st, start)
            if tracked is not None:
                yield StreamOpened(self._add(tracked, pattern).stream, start)
        if not self.started:
            yield from self._resume_rotated_away(now)
            self.started = True
            self.known_patterns = {p for patterns in self.follower.globs.values() for p in patterns}
        for key, followed in self.followed.items():
            if key not in found and followed.tracked.gone_since is None:
                followed.tracked.gone_since = now

    def _resume_rotated_away(self, now: float) -> Iterator[Item]:
        """Saved inodes no glob names any more: rotated away while we were down. Finish them."""
        for saved in list(self.saved.values()):
            other = self.follower.find_inode_near(saved.path, saved.dev, saved.inode)
            st = None
            if other is not None:
                try:
                    st = os.stat(other)
                except OSError:
                    st = None
            if st is not None and st.st_size >= saved.offset:
                tracked = self.follower.open(other, saved.kind, st, saved.offset)
                if tracked is not None:
                    tracked.gone_since = now
                    yield StreamOpened(self._add(tracked, "").stream, saved.offset, saved.skip, saved.counted)
                    continue
            yield Note(f"{saved.path}: saved inode {saved.inode} is gone: position dropped")
        self.saved.clear()

    def _add(self, tracked: Tracked, pattern: str) -> _Followed:
        stream = Stream(key=tracked.key, kind=tracked.kind, label=tracked.path, source="file", pattern=pattern)
        followed = _Followed(tracked, stream)
        self.followed[tracked.key] = followed
        return followed

    # -- reading -----------------------------------------------------------------------------

    def _read(self, followed: _Followed, max_bytes: Optional[int]) -> Iterator[Item]:
        tracked = followed.tracked
        size = self.follower.size(tracked)
        if followed.pending_sig is not None or (
            size is not None
            and (size < tracked.read_offset or (followed.sig and tracked.signature(tracked.buf_start) != followed.sig))
        ):
            # Shorter than what we read, or the bytes before our offset changed: copytruncate.
            yield from self._truncated(followed)
        got = False
        for raw in self.reader.read_blocks(tracked, max_bytes):
            got = True
            if isinstance(raw, RawBlock):
                yield Block(followed.stream, raw.start, raw.end, raw.data, raw.lo)
            else:
                yield _line(followed.stream, raw)
        cut = max_bytes is not None and size is not None and tracked.read_offset < size
        if cut:
            self._backlog = True  # more to read: the next pass comes at once
        elif got:
            yield CaughtUp(followed.stream)
        followed.sig = tracked.signature(tracked.buf_start)
        if tracked.gone_since is not None and not got and self.clock() - tracked.gone_since >= self.grace:
            yield from self._finish(followed)

    def _truncated(self, followed: _Followed) -> Iterator[Item]:
        tracked = followed.tracked
        offset = tracked.buf_start
        followed.pending_sig = None
        copy = self.follower.find_copy(tracked, offset, followed.sig)
        if copy is not None:
            yield Note(f"{tracked.path}: copytruncate: read {copy} from offset {offset} first")
            followed.copy_path = copy  # same stream and label: offsets are the copy's until the reset
            for raw in read_copy(copy, offset, self.reader.max_line):
                yield _line(followed.stream, raw)
        else:
            unread = tracked.read_offset - offset
            self.log.warning(
                "%s: truncated or replaced below offset %d and no rotated copy (name.1, name.<n>, name-YYYYMMDD; "
                ".gz not read) holds the old content: the bytes written after byte %d of the old content "
                "(at least %d, the total is unknown) may be lost; reading it from 0",
                tracked.path,
                offset,
                offset,
                unread,
            )
            yield Note(f"{tracked.path}: truncated below offset {offset}, no rotated copy found: read from 0")
        yield StreamReset(followed.stream)  # the run in progress ends with the old content
        followed.copy_path = None
        self.reader.reset(tracked, 0)

    def _finish(self, followed: _Followed) -> Iterator[Item]:
        """A rotated-away file that stopped growing: last line, end of stream, then forget it."""
        last = self.reader.final_line(followed.tracked)
        if last is not None:
            yield _line(followed.stream, last)
        yield StreamEnded(followed.stream)
        self.follower.close(followed.tracked)
        self.followed.pop(followed.tracked.key, None)


def _line(stream: Stream, raw: RawLine) -> Line:
    text = raw.data.decode("utf-8", "replace") if raw.data is not None else None
    return Line(stream, raw.start, raw.end, text, raw.reason)


def last_line_start(path: str, size: int) -> int:
    """Offset just after the last newline before ``size`` (so we never start mid-line)."""
    if size <= 0:
        return 0
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return size
    try:
        pos = size
        while pos > 0:
            start = max(0, pos - 65536)
            chunk = os.pread(fd, pos - start, start)
            nl = chunk.rfind(b"\n")
            if nl >= 0:
                return start + nl + 1
            pos = start
            if size - pos > MAX_LINE:
                return size  # no newline near the end: a huge line; start after it
        return 0
    finally:
        os.close(fd)
