"""Where a stream is: the one place that decides what "seen", "dispatched" and "safe to skip" mean.

A stream (a followed file, a Salt minion's log) is a sequence of RECORDS, each named by a
``Key = (line start offset, index of the record in that line)``: pasted avtar logs run several
records together on one physical line, so a line offset alone cannot name a position.

A ``Cursor`` holds, per stream:

* ``committed``: the first record NOT yet accounted for. Every record before it is reflected in
  the folding state saved with it (one datastore write holds both, see ``positions``). It never
  passes the first record of an avtar run that is still open: a run spans many lines and must be
  re-read whole after a restart;
* ``committed_counted``: the open run starting at ``committed`` was already COUNTED (a snapshot
  taken at end of input, see ``RunAssembler.flush``), so re-reading it must not count it again;
* ``open_start`` / ``open_counted``: the first record of the run in progress, and whether it was
  counted;
* ``resume`` / ``resume_counted``: after a restart, the records of the line at ``committed`` that
  were already accounted for, and whether the first run re-read from there was counted.

The transitions are pure (no I/O) and are called by the engine in the order the records are
read: ``skip_in_line`` (restart inside a line), ``record_fed`` (after a record went into the run
assembler), ``warning_fed`` (a GSAN warning, which is its own unit), ``line_done``,
``snapshot_counted`` and ``truncated`` (the content before the position is gone).

None lost, none twice (the exact argument)
------------------------------------------
The engine saves ``committed`` (with ``committed_counted``), the folding state and the warning
suppression in ONE datastore value, always AFTER a dispatch, and at the end of a pass when
anything changed. Order of operations for each record: it is fed; the cursor moves; the run it
completed (if any) is folded or produces a payload; a payload is DISPATCHED and only then SAVED.
A kill -9 at any point restarts from the last saved value, which always says "everything before
``committed`` is reflected in this folding state":

* killed before the save that follows a fold: the folded runs lie at or after the saved
  ``committed`` -> re-read and folded again into the restored folding state, which did not hold
  them -> counted once (nothing was dispatched for them yet);
* killed after a dispatch and its save: ``committed`` is past the run, or at its start with
  ``committed_counted`` -> not re-read, or re-read and not counted -> not sent again;
* killed between a dispatch and its save (two consecutive calls, no I/O of ours between them):
  the run is re-read and dispatched again. This one window is at-least-once; closing it needs a
  transactional dispatch, and saving before dispatching would make it at-most-once (a lost
  trigger), which is worse for an outage. The workflow converges anyway (a second run finds
  ``in_sync``).

A GSAN warning is its own unit: ``warning_fed`` moves ``committed`` past it BEFORE its dispatch
(and save), so the same three cases hold with the warning in place of the run.

Truncation (copytruncate) is the file source's business: it first hands over the rotated copy's
tail (same keys as the original content), then ``StreamReset``; ``truncated`` then restarts the
cursor at record (0, 0) of the new content. Salt streams use a cursor too (for the open-run
bookkeeping) but are never saved: salt-api's event stream cannot be replayed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

Key = Tuple[int, int]  # (line start offset, record index in the line)


@dataclass
class Cursor:
    committed: Key = (0, 0)
    committed_counted: bool = False
    open_start: Optional[Key] = None
    open_counted: bool = False
    resume: Optional[Key] = None
    resume_counted: bool = False

    @classmethod
    def at(cls, offset: int) -> Cursor:
        """A stream read from byte ``offset`` (a line start) with nothing accounted for after it."""
        return cls(committed=(offset, 0))

    @classmethod
    def restored(cls, offset: int, skip: int, counted: bool) -> Cursor:
        """A stream resumed from a saved position (``skip`` records of that line already accounted for)."""
        return cls(
            committed=(offset, skip),
            committed_counted=counted,
            resume=(offset, skip) if skip else None,
            resume_counted=counted,
        )

    def skip_in_line(self, line_start: int) -> int:
        """How many records of the line starting at ``line_start`` to skip (only the first line after a restart)."""
        skip = self.resume[1] if self.resume is not None and self.resume[0] == line_start else 0
        self.resume = None
        return skip

    def record_fed(self, key: Key, opened_run: bool, run_open: bool) -> Tuple[bool, bool]:
        """The record at ``key`` went into the run assembler.

        ``opened_run``: it opened a new run; ``run_open``: a run is open after it. Returns the
        counted flags of (the run that was open before this record, the run this record opened):
        the engine passes them with the runs the record completed.
        """
        before = self.open_counted
        opened = False
        if opened_run:
            opened = self.resume_counted  # after a restart: the run at the saved position was counted
            self.open_start, self.open_counted = key, opened
        self.resume_counted = False
        if not run_open:
            self.open_start, self.open_counted = None, False
        if self.open_start is not None:
            self.committed, self.committed_counted = self.open_start, self.open_counted
        else:
            self.committed, self.committed_counted = (key[0], key[1] + 1), False
        return before, opened

    def warning_fed(self, key: Key) -> None:
        """A GSAN warning at ``key`` is about to be dispatched: it is accounted for from now on."""
        self.committed, self.committed_counted = (key[0], key[1] + 1), False

    def line_done(self, end: int) -> None:
        """The line ending at byte ``end`` is processed: past it, unless a run is still open."""
        if self.open_start is None:
            self.committed, self.committed_counted = (end, 0), False

    def snapshot_counted(self) -> bool:
        """The open run was counted from a snapshot; returns whether it had been counted before."""
        before = self.open_counted
        self.open_counted = True
        if self.open_start == self.committed:
            self.committed_counted = True
        return before

    def run_closed(self) -> None:
        """The open run ended with its input (end of stream, truncation): nothing is open any more."""
        self.open_start, self.open_counted = None, False

    def truncated(self) -> None:
        """The content before the position is gone (copytruncate): start at record (0, 0) of the new content."""
        self.committed, self.committed_counted = (0, 0), False
        self.open_start, self.open_counted = None, False
        self.resume, self.resume_counted = None, False
