"""``scan_file(path)``: what the sensor would find in a whole file, as fast as Python allows.

For the benchmark (compared with ``grep -c -E``) and for one-off checks of a log. The parsing
is the sensor's (``avtar.scan_line`` -> ``RunAssembler``; ``gsan.scan_line``); what differs is
which lines get parsed. The sensor parses every line the pre-filter lets through because it
follows a live file; over a whole file most runs succeed and need no parsing at all:

* every auth-failure run holds a line with ``MSG_ERR_AUTH_FAIL`` or ``<5704>`` (that is how
  ``RunAssembler`` decides ``auth_failure``), so the file is searched for those two needles with
  ``bytes.find`` (C speed, no per-line Python);
* for each hit, the whole run around it is parsed - from the last run start before it
  (``<8474>`` or a ``START avtar log`` banner) to the next run start after it - so the run's
  codes, client and server are the sensor's;
* GSAN ``sessionkeytable`` lines are parsed one by one.

Streaming with bounded memory: ``CHUNK`` bytes at a time plus at most ``MAX_CONTEXT`` bytes of
the run in progress; lines longer than ``max_line`` are skipped, as the follower does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Dict, Optional

from avamar_pack.detection.follower import MAX_LINE
from avamar_pack.failures import RunAssembler
from avamar_pack.parsing import avtar, gsan

CHUNK = 2 * 1024 * 1024
MAX_CONTEXT = 1024 * 1024  # bytes of a run kept before its failure line (avtar runs are far smaller)

_AUTH_NEEDLES = (b"MSG_ERR_AUTH_FAIL", b"<5704>")
_RUN_START_NEEDLES = (b"<8474>", b"START avtar log")
_GSAN_NEEDLE = b"sessionkeytable"


@dataclass
class ScanCounts:
    bytes: int = 0
    lines: int = 0  # newline-terminated lines, plus an unterminated last one
    parsed_lines: int = 0  # lines handed to the parsers
    runs: int = 0  # runs assembled (the runs around auth-failure lines)
    auth_failures: int = 0  # runs with 5704 / MSG_ERR_AUTH_FAIL: what the sensor dispatches or folds
    ticket_warnings: int = 0  # GSAN sessionkeytable warnings
    skipped_long_lines: int = 0

    def as_dict(self) -> Dict[str, int]:
        return asdict(self)


def _first(data: bytes, needles, start: int, end: int) -> int:
    best = -1
    for needle in needles:
        at = data.find(needle, start, end)
        if at >= 0 and (best < 0 or at < best):
            best = at
            end = at  # a later needle cannot beat this one
    return best


def _last(data: bytes, needles, start: int, end: int) -> int:
    best = -1
    for needle in needles:
        at = data.rfind(needle, start, end)
        if at > best:
            best = at
            start = at
    return best


class _Scanner:
    def __init__(self, path: str, max_line: int, client: Optional[str]) -> None:
        self.path = path
        self.max_line = max_line
        self.client = client
        self.counts = ScanCounts()
        self.assembler: Optional[RunAssembler] = None  # the run being parsed across chunks

    def parse(self, segment: bytes) -> None:
        if self.assembler is None:
            self.assembler = RunAssembler(log_file=self.path, client=self.client)
        for raw in segment.split(b"\n"):
            if not raw:
                continue
            if len(raw) > self.max_line:
                self.counts.skipped_long_lines += 1
                continue
            text = raw.decode("utf-8", "replace")
            if avtar.might_matter(text):
                self.counts.parsed_lines += 1
                for record in avtar.scan_line(text).records:
                    self._take(self.assembler.feed(record))

    def end_run(self) -> None:
        if self.assembler is not None:
            self._take(self.assembler.flush())
            self.assembler = None

    def _take(self, runs) -> None:
        for run in runs:
            self.counts.runs += 1
            self.counts.auth_failures += run.auth_failure

    def gsan(self, data: bytes, start: int, end: int) -> None:
        pos = data.find(_GSAN_NEEDLE, start, end)
        while pos >= 0:
            line_start = data.rfind(b"\n", start, pos) + 1 or start
            line_end = data.find(b"\n", pos, end)
            line_end = end if line_end < 0 else line_end
            if line_end - line_start <= self.max_line:
                self.counts.parsed_lines += 1
                text = data[line_start:line_end].decode("utf-8", "replace")
                self.counts.ticket_warnings += len(gsan.scan_line(text))
            pos = data.find(_GSAN_NEEDLE, line_end, end)

    def region(self, region: bytes, continuing: bool) -> bool:
        """Scan complete lines; returns True when the last run parsed may go on in the next region."""
        size = len(region)
        pos = 0
        if continuing:  # finish the run a previous region ended in
            nxt = _first(region, _RUN_START_NEEDLES, 0, size)
            end = size if nxt < 0 else region.rfind(b"\n", 0, nxt) + 1
            self.parse(region[:end])
            if nxt < 0:
                return True
            self.end_run()
            pos = end
        while True:
            hit = _first(region, _AUTH_NEEDLES, pos, size)
            if hit < 0:
                return False
            line_start = region.rfind(b"\n", 0, hit) + 1
            ctx = _last(region, _RUN_START_NEEDLES, pos, line_start)
            ctx = line_start if ctx < 0 else region.rfind(b"\n", 0, ctx) + 1
            nxt = _first(region, _RUN_START_NEEDLES, region.find(b"\n", hit) + 1 or size, size)
            end = size if nxt < 0 else region.rfind(b"\n", 0, nxt) + 1
            self.parse(region[max(ctx, pos):end])
            if nxt < 0:
                return True
            self.end_run()
            pos = end


def scan_file(path: str, *, max_line: int = MAX_LINE, client: Optional[str] = None, kind: Optional[str] = None,
              count_lines: bool = True) -> ScanCounts:
    """Counts of what the sensor would find in ``path``, streamed.

    ``kind``: ``"avtar"`` (a client log: no GSAN search), ``"gsan"`` (no avtar search) or None
    (both). ``count_lines=False`` saves one pass over the data when only the findings matter.
    """
    do_avtar = kind in (None, "avtar")
    do_gsan = kind in (None, "gsan")
    scanner = _Scanner(path, max_line, client)
    counts = scanner.counts
    context = b""  # the start of the last run, searched already, kept in case its failure comes later
    tail = b""  # an unterminated line
    discarding = False  # inside a line longer than max_line: drop up to its newline
    continuing = False
    with open(path, "rb", buffering=0) as handle:
        while True:
            chunk = handle.read(CHUNK)
            if not chunk:
                break
            counts.bytes += len(chunk)
            if count_lines:
                counts.lines += chunk.count(b"\n")
            if discarding:
                newline = chunk.find(b"\n")
                if newline < 0:
                    continue
                chunk, discarding = chunk[newline + 1:], False
                counts.skipped_long_lines += 1
            data = tail + chunk if tail else chunk
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                tail = data
                if len(tail) > max_line:
                    tail, discarding = b"", True
                continue
            # The common case - no auth-failure line in this piece - costs a few C-level searches.
            if do_avtar and (continuing or _first(data, _AUTH_NEEDLES, 0, cut) >= 0):
                region = context + data[:cut] if context else data[:cut]
                continuing = scanner.region(region, continuing)
                base, size = region, len(region)
            else:
                base, size = data, cut
                if context and _last(data, _RUN_START_NEEDLES, 0, cut) < 0:
                    base, size = context + data[:cut], len(context) + cut  # the run goes on: keep it all
            if do_gsan:
                scanner.gsan(data, 0, cut)
            context = b""
            if do_avtar and not continuing:
                start = _last(base, _RUN_START_NEEDLES, 0, size)
                if start >= 0:
                    line = base.rfind(b"\n", 0, start) + 1
                    if size - line <= MAX_CONTEXT:
                        context = base[line:size]
            tail = data[cut:]
            if len(tail) > max_line:
                tail, discarding = b"", True
    if discarding:
        counts.skipped_long_lines += 1
    elif tail:
        counts.lines += count_lines
        if do_avtar:
            scanner.region(context + tail + b"\n", continuing)
        if do_gsan:
            scanner.gsan(tail, 0, len(tail))
    scanner.end_run()
    return counts
