"""``scan_file(path)``: what the sensor would find in a whole file, at close to ``grep`` speed.

For the benchmark (compared with ``grep -c -E``) and for one-off checks of a log. The parsing
is the sensor's (``avtar.might_matter`` -> ``avtar.scan_line`` -> ``RunAssembler``;
``gsan.scan_line``); what differs is which lines get parsed. The result - every auth-failure
run (equal field by field except ``seq``), every ticket warning, and the counts - is exactly
what ``scan_file_lines`` (every line through the sensor's parsers) finds; tests prove it.

How: the file is read in ``CHUNK`` blocks into one reused buffer, and only C loops look at
every byte (``bytearray.count`` for the line count, ``bytearray.find`` for three needles every
finding holds; no per-line Python):

* a run is an auth failure only through a record with code 5704 (its header holds ``5704>``,
  leading zeros included) or text with ``MSG_ERR_AUTH_FAIL`` (``RunAssembler``'s rule);
* a ticket warning needs ``sessionkeytable`` in its line (``gsan.scan_line``'s rule).

For an auth-failure line the run around it must be parsed as the sensor would. Runs are
delimited by records whose lines hold ``8474>`` or ``avtar log``, so from the failure line the
scanner walks back over those lines only, to the nearest point where the assembler's state is
known without the lines before it (a *sync point*, see ``_find_sync``), parses from there with
a fresh ``RunAssembler`` through the failure line, and on until the run is closed. Between
failures nothing is parsed. A file without sync points costs a per-line parse, like the sensor.

Memory is bounded: one buffer of ``CHUNK`` plus ``max_line`` bytes; lines longer than
``max_line`` bytes are skipped, as the follower does. When the sync point of a failure lies
before the buffer (a run longer than a block), those lines are read again with ``os.pread``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

from avamar_pack.detection.follower import MAX_LINE
from avamar_pack.failures import AvtarRun, RunAssembler
from avamar_pack.parsing import avtar, gsan

CHUNK = 8 * 1024 * 1024  # big blocks: the needle searches run at memchr/two-way speed

_AUTH_NEEDLES = (b"MSG_ERR_AUTH_FAIL", b"5704>")
_SYNC_NEEDLES = (b"8474>", b"avtar log")  # every 8474 record's line and every banner's line
_GSAN_NEEDLE = gsan.BLOCK_NEEDLE.encode("ascii")

RunHook = Callable[[AvtarRun], None]
WarningHook = Callable[[gsan.TicketWarning], None]


@dataclass
class ScanCounts:
    bytes: int = 0
    lines: int = 0  # newline-terminated lines, plus an unterminated last one of at most max_line bytes
    runs: int = 0  # runs reported: the runs with an auth failure (5704 / MSG_ERR_AUTH_FAIL)
    auth_failures: int = 0  # what the sensor dispatches or folds; equals ``runs``
    ticket_warnings: int = 0  # GSAN sessionkeytable warnings
    skipped_long_lines: int = 0
    failures_by_server: Dict[str, int] = field(default_factory=dict)  # run.server (None as "") -> runs
    warnings_by_code: Dict[int, int] = field(default_factory=dict)  # 1479/1418/1426 -> warnings
    #: Work, not findings: lines handed to the parsers (depends on CHUNK, so not in ``as_dict``).
    parsed_lines: int = field(default=0, compare=False)

    def as_dict(self) -> Dict[str, Any]:
        """The findings (everything but ``parsed_lines``), JSON-ready."""
        out: Dict[str, Any] = {}
        for item in fields(self):
            if item.compare:
                value = getattr(self, item.name)
                out[item.name] = dict(value) if isinstance(value, dict) else value
        return out


class _Findings:
    """Counting and hooks shared by the fast scanner and the line-by-line reference."""

    def __init__(self, path: str, client: Optional[str], on_run: Optional[RunHook],
                 on_warning: Optional[WarningHook]) -> None:
        self.path = path
        self.client = client
        self.counts = ScanCounts()
        self.on_run = on_run
        self.on_warning = on_warning

    def assembler(self) -> RunAssembler:
        return RunAssembler(log_file=self.path, client=self.client)

    def runs(self, runs: List[AvtarRun]) -> None:
        for run in runs:
            if run.auth_failure:
                counts = self.counts
                counts.runs += 1
                counts.auth_failures += 1
                server = run.server or ""
                counts.failures_by_server[server] = counts.failures_by_server.get(server, 0) + 1
                if self.on_run is not None:
                    self.on_run(run)

    def gsan_line(self, raw: bytes) -> None:
        """One GSAN line as the sensor parses it (``raw`` without its newline, at most max_line bytes)."""
        self.counts.parsed_lines += 1
        for warning in gsan.scan_line(raw.decode("utf-8", "replace")):
            counts = self.counts
            counts.ticket_warnings += 1
            counts.warnings_by_code[warning.code] = counts.warnings_by_code.get(warning.code, 0) + 1
            if self.on_warning is not None:
                self.on_warning(warning)


def _avtar_records(raw: bytes) -> List[avtar.AvtarRecord]:
    """The records the sensor takes from one line (``raw`` without its newline, at most max_line bytes)."""
    text = raw.decode("utf-8", "replace")
    if not avtar.might_matter(text):
        return []
    return avtar.scan_line(text).records


class _FastScanner(_Findings):
    """State of one ``scan_file`` pass; offsets named ``*_at`` are absolute, the rest index ``buf``."""

    def __init__(self, path: str, fd: int, max_line: int, client: Optional[str], do_avtar: bool, do_gsan: bool,
                 on_run: Optional[RunHook], on_warning: Optional[WarningHook]) -> None:
        super().__init__(path, client, on_run, on_warning)
        self.fd = fd
        self.max_line = max_line
        self.do_avtar = do_avtar
        self.do_gsan = do_gsan
        # Where avtar parsing would resume: a line start and the records of that line to skip. With
        # ``asm`` set, its state is exactly the sensor's after every record before that point; with
        # ``asm`` None, the point is a sync point (a fresh assembler there is exact).
        self.resume_at = 0
        self.resume_skip = 0
        self.asm: Optional[RunAssembler] = None
        self.pending = False  # asm holds an open auth-failure run: parse on in the next block

    # -- feeding -----------------------------------------------------------------------------

    def feed_line(self, raw: bytes, skip: int = 0) -> None:
        self.feed(self.line_records(raw), skip)

    def feed(self, records: List[avtar.AvtarRecord], skip: int = 0) -> None:
        if self.asm is None:
            self.asm = self.assembler()
        for record in records[skip:] if skip else records:
            self.runs(self.asm.feed(record))

    def line_records(self, raw: bytes) -> List[avtar.AvtarRecord]:
        self.counts.parsed_lines += 1
        return [] if len(raw) > self.max_line else _avtar_records(raw)  # the follower skips long lines

    def open_auth(self) -> bool:
        """True while the run in progress holds an auth failure (it must be parsed to its end)."""
        return self.asm is not None and self.asm.open_run_has_auth_failure

    def feed_file_range(self, start_at: int, end_at: int, skip: int) -> None:
        """Feed the lines in [start_at, end_at) (line starts) read again from the file."""
        for index, raw in enumerate(_read_lines(self.fd, start_at, end_at, self.max_line)):
            self.feed_line(raw, skip if index == 0 else 0)

    # -- one block ---------------------------------------------------------------------------

    def block(self, buf: bytearray, base_at: int, lo: int, cut: int) -> None:
        """Scan the complete lines ``buf[lo:cut]`` (``base_at`` is the file offset of ``buf[0]``)."""
        if self.do_avtar:
            self._avtar(buf, base_at, lo, cut)
        if self.do_gsan:
            pos = buf.find(_GSAN_NEEDLE, lo, cut)
            while pos >= 0:
                start, end = _line_bounds(buf, pos, lo, cut)
                if end - start <= self.max_line:
                    self.gsan_line(bytes(buf[start:end]))
                pos = buf.find(_GSAN_NEEDLE, end, cut)

    def _avtar(self, buf: bytearray, base_at: int, lo: int, cut: int) -> None:
        if self.pending:  # the auth-failure run at the end of the last block goes on here
            self._forward(buf, base_at, lo, cut)
        nxt = [buf.find(needle, lo, cut) for needle in _AUTH_NEEDLES]
        while True:
            done = self.resume_at - base_at  # lines before it were parsed already
            for i, at in enumerate(nxt):
                if 0 <= at < done:
                    nxt[i] = buf.find(_AUTH_NEEDLES[i], done, cut)
            hits = [at for at in nxt if at >= 0]
            if not hits or self.pending:
                break
            self._failure(buf, base_at, lo, cut, min(hits))
        if not self.pending:  # keep the last sync point of the block, so the next failure starts there
            floor, skip = self._floor(base_at, lo)
            sync = _find_sync(buf, floor, cut, skip, self.line_records, cut, {})
            if sync is not None:
                self.asm, self.resume_at, self.resume_skip = None, base_at + sync[0], sync[1]

    def _floor(self, base_at: int, lo: int) -> Tuple[int, int]:
        """The first line of the buffer the avtar parse may start at, and records of it to skip."""
        resume = self.resume_at - base_at
        return (resume, self.resume_skip) if resume >= lo else (lo, 0)

    def _failure(self, buf: bytearray, base_at: int, lo: int, cut: int, hit: int) -> None:
        """Parse the run(s) around the auth-failure needle at ``hit`` as the sensor would."""
        line_start, line_end = _line_bounds(buf, hit, lo, cut)
        floor, floor_skip = self._floor(base_at, lo)
        parsed: Dict[int, List[avtar.AvtarRecord]] = {}  # lines the search for a sync point parsed
        sync = _find_sync(buf, floor, line_start, floor_skip, self.line_records, cut, parsed)
        if sync is not None:
            self.asm = None
            start, skip = sync
        elif self.resume_at < base_at + lo:  # the run began before this buffer: read it again
            self.feed_file_range(self.resume_at, base_at + lo, self.resume_skip)
            start, skip = lo, 0
        else:
            start, skip = floor, floor_skip
        while start <= line_start:  # from the sync point through the failure's line
            end = buf.find(b"\n", start, cut)
            records = parsed.get(start)
            self.feed(self.line_records(bytes(buf[start:end])) if records is None else records, skip)
            start, skip = end + 1, 0
        self.resume_at, self.resume_skip = base_at + line_end + 1, 0
        self._forward(buf, base_at, line_end + 1, cut)

    def _forward(self, buf: bytearray, base_at: int, pos: int, cut: int) -> None:
        """Parse line by line from ``pos`` while the run in progress holds an auth failure."""
        while self.open_auth():
            if pos >= cut:
                self.pending, self.resume_at, self.resume_skip = True, base_at + cut, 0
                return
            end = buf.find(b"\n", pos, cut)
            self.feed_line(bytes(buf[pos:end]))
            pos = end + 1
        self.pending, self.resume_at, self.resume_skip = False, base_at + pos, 0

    def finish(self) -> None:
        if self.asm is not None:
            self.runs(self.asm.close())


def _line_bounds(buf: Union[bytes, bytearray], pos: int, lo: int, cut: int) -> Tuple[int, int]:
    """(start, end) of the line holding ``buf[pos]``; ``end`` is its newline (``buf[cut - 1]`` is one)."""
    start = buf.rfind(b"\n", lo, pos) + 1
    return (start if start > 0 else lo), buf.find(b"\n", pos, cut)


def _find_sync(buf: Union[bytes, bytearray], lo: int, hi: int, lo_skip: int,
               records_of: Callable[[bytes], List[avtar.AvtarRecord]], cut: int,
               parsed: Dict[int, List[avtar.AvtarRecord]]) -> Optional[Tuple[int, int]]:
    """The last sync point in the lines ``buf[lo:hi]``: (line start, index of its first record to feed).

    A fresh ``RunAssembler`` fed from a sync point on emits exactly the runs (but ``seq``) the
    sensor's assembler does, whatever came before (see ``failures.RunAssembler.feed``):

    * a ``START`` banner always opens a new run: feed from it;
    * after an ``END`` banner no run is open: feed from the record after it;
    * an 8474 record with an earlier 8474 record and no banner between them opens a new run
      (the run in progress already has a log path): feed from it.

    Records that can be any of these are only on lines holding ``8474>`` or ``avtar log``, so
    only those lines are parsed, newest first (their records are left in ``parsed`` by line
    start, to be fed without a second parse). Records of the line at ``lo`` before ``lo_skip``
    were fed already and are not eligible.
    """
    later: Optional[Tuple[int, int]] = None  # the newest 8474 record seen
    found = [buf.rfind(needle, lo, hi) for needle in _SYNC_NEEDLES]
    while True:
        at = max(found)
        if at < 0:
            return None
        start, end = _line_bounds(buf, at, lo, cut)
        records = parsed[start] = records_of(bytes(buf[start:end]))
        first = lo_skip if start == lo else 0
        for index in range(len(records) - 1, first - 1, -1):
            record = records[index]
            if record.shape == "banner":
                return (start, index) if record.text.startswith("START") else (start, index + 1)
            if record.code == avtar.CODE_LOG_FILE_PATH:
                if later is not None:
                    return later
                later = (start, index)
        if start <= lo:
            return None
        for i, needle in enumerate(_SYNC_NEEDLES):
            if found[i] >= start:
                found[i] = buf.rfind(needle, lo, start)


def last_sync_point(block: bytes, max_line: int = MAX_LINE) -> Optional[Tuple[int, int]]:
    """The last sync point in ``block`` (whole lines of one avtar log): (line offset, record index).

    From there a fresh ``RunAssembler`` emits exactly the runs the sensor's does (``seq`` aside),
    whatever came before. For a follower's hot path: a block holding neither
    ``MSG_ERR_AUTH_FAIL`` nor ``5704>`` holds no auth failure, and only its lines from this
    point on (the run still open at its end) need parsing. None when the block has none.
    """
    if not block.endswith(b"\n"):
        block += b"\n"

    def records_of(raw: bytes) -> List[avtar.AvtarRecord]:
        return [] if len(raw) > max_line else _avtar_records(raw)

    return _find_sync(block, 0, len(block), 0, records_of, len(block), {})


def _read_lines(fd: int, start_at: int, end_at: int, max_line: int) -> Iterator[bytes]:
    """Lines (without newline) in [start_at, end_at) of ``fd``, a line start and a line end + 1.

    A line longer than ``max_line`` is yielded cut (still longer than ``max_line``, so callers
    skip it) when it spans reads: memory stays bounded.
    """
    carry = bytearray()
    pos = start_at
    while pos < end_at:
        piece = os.pread(fd, min(CHUNK, end_at - pos), pos)
        if not piece:
            break
        pos += len(piece)
        begin = 0
        while True:
            nl = piece.find(b"\n", begin)
            if nl < 0:
                if len(carry) <= max_line:
                    carry += piece[begin:begin + max_line + 1]
                break
            line = piece[begin:nl]
            if carry:
                line = bytes(carry + line[:max_line + 1])
                carry = bytearray()
            yield line
            begin = nl + 1


def _count_long_lines(buf: bytearray, lo: int, cut: int, max_line: int) -> int:
    """Lines longer than ``max_line`` in the complete lines ``buf[lo:cut]``, without a per-line loop."""
    count = 0
    pos = lo
    while cut - pos > max_line + 1:
        last_nl = buf.rfind(b"\n", pos, pos + max_line + 1)
        if last_nl >= 0:  # every line from pos to there is short: jump over them all
            pos = last_nl + 1
        else:  # no newline within max_line + 1 bytes: the line at pos is too long
            count += 1
            pos = buf.find(b"\n", pos + max_line, cut) + 1
    return count


def scan_file(path: str, *, max_line: int = MAX_LINE, client: Optional[str] = None, kind: Optional[str] = None,
              count_lines: bool = True, on_run: Optional[RunHook] = None,
              on_warning: Optional[WarningHook] = None) -> ScanCounts:
    """What the sensor would find in ``path``: counts, and each auth-failure run / ticket warning to the hooks.

    ``kind``: ``"avtar"`` (a client log: no GSAN search), ``"gsan"`` (no avtar search) or None
    (both). ``count_lines=False`` saves one pass over the data when only the findings matter.
    Exactly ``scan_file_lines``' result (runs equal but for ``seq``), streamed in bounded memory.
    """
    do_avtar = kind in (None, "avtar")
    do_gsan = kind in (None, "gsan")
    buf = bytearray(CHUNK + max_line + 1)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as handle:
        scanner = _FastScanner(path, handle.fileno(), max_line, client, do_avtar, do_gsan, on_run, on_warning)
        counts = scanner.counts
        base_at = 0  # file offset of buf[0]
        kept = 0  # bytes of an unterminated line carried at the front of buf
        discarding = False  # inside a line longer than max_line: drop up to its newline
        while True:
            got = handle.readinto(view[kept:kept + CHUNK])
            if not got:
                break
            counts.bytes += got
            if count_lines:
                counts.lines += buf.count(b"\n", kept, kept + got)
            size = kept + got
            lo = 0
            if discarding:
                newline = buf.find(b"\n", 0, size)
                if newline < 0:
                    base_at += size
                    continue
                discarding, lo = False, newline + 1
                counts.skipped_long_lines += 1
            cut = buf.rfind(b"\n", lo, size) + 1
            if cut > lo:
                counts.skipped_long_lines += _count_long_lines(buf, lo, cut, max_line)
                scanner.block(buf, base_at, lo, cut)
            else:
                cut = lo
            kept = size - cut
            if kept > max_line:
                discarding, kept = True, 0
                cut = size
            buf[0:kept] = buf[cut:size]
            base_at += cut
        if discarding:
            counts.skipped_long_lines += 1
        elif kept:  # the unterminated last line: scanned as if it ended with a newline
            counts.lines += count_lines
            buf[kept:kept + 1] = b"\n"
            scanner.block(buf, base_at, 0, kept + 1)
        scanner.finish()
    return counts


def scan_file_lines(path: str, *, max_line: int = MAX_LINE, client: Optional[str] = None,
                    kind: Optional[str] = None, on_run: Optional[RunHook] = None,
                    on_warning: Optional[WarningHook] = None) -> ScanCounts:
    """The reference ``scan_file`` is checked against: EVERY line through the sensor's parsers.

    Line by line as the follower and the engine do (lines over ``max_line`` bytes skipped, UTF-8
    with replacement, ``might_matter`` then ``scan_line`` into one ``RunAssembler``, closed at the
    end). Slow (Python per line) and it holds a whole line in memory: for tests and spot checks.
    """
    findings = _Findings(path, client, on_run, on_warning)
    counts = findings.counts
    assembler = findings.assembler()
    with open(path, "rb") as handle:
        for raw in handle:
            counts.bytes += len(raw)
            if raw.endswith(b"\n"):
                raw = raw[:-1]
            elif len(raw) > max_line:  # an unterminated, oversized last line is neither parsed nor counted
                counts.skipped_long_lines += 1
                continue
            counts.lines += 1
            if len(raw) > max_line:
                counts.skipped_long_lines += 1
                continue
            counts.parsed_lines += 1
            if kind in (None, "avtar"):
                for record in _avtar_records(raw):
                    findings.runs(assembler.feed(record))
            if kind in (None, "gsan"):
                findings.gsan_line(raw)
    findings.runs(assembler.close())
    return counts
