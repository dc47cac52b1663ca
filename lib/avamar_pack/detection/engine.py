"""The detection engine: follower + parsers + run assembly + folding + durable state + dispatch.

``DetectionEngine.poll_once()`` is one deterministic pass: re-evaluate the globs, read what was
appended, parse, fold, dispatch, save. The sensor's ``run()`` loops over it, woken by inotify.

None lost, none twice (the exact argument)
------------------------------------------
The saved state is one datastore value: for every file the position of the first record not
yet accounted for (see ``positions``), plus the folding and warning-suppression state. In
memory the engine keeps these current after every record. Order of operations:

1. a record is fed; positions and folding are updated in memory (an auth-failure run is
   either folded - memory only - or produces a payload);
2. a payload is DISPATCHED, and only then is the whole state SAVED;
3. at the end of a pass the state is saved again if anything changed (folds, positions).

A kill -9 at any point restarts from the last saved state, which is always a consistent
"everything before these positions is reflected in this folding state":

* before a save that follows a fold: the folded runs are re-read and folded again into the
  restored folding state -> counted once (nothing was dispatched for them yet);
* after a dispatch and its save: the positions are past the run -> not re-read, not re-sent;
* between a dispatch and its save (two consecutive calls, no I/O of ours between them): the
  run is re-read and dispatched again. This one window is at-least-once; it cannot be closed
  without a transactional dispatch, and moving the save before the dispatch would make it
  at-most-once (a lost trigger), which is worse for an outage. The window is the time of one
  datastore write; the workflow it starts converges anyway (a second run finds ``in_sync``).

An avtar run spans many lines, so a position never points past the first record of a run that
is still open: a restart re-reads the whole run. A run counted at end of file (snapshot, see
``RunAssembler.flush``) is marked ``counted`` so that re-reading it does not count it again.
Rotation while the sensor is dead: a renamed file is found again by its inode (``_discover``).
A copytruncated one keeps its inode but its content before the saved offset is gone (shorter,
or other bytes: the saved ``sig`` does not match); it then goes through the same ``_truncated``
recovery as while running: the rotated copy whose bytes before the offset match ``sig`` is
read from the saved (offset, skip, counted) to its end, then the file from 0. Saves made
meanwhile store the signature of the content the position really refers to (the saved one
before recovery, the copy's while reading it), so a kill during the recovery repeats it.

The salt-api event stream cannot be replayed, so Salt-sourced failures are at-most-once across
a sensor restart (and exactly once while it runs).
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from datetime import datetime, timezone
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Tuple

from avamar_pack.config import section
from avamar_pack.detection.folding import Failure, FailureFolder, WarningSuppressor
from avamar_pack.detection.follower import MAX_LINE, Follower, Line, Tracked, read_copy, read_signature
from avamar_pack.detection.payloads import (
    AUTH_FAILURE_TRIGGER,
    TICKET_WARNING_TRIGGER,
    ServerMap,
    clean_text,
    iso,
    valid_client,
    warning_payload,
)
from avamar_pack.detection.positions import FilePosition, StateStore
from avamar_pack.failures import AvtarRun, RunAssembler
from avamar_pack.parsing import avtar, gsan

DEFAULT_CLIENT_GLOBS = ["/usr/local/avamar/var/clientlogs/*.log"]
DEFAULT_GSAN_GLOBS = ["/data01/cur/gsan.log", "/data01/cur/err.log"]
DEFAULT_WINDOW = 900
DEFAULT_SETTLE = 0.3  # seconds of quiet before a run without its END banner is acted on
SALT_STREAM_IDLE = 600.0  # seconds after which a quiet minion's run state is dropped
MAX_SKIP_NOTES = 100  # skip reasons kept for inspection (tests, debugging); all are logged

Key = Tuple[int, int]  # (line start offset, record index in the line)


def _open_state(assembler: RunAssembler) -> Tuple[int, bool]:
    """(sequence number of the newest run, whether a run is open) of an assembler.

    RunAssembler numbers its runs (``AvtarRun.seq``); the engine needs to know which fed record
    opened the run in progress, to keep the position at that run's start.
    """
    return assembler.seq, assembler.has_open_run


class _RunStream:
    """One source of avtar records (a file, or one Salt minion) and the run in progress."""

    def __init__(self, log_file: str, client: Optional[str], source: str) -> None:
        self.assembler = RunAssembler(log_file=log_file, client=client)
        self.source = source
        self.open_start: Optional[Key] = None
        self.open_counted = False
        self.resume_counted = False
        self.last_growth = 0.0


class _FileStream(_RunStream):
    def __init__(self, tracked: Tracked, commit: Key, counted: bool) -> None:
        super().__init__(tracked.path, None, "file")
        self.tracked = tracked
        self.commit: Key = commit  # position of the first record not accounted for
        self.commit_counted = counted
        self.resume: Optional[Key] = commit if commit[1] else None  # records to skip in that line
        self.resume_counted = counted  # the first run re-read from ``commit`` was counted already
        self.sig = ""  # signature of the bytes before tracked.buf_start (copytruncate recovery)
        # Where the bytes before ``commit`` live when it is not the tracked inode, so that a save
        # stores the signature of the content the position refers to (see ``_save``):
        self.pending_sig: Optional[str] = None  # restored position found truncated, not recovered yet
        self.copy_path: Optional[str] = None  # reading the rotated copy (offsets are the copy's)


class DetectionEngine:
    """Builds everything from the pack config; see the module docstring for the guarantees."""

    def __init__(
        self,
        config: Mapping[str, Any],
        sensor_service: Any,
        logger: Optional[Any] = None,
        *,
        clock: Callable[[], float] = time.time,
        settle_seconds: Optional[float] = None,
        from_beginning: Optional[bool] = None,
        max_line: int = MAX_LINE,
    ) -> None:
        sensor_cfg = section(config, "sensor")
        self.log = logger or logging.getLogger(__name__)
        self.service = sensor_service
        self.clock = clock
        self.window = float(sensor_cfg.get("dedup_window_seconds", DEFAULT_WINDOW))
        self.settle = float(settle_seconds if settle_seconds is not None
                            else sensor_cfg.get("settle_seconds", DEFAULT_SETTLE))
        self.from_beginning = bool(from_beginning if from_beginning is not None
                                   else sensor_cfg.get("read_existing_logs", False))
        # GSAN first: its paths are exact names, so a broad client glob cannot claim them.
        globs = {
            "gsan": list(sensor_cfg.get("gsan_log_paths") or DEFAULT_GSAN_GLOBS),
            "avtar": list(sensor_cfg.get("client_log_paths") or DEFAULT_CLIENT_GLOBS),
        }
        self.servers = ServerMap.from_config(config)
        self.follower = Follower(globs, max_line=max_line, clock=clock)
        self.store = StateStore(sensor_service)
        state = self.store.load()
        # Globs whose files we have followed (saved state), or follow since this start: a file
        # they match that we do not know yet is new on disk and is read from its first byte.
        self.known_patterns = set(state.get("patterns") or ())
        self.folder = FailureFolder(self.window, state.get("folding"))
        self.suppressor = WarningSuppressor(self.window, state.get("warnings"))
        self.saved: Dict[str, FilePosition] = {}
        for key, raw in (state.get("files") or {}).items():
            pos = FilePosition.from_dict(raw)
            if pos is not None:
                self.saved[key] = pos
        self.streams: Dict[str, _FileStream] = {}
        self.salt_streams: Dict[str, _RunStream] = {}
        self.salt_queue: Deque[Tuple[str, Dict[str, Any]]] = deque(maxlen=10000)
        self.started = False
        self.backlog = False
        self.dirty = False
        self.dispatched: int = 0
        self.skipped: List[str] = []

    # -- the pass ----------------------------------------------------------------------------

    def poll_once(self, max_bytes_per_file: Optional[int] = None) -> int:
        """One pass over files and queued Salt events; returns the number of triggers dispatched."""
        before = self.dispatched
        self.backlog = False
        now = self.clock()
        self._discover(now)
        for key in sorted(self.streams):
            stream = self.streams.get(key)
            if stream is not None:
                self._read_file(stream, max_bytes_per_file)
        self._drain_salt()
        self._settle(self.clock())
        self._window_ends(self.clock())
        for note in self.follower.notes:
            self._skip(note)
        self.follower.notes.clear()
        if self.dirty:
            self._save()
        return self.dispatched - before

    def next_timeout(self, idle: float) -> float:
        """How long ``run()`` may sleep: until the next folded window ends or a run settles."""
        if self.backlog:
            return 0.0
        now = self.clock()
        deadlines = [now + idle]
        fold = self.folder.next_deadline()
        if fold is not None:
            deadlines.append(fold)
        for stream in list(self.streams.values()) + list(self.salt_streams.values()):
            if stream.assembler.has_unreported_records:
                deadlines.append(stream.last_growth + self.settle)
        return max(0.0, min(deadlines) - now)

    def close(self) -> None:
        self.follower.close_all()
        self.streams.clear()

    # -- files -------------------------------------------------------------------------------

    def _discover(self, now: float) -> None:
        found = self.follower.scan()
        for key, (path, kind, st, pattern) in found.items():
            stream = self.streams.get(key)
            if stream is not None:
                stream.tracked.path = path
                stream.tracked.gone_since = None
                continue
            saved = self.saved.pop(key, None)
            if saved is not None and saved.kind == kind:
                tracked = self.follower.open(path, kind, st, saved.offset)
                if tracked is None:
                    continue
                stream = self._add_stream(tracked, (saved.offset, saved.skip), saved.counted)
                if st.st_size < saved.offset or (saved.sig and tracked.signature(saved.offset) != saved.sig):
                    # Truncated while we were down (copytruncate; or the inode was reused): the first
                    # read recovers exactly as when it happens while we run (``_truncated``: the
                    # rotated copy from the saved offset, then this file from 0). Until then a save
                    # must keep the saved signature, not hash the new content.
                    stream.sig = stream.pending_sig = saved.sig
                continue
            if saved is not None:
                self._skip(f"{path}: was followed as {saved.kind}, now matches the {kind} globs: read from 0")
                start = 0
            elif not self.from_beginning and (pattern not in self.known_patterns):
                # First start, or a glob added since the last save: like tail -F, only new lines.
                start = _last_line_start(path, st.st_size)
            else:
                start = 0  # appeared since we started (or since the last saved state): all of it is new
            tracked = self.follower.open(path, kind, st, start)
            if tracked is not None:
                self._add_stream(tracked, (start, 0), False)
        if not self.started:
            # Saved inodes no glob names any more: rotated away while we were down. Finish them.
            for saved in list(self.saved.values()):
                other = self.follower.find_inode_near(saved.path, saved.dev, saved.inode)
                if other is not None:
                    try:
                        st = os.stat(other)
                    except OSError:
                        st = None
                    if st is not None and st.st_size >= saved.offset:
                        tracked = self.follower.open(other, saved.kind, st, saved.offset)
                        if tracked is not None:
                            tracked.gone_since = now
                            self._add_stream(tracked, (saved.offset, saved.skip), saved.counted)
                            continue
                self._skip(f"{saved.path}: saved inode {saved.inode} is gone: position dropped")
            self.saved.clear()
            self.dirty = True
            self.started = True
            self.known_patterns = {p for patterns in self.follower.globs.values() for p in patterns}
        for key, stream in self.streams.items():
            if key not in found and stream.tracked.gone_since is None:
                stream.tracked.gone_since = now

    def _add_stream(self, tracked: Tracked, commit: Key, counted: bool) -> _FileStream:
        stream = _FileStream(tracked, commit, counted)
        stream.last_growth = self.clock()
        stream.sig = tracked.signature(tracked.buf_start)
        self.streams[tracked.key] = stream
        self.dirty = True
        return stream

    def _read_file(self, stream: _FileStream, max_bytes: Optional[int]) -> None:
        tracked = stream.tracked
        size = self.follower.size(tracked)
        if stream.pending_sig is not None or (size is not None and (size < tracked.read_offset or (
                stream.sig and tracked.signature(tracked.buf_start) != stream.sig))):
            # Shorter than what we read, or the bytes before our offset changed (truncated and
            # already written past our offset again): copytruncate.
            self._truncated(stream)
        lines = self.follower.read_lines(tracked, max_bytes)
        if lines:
            stream.last_growth = tracked.last_growth
        if max_bytes is not None and size is not None and tracked.read_offset < size:
            self.backlog = True  # more to read: the next pass comes at once, not on the next wake-up
        for line in lines:
            self._line(stream, line)
        stream.sig = tracked.signature(tracked.buf_start)
        if tracked.gone_since is not None and not lines and self.clock() - tracked.gone_since >= self.follower.grace:
            self._finish(stream)

    def _truncated(self, stream: _FileStream) -> None:
        tracked = stream.tracked
        offset = tracked.buf_start
        stream.pending_sig = None
        copy = self.follower.find_copy(tracked, offset, stream.sig)
        if copy is not None:
            self._skip(f"{tracked.path}: copytruncate: read {copy} from offset {offset} first")
            # Same parse path and log_file name as the original; a save meanwhile (a dispatch)
            # stores the copy's signature, so a kill here resumes in the copy, not in new content.
            stream.copy_path = copy
            for line in read_copy(copy, offset, self.follower.max_line):
                self._line(stream, line)
        else:
            # What is lost is the old content after ``offset``: its end is gone with it, so only
            # the partial line we held (if any) is a known lower bound.
            unread = tracked.read_offset - offset
            self.log.warning(
                "%s: truncated or replaced below offset %d and no rotated copy (name.1, name.<n>, name-YYYYMMDD; "
                ".gz not read) holds the old content: the bytes written after byte %d of the old content "
                "(at least %d, the total is unknown) may be lost; reading it from 0",
                tracked.path, offset, offset, unread)
            self._skip(f"{tracked.path}: truncated below offset {offset}, no rotated copy found: read from 0")
        # The run in progress (if any) ends with the old content: act on it, then start afresh at 0.
        self._flush(stream)
        stream.copy_path = None
        stream.assembler = RunAssembler(log_file=tracked.path, client=None)
        stream.open_start, stream.open_counted = None, False
        self.follower.reset(tracked, 0)
        stream.commit, stream.commit_counted = (0, 0), False
        stream.resume = None
        self.dirty = True

    def _finish(self, stream: _FileStream) -> None:
        """A rotated-away file that stopped growing: last line, last run, then forget it."""
        last = self.follower.final_line(stream.tracked)
        if last is not None:
            self._line(stream, last)
        self._flush(stream)
        self.follower.close(stream.tracked)
        self.streams.pop(stream.tracked.key, None)
        self.dirty = True

    def _line(self, stream: _FileStream, line: Line) -> None:
        if line.data is None:
            self._skip(f"{stream.tracked.path}: {line.reason}")
            self._advance(stream, line)
            return
        text = line.data.decode("utf-8", "replace")
        skip = 0
        if stream.resume is not None and stream.resume[0] == line.start:
            skip = stream.resume[1]
        stream.resume = None
        if stream.tracked.kind == "avtar":
            if avtar.might_matter(text):
                scan = avtar.scan_line(text)
                for idx, record in enumerate(scan.records):
                    if idx >= skip:
                        self._feed(stream, record, (line.start, idx), stream.tracked.path)
        else:
            for idx, warning in enumerate(gsan.scan_line(text)):
                if idx >= skip:
                    stream.commit = (line.start, idx + 1)
                    self._warning(warning, stream.tracked.path, "file")
        self._advance(stream, line)

    def _advance(self, stream: _FileStream, line: Line) -> None:
        if stream.open_start is None:
            stream.commit = (line.end, 0)
            stream.commit_counted = False
        self.dirty = True

    def _feed(self, stream: _RunStream, record: avtar.AvtarRecord, key: Key, where: str) -> None:
        assembler = stream.assembler
        prev_seq, _ = _open_state(assembler)
        prev_counted = stream.open_counted
        runs = assembler.feed(record)
        seq, is_open = _open_state(assembler)
        new_counted = False
        if seq != prev_seq:  # this record opened a run: the position must not pass it while it is open
            new_counted = stream.resume_counted  # after a restart: the run at the saved position was counted
            stream.open_start, stream.open_counted = key, new_counted
        stream.resume_counted = False
        if not is_open:
            stream.open_start, stream.open_counted = None, False
        if isinstance(stream, _FileStream):
            if stream.open_start is not None:
                stream.commit, stream.commit_counted = stream.open_start, stream.open_counted
            else:
                stream.commit, stream.commit_counted = (key[0], key[1] + 1), False
        for run in runs:
            self._run(run, prev_counted if run.seq == prev_seq else new_counted, stream.source, where)

    def _settle(self, now: float) -> None:
        """Act on runs that stopped growing without an END banner (avtar often dies without one),
        and at once on runs that already printed their outcome (nothing but trailer lines follows)."""
        for stream in list(self.streams.values()) + list(self.salt_streams.values()):
            if now - stream.last_growth >= self.settle or stream.assembler.open_run_winding_down:
                self._flush(stream)
        for key, stream in list(self.salt_streams.items()):
            if now - stream.last_growth >= SALT_STREAM_IDLE:  # a minion gone quiet: forget its run
                del self.salt_streams[key]

    def _flush(self, stream: _RunStream) -> None:
        seq, is_open = _open_state(stream.assembler)
        if not is_open:
            return
        for run in stream.assembler.flush():
            counted = stream.open_counted
            if run.auth_failure:
                stream.open_counted = True
                if isinstance(stream, _FileStream) and stream.open_start == stream.commit:
                    stream.commit_counted = True
            self._run(run, counted, stream.source, getattr(stream.assembler, "log_file", "") or "")

    # -- runs and warnings -------------------------------------------------------------------

    def _run(self, run: AvtarRun, counted: bool, source: str, where: str) -> None:
        if not run.auth_failure:
            return
        if counted:
            return  # this run was counted from a snapshot already (same run, more lines since)
        server, how = self.servers.for_client(run.server, run.log_file)
        if server is None:
            self._skip(f"{where}: auth failure not mapped to a server: {how}")
            return
        client = valid_client(run.client)
        if client is None:
            self._skip(f"{where}: auth failure with an invalid client name {clean_text(run.client, 80)!r}: skipped")
            return
        now_iso = datetime.now(timezone.utc)
        failure = Failure(
            server=server,
            client=client,
            codes=[int(c) for c in run.codes],
            message=run.fatal_message or "",
            ticket=run.ticket,
            log_file=run.log_file or where,
            first_seen=iso(run.started_at, now_iso),
            last_seen=iso(run.ended_at, now_iso),
            source=source,
        )
        payload = self.folder.add(failure, self.clock())
        self.dirty = True
        if payload is not None:
            self._dispatch(AUTH_FAILURE_TRIGGER, payload)
        else:
            self.log.info("auth failure of %s on %s folded into the next dispatch", client, server)

    def _warning(self, warning: gsan.TicketWarning, where: str, source: str) -> None:
        server, how = self.servers.for_gsan(where)
        if server is None:
            self._skip(f"{where}: session-ticket warning not mapped to a server: {how}")
            return
        self.dirty = True
        if not self.suppressor.admit(server, warning.code, self.clock()):
            self.log.info("warning %s of %s suppressed (one per window)", warning.code, server)
            return
        payload = warning_payload(server=server, code=warning.code, kind=warning.kind, serial=warning.serial,
                                  minserial=warning.minserial, line=warning.text,
                                  seen_at=iso(warning.timestamp, datetime.now(timezone.utc)), source=source)
        self._dispatch(TICKET_WARNING_TRIGGER, payload)

    def _window_ends(self, now: float) -> None:
        for payload in self.folder.due(now):
            self._dispatch(AUTH_FAILURE_TRIGGER, payload)
        self.suppressor.expire(now)

    def _dispatch(self, trigger: str, payload: Dict[str, Any]) -> None:
        # Dispatch first, then save: see "None lost, none twice" in the module docstring.
        self.service.dispatch(trigger=trigger, payload=payload)
        self.dispatched += 1
        self.log.info("dispatched %s for server %s (count %s)", trigger, payload.get("server"), payload.get("count", 1))
        self._save()

    def _save(self) -> None:
        files: Dict[str, FilePosition] = {}
        for key, stream in self.streams.items():
            tracked = stream.tracked
            offset, skip = stream.commit
            if stream.pending_sig is not None:
                sig = stream.pending_sig
            elif stream.copy_path is not None:
                sig = read_signature(stream.copy_path, offset)
            else:
                sig = tracked.signature(offset)
            files[key] = FilePosition(path=tracked.path, kind=tracked.kind, dev=tracked.dev, inode=tracked.inode,
                                      offset=offset, skip=skip, counted=stream.commit_counted, sig=sig)
        patterns = self.known_patterns if self.started else ()
        self.store.save(files, self.folder.state(), self.suppressor.state(), patterns)
        self.dirty = False

    def _skip(self, reason: str) -> None:
        self.log.info("skipped: %s", reason)
        if len(self.skipped) < MAX_SKIP_NOTES:
            self.skipped.append(reason)

    # -- Salt --------------------------------------------------------------------------------

    def push_salt_event(self, tag: str, data: Dict[str, Any]) -> None:
        """Queue one event from the salt-api stream (thread-safe: deque append)."""
        self.salt_queue.append((tag, data))

    def _drain_salt(self) -> None:
        while self.salt_queue:
            tag, data = self.salt_queue.popleft()
            self.handle_salt_event(tag, data)

    def handle_salt_event(self, tag: str, data: Dict[str, Any]) -> None:
        from avamar_pack.detection.salt_events import event_lines

        minion, log_file, lines, complete = event_lines(tag, data)
        if not lines:
            return
        # The client is the run's own (its "Log file path" line), else the log file's name, else
        # the minion id: ``log_file`` is ``salt://<minion>[/<path>]``; run.client is validated later.
        stream_key = f"{minion}|{log_file}"
        stream = self.salt_streams.get(stream_key)
        if stream is None:
            stream = _RunStream(log_file, None, "salt")
            self.salt_streams[stream_key] = stream
        stream.last_growth = self.clock()
        for i, text in enumerate(lines):
            if avtar.might_matter(text):
                for idx, record in enumerate(avtar.scan_line(text).records):
                    self._feed(stream, record, (i, idx), log_file)
            for warning in gsan.scan_line(text):
                self._warning(warning, log_file, "salt")
        if complete:  # an `avamar/...` event carries a whole excerpt: act now, start afresh next time
            self._flush(stream)
            del self.salt_streams[stream_key]


def _last_line_start(path: str, size: int) -> int:
    """Offset just after the last newline before ``size`` (so we never start mid-line)."""
    if size <= 0:
        return 0
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return size
    try:
        pos = size
        while pos > 0:
            start = max(0, pos - 65536)
            chunk = os.pread(fd, pos - start, start)
            nl = chunk.rfind(b"\n")
            if nl >= 0:
                return start + nl + 1
            pos = start
            if size - pos > MAX_LINE:
                return size  # no newline near the end: a huge line; start after it
        return 0
    finally:
        os.close(fd)
