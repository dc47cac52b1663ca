"""Sources of log lines: they read and say where they are; they know nothing of runs, servers or triggers.

Every source has the same shape (``Source``): ``pull()`` yields, in stream order,

* ``Line(stream, start, end, text, reason)``: one complete line of a stream (``text`` None when
  the line was skipped, ``reason`` says why); ``start``/``end`` are the positions before and
  after it (byte offsets for files, event numbers for Salt), what a ``Cursor`` stores;
* ``Block(stream, start, end, data, lo)``: complete lines ``[start, end)`` (files) at
  ``data[lo:lo + end - start]``, each newline-terminated and at most the source's ``max_line``
  bytes: what ``Line`` items would carry, kept together so that the consumer can search a
  backlog at C speed. ``data`` is the source's read buffer: use it before pulling the next item;
* ``StreamOpened(stream, offset, skip, counted)``: a stream the consumer has not seen is read
  from ``offset`` (with ``skip``/``counted`` restored from a saved position, else 0/False);
* ``CaughtUp(stream)``: the stream was read to its current end (not cut by ``max_bytes``): a
  run there that settled may be acted on now, before other streams are read;
* ``StreamReset(stream)``: the content ended and a new one starts at 0 (copytruncate): act on
  what was read, then start afresh;
* ``StreamEnded(stream)``: nothing more will come (rotated away, a complete Salt excerpt);
* ``Note(text)``: something skipped or recovered, for the consumer to log.

A consumer iterates ``pull()`` to the end; it may call ``checkpoint(stream, ...)`` while a pull
is suspended at an item (a save after a dispatch), and the answer refers to the content that
item came from. ``Stream`` objects belong to their source: consumers read them, never write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, List, Optional, Protocol, Union

from avamar_pack.detection.positions import FilePosition


@dataclass
class Stream:
    """What a source says about one stream; the source updates it (a renamed file's ``label``)."""

    key: str  # unique per source and stream: "dev:inode", "salt:<minion>|<log>"
    kind: str  # "avtar" | "gsan" | "mixed" (a Salt excerpt may hold both)
    label: str  # the log file as users know it: a path, "salt://<minion>/<path>"
    source: str  # "file" | "salt" | "mcs": the trigger payloads' ``source``
    pattern: str = ""  # the configured glob that matched (files), for per-server path mapping
    origin: str = ""  # who sent it: the master-verified minion id (Salt), "" for files
    notes: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class Line:
    stream: Stream
    start: int
    end: int
    text: Optional[str]
    reason: str = ""


@dataclass(frozen=True)
class Block:
    stream: Stream
    start: int
    end: int
    data: bytearray
    lo: int = 0

    @property
    def text(self) -> bytes:
        """A copy of the block's lines (for a consumer that keeps them)."""
        return bytes(self.data[self.lo : self.lo + self.end - self.start])


@dataclass(frozen=True)
class StreamOpened:
    stream: Stream
    offset: int
    skip: int = 0
    counted: bool = False


@dataclass(frozen=True)
class _StreamEvent:
    stream: Stream


class CaughtUp(_StreamEvent):
    """The stream was read to its current end."""


class StreamReset(_StreamEvent):
    """The stream's content ended; a new one starts at 0."""


class StreamEnded(_StreamEvent):
    """Nothing more will come from the stream."""


@dataclass(frozen=True)
class Note:
    text: str


Item = Union[Line, Block, StreamOpened, CaughtUp, StreamReset, StreamEnded, Note]


class Source(Protocol):
    """The interface every source implements (files, Salt, the server poller)."""

    def pull(self, max_bytes: Optional[int] = None) -> Iterator[Item]:
        """Everything new since the last pull, in stream order (bounded per stream by ``max_bytes``)."""
        ...

    @property
    def backlog(self) -> bool:
        """True when the last pull stopped at ``max_bytes`` with more to read."""
        ...

    @property
    def resumable(self) -> bool:
        """True when ``checkpoint`` gives positions a restart resumes from (files); False for Salt."""
        ...

    def checkpoint(self, stream: Stream, offset: int, skip: int, counted: bool) -> Optional[FilePosition]:
        """A durable position for ``stream`` (None: the stream cannot be resumed, e.g. Salt)."""
        ...

    def forget(self, stream: Stream) -> None:
        """The consumer dropped a quiet stream that cannot be resumed; a later line opens it afresh."""
        ...

    def close(self) -> None: ...
