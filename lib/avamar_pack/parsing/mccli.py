"""Parse ``mccli`` output: the ``rc,event,message`` first line and ``mccli activity show``.

Every ``mccli`` command prints a first line ``rc,event,message`` [C], for example::

    0,23000,CLI command completed successfully.

``rc`` is the command's result (0 = success), ``event`` the MCS event code. The message may
contain commas; only the first two commas split. Blank lines before the first line are ignored.
Everything after the first line is the body (``MccliResponse.body_lines``, newlines stripped).

Starting a backup (``mccli client backup-dataset ...``) answers event 22305 and the activity id
follows [C]. The exact body is [I]; this module accepts, in the body, the first of:

* an attribute/value row ``activity-id 9154987654321234`` (also ``Activity ID: ...``,
  ``activity_id=...``; case-insensitive), the shape the simulator prints::

      0,22305,Client backup dataset initiated.
      Attribute   Value
      ----------- ----------------
      activity-id 9154987654321234

* a line that is only the id (1 to 32 digits).

``mccli activity show`` [C columns] prints a fixed-width table after the first line; the
module constant ``EXAMPLE_ACTIVITY_SHOW`` holds a complete example (too wide to quote here)::

    0,23000,CLI command completed successfully.
    ID               Status                   Error Code Start Time              Elapsed     ...
    ---------------- ------------------------ ---------- ----------------------- ----------- ...
    9154987654321234 Completed w/Exception(s) 0          2026-11-25 10:00:01 UTC 00h:01m:02s ...

Accepted table format (what the simulator must print):

* a header line holding the column titles, immediately followed by a dash line: one run of
  ``-`` per column, runs separated by spaces. Column *i* spans from the first dash of run *i*
  to the character before the first dash of run *i+1*; the last column runs to end of line.
  Values may therefore contain spaces (``Timed Out - Start``, ``Completed w/Exception(s)``).
* The title of a column is the header text over its span, whitespace collapsed, matched
  case-insensitively against: ``ID, Status, Error Code, Start Time, Elapsed, End Time, Type,
  Progress Bytes, New Bytes, Client, Domain``. Unknown columns are ignored; missing ones give None.
* Each following non-blank line is one activity; a row without an ID is skipped. Values are
  stripped; an empty value gives None. ``Error Code`` is an integer (None when blank/``N/A``).
  All other values stay strings exactly as printed (times, ``1.8 MB``, ``<0.05%``).
* Statuses seen [C]: ``Completed``, ``Completed w/Exception(s)``, ``Running``,
  ``Waiting-Client``, ``Failed``, ``Canceled``, ``Timed Out - Start``, ``Dropped Session``.

``Activity.kind`` sorts the ``Type`` column into ``backup`` (``Scheduled Backup``,
``On-Demand Backup`` [C]), ``restore`` and ``replication`` (``Restore``, ``Replication Source``,
``Replication Destination`` [I]: any type naming them) and ``other``; the pre-remediation check
refuses to restart MCS under a running restore or replication.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from avamar_pack.errors import ParseError

#: A complete ``mccli activity show`` answer in the accepted format (the simulator prints this shape).
EXAMPLE_ACTIVITY_SHOW = "\n".join(
    [
        "0,23000,CLI command completed successfully.",
        "ID               Status                   Error Code Start Time              Elapsed     "
        "End Time                Type             Progress Bytes New Bytes Client   Domain",
        "---------------- ------------------------ ---------- ----------------------- ----------- "
        "----------------------- ---------------- -------------- --------- -------- --------",
        "9154987654321234 Completed w/Exception(s) 0          2026-11-25 10:00:01 UTC 00h:01m:02s "
        "2026-11-25 10:01:03 UTC Scheduled Backup 1.8 MB         <0.05%    client01 /clients",
        "9154987654321235 Timed Out - Start        0          2026-11-25 11:00:00 UTC 00h:00m:00s "
        "N/A                     On-Demand Backup 0 bytes        0%        client02 /clients",
        "",
    ]
)

#: A backup start answer in the accepted format (the simulator prints this shape).
EXAMPLE_BACKUP_STARTED = (
    "0,22305,Client backup dataset initiated.\n"
    "Attribute   Value\n"
    "----------- ----------------\n"
    "activity-id 9154987654321234\n"
)

MAX_BYTES = 4 << 20  # mccli output bigger than this is not something we asked for
MAX_ROWS = 10000

EVENT_BACKUP_STARTED = 22305
EVENT_COMMAND_OK = 23000

#: Statuses that mean the activity is over and went well ([C] names).
SUCCESS_STATUSES = frozenset({"completed", "completed w/exception(s)"})
#: Statuses that mean the activity is still going ([C] names).
ACTIVE_STATUSES = frozenset({"running", "waiting-client", "waiting-queued", "waiting"})

_FIRST_LINE_RE = re.compile(r"^\s*(-?[0-9]{1,9}),(-?[0-9]{1,9}),(.*)\Z")
_ACTIVITY_ID_RE = re.compile(r"^\s*activity[-_ ]?id\s*[:=]?\s*([0-9]{1,32})\s*\Z", re.IGNORECASE)
_BARE_ID_RE = re.compile(r"^\s*([0-9]{1,32})\s*\Z")
_DASH_LINE_RE = re.compile(r"^\s*-+(?: +-+)*\s*\Z")
_DASH_RUN_RE = re.compile(r"-+")

_COLUMNS = {
    "id": "id",
    "status": "status",
    "error code": "error_code",
    "start time": "start_time",
    "elapsed": "elapsed",
    "end time": "end_time",
    "type": "type",
    "progress bytes": "progress_bytes",
    "new bytes": "new_bytes",
    "client": "client",
    "domain": "domain",
}


@dataclass(frozen=True)
class MccliResponse:
    rc: int
    event: int
    message: str
    body_lines: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.rc == 0


@dataclass(frozen=True)
class Activity:
    id: str
    status: Optional[str]
    error_code: Optional[int]
    start_time: Optional[str]
    elapsed: Optional[str]
    end_time: Optional[str]
    type: Optional[str]
    progress_bytes: Optional[str]
    new_bytes: Optional[str]
    client: Optional[str]
    domain: Optional[str]

    @property
    def succeeded(self) -> bool:
        return (self.status or "").lower() in SUCCESS_STATUSES

    @property
    def active(self) -> bool:
        return (self.status or "").lower() in ACTIVE_STATUSES

    @property
    def kind(self) -> str:
        """``backup``, ``restore``, ``replication`` or ``other``, from the ``Type`` column."""
        return activity_kind(self.type)

    @property
    def client_name(self) -> Optional[str]:
        """The MCS client path (``/clients/db01``) when a domain is listed, else the client column."""
        if not self.client:
            return None
        if self.domain and self.domain.startswith("/") and not self.client.startswith("/"):
            return self.domain.rstrip("/") + "/" + self.client
        return self.client


def activity_kind(type_text: Optional[str]) -> str:
    text = (type_text or "").lower()
    for kind in ("restore", "replication", "backup"):
        if kind in text:
            return kind
    return "other"


def _check_size(text: str) -> None:
    if not isinstance(text, str):
        raise ParseError(f"mccli output must be text, got {type(text).__name__}")
    if len(text) > MAX_BYTES:
        raise ParseError(f"mccli output is {len(text)} characters, more than the {MAX_BYTES} accepted")


def parse_response(text: str) -> MccliResponse:
    """Split mccli output into the ``rc,event,message`` first line and the body lines."""
    _check_size(text)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    idx = 0
    while idx < len(lines) and not lines[idx].strip():
        idx += 1
    if idx == len(lines):
        raise ParseError("mccli printed nothing (expected a first line 'rc,event,message')")
    match = _FIRST_LINE_RE.match(lines[idx])
    if not match:
        raise ParseError(f"mccli first line is not 'rc,event,message': {lines[idx][:200]!r}")
    body = lines[idx + 1 :]
    while body and not body[-1].strip():
        body.pop()
    return MccliResponse(int(match.group(1)), int(match.group(2)), match.group(3).strip(), body)


def parse_backup_started(resp: MccliResponse) -> str:
    """Return the activity id of a backup start answer (event 22305); ParseError otherwise."""
    if resp.rc != 0 or resp.event != EVENT_BACKUP_STARTED:
        raise ParseError(
            f"mccli did not start a backup: rc={resp.rc} event={resp.event} message={resp.message[:200]!r}"
        )
    for line in resp.body_lines:
        match = _ACTIVITY_ID_RE.match(line) or _BARE_ID_RE.match(line)
        if match:
            return match.group(1)
    raise ParseError("mccli answered event 22305 but printed no activity id")


def _column_spans(header: str, dashes: str) -> List[Tuple[str, int, Optional[int]]]:
    runs = [m.start() for m in _DASH_RUN_RE.finditer(dashes)]
    spans: List[Tuple[str, int, Optional[int]]] = []
    for i, start in enumerate(runs):
        end = runs[i + 1] if i + 1 < len(runs) else None
        title = " ".join(header[start:end].split()).lower()
        spans.append((title, start, end))
    return spans


def parse_activities(text: str) -> List[Activity]:
    """Parse ``mccli activity show`` (the first line included or not) into activities.

    Raises ParseError when the first line reports an error, or when no header/dash line pair
    with an ``ID`` column is found. An empty table gives an empty list.
    """
    _check_size(text)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    first = next((line for line in lines if line.strip()), "")
    if _FIRST_LINE_RE.match(first):
        resp = parse_response(text)
        if resp.rc != 0:
            raise ParseError(f"mccli activity show failed: rc={resp.rc} event={resp.event} {resp.message[:200]!r}")
        lines = resp.body_lines
    for i in range(1, len(lines)):
        if _DASH_LINE_RE.match(lines[i]) and lines[i - 1].strip():
            spans = _column_spans(lines[i - 1], lines[i])
            if any(title == "id" for title, _, _ in spans):
                return _rows(spans, lines[i + 1 :])
    raise ParseError("mccli activity show: no table header with an 'ID' column followed by a dash line")


def _rows(spans: List[Tuple[str, int, Optional[int]]], lines: List[str]) -> List[Activity]:
    activities: List[Activity] = []
    for line in lines:
        if not line.strip():
            continue
        if len(activities) >= MAX_ROWS:
            raise ParseError(f"mccli activity show: more than {MAX_ROWS} rows")
        values: Dict[str, Optional[str]] = {}
        for title, start, end in spans:
            name = _COLUMNS.get(title)
            if name is None:
                continue
            value = line[start:end].strip()
            values[name] = value or None
        if not values.get("id"):
            continue
        code_text = values.pop("error_code", None)
        error_code: Optional[int] = None
        if code_text and code_text.upper() != "N/A":
            if not re.fullmatch(r"-?[0-9]{1,12}", code_text):
                raise ParseError(f"mccli activity show: error code is not an integer: {code_text[:50]!r}")
            error_code = int(code_text)
        fields = {name: values.get(name) for name in _COLUMNS.values() if name not in ("id", "error_code")}
        activities.append(Activity(id=values["id"] or "", error_code=error_code, **fields))
    return activities
