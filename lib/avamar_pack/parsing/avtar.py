"""Parse avtar client log lines into records.

Line shapes [C]::

    2019-12-31 07:35:23 avtar FATAL <5704>: Fatal Server Error occurred (...) (Log #1)
    2019/10/03-09:49:29.42089 [avtar]  <1291> FIPS mode enabled
    ----- END avtar log 2019-10-03 09:50:11 UTC  (1 warning, 0 errors, 0 fatal errors)

The first is the ``standard`` shape (severity ``Info``, ``Warning``, ``Error`` or ``FATAL``,
optional `` (Log #N)`` suffix), the second the ``internal`` shape (severity ``Info`` unless a
``WARN:``/``ERROR:``/``FATAL:`` word precedes the code, which is [I]), the third a ``banner``
(``----- START avtar log`` / ``----- END avtar log``; returned as a record with code 0 so the run
assembler sees run boundaries; its text is the banner line from ``START``/``END`` on).

Pasted logs (the KB itself) run several records together on ONE physical line and cut the
first timestamp (``9-12-31 07:35:23 avtar Info <8474>: ...``). ``scan_line`` therefore splits a
line at every record header, keeps a record whose timestamp is cut (timestamp None, and a note
in ``AvtarScan.skipped``), and reports any other text it could not place as a skip reason.

Work is bounded: lines longer than ``MAX_LINE`` characters are cut there (with a reason), and
every regular expression is linear in the line length (fixed-width prefixes, no nested repeats).
``might_matter(line)`` is the cheap pre-filter of hot paths: False means the line holds nothing
run assembly (``avtar_runs``) or the diagnosis uses.

Windows clients write the same records with CRLF line ends and a START banner with two spaces
(``-----  START avtar log ...``) [C: Windows client logs]; both are accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Dict, List, NamedTuple, Optional, Tuple, Union

from avamar_pack.parsing.timestamps import parse_timestamp

MAX_LINE = 64 * 1024
MAX_TICKET_FIELDS = 32

SEVERITIES = ("Info", "Warning", "Error", "FATAL")
FAILURE_SEVERITIES = frozenset({"Error", "FATAL"})

CODE_AUTH_FAIL = 5704
CODE_LOG_FILE_PATH = 8474
CODE_CONNECTING = 5552
CODE_COMMAND_DONE = 5314
CODE_EXIT_FAILURE = 7001
CODE_ERROR_SUMMARY = 6149
CODE_INITIALIZING = 6555

# Record headers are found from the literal "avtar" they all contain (str.find is a C loop),
# then checked with anchored, fixed-shape expressions: linear, and ~10x faster than one
# unanchored alternation tried at every position.
_STD_RE = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}) avtar (Info|Warning|Error|FATAL) <([0-9]{1,7})>:"
)
_INT_TS_RE = re.compile(r"(?<![0-9/])[0-9]{4}/[0-9]{2}/[0-9]{2}-[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})? $")
_INT_TAIL_RE = re.compile(r"\[avtar\] {1,8}(?:(INFO|WARN|WARNING|ERROR|FATAL ERROR|FATAL): {1,8})?<([0-9]{1,7})>")
_BANNER_DASHES_RE = re.compile(r"(?<!-)-{3,12} {0,4}$")
_BANNER_WORDS = ("START ", "END ")
# A record whose timestamp was cut at the start of the line: some digits/separators, then `avtar`.
_CUT_HEADER_RE = re.compile(
    r"^\s{0,8}(?P<frag>[0-9/:. -]{0,26}?) ?avtar (?P<sev>Info|Warning|Error|FATAL) <(?P<code>[0-9]{1,7})>:"
)
_LOG_NO_RE = re.compile(r" \(Log #([0-9]{1,9})\)")
_TICKET_RE = re.compile(r"SECURETICKETLOGIN=([^\s)]{0,64})")
_TICKET_FIELD_RE = re.compile(r"\s+([A-Za-z_][A-Za-z0-9_]{0,31})=([^\s)]{0,64})")
_BANNER_STAMP_RE = re.compile(r" {0,4}([0-9]{4}-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9])")
_INT_RE = re.compile(r"-?[0-9]{1,19}")

_INTERNAL_SEVERITY = {
    "INFO": "Info",
    "WARN": "Warning",
    "WARNING": "Warning",
    "ERROR": "Error",
    "FATAL": "FATAL",
    "FATAL ERROR": "FATAL",
}

# Substrings of every line that run assembly uses (see avtar_runs.py and diagnosis.py): failures,
# run boundaries (8474, 6555, 5552, banners), outcomes (5314, 6149, 7001) and the client's account.
_MATTER_NEEDLES = (
    "FATAL",
    "Error <",
    "ERROR: ",
    "<5704>",
    "<8474>",
    "<6555>",
    "<5552>",
    "<5314>",
    "<6149>",
    "<7001>",
    "avtar log",
    "--account=",
)
#: Public name of the needles, for followers that pre-filter raw bytes themselves.
MATTER_NEEDLES = _MATTER_NEEDLES
# Most lines are `YYYY-MM-DD HH:MM:SS avtar Info <NNNN>: ...`; of those only these codes matter.
_INFO_PREFIX = " avtar Info "
_INFO_CODES = frozenset({"<8474>", "<6555>", "<5552>", "<5314>", "<6149>"})
_ACCOUNT = "--account="


@dataclass(frozen=True)
class AvtarRecord:
    timestamp: Optional[datetime]
    severity: str
    code: int
    text: str
    log_no: Optional[int]
    shape: str  # "standard" | "internal" | "banner"

    @property
    def is_failure(self) -> bool:
        return self.severity in FAILURE_SEVERITIES


@dataclass(frozen=True)
class AvtarScan:
    records: List[AvtarRecord] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)


def might_matter(line: str) -> bool:
    """Cheap pre-filter: False means the line holds nothing failure detection uses."""
    if line[19:31] == _INFO_PREFIX and line.find("avtar", 31) < 0:
        # The common case, one Info record alone on its line: one slice compare and one set lookup.
        # (A pasted line runs more records after it: those go through the needles below.)
        return line[31:37] in _INFO_CODES or _ACCOUNT in line
    for needle in _MATTER_NEEDLES:
        if needle in line:
            return True
    return False


def _split_log_no(text: str) -> Tuple[str, Optional[int]]:
    text = text.strip()
    if text.endswith(")"):
        k = text.rfind(" (Log #", max(0, len(text) - 20))
        match = _LOG_NO_RE.fullmatch(text, k) if k >= 0 else None
        if match:
            return text[:k].rstrip(), int(match.group(1))
    return text, None


class _Header(NamedTuple):
    start: int
    end: int
    shape: str
    stamp: str
    severity: str
    code: int


def _headers(line: str) -> List[_Header]:
    found: List[_Header] = []
    pos = 0
    while True:
        idx = line.find("avtar", pos)
        if idx < 0:
            return found
        header = None
        if idx >= 20 and line[idx - 1] == " ":
            std = _STD_RE.match(line, idx - 20)
            if std:
                header = _Header(std.start(), std.end(), "standard", std.group(1), std.group(2), int(std.group(3)))
        if header is None and idx >= 1 and line[idx - 1] == "[":
            tail = _INT_TAIL_RE.match(line, idx - 1)
            stamp = _INT_TS_RE.search(line, max(0, idx - 29), idx - 1) if tail else None
            if tail and stamp:
                severity = _INTERNAL_SEVERITY.get(tail.group(1) or "INFO", "Info")
                header = _Header(
                    stamp.start(), tail.end(), "internal", stamp.group(0).strip(), severity, int(tail.group(2))
                )
        if header is None and line.startswith("avtar log", idx):
            for word in _BANNER_WORDS:
                begin = idx - len(word)
                if begin >= 0 and line.startswith(word, begin):
                    dashes = _BANNER_DASHES_RE.search(line, max(0, begin - 17), begin)
                    if dashes:
                        header = _Header(dashes.start(), idx + 9, "banner", "", word.strip(), 0)
                    break
        if header is not None and (not found or header.start >= found[-1].end):
            found.append(header)
            pos = header.end
        else:
            pos = idx + 5


def scan_line(line: str) -> AvtarScan:
    """Split one physical line into avtar records; never raises on text input."""
    skipped: List[str] = []
    return AvtarScan(_scan(line, skipped), skipped)


def records(line: str) -> List[AvtarRecord]:
    """``scan_line(line).records`` without the skip reasons (the sensor's hot path feeds only records)."""
    return _scan(line, [])


def _scan(line: str, skipped: List[str]) -> List[AvtarRecord]:
    records: List[AvtarRecord] = []
    if len(line) > MAX_LINE:
        skipped.append(f"line of {len(line)} characters cut at {MAX_LINE}")
        line = line[:MAX_LINE]
    line = line.rstrip("\r\n")
    std = _STD_RE.match(line)
    if std is not None and line.find("avtar", std.end()) < 0:
        # The common line, one standard record alone: what _headers finds for it (its first
        # "avtar" is at 20, the header matches at 0, no "avtar" follows), without the search.
        stamp, severity, code = std.groups()
        records.append(_record(stamp, severity, int(code), line[std.end() :], "standard", skipped))
        return records
    return _scan_headers(line, records, skipped)


def _scan_headers(line: str, records: List[AvtarRecord], skipped: List[str]) -> List[AvtarRecord]:
    """The general case of ``_scan`` (``line`` cut to ``MAX_LINE``, line end stripped): every header, the lead."""
    if not line.strip():
        return records
    headers = _headers(line)
    lead_end = headers[0].start if headers else len(line)
    lead = line[:lead_end]
    if lead.strip():
        cut = _CUT_HEADER_RE.match(lead)
        if cut:
            text, log_no = _split_log_no(lead[cut.end() :])
            records.append(AvtarRecord(None, cut.group("sev"), int(cut.group("code")), text, log_no, "standard"))
            frag = cut.group("frag").strip()
            skipped.append(
                f"timestamp cut to {frag!r}: record kept without timestamp" if frag else "record without timestamp kept"
            )
        else:
            skipped.append(f"not an avtar record: {lead.strip()[:80]!r}")

    for i, header in enumerate(headers):
        end = headers[i + 1].start if i + 1 < len(headers) else len(line)
        body = line[header.end : end]
        if header.shape == "banner":
            text = (f"{header.severity} avtar log" + body).strip()
            stamp = _BANNER_STAMP_RE.match(body)
            when = parse_timestamp(stamp.group(1)) if stamp else None
            records.append(AvtarRecord(when, "Info", 0, text, None, "banner"))
            continue
        records.append(_record(header.stamp, header.severity, header.code, body, header.shape, skipped))
    return records


def _record(stamp: str, severity: str, code: int, body: str, shape: str, skipped: List[str]) -> AvtarRecord:
    ts = parse_timestamp(stamp)
    if ts is None:
        skipped.append(f"impossible timestamp {stamp!r}: record kept without timestamp")
    text, log_no = _split_log_no(body)
    return AvtarRecord(ts, severity, code, text, log_no, shape)


def scan_lines(lines) -> AvtarScan:
    """Scan several physical lines (an iterable of str) into one AvtarScan."""
    records: List[AvtarRecord] = []
    skipped: List[str] = []
    for line in lines:
        scan = scan_line(line)
        records.extend(scan.records)
        skipped.extend(scan.skipped)
    return AvtarScan(records, skipped)


def parse_ticket(text: str) -> Optional[Dict[str, Union[int, str]]]:
    """Fields of ``SECURETICKETLOGIN=452 serial=1 seq=0 flags=R:H:0 kind=0 rsp=MSG_ERR_AUTH_FAIL``.

    Keys are lowercase; ``SECURETICKETLOGIN`` becomes ``securelogin``. Values that are integers
    (``securelogin``, ``serial``, ``seq``, ``kind`` in the samples) become int, the rest stay str.
    Returns None when the text holds no ticket.
    """
    if not isinstance(text, str):
        return None
    text = text[:MAX_LINE]
    match = _TICKET_RE.search(text)
    if not match:
        return None
    ticket: Dict[str, Union[int, str]] = {"securelogin": _value(match.group(1))}
    pos = match.end()
    for _ in range(MAX_TICKET_FIELDS):
        field_match = _TICKET_FIELD_RE.match(text, pos)
        if not field_match:
            break
        key = field_match.group(1).lower()
        if key not in ticket:
            ticket[key] = _value(field_match.group(2))
        pos = field_match.end()
    return ticket


def _value(raw: str) -> Union[int, str]:
    if _INT_RE.fullmatch(raw):
        number = int(raw)
        if -(2**63) <= number <= 2**63 - 1:
            return number
    return raw
