"""Group avtar log records into runs: one ``AvtarRun`` per avtar invocation.

Run boundaries in an avtar client log. Logs are often APPENDED (one ``avtar.log`` for every
run, a log shipper's concatenation) with nothing between two runs [I], so a boundary is any of:

* ``----- START avtar log`` (``-----  START`` on Windows) [C];
* ``Info <8474>: - Log file path: ...`` when the run in progress already saw one, or already
  reached its outcome [C: every run logs it near its start];
* ``Info <5552>: Connecting to Avamar Server`` or ``Info <6555>: Initializing connection``
  after the run in progress REACHED ITS OUTCOME (a FATAL record, ``5314``, ``6149`` or
  ``7001``): avtar does not reconnect after it has given up, so these open the next run;
* ``----- END avtar log ...`` closes the run.

Outcome: ``succeeded`` is False when the run has a FATAL record, ``5314 Command failed`` or
``7001``; True on ``5314 Command completed`` (or an END banner reporting ``0 errors, 0 fatal
errors``) without any of those; None while unknown. ``auth_failure`` is True only when an
``Error`` or ``FATAL`` record has code 5704 [C: the KB's ``FATAL <5704> ... MSG_ERR_AUTH_FAIL``]:
a ``Warning <5704>`` or an Info line that merely quotes ``MSG_ERR_AUTH_FAIL`` is not one.
``codes`` are the distinct Error/FATAL codes in order of first appearance.

The client: the account the run names (``--account=/clients/<name>`` where avtar echoes its
command line [I]), else the stem of the ``8474`` log path (Linux logs are named after the
client [C: the KB's ``some-Unix.log``]), else the stem of the file being read.

Streaming: ``RunAssembler.feed(record)`` returns the runs that record completed. ``flush()``
returns a snapshot of the run in progress (``complete=False``) so a sensor can act at end of
file without waiting for the END banner; the run stays open, and when it completes later it is
reported again only if its summary (codes, outcome, server, client, ticket) changed since the
snapshot. ``AvtarRun.seq`` numbers runs per assembler so a consumer can tell a re-report.
Runs that hold nothing worth reporting (only Info lines and no start marker, e.g. the tail of a
run already closed) are dropped. Memory per run is capped (``MAX_RUN_LINES``, ``MAX_CODES``).
"""

from __future__ import annotations

import ntpath
import posixpath
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Dict, Iterable, List, Optional, Tuple, Union

from avamar_pack.parsing.avtar import (
    CODE_AUTH_FAIL,
    CODE_COMMAND_DONE,
    CODE_CONNECTING,
    CODE_ERROR_SUMMARY,
    CODE_EXIT_FAILURE,
    CODE_INITIALIZING,
    CODE_LOG_FILE_PATH,
    FAILURE_SEVERITIES,
    AvtarRecord,
    parse_ticket,
)

MAX_RUN_LINES = 200
MAX_FAILURE_LINES = 100  # failure lines kept beyond MAX_RUN_LINES
MAX_CODES = 64

_SERVER_RE = re.compile(r"Connecting to Avamar Server \(([^()\s]{1,253})\)")
_LOG_PATH_RE = re.compile(r"Log file path:\s*(\S.{0,1023}?)\s*$")
_ACCOUNT_RE = re.compile(r"--account=[\"']?(/[^\s\"']{1,512})")
_CLEAN_END_RE = re.compile(r"\b0 errors, 0 fatal errors\b")
_RECONNECT_CODES = frozenset({CODE_CONNECTING, CODE_INITIALIZING})
_CONTEXT_CODES = frozenset({CODE_LOG_FILE_PATH, CODE_CONNECTING})  # what _Run._context reads besides --account=
_OUTCOME_CODES = frozenset({CODE_COMMAND_DONE, CODE_EXIT_FAILURE, CODE_ERROR_SUMMARY})  # only trailer lines follow


@dataclass(frozen=True)
class AvtarRun:
    client: Optional[str]
    server: Optional[str]
    log_file: Optional[str]
    codes: List[int]
    fatal_message: Optional[str]
    ticket: Optional[Dict[str, Union[int, str]]]
    started_at: Optional[datetime]
    ended_at: Optional[datetime]
    succeeded: Optional[bool]
    auth_failure: bool
    records: Tuple[AvtarRecord, ...] = ()  # the run's records (capped, see MAX_RUN_LINES)
    seq: int = 0
    complete: bool = True

    @property
    def lines(self) -> List[str]:
        """The run's records as log lines (formatted on demand: most runs are never shown)."""
        return [format_record(record) for record in self.records]


def format_record(record: AvtarRecord) -> str:
    """A record back as one avtar log line (standard shape; banners as written)."""
    if record.shape == "banner":
        return f"----- {record.text}"
    stamp = record.timestamp.replace(microsecond=0).isoformat(sep=" ") + " " if record.timestamp else ""
    suffix = f" (Log #{record.log_no})" if record.log_no is not None else ""
    return f"{stamp}avtar {record.severity} <{record.code}>: {record.text}{suffix}"


def client_from_path(path: str) -> Optional[str]:
    """``/usr/local/avamar/var/clientlogs/some-Unix.log`` -> ``some-Unix`` (Windows paths too)."""
    name = ntpath.basename(posixpath.basename(path.strip()))
    if name.lower().endswith(".log"):
        name = name[:-4]
    return name or None


def client_from_account(account: str) -> Optional[str]:
    """``/clients/winclient01.example.com`` -> ``winclient01.example.com`` (the account's last part)."""
    name = account.rstrip("/").rsplit("/", 1)[-1]
    return name or None


class _Run:
    """Mutable state of the run in progress."""

    def __init__(self) -> None:
        self.records_seen = 0
        self.has_start_banner = False
        self.has_log_path = False
        self.has_outcome = False  # 5314, 6149 or 7001 seen: only trailer lines follow
        self.gave_up = False  # has_outcome or a FATAL record: a reconnect line opens the next run
        self.client: Optional[str] = None
        self.account_client: Optional[str] = None
        self.server: Optional[str] = None
        self.codes: List[int] = []
        self.fatal_message: Optional[str] = None
        self.first_fatal: Optional[str] = None
        self.ticket: Optional[Dict[str, Union[int, str]]] = None
        self.started_at: Optional[datetime] = None
        self.ended_at: Optional[datetime] = None
        self.completed_ok = False
        self.failed = False
        self.clean_end = False
        self.auth_failure = False
        self.records: List[AvtarRecord] = []
        self.failure_lines_over_cap = 0

    def add(self, record: AvtarRecord) -> None:
        self.records_seen += 1
        code, text, stamp = record.code, record.text, record.timestamp
        if stamp is not None:
            if self.started_at is None:
                self.started_at = stamp
            self.ended_at = stamp
        failure = record.severity in FAILURE_SEVERITIES
        if len(self.records) < MAX_RUN_LINES:
            self.records.append(record)
        elif failure and self.failure_lines_over_cap < MAX_FAILURE_LINES:
            self.failure_lines_over_cap += 1
            self.records.append(record)
        if record.shape == "banner":
            if text.startswith("START"):
                self.has_start_banner = True
            elif _CLEAN_END_RE.search(text):
                self.clean_end = True
            return
        if code in _CONTEXT_CODES or (self.account_client is None and "--account=" in text):
            self._context(record)
        if failure:
            if code not in self.codes and len(self.codes) < MAX_CODES:
                self.codes.append(code)
            if record.severity == "FATAL":
                self.failed = self.gave_up = True
                self.first_fatal = self.first_fatal or text
            if code == CODE_AUTH_FAIL:
                self.auth_failure = True
                if self.fatal_message is None:
                    self.fatal_message = text
                if self.ticket is None:
                    self.ticket = parse_ticket(text)
        if code in _OUTCOME_CODES:
            self.has_outcome = self.gave_up = True
            if code == CODE_EXIT_FAILURE or (code == CODE_COMMAND_DONE and "Command failed" in text):
                self.failed = True
            elif code == CODE_COMMAND_DONE and "Command completed" in text:
                self.completed_ok = True

    def _context(self, record: AvtarRecord) -> None:
        """Who the run is: the log path (client), the server it connects to, the account."""
        if record.code == CODE_LOG_FILE_PATH:
            self.has_log_path = True
            match = _LOG_PATH_RE.search(record.text)
            if match and self.client is None:
                self.client = client_from_path(match.group(1))
        elif record.code == CODE_CONNECTING and self.server is None:
            match = _SERVER_RE.search(record.text)
            if match:
                self.server = match.group(1)
        if self.account_client is None and "--account=" in record.text:
            match = _ACCOUNT_RE.search(record.text)
            if match:
                self.account_client = client_from_account(match.group(1))

    def worth_reporting(self) -> bool:
        return bool(self.has_start_banner or self.has_log_path or self.codes or self.completed_ok or self.failed)

    def succeeded(self) -> Optional[bool]:
        if self.failed:
            return False
        if self.completed_ok or self.clean_end:
            return True
        return None

    def freeze(self, log_file: Optional[str], client: Optional[str], seq: int, complete: bool) -> AvtarRun:
        named = client or self.account_client or self.client
        return AvtarRun(
            client=named or (client_from_path(log_file) if log_file else None),
            server=self.server,
            log_file=log_file,
            codes=list(self.codes),
            fatal_message=self.fatal_message or self.first_fatal,
            ticket=dict(self.ticket) if self.ticket else None,
            started_at=self.started_at,
            ended_at=self.ended_at,
            succeeded=self.succeeded(),
            auth_failure=self.auth_failure,
            records=tuple(self.records),
            seq=seq,
            complete=complete,
        )


def _summary(run: AvtarRun) -> Tuple:
    ticket = tuple(sorted((k, str(v)) for k, v in run.ticket.items())) if run.ticket else None
    return (tuple(run.codes), run.succeeded, run.auth_failure, run.server, run.client, run.fatal_message, ticket)


class RunAssembler:
    """Streaming grouping of one log's records into runs (see the module docstring)."""

    def __init__(self, log_file: Optional[str] = None, client: Optional[str] = None) -> None:
        self.log_file = log_file
        self.client = client
        self._run: Optional[_Run] = None
        self._seq = 0
        self._dirty = False  # records fed since the last snapshot
        self._snapshot: Optional[Tuple] = None  # summary reported by the last flush() of this run

    @property
    def seq(self) -> int:
        """``seq`` of the newest run (the open one, if any); 0 before the first record."""
        return self._seq

    @property
    def has_open_run(self) -> bool:
        """True while a run is open (fed records not yet closed by an END banner or a new start)."""
        return self._run is not None

    @property
    def has_unreported_records(self) -> bool:
        """Records were fed since the last snapshot or completed run (``flush`` would report)."""
        return self._run is not None and self._dirty

    @property
    def open_run_has_auth_failure(self) -> bool:
        """The run in progress already holds a FATAL/Error 5704 record."""
        return self._run is not None and self._run.auth_failure

    @property
    def open_run_winding_down(self) -> bool:
        """The run in progress printed its outcome (5314, 6149 or 7001): only trailer lines follow.

        A sensor need not wait for quiet before acting on such a run: avtar dies without an END
        banner, but not before these lines.
        """
        return self._run is not None and self._run.has_outcome

    def feed(self, record: AvtarRecord) -> List[AvtarRun]:
        done: List[AvtarRun] = []
        if self._starts_new_run(record):
            done.extend(self._close())
        if self._run is None:
            self._run = _Run()
            self._seq += 1
            self._snapshot = None
        self._run.add(record)
        self._dirty = True
        if record.shape == "banner" and record.text.startswith("END"):
            done.extend(self._close())
        return done

    def flush(self) -> List[AvtarRun]:
        """A snapshot of the run in progress (``complete=False``), if anything was fed since the last one."""
        if self._run is None or not self._dirty or not self._run.worth_reporting():
            return []
        run = self._run.freeze(self.log_file, self.client, self._seq, complete=False)
        self._dirty = False
        summary = _summary(run)
        if summary == self._snapshot:
            return []
        self._snapshot = summary
        return [run]

    def close(self) -> List[AvtarRun]:
        """End of input for good (file removed, batch done): complete the run in progress."""
        return self._close()

    def discard(self) -> None:
        """``close()`` for a caller that knows the run in progress holds nothing it reports (no auth
        failure): the same state afterwards, without building the run."""
        self._run = None
        self._dirty = False

    def _starts_new_run(self, record: AvtarRecord) -> bool:
        current = self._run
        if current is None or current.records_seen == 0:
            return False
        if record.shape == "banner":
            return record.text.startswith("START")
        if record.code == CODE_LOG_FILE_PATH:
            return current.has_log_path or current.gave_up
        if record.code in _RECONNECT_CODES and record.severity == "Info":
            return current.gave_up
        return False

    def _close(self) -> List[AvtarRun]:
        current, self._run = self._run, None
        self._dirty = False
        if current is None or not current.worth_reporting():
            return []
        run = current.freeze(self.log_file, self.client, self._seq, complete=True)
        if self._snapshot is not None and _summary(run) == self._snapshot:
            return []  # already reported by flush() with the same content
        return [run]


def group_runs(
    records: Iterable[AvtarRecord], log_file: Optional[str] = None, client: Optional[str] = None
) -> List[AvtarRun]:
    """Batch grouping: every run in ``records``; the last one is included even without an END banner."""
    assembler = RunAssembler(log_file, client)
    runs: List[AvtarRun] = []
    for record in records:
        runs.extend(assembler.feed(record))
    runs.extend(assembler.close())
    return runs
