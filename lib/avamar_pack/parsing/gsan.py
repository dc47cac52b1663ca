"""Parse GSAN log lines (``/data01/cur/gsan.log``, ``err.log``) and session-ticket warnings.

Line shape [C]::

    2010/09/30-17:17:05.79312 {0.1} [licensevalidator:177]  FATAL ERROR: <0001> ...

The time prefix, the ``{thread}`` and ``[component]`` parts are each optional (the KB quotes
lines starting at ``[srvm-518654#srv:481]`` or at ``WARN:``); severities are none, ``WARN``,
``ERROR``, ``FATAL ERROR``. The session-ticket warnings this pack acts on [C]:

* ``<1479> sessionkeytable::setpublickey new serial=<x> less than current minserial=<y>``
  -> kind ``serial_below_minserial`` (serial, minserial)
* ``<1418> sessionkeytable::setpublickey session ticket with serial=28451 was used already``
  -> kind ``serial_used`` (serial)
* ``<1426> sessionkeytable::comparesignature incorrect signature`` -> kind ``incorrect_signature``

The KB's ``<x>``/``<y>`` placeholders parse with serial/minserial None. Pasted text runs several
records together on one line, so ``scan_line`` splits at every record header. Work is bounded
(``MAX_LINE``) and every expression is linear (bounded repeats only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional, Union

from avamar_pack.parsing.timestamps import parse_timestamp

MAX_LINE = 64 * 1024
MAX_SERIAL = 2**63 - 1

KIND_BY_CODE = {1479: "serial_below_minserial", 1418: "serial_used", 1426: "incorrect_signature"}
TICKET_CODES = frozenset(KIND_BY_CODE)

_TS = r"[0-9]{4}/[0-9][0-9]/[0-9][0-9]-[0-9][0-9]:[0-9][0-9]:[0-9][0-9](?:\.[0-9]{1,6})?"
_SEV = r"FATAL ERROR|ERROR|WARN|WARNING|INFO"
# A record header anywhere in a line; used to split run-together records.
_HEADER_RE = re.compile(
    r"(?:(?P<ts>" + _TS + r") {1,4}(?:\{[^{}\s]{0,32}\} {1,4})?)?"
    r"(?:\[(?P<comp>[^\[\]\s]{1,128})\] {1,4})?"
    r"(?:(?P<sev>" + _SEV + r"): {0,4})?"
    r"<(?P<code>[0-9]{4,5})>"
)
# One record at the start of a line, all parts optional.
_LINE_RE = re.compile(
    r"^\s{0,8}(?:(?P<ts>" + _TS + r") {1,4}(?:\{(?P<thread>[^{}\s]{0,32})\} {0,4})?)?"
    r"(?:\[(?P<comp>[^\[\]\s]{1,128})\] {0,4})?"
    r"(?:(?P<sev>" + _SEV + r"): {0,4})?"
    r"(?:<(?P<code>[0-9]{4,5})> ?)?"
)
_BELOW_RE = re.compile(r"new serial=(\S{1,32}) less than current minserial=(\S{1,32})")
_USED_RE = re.compile(r"serial=(\S{1,32}) was used already")
_DIGITS_RE = re.compile(r"[0-9]{1,19}")


@dataclass(frozen=True)
class GsanRecord:
    timestamp: Optional[datetime]
    thread: Optional[str]
    component: Optional[str]
    severity: str  # "" (none), "WARN", "ERROR" or "FATAL ERROR"
    code: Optional[int]
    text: str


@dataclass(frozen=True)
class TicketWarning:
    code: int
    kind: str
    serial: Optional[int]
    minserial: Optional[int]
    timestamp: Optional[datetime]
    text: str


#: Every session-ticket warning holds it: a block of GSAN log without it may be skipped whole.
BLOCK_NEEDLE = "sessionkeytable"


def block_might_matter(block: Union[str, bytes]) -> bool:
    """False when a block of GSAN log text (str or bytes) holds no session-ticket warning."""
    if isinstance(block, bytes):
        return BLOCK_NEEDLE.encode("ascii") in block
    return BLOCK_NEEDLE in block


def might_matter(line: str) -> bool:
    """Cheap pre-filter, the KB's ``grep -i "sessionkeytable\\|minserial"`` (case-sensitive here)."""
    return "sessionkeytable" in line or "minserial" in line


def _severity(raw: Optional[str]) -> str:
    if not raw or raw == "INFO":
        return ""
    return "WARN" if raw == "WARNING" else raw


def parse_line(line: str) -> Optional[GsanRecord]:
    """Parse the (first) record of a GSAN line; None when it has neither a time prefix nor a code."""
    if not isinstance(line, str):
        return None
    line = line[:MAX_LINE].rstrip("\r\n")
    match = _LINE_RE.match(line)
    if not match or not (match.group("ts") or match.group("code")):
        return None
    code = int(match.group("code")) if match.group("code") else None
    return GsanRecord(
        timestamp=parse_timestamp(match.group("ts")),
        thread=match.group("thread"),
        component=match.group("comp"),
        severity=_severity(match.group("sev")),
        code=code,
        text=line[match.end() :].strip(),
    )


def _serial(raw: Optional[str]) -> Optional[int]:
    if raw is None:
        return None
    raw = raw.rstrip(".,;")
    if _DIGITS_RE.fullmatch(raw):
        value = int(raw)
        if value <= MAX_SERIAL:
            return value
    return None


def _headers(line: str) -> List[re.Match[str]]:
    """``list(_HEADER_RE.finditer(line))``, the common line (one record, at its start) without the search.

    A header matching at 0 is the first one ``finditer`` returns, and every header holds a ``<``:
    when none follows the first one, there is no other (``finditer`` would try the expression at
    every later position to find that out).
    """
    first = _HEADER_RE.match(line)
    if first is not None and line.find("<", first.end()) < 0:
        return [first]
    return list(_HEADER_RE.finditer(line))


def scan_line(line: str) -> List[TicketWarning]:
    """Every session-ticket warning (1479, 1418, 1426) on one physical line, in order."""
    if not isinstance(line, str) or not might_matter(line):
        return []
    line = line[:MAX_LINE].rstrip("\r\n")
    headers = _headers(line)
    warnings: List[TicketWarning] = []
    for i, match in enumerate(headers):
        code = int(match.group("code"))
        if code not in TICKET_CODES:
            continue
        end = headers[i + 1].start() if i + 1 < len(headers) else len(line)
        body = line[match.end() : end]
        if "sessionkeytable" not in body:
            continue
        serial = minserial = None
        if code == 1479:
            below = _BELOW_RE.search(body)
            if below:
                serial, minserial = _serial(below.group(1)), _serial(below.group(2))
        elif code == 1418:
            used = _USED_RE.search(body)
            if used:
                serial = _serial(used.group(1))
        warnings.append(
            TicketWarning(
                code=code,
                kind=KIND_BY_CODE[code],
                serial=serial,
                minserial=minserial,
                timestamp=parse_timestamp(match.group("ts")),
                text=line[match.start() : end].strip(),
            )
        )
    return warnings
