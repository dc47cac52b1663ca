"""Which inodes to follow: log files named by globs, tracked by (device, inode) across rotations.

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

The follower holds no reading of lines (``reader.LineReader`` reads a ``Tracked`` inode from its
offset), no parsing and no persistence: ``files.FileSource`` builds discovery, restarts and
copytruncate recovery on it, and the cursor decides what a position means.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import re
import stat as stat_mod
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

SIG_BYTES = 4096  # how much content before an offset identifies it (hashed)
MAX_COPY_CANDIDATES = 4  # rotated copies checked after a truncation, newest first
# The names logrotate gives a copytruncate copy of ``<name>``: ``<name>.1`` (``<name>.<n>``) and,
# with ``dateext``, ``<name>-YYYYMMDD`` (``dateformat`` may add the hour or seconds).
_COPY_SUFFIX = re.compile(r"(?:\.[0-9]{1,4}|-[0-9]{8,14})\Z")


@dataclass
class Tracked:
    """One followed inode, and where reading it stands (``reader.LineReader`` moves the last four)."""

    key: str  # "dev:inode"
    path: str
    kind: str
    dev: int
    inode: int
    fd: Optional[int]
    read_offset: int  # next byte to read
    buf: bytearray = field(default_factory=bytearray)  # the partial line read so far
    buf_start: int = 0  # where that line starts: the first byte not handed over yet
    discarding: bool = False  # inside a line longer than max_line
    gone_since: Optional[float] = None  # when its path stopped naming this inode

    def signature(self, offset: int) -> str:
        """Hash of the bytes just before ``offset`` (identifies this content after a copy or inode reuse)."""
        return _signature(self.fd, offset) if self.fd is not None else ""


def _signature(fd: int, offset: int) -> str:
    if offset <= 0:
        return ""
    start = max(0, offset - SIG_BYTES)
    try:
        data = os.pread(fd, offset - start, start)
    except OSError:
        return ""
    return hashlib.blake2b(data, digest_size=16).hexdigest() if data else ""


def read_signature(path: str, offset: int) -> str:
    """``Tracked.signature`` of the file at ``path`` ("" if it cannot be read or ``offset`` is 0)."""
    if offset <= 0:
        return ""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return ""
    try:
        return _signature(fd, offset)
    finally:
        os.close(fd)


class Follower:
    """Tracks the files matching ``globs`` (kind -> patterns) by (device, inode)."""

    def __init__(self, globs: Dict[str, List[str]]) -> None:
        self.globs = globs
        self.files: Dict[str, Tracked] = {}
        self.notes: List[str] = []  # reasons of things skipped or recovered, for the caller to log

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

    def size(self, tracked: Tracked) -> Optional[int]:
        if tracked.fd is None:
            return None
        try:
            return os.fstat(tracked.fd).st_size
        except OSError:
            return None

    def close(self, tracked: Tracked) -> None:
        if tracked.fd is not None:
            with contextlib.suppress(OSError):
                os.close(tracked.fd)
            tracked.fd = None
        self.files.pop(tracked.key, None)

    def close_all(self) -> None:
        for tracked in list(self.files.values()):
            self.close(tracked)
