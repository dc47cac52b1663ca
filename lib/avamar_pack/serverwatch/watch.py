"""``ServerWatch``: one poll of every configured utility node, over each node's own transport.

Per server and poll, read-only:

1. GSAN's ``gsan.log`` from the saved position (``gsan_follow``): every session-ticket warning
   (1479 / 1418 / 1426) is dispatched as ``avamar.session_ticket_warning`` exactly as the file
   sensor does (same payload, at most one per server and code per ``dedup_window_seconds``),
   with ``source: server``;
2. ``mccli activity show``: backups ``Running`` with no progress for ``stall_minutes`` ->
   ``avamar.backup_stalled`` (one per stall); failed backups that coincide with warnings ->
   ``avamar.backup_auth_failure`` (``source: mcs``), folded per server by the file sensor's own
   ``FailureFolder``.

Durability, as in the file sensor ("dispatch, then save"): one datastore value (sensor-local)
holds every server's log position, trackers and the folding state. A warning's dispatch is
followed by a save of the position just after its line; the rest of a poll's progress is saved
once at its end. A transport failure raises before the position moves: the lines are read again
on the next poll, so no warning is lost; a kill between a dispatch and its save repeats that one
dispatch (at least once, never lost).

An unreachable server (connection refused, timeout, auth) is logged ONCE when the outage starts
and once when it ends; a failing MCS (``mccli`` rc != 0) likewise. Nothing here raises out of
``poll_once``: one server's trouble never stops the others or the sensor.
"""

from __future__ import annotations

import contextlib
import copy
import json
import time
from typing import Any, Callable, Dict, Iterator, Mapping, Optional

from avamar_pack.config import ServerSettings, config_bool, config_int, section, server_settings, setting
from avamar_pack.detection.cursor import Cursor
from avamar_pack.detection.dispatching import Dispatching
from avamar_pack.detection.folding import FailureFolder, WarningSuppressor
from avamar_pack.detection.payloads import AUTH_FAILURE_TRIGGER, TICKET_WARNING_TRIGGER
from avamar_pack.errors import AvamarPackError, ParseError
from avamar_pack.node.paths import NodePaths
from avamar_pack.parsing import gsan
from avamar_pack.parsing.mccli import parse_activities, parse_response
from avamar_pack.serverwatch import reads
from avamar_pack.serverwatch.gsan_follow import FollowState, GsanFollower
from avamar_pack.serverwatch.mcs_failures import FailureCorrelator
from avamar_pack.serverwatch.stalls import StallTracker
from avamar_pack.transport import Transport, open_transport

STALLED_TRIGGER = "avamar.backup_stalled"
STATE_KEY = "server_detection_state"
STATE_VERSION = 1
WARNING_SOURCE = "server"
FAILURE_SOURCE = "mcs"
MAX_STALLED_LISTED = 100

TransportFactory = Callable[[ServerSettings, Mapping[str, Any]], Transport]


def configured_servers(config: Mapping[str, Any], log: Any) -> Dict[str, ServerSettings]:
    """``sensor.poll_servers`` ([] = every server with a transport), validated; bad ones logged, skipped."""
    raw_servers = (config or {}).get("servers") or {}
    wanted = list(setting(section(config, "sensor"), "poll_servers", "sensor.poll_servers") or [])
    names = wanted or sorted(
        name for name, raw in raw_servers.items() if isinstance(raw, Mapping) and raw.get("transport")
    )
    servers: Dict[str, ServerSettings] = {}
    for name in names:
        if name not in raw_servers:
            log.warning("sensor.poll_servers names %r, which is not a configured server: not polled", str(name)[:64])
            continue
        try:
            servers[name] = server_settings(config, name)
        except AvamarPackError as exc:
            log.warning("servers.%s is not polled by AvamarServerSensor: %s", name, exc)
    return servers


class _Server:
    """What the watch keeps about one server between polls."""

    def __init__(
        self, settings: ServerSettings, saved: Mapping[str, Any], stall_seconds: float, coincide_s: float
    ) -> None:
        self.settings = settings
        self.follow = FollowState.from_dict(saved.get("follow"))
        skip = saved.get("skip")
        self.skip = skip if isinstance(skip, int) and not isinstance(skip, bool) and skip >= 0 else 0
        self.stalls = StallTracker(stall_seconds, saved.get("stalls"))
        self.failures = FailureCorrelator(coincide_s, saved.get("failures"))
        self.baselined = bool(saved.get("baselined"))
        self.down_since: Optional[float] = (
            saved.get("down_since") if isinstance(saved.get("down_since"), (int, float)) else None
        )
        self.mcs_down_since: Optional[float] = (
            saved.get("mcs_down_since") if isinstance(saved.get("mcs_down_since"), (int, float)) else None
        )
        self.transport: Optional[Transport] = None

    def as_dict(self) -> Dict[str, Any]:
        return {
            "follow": self.follow.as_dict(),
            "skip": self.skip,
            "stalls": self.stalls.state(),
            "failures": self.failures.state(),
            "baselined": self.baselined,
            "down_since": self.down_since,
            "mcs_down_since": self.mcs_down_since,
        }


class ServerWatch(Dispatching):
    """Polls every server of ``sensor.poll_servers`` (``poll_once``), keeping a ``_Server`` for each."""

    def __init__(
        self,
        config: Mapping[str, Any],
        sensor_service: Any,
        logger: Optional[Any] = None,
        *,
        clock: Callable[[], float] = time.time,
        transport_factory: TransportFactory = open_transport,
    ) -> None:
        super().__init__(sensor_service, logger, __name__)
        self.clock = clock
        self.config = config
        self.transport_factory = transport_factory
        sensor_cfg = section(config, "sensor")
        self.interval = config_int(sensor_cfg, "poll_interval_seconds", "sensor.poll_interval_seconds")
        self.stall_seconds = 60.0 * config_int(sensor_cfg, "stall_minutes", "sensor.stall_minutes")
        self.window = float(config_int(sensor_cfg, "dedup_window_seconds", "sensor.dedup_window_seconds"))
        self.from_beginning = config_bool(sensor_cfg, "read_existing_logs", "sensor.read_existing_logs")
        # A failure and its warning are at most a couple of polls apart (either may be read first).
        self.coincide_s = max(600.0, 3.0 * self.interval)
        self.timeout = float(min(60, max(10, self.interval)))
        state = self._load()
        self.folder = FailureFolder(self.window, state.get("folding"))
        self.suppressor = WarningSuppressor(self.window, state.get("warnings"))
        saved_servers = state.get("servers") if isinstance(state.get("servers"), dict) else {}
        self.servers: Dict[str, _Server] = {
            name: _Server(settings, saved_servers.get(name) or {}, self.stall_seconds, self.coincide_s)
            for name, settings in configured_servers(config, self.log).items()
        }
        self.followers = {
            name: GsanFollower(
                NodePaths(srv.settings.avamar_root).gsan_log, from_beginning=self.from_beginning, timeout=self.timeout
            )
            for name, srv in self.servers.items()
        }
        self.dirty = False
        self.stats: Dict[str, Dict[str, float]] = {}  # per server, last poll: bytes, commands, seconds

    @property
    def enabled(self) -> bool:
        return bool(self.servers)

    # -- the poll ------------------------------------------------------------------------------
    def poll_once(self) -> int:
        """Poll every server once; returns the number of triggers dispatched. Never raises."""
        before = self.dispatched
        for name in sorted(self.servers):
            started = time.monotonic()
            try:
                self._poll_server(name)
            except Exception as exc:  # noqa: BLE001 - one server's trouble must not stop the sensor
                self._outage(name, exc)
            self.stats.setdefault(name, {})["seconds"] = time.monotonic() - started
        folding = copy.deepcopy(self.folder.state())
        try:
            for payload in self.folder.due(self.clock()):
                self._dispatch(AUTH_FAILURE_TRIGGER, payload)
            self.suppressor.expire(self.clock())
        except Exception:  # noqa: BLE001 - the folded payloads stay due: dispatched on the next poll
            # At least once: a payload of this batch already sent may go again, none is lost.
            self.folder = FailureFolder(self.window, folding)
            self.log.exception("AvamarServerSensor could not dispatch folded failures; tried again next poll")
        try:
            if self.dirty:
                self._save()
        except Exception:  # noqa: BLE001 - a datastore hiccup: the state is saved on the next poll
            self.log.exception("AvamarServerSensor could not save its state; it is saved on the next poll")
        return self.dispatched - before

    @contextlib.contextmanager
    def _unit(self, srv: _Server) -> Iterator[None]:
        """One dispatch and the state it accounts for: if the dispatch (or its save) raises, the
        in-memory state goes back to what it was before, so nothing is taken as dispatched that was
        not (the exception then goes on to ``poll_once``, which reports it once)."""
        saved = copy.deepcopy(
            (
                self.folder.state(),
                self.suppressor.state(),
                srv.stalls.state(),
                srv.failures.state(),
                srv.follow,
                srv.skip,
            )
        )
        try:
            yield
        except BaseException:
            folding, warnings, stalls, failures, srv.follow, srv.skip = saved
            self.folder = FailureFolder(self.window, folding)
            self.suppressor = WarningSuppressor(self.window, warnings)
            srv.stalls = StallTracker(self.stall_seconds, stalls)
            srv.failures = FailureCorrelator(self.coincide_s, failures)
            raise

    def _poll_server(self, name: str) -> None:
        srv = self.servers[name]
        transport = self._transport(srv)
        result = self.followers[name].poll(transport, srv.follow)
        for note in result.notes:
            self.log.info("%s: %s", name, note)
        # The detection Cursor keeps the record index inside a line: a line may hold several
        # warnings (text pasted into a log runs records together), each accounted for on its own.
        first = srv.follow.drain or srv.follow.live
        records = Cursor.restored(first.offset if first else 0, srv.skip, False)
        for line in result.lines:
            skip = records.skip_in_line(line.start)
            for idx, warning in enumerate(gsan.scan_line(line.text)):
                if idx < skip:
                    continue  # dispatched before a restart
                with self._unit(srv):
                    records.warning_fed((line.start, idx))
                    srv.follow, srv.skip = line.before, records.committed[1]
                    srv.failures.note_warning(warning.code, self.clock())
                    self._warning(name, warning)  # dispatch, then save: this warning is accounted for
            records.line_done(line.end)
            srv.follow, srv.skip = line.state, records.committed[1]
            self.dirty = True
        srv.follow, srv.skip = result.state, 0
        self.dirty = True
        self.stats[name] = {"bytes": float(result.bytes_read), "commands": float(result.commands + 1)}
        self._activities(name, srv, transport)
        if srv.down_since is not None:
            self.log.warning("%s is reachable again (unreachable for %d s)", name, self.clock() - srv.down_since)
            srv.down_since = None

    def _activities(self, name: str, srv: _Server, transport: Transport) -> None:
        res = transport.run(reads.MCCLI_ACTIVITY_SHOW, timeout=self.timeout)
        try:
            response = parse_response(res.stdout)
            if response.rc != 0:
                raise ParseError(f"mccli answered rc={response.rc} event={response.event}: {response.message[:120]}")
            activities = parse_activities(res.stdout)
        except ParseError as exc:
            if srv.mcs_down_since is None:
                srv.mcs_down_since = self.clock()
                self.log.warning("%s: MCS activities cannot be read (%s); GSAN's log is still followed", name, exc)
            return
        if srv.mcs_down_since is not None:
            self.log.warning("%s: MCS activities readable again", name)
            srv.mcs_down_since = None
        now = self.clock()
        with self._unit(srv):
            stalled = srv.stalls.update(activities, now)
            if stalled:
                payload = {"server": name, "activities": stalled[:MAX_STALLED_LISTED], "source": FAILURE_SOURCE}
                self._dispatch(STALLED_TRIGGER, payload)
        for matched in srv.failures.update(name, activities, now, baseline=not srv.baselined):
            with self._unit(srv):
                srv.failures.resolve(matched.activity_id)
                payload = self.folder.add(matched.failure, now)
                if payload is not None:
                    self._dispatch(AUTH_FAILURE_TRIGGER, payload)
                else:
                    self.log.info("failed backup of %s on %s (MCS) folded", matched.failure.client, name)
        srv.baselined = True
        self.dirty = True

    def _warning(self, name: str, warning: gsan.TicketWarning) -> None:
        payload = self.suppressor.payload(name, warning, WARNING_SOURCE, self.clock())
        if payload is None:
            self.log.info("warning %s of %s suppressed (one per window)", warning.code, name)
            return
        self._dispatch(TICKET_WARNING_TRIGGER, payload)

    # -- transports and outages -------------------------------------------------------------------
    def _transport(self, srv: _Server) -> Transport:
        if srv.transport is None:
            srv.transport = self.transport_factory(srv.settings, self.config)
        return srv.transport

    def _outage(self, name: str, exc: BaseException) -> None:
        srv = self.servers[name]
        self._drop_transport(srv)  # a broken connection is not reused: reconnect next poll
        if srv.down_since is None:
            srv.down_since = self.clock()
            self.dirty = True
            expected = isinstance(exc, (AvamarPackError, OSError))
            reason = str(exc)[:300] if expected else f"{type(exc).__name__}: {str(exc)[:200]}"
            # An unexpected error is a bug of ours: its traceback goes to the log with it.
            self.log.error(
                "%s cannot be polled (reported once until it is reachable again): %s",
                name,
                reason,
                exc_info=not expected,
            )
        else:
            self.log.debug("%s still unreachable", name)

    def _drop_transport(self, srv: _Server) -> None:
        if srv.transport is None:
            return
        try:
            srv.transport.close()
        except Exception as exc:  # noqa: BLE001 - closing a broken connection may fail too
            self.log.debug("%s: closing the transport failed: %s", srv.settings.name, exc)
        srv.transport = None

    def close(self) -> None:
        for srv in self.servers.values():
            self._drop_transport(srv)

    # -- state (``Dispatching._dispatch`` saves it after every dispatch) ----------------------------
    def _load(self) -> Dict[str, Any]:
        raw = self.service.get_value(STATE_KEY, local=True)
        if raw is None:
            return {}
        try:
            state = json.loads(raw)
        except (TypeError, ValueError) as exc:
            self.log.warning("server detection state unreadable, starting without it: %s", exc)
            return {}
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            self.log.warning("server detection state has an unknown version, starting without it")
            return {}
        return state

    def _save(self) -> None:
        state = {
            "version": STATE_VERSION,
            "servers": {n: s.as_dict() for n, s in sorted(self.servers.items())},
            "folding": self.folder.state(),
            "warnings": self.suppressor.state(),
        }
        self.service.set_value(STATE_KEY, json.dumps(state, sort_keys=True, separators=(",", ":")), local=True)
        self.dirty = False
