"""The detection loop: pull lines from the sources, assemble runs, fold, dispatch, save.

One failure, from log line to trigger::

    sources/files.py   FileSource.pull()        a Block of /usr/local/avamar/var/clientlogs/c1.log
    catchup.py         BlockWalker.walk          the lines that can matter -> avtar.records(text)
    engine.py          _feed                     each record -> RunAssembler
    cursor.py          Cursor.record_fed         the position stays at the open run's first record
    parsing/avtar_runs AvtarRun (auth_failure)   the run ends (END, a new run, or it settles)
    engine.py          _run                      servers.py maps it; payloads.py cleans it
    folding.py         FailureFolder.add         first of the server's window -> payload; else folded
    dispatching.py     _dispatch -> _save        dispatch, THEN one datastore write (cursor.py says why)

``poll_once()`` is one deterministic pass over every source (files first, then queued Salt
events), then the runs that settled, the folding windows that ended, and a save if anything
changed. The sensor's ``run()`` loops over it, woken by inotify or a Salt event. A backlog
(startup with ``read_existing_logs``, a restart after downtime, a burst) goes through the same
pass, bounded per file by ``max_bytes_per_file``.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Mapping, Optional, Set

from avamar_pack.config import section
from avamar_pack.detection import catchup
from avamar_pack.detection.cursor import Cursor, Key
from avamar_pack.detection.dispatching import Dispatching
from avamar_pack.detection.folding import Failure, FailureFolder, WarningSuppressor
from avamar_pack.detection.payloads import (
    AUTH_FAILURE_TRIGGER,
    TICKET_WARNING_TRIGGER,
    clean_text,
    iso,
    valid_client,
)
from avamar_pack.detection.positions import FilePosition, StateStore
from avamar_pack.detection.servers import ServerMap
from avamar_pack.detection.sources import (
    Block,
    CaughtUp,
    Line,
    Note,
    Source,
    Stream,
    StreamEnded,
    StreamOpened,
    StreamReset,
)
from avamar_pack.detection.sources.files import FileSource
from avamar_pack.detection.sources.reader import MAX_LINE
from avamar_pack.detection.sources.salt import SaltSource
from avamar_pack.parsing import avtar, gsan
from avamar_pack.parsing.avtar_runs import AvtarRun, RunAssembler
from avamar_pack.schema_defaults import setting

# Defaults (dedup window, settle, rotation grace) come from config.schema.yaml: schema_defaults.setting.
STREAM_IDLE = 600.0  # seconds after which a quiet stream that cannot be resumed (Salt) is forgotten
MAX_SKIP_NOTES = 100  # skip reasons kept for inspection (tests, debugging); all are logged
MAX_WARNED = 1000  # distinct "not mapped" reasons logged as warnings; repeats go to info


class _Runs:
    """The engine's state of one stream: its cursor, the run in progress, when it last grew."""

    def __init__(self, source: Source, stream: Stream, cursor: Cursor, now: float) -> None:
        self.source = source
        self.stream = stream
        self.cursor = cursor
        self.assembler = RunAssembler(log_file=stream.label, client=None)
        self.last_growth = now


class DetectionEngine(Dispatching):
    """Builds the sources, the server map and the folding from the pack config."""

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
        super().__init__(sensor_service, logger, __name__)
        sensor_cfg = section(config, "sensor")
        self._clock = clock
        self.window = float(setting(sensor_cfg, "dedup_window_seconds", "sensor.dedup_window_seconds"))
        if settle_seconds is None:
            settle_seconds = setting(sensor_cfg, "settle_seconds", "sensor.settle_seconds")
        self.settle = float(settle_seconds)
        self.servers = ServerMap.from_config(config)
        self.store = StateStore(sensor_service)
        state = self.store.load()
        self.folder = FailureFolder(self.window, state.get("folding"))
        self.suppressor = WarningSuppressor(self.window, state.get("warnings"))
        saved: Dict[str, FilePosition] = {}
        for key, raw in (state.get("files") or {}).items():
            pos = FilePosition.from_dict(raw)
            if pos is not None:
                saved[key] = pos
        read_existing = from_beginning if from_beginning is not None else sensor_cfg.get("read_existing_logs", False)
        self.files = FileSource(
            self.servers.log_globs(sensor_cfg),
            saved,
            state.get("patterns") or (),
            from_beginning=bool(read_existing),
            max_line=max_line,
            clock=clock,
            logger=self.log,
            # seconds a rotated-away file is still read (its writer may hold it open)
            grace_seconds=float(setting(sensor_cfg, "rotation_grace_seconds", "sensor.rotation_grace_seconds")),
        )
        self.salt = SaltSource(self.servers.minions, self.log)
        self.sources: List[Source] = [self.files, self.salt]
        self.streams: Dict[str, _Runs] = {}
        self.blocks = catchup.BlockWalker(self._feed, self._line)
        self.dirty = True  # the first pass saves (positions and the globs followed)
        self.skipped: List[str] = []
        self._warned: Set[str] = set()

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.files.clock = clock

    # -- the pass ----------------------------------------------------------------------------

    def poll_once(self, max_bytes_per_file: Optional[int] = None) -> int:
        """One pass over every source; returns the number of triggers dispatched."""
        before = self.dispatched
        for source in self.sources:
            for item in source.pull(max_bytes_per_file):
                self._handle(source, item)
        now = self.clock()
        self._settle(now)
        self._window_ends(now)
        if self.dirty:
            self._save()
        return self.dispatched - before

    def next_timeout(self, idle: float) -> float:
        """How long ``run()`` may sleep: until the next folded window ends or a run settles."""
        if any(source.backlog for source in self.sources):
            return 0.0
        now = self.clock()
        deadlines = [now + idle]
        fold = self.folder.next_deadline()
        if fold is not None:
            deadlines.append(fold)
        for runs in self.streams.values():
            if runs.assembler.has_unreported_records:
                deadlines.append(runs.last_growth + self.settle)
        return max(0.0, min(deadlines) - now)

    def push_salt_event(self, tag: str, data: Dict[str, Any]) -> None:
        """Queue one event from the salt-api stream (thread-safe)."""
        self.salt.push(tag, data)

    def watched_dirs(self) -> List[str]:
        return self.files.watched_dirs()

    def close(self) -> None:
        for source in self.sources:
            source.close()
        self.streams.clear()

    # -- items from the sources --------------------------------------------------------------

    def _handle(self, source: Source, item: object) -> None:
        if isinstance(item, Line):
            runs = self.streams.get(item.stream.key)
            if runs is None:  # a stream announced by its first line (Salt)
                runs = self.streams[item.stream.key] = _Runs(source, item.stream, Cursor.at(item.start), self.clock())
            runs.last_growth = self.clock()
            self._line(runs, item.start, item.end, item.text, item.reason)
        elif isinstance(item, Block):
            runs = self.streams[item.stream.key]
            runs.last_growth = self.clock()
            self.blocks.walk(runs, item)
            self.dirty = True
        elif isinstance(item, CaughtUp):
            runs = self.streams.get(item.stream.key)
            if runs is not None:
                self._settle_one(runs, self.clock())
        elif isinstance(item, StreamOpened):
            cursor = Cursor.restored(item.offset, item.skip, item.counted)
            self.streams[item.stream.key] = _Runs(source, item.stream, cursor, self.clock())
            self.dirty = True
        elif isinstance(item, StreamReset):
            runs = self.streams.get(item.stream.key)
            if runs is not None:
                self._flush(runs)
                runs.assembler = RunAssembler(log_file=item.stream.label, client=None)
                runs.cursor.truncated()
                self.dirty = True
        elif isinstance(item, StreamEnded):
            runs = self.streams.get(item.stream.key)
            if runs is not None:
                self._flush(runs)
                self.streams.pop(item.stream.key, None)
                self.dirty = True
        elif isinstance(item, Note):
            self._skip(item.text)

    def _line(self, runs: _Runs, start: int, end: int, text: Optional[str], reason: str = "") -> None:
        """One line ``[start, end)`` of a stream (``text`` None: skipped by the source, ``reason`` says why)."""
        stream, cursor = runs.stream, runs.cursor
        if text is None:
            self._skip(f"{stream.label}: {reason}")
        else:
            skip = cursor.skip_in_line(start)
            if stream.kind != "gsan" and avtar.might_matter(text):
                for idx, record in enumerate(avtar.records(text)):
                    if idx >= skip:
                        self._feed(runs, record, (start, idx))
            if stream.kind != "avtar":
                for idx, warning in enumerate(gsan.scan_line(text)):
                    if idx >= skip:
                        cursor.warning_fed((start, idx))
                        self._warning(runs, warning)
        cursor.line_done(end)
        self.dirty = True

    def _feed(self, runs: _Runs, record: avtar.AvtarRecord, key: Key) -> None:
        assembler = runs.assembler
        seq_before = assembler.seq
        done = assembler.feed(record)
        before, opened = runs.cursor.record_fed(key, assembler.seq != seq_before, assembler.has_open_run)
        for run in done:
            self._run(runs, run, before if run.seq == seq_before else opened)

    def _settle(self, now: float) -> None:
        """Act on runs that stopped growing without an END banner (avtar often dies without one),
        and at once on runs that already printed their outcome (nothing but trailer lines follow)."""
        for key, runs in list(self.streams.items()):
            self._settle_one(runs, now)
            if now - runs.last_growth >= STREAM_IDLE and not runs.source.resumable:
                del self.streams[key]  # a quiet Salt minion: forget its run state
                runs.source.forget(runs.stream)

    def _settle_one(self, runs: _Runs, now: float) -> None:
        if now - runs.last_growth >= self.settle or runs.assembler.open_run_winding_down:
            self._flush(runs)

    def _flush(self, runs: _Runs) -> None:
        if not runs.assembler.has_open_run:
            return
        for run in runs.assembler.flush():
            counted = runs.cursor.snapshot_counted() if run.auth_failure else runs.cursor.open_counted
            self._run(runs, run, counted)

    # -- runs and warnings -------------------------------------------------------------------

    def _run(self, runs: _Runs, run: AvtarRun, counted: bool) -> None:
        if not run.auth_failure or counted:
            return  # not ours, or counted from a snapshot already (the same run, more lines since)
        stream = runs.stream
        where = run.log_file or stream.label
        if stream.origin:
            server, how = self.servers.for_minion(stream.origin, run.server)
        else:
            server, how = self.servers.for_client(run.server, run.log_file, stream.pattern)
        if server is None:
            self._not_mapped(f"{where}: auth failure not mapped to a server: {how}")
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
            log_file=where,
            first_seen=iso(run.started_at, now_iso),
            last_seen=iso(run.ended_at, now_iso),
            source=stream.source,
        )
        payload = self.folder.add(failure, self.clock())
        self.dirty = True
        if payload is not None:
            self._dispatch(AUTH_FAILURE_TRIGGER, payload)
        else:
            self.log.info("auth failure of %s on %s folded into the next dispatch", client, server)

    def _warning(self, runs: _Runs, warning: gsan.TicketWarning) -> None:
        stream = runs.stream
        server, how = self.servers.for_gsan(stream.label, stream.pattern, stream.origin)
        if server is None:
            self._not_mapped(f"{stream.label}: session-ticket warning not mapped to a server: {how}")
            return
        self.dirty = True
        payload = self.suppressor.payload(server, warning, stream.source, self.clock())
        if payload is None:
            self.log.info("warning %s of %s suppressed (one per window)", warning.code, server)
            return
        self._dispatch(TICKET_WARNING_TRIGGER, payload)

    def _window_ends(self, now: float) -> None:
        for payload in self.folder.due(now):
            self._dispatch(AUTH_FAILURE_TRIGGER, payload)
        self.suppressor.expire(now)

    def _save(self) -> None:
        files: Dict[str, FilePosition] = {}
        for key, runs in self.streams.items():
            offset, skip = runs.cursor.committed
            pos = runs.source.checkpoint(runs.stream, offset, skip, runs.cursor.committed_counted)
            if pos is not None:
                files[key] = pos
        self.store.save(files, self.folder.state(), self.suppressor.state(), self.files.patterns())
        self.dirty = False

    def _skip(self, reason: str) -> None:
        self.log.info("skipped: %s", reason)
        if len(self.skipped) < MAX_SKIP_NOTES:
            self.skipped.append(reason)

    def _not_mapped(self, reason: str) -> None:
        """A failure or warning no configured server owns: a warning the first time, info after."""
        if reason not in self._warned and len(self._warned) < MAX_WARNED:
            self._warned.add(reason)
            self.log.warning("skipped: %s", reason)
            if len(self.skipped) < MAX_SKIP_NOTES:
                self.skipped.append(reason)
        else:
            self._skip(reason)
