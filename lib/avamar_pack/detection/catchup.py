"""Catch-up at C speed: which lines of a block the engine must parse, and which it may pass over.

The sensor reads every file in big blocks (``follower.read_blocks``), live or with a backlog
(startup with ``read_existing_logs``, a restart after downtime, a burst): ONE path. Inside a
block the engine parses a line only when passing over it could change a result; the searches
below are ``bytes.find``/``rfind`` (C loops), so a block without failures costs a few scans.

Why passing over is exact (the engine's ``_block`` applies these rules):

* GSAN: ``gsan.scan_line`` reports a warning only from a record whose text holds
  ``sessionkeytable``; a line without it only moves the cursor past it.
* avtar: only a run holding an Error/FATAL record with code 5704 produces anything, and that
  record's line holds ``5704>``. When the run in progress (if any) holds no such record, and a
  line whose LAST record is an END banner lies before the next ``5704>``, then whatever the
  lines up to that END line hold, every run they touch is closed at that END line without an
  auth failure: the assembler ends with no run open and nothing was dispatched, folded or
  counted. The engine closes the open run (if any) and moves the cursor past the END line:
  the state the line-by-line path reaches, record for record, minus the work.

Where a log has no END banners (an appended ``avtar.log`` whose runs die without one) there is
nothing to pass over to, and the block is parsed line by line: slower, the same results.
"""

from __future__ import annotations

from typing import Dict, Sequence

from avamar_pack.parsing import avtar

AUTH_NEEDLES = (b"5704>",)  # every record with code 5704: "<5704>", "<05704>"
GSAN_NEEDLES = (b"sessionkeytable",)  # gsan.scan_line reports a warning only from a line holding it
_END = b"END avtar log"


class Needles:
    """The next line holding any of ``needles`` in ``data``, remembered per needle (linear overall)."""

    def __init__(self, data: bytes, needles: Sequence[bytes]) -> None:
        self.data = data
        self.needles = tuple(needles)
        self.at: Dict[bytes, int] = {}

    def next_line(self, pos: int) -> int:
        """Start of the first line at or after ``pos`` (a line start) that holds a needle; -1 if none."""
        best = -1
        for needle in self.needles:
            hit = self.at.get(needle, -2)
            if hit == -1:
                continue
            if hit < pos:
                hit = self.data.find(needle, pos)
                self.at[needle] = hit
                if hit < 0:
                    continue
            if best < 0 or hit < best:
                best = hit
        if best < 0:
            return -1
        return line_start(self.data, pos, best)


def line_start(data: bytes, floor: int, pos: int) -> int:
    """Start of the line holding ``data[pos]``, not before ``floor`` (a line start)."""
    newline = data.rfind(b"\n", floor, pos)
    return newline + 1 if newline >= 0 else floor


def last_closing_line_end(data: bytes, start: int, limit: int) -> int:
    """End of the last line in ``data[start:limit]`` whose last record is an END banner; -1 if none.

    ``start`` and ``limit`` are line starts. The line is checked with ``avtar.scan_line``, the
    parser the line-by-line path uses: a banner followed by more records on the same line
    (pasted logs) opens a new run and is no place to stop.
    """
    pos = limit
    while pos > start:
        hit = data.rfind(_END, start, pos)
        if hit < 0:
            return -1
        first = line_start(data, start, hit)
        end = data.find(b"\n", hit) + 1
        if 0 < end <= limit:
            records = avtar.scan_line(data[first:end].decode("utf-8", "replace")).records
            if records and records[-1].shape == "banner" and records[-1].text.startswith("END"):
                return end
        pos = first
    return -1
