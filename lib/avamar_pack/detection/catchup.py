"""Catch-up at C speed: which lines of a block the engine must parse, and which it may pass over.

The sensor reads every file in big blocks (``sources/reader.py``: ``LineReader.read_blocks``),
live or with a backlog (startup with ``read_existing_logs``, a restart after downtime, a burst):
ONE path. Inside a block the engine parses a line only when passing over it could change a
result; the searches below are ``bytes.find``/``rfind`` (C loops), so a block without failures
costs a few scans.

Why passing over is exact (``BlockWalker`` at the end applies these rules):

* GSAN: ``gsan.scan_line`` reports a warning only from a record whose text holds
  ``sessionkeytable``; a line without it only moves the cursor past it.
* avtar: only a run holding an Error/FATAL record with code 5704 produces anything, and that
  record's line holds ``5704>``. When the run in progress (if any) holds no such record, and a
  line whose LAST record is an END banner lies before the next ``5704>``, then whatever the
  lines up to that END line hold, every run they touch is closed at that END line without an
  auth failure: the assembler ends with no run open and nothing was dispatched, folded or
  counted. The engine closes the open run (if any) and moves the cursor past the END line:
  the state the line-by-line path reaches, record for record, minus the work. The END line is
  recognised without a parse when it is the banner avtar writes (``----- END avtar log`` at the
  line's start, no other ``avtar`` on it: the parser's only header candidates are the places
  ``avtar`` occurs, so that line is one banner record); any other candidate line is parsed.
* avtar, appended logs (runs without END banners): a line whose FIRST record is ``Info
  <6555>``/``<5552>``/``<8474>`` and whose previous fed record (the last record of the
  nearest earlier line the line-by-line path parses) is a FATAL or an outcome (5314, 6149,
  7001) opens a new run whatever came before (``RunAssembler._starts_new_run``: the run in
  progress gave up). Same reasoning: the engine passes over to that line's start, with no run
  open, and parses from there. Looked for only over ``MIN_REOPEN_SPAN`` bytes or more: over
  fewer, parsing line by line is cheaper than the search (both are exact).
* avtar, the lines the engine does parse (from the place it stopped to the run's end): a line
  holding none of ``avtar.MATTER_NEEDLES`` feeds no record (``avtar.might_matter`` is False for
  it), so only the cursor moves past it, as on the live path; the others go through
  ``avtar.records``. The parsers' shortcuts for the common line (one standard avtar record
  alone; a GSAN record at the line's start with no ``<`` after it) give what their general
  header search gives, and the tests check that on every shape (tests/reliability).

Finding the needles is the one scan over every byte. With the optional ``hyperscan`` package
(Intel's Hyperscan: SIMD literal matching, all offsets of a 1 MiB block in one call, over a
memoryview without a copy) it runs at ~10 GB/s; without it ``bytes.find`` (~1 GB/s for the short
``5704>``) gives exactly the same lines, about a third slower overall.

Where the time goes (``python -m cProfile`` of bench/catchup.py's child, 256 MiB backlog, 1%
failing runs, 1% GSAN warnings, hyperscan): before this change the failing runs' line-by-line
parse was about two thirds of it - the reopening search repeated over the ~12 lines before every
failure (six parses each), then every line decoded and parsed through the general header search.
Now, of a time about 0.7x the old one: parsing the ~10 records of each failing run just over half,
the GSAN warning lines (each one parsed, folded or suppressed) a sixth, reading the file
(``preadv`` into the reused buffer) an eighth, the needle scan a sixteenth. bench/README.md has
the figures against grep.

Where neither shape occurs before a failure, the lines up to it are parsed one by one:
slower, the same results.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import Any, Callable, Dict, List, Optional, Protocol, Sequence, Tuple, Union

from avamar_pack.detection.cursor import Cursor, Key
from avamar_pack.detection.sources import Block, Stream
from avamar_pack.parsing import avtar
from avamar_pack.parsing.avtar_runs import RunAssembler

try:  # optional (requirements.txt): Intel's Hyperscan finds the needles at several GB/s, bytes.find at ~1
    import hyperscan
except ImportError:  # pragma: no cover - the results are the same, only slower
    hyperscan = None

AUTH_NEEDLES = (b"5704>",)  # every record with code 5704: "<5704>", "<05704>"
GSAN_NEEDLES = (b"sessionkeytable",)  # gsan.scan_line reports a warning only from a line holding it
_END = b"END avtar log"
_END_LINE = b"----- END avtar log"


PREFILTER = "hyperscan" if hyperscan is not None else "bytes.find"
Buffer = Union[bytes, bytearray]
_DATABASES: Dict[Tuple[bytes, ...], Any] = {}


def _database(needles: Tuple[bytes, ...]) -> Any:
    """A compiled Hyperscan database matching the literal needles (cached: one per needle set)."""
    database = _DATABASES.get(needles)
    if database is None:
        database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        database.compile(
            expressions=[re.escape(n) for n in needles],
            ids=list(range(len(needles))),
            elements=len(needles),
            flags=[0] * len(needles),
        )
        _DATABASES[needles] = database
    return database


class Needles:
    """The next line holding any of ``needles`` in ``data``: every hit found in one pass (Hyperscan)
    or, without it, the next hit per needle remembered (``bytes.find``); linear overall either way."""

    def __init__(
        self, data: Buffer, needles: Sequence[bytes], lo: int = 0, hi: Optional[int] = None, prefilter: str = PREFILTER
    ) -> None:
        self.data = data
        self.needles = tuple(needles)
        self.hi = len(data) if hi is None else hi
        self.at: Dict[bytes, int] = {}
        self.starts: Optional[List[int]] = None
        if prefilter == "hyperscan":
            starts: List[int] = []
            lengths = [len(n) for n in self.needles]

            def found(index: int, _start: int, end: int, _flags: int, _context: Any) -> int:
                starts.append(lo + end - lengths[index])
                return 0

            _database(self.needles).scan(memoryview(data)[lo : self.hi], match_event_handler=found)
            self.starts = sorted(starts)

    def next_line(self, pos: int) -> int:
        """Start of the first line at or after ``pos`` (a line start) that holds a needle; -1 if none."""
        if self.starts is not None:
            index = bisect_left(self.starts, pos)
            return line_start(self.data, pos, self.starts[index]) if index < len(self.starts) else -1
        best = -1
        for needle in self.needles:
            hit = self.at.get(needle, -2)
            if hit == -1:
                continue
            if hit < pos:
                hit = self.data.find(needle, pos, self.hi)
                self.at[needle] = hit
                if hit < 0:
                    continue
            if best < 0 or hit < best:
                best = hit
        if best < 0:
            return -1
        return line_start(self.data, pos, best)


def line_start(data: Buffer, floor: int, pos: int) -> int:
    """Start of the line holding ``data[pos]``, not before ``floor`` (a line start)."""
    newline = data.rfind(b"\n", floor, pos)
    return newline + 1 if newline >= 0 else floor


_OPENERS = (b"<6555>", b"<5552>", b"<8474>")
_OPENER_CODES = frozenset({avtar.CODE_INITIALIZING, avtar.CODE_CONNECTING, avtar.CODE_LOG_FILE_PATH})
_GAVE_UP_CODES = frozenset({avtar.CODE_COMMAND_DONE, avtar.CODE_ERROR_SUMMARY, avtar.CODE_EXIT_FAILURE})
MAX_LOOK_BACK = 64  # lines looked at before an opener for the record fed before it
MAX_OPENERS = 8  # openers tried, latest first, before parsing line by line instead (bounded work)
MIN_REOPEN_SPAN = 4096  # bytes (about 30 lines): below that, parsing line by line is the cheaper exact way


def last_sync(data: Buffer, start: int, limit: int) -> int:
    """The furthest offset in ``[start, limit]`` the engine may pass over to (see the module docstring); -1: none."""
    closing = last_closing_line_end(data, start, limit)
    # An END line is the cheap proof; a reopening line is looked for only in logs without one there.
    return closing if closing >= 0 else last_reopening_line_start(data, start, limit)


def _records(data: Buffer, first: int, end: int) -> list:
    """The records the line-by-line path feeds from ``data[first:end]`` (none when it skips the line)."""
    text = data[first : end - 1].decode("utf-8", "replace")
    return avtar.records(text) if avtar.might_matter(text) else []


def last_reopening_line_start(data: Buffer, start: int, limit: int) -> int:
    """Start of the last line in ``data[start:limit]`` that opens a new run whatever came before; -1 if none.

    Not looked for in fewer than ``MIN_REOPEN_SPAN`` bytes: parsing those line by line costs
    less than the search (up to ``MAX_OPENERS`` parses and their look-backs), with the same results.
    """
    if limit - start < MIN_REOPEN_SPAN:
        return -1
    pos = limit
    for _ in range(MAX_OPENERS):
        if pos <= start:
            break
        hit = max(data.rfind(needle, start, pos) for needle in _OPENERS)
        if hit < 0:
            return -1
        first = line_start(data, start, hit)
        pos = first
        records = _records(data, first, data.find(b"\n", hit) + 1)
        if not records or records[0].severity != "Info" or records[0].code not in _OPENER_CODES:
            continue
        end = first  # walk back to the record fed just before this line
        for _ in range(MAX_LOOK_BACK):
            if end <= start:
                break
            previous = line_start(data, start, end - 1)
            fed = _records(data, previous, end)
            if fed:
                last = fed[-1]
                if last.shape != "banner" and (last.severity == "FATAL" or last.code in _GAVE_UP_CODES):
                    return first
                break
            end = previous
    return -1


def last_closing_line_end(data: Buffer, start: int, limit: int) -> int:
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
        if 0 < end <= limit and _ends_with_end_banner(data, first, end):
            return end
        pos = first
    return -1


def _ends_with_end_banner(data: Buffer, first: int, end: int) -> bool:
    """The last record of the line ``data[first:end]`` is an END banner, as ``avtar.scan_line`` says.

    The banner avtar writes, ``----- END avtar log ...`` at the line's start with no other
    ``avtar`` after it, is that without the parse: the parser's only header candidates are the
    places where ``avtar`` occurs, the first one here is that banner (five dashes, a space,
    ``END ``), and none follows. Any other line is parsed.
    """
    if data.startswith(_END_LINE, first) and data.find(b"avtar", first + len(_END_LINE), end) < 0:
        return True
    records = avtar.records(data[first:end].decode("utf-8", "replace"))
    return bool(records) and records[-1].shape == "banner" and records[-1].text.startswith("END")


class StreamRuns(Protocol):
    """What the walker reads and moves of the engine's per-stream state."""

    stream: Stream
    cursor: Cursor
    assembler: RunAssembler


Feed = Callable[[Any, avtar.AvtarRecord, Key], None]  # the engine's: one record into the stream's runs
ParseLine = Callable[[Any, int, int, Optional[str]], None]  # the engine's: one line, parsed whole


class BlockWalker:
    """Walks the complete lines of a ``Block``: parses those that can matter, passes over the rest
    (the module docstring says why that is exact). ``feed`` and ``parse_line`` are the engine's."""

    def __init__(self, feed: Feed, parse_line: ParseLine) -> None:
        self.feed = feed
        self.parse_line = parse_line

    def walk(self, runs: StreamRuns, block: Block) -> None:
        data, pos = block.data, block.lo
        base, size = block.start - block.lo, block.lo + block.end - block.start  # data[pos:size]: the lines
        if runs.stream.kind == "gsan":
            self._gsan(runs, data, base, pos, size)
            return
        needles = Needles(data, AUTH_NEEDLES, pos, size)
        while pos < size:
            if not _may_pass_over(runs):  # inside a run that holds an auth failure (or a restart's first line)
                pos = self._avtar_lines(runs, data, base, pos, size, until_passable=True)
                continue
            hit = needles.next_line(pos)
            limit = size if hit < 0 else hit
            stop = last_sync(data, pos, limit)
            if stop > pos:
                _pass_over(runs, base + pos, base + stop, closes_run=True)
                pos = stop
                continue
            pos = self._avtar_lines(runs, data, base, pos, limit)  # no place to stop before the hit
            if hit >= 0:
                pos = self._avtar_lines(runs, data, base, pos, data.find(b"\n", pos) + 1)  # the line with 5704>

    def _gsan(self, runs: StreamRuns, data: bytearray, base: int, pos: int, size: int) -> None:
        """Only a line holding ``sessionkeytable`` can hold a warning: the lines between those are passed over."""
        needles = Needles(data, GSAN_NEEDLES, pos, size)
        while pos < size:
            hit = needles.next_line(pos)
            stop = size if hit < 0 else hit
            if stop > pos:
                _pass_over(runs, base + pos, base + stop, closes_run=False)
                pos = stop
            if hit >= 0:
                end = data.find(b"\n", pos) + 1
                self.parse_line(runs, base + pos, base + end, data[pos : end - 1].decode("utf-8", "replace"))
                pos = end

    def _avtar_lines(
        self, runs: StreamRuns, data: bytearray, base: int, pos: int, end: int, until_passable: bool = False
    ) -> int:
        """The avtar lines of ``data[pos:end]`` one by one, as the engine's ``_line`` parses them; returns
        where it stopped. ``until_passable``: stop after the first line past which ``walk`` may pass over
        again. A line without any of ``avtar.MATTER_NEEDLES`` feeds no record (``might_matter``): for it
        only the cursor moves, as in ``_line``."""
        cursor, assembler, might_matter, feed = runs.cursor, runs.assembler, avtar.might_matter, self.feed
        while pos < end:
            nl = data.find(b"\n", pos) + 1
            text = data[pos : nl - 1].decode("utf-8", "replace")
            start = base + pos
            skip = cursor.skip_in_line(start)
            if might_matter(text):
                for idx, record in enumerate(avtar.records(text)):
                    if idx >= skip:
                        feed(runs, record, (start, idx))
            cursor.line_done(base + nl)
            pos = nl
            if until_passable and cursor.resume is None and not cursor.resume_counted:
                if not assembler.open_run_has_auth_failure:  # _may_pass_over, inlined: this loop is hot
                    break
        return pos


def _may_pass_over(runs: StreamRuns) -> bool:
    cursor = runs.cursor
    return not runs.assembler.open_run_has_auth_failure and cursor.resume is None and not cursor.resume_counted


def _pass_over(runs: StreamRuns, start: int, end: int, closes_run: bool) -> None:
    """Lines ``[start, end)`` that hold nothing to report; for avtar no run is open after them
    (``last_sync``: they end with an END line, or a new run opens right after)."""
    cursor = runs.cursor
    cursor.skip_in_line(start)
    if closes_run and runs.assembler.has_open_run:
        runs.assembler.discard()  # a run without an auth failure, ended by that END banner: nothing to report
        cursor.run_closed()
    cursor.line_done(end)
