"""AvamarServerSensor: sees the session-ticket outage from the Avamar utility node itself, agentless.

A StackStorm ``PollingSensor``. Every ``sensor.poll_interval_seconds`` it polls each server of
``sensor.poll_servers`` (default: every configured server with a transport) over THAT server's
own transport (local, SSH, Salt): GSAN's ``gsan.log`` from a saved position and MCS's
``mccli activity show``. It dispatches ``avamar.session_ticket_warning`` (as the file sensor
does), ``avamar.backup_auth_failure`` (``source: mcs``: failed backups that coincide with GSAN's
warnings, folded per server) and ``avamar.backup_stalled`` (backups Running with no progress for
``sensor.stall_minutes``). Everything it runs is read-only. The guarantees (positions, rotation,
outages reported once, nothing lost on a transport failure) are in ``avamar_pack.serverwatch``.

With no server to poll it stays idle (one log line at start), so the pack may ship it enabled.
"""

from __future__ import annotations

from avamar_pack_lib import TriggersFromMetadata  # first: puts the pack's lib/ on sys.path

# isort: split
from typing import Any, Callable, Mapping, Optional

from avamar_pack.errors import ValidationError
from avamar_pack.serverwatch.watch import ServerWatch, TransportFactory
from st2reactor.sensor.base import PollingSensor

DEFAULT_POLL_INTERVAL = 60


class AvamarServerSensor(TriggersFromMetadata, PollingSensor):
    def __init__(
        self,
        sensor_service: Any,
        config: Optional[Mapping[str, Any]] = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> None:
        super().__init__(sensor_service=sensor_service, config=config, poll_interval=poll_interval)
        self._logger = self.sensor_service.get_logger(name=self.__class__.__name__)
        self._watch: Optional[ServerWatch] = None

    def setup(self) -> None:
        try:
            self._watch = ServerWatch(self.config or {}, self.sensor_service, self._logger)
        except ValidationError as exc:  # a bad config idles the sensor (said once) instead of crash-looping it
            self._logger.error("AvamarServerSensor is idle: the pack config cannot be used: %s", exc)
            self._watch = None
            return
        # Anything else (the datastore unreachable at start) raises: st2's sensor container restarts us.
        self.set_poll_interval(self._watch.interval)
        if not self._watch.enabled:
            self._logger.info("AvamarServerSensor is idle: no server to poll (servers / sensor.poll_servers)")
            return
        self._logger.info(
            "AvamarServerSensor polls %s every %d s", ", ".join(sorted(self._watch.servers)), self._watch.interval
        )

    @property
    def watch(self) -> Optional[ServerWatch]:
        """The poller built by ``setup()`` (None before it, or when the config cannot be used): its
        ``enabled``, ``servers`` and per-server ``stats`` of the last poll are for tests and diagnostics."""
        return self._watch

    def set_clock(self, clock: Callable[[], float]) -> None:
        """The time source for stalls, folding windows and outages (tests and replays; default ``time.time``)."""
        if self._watch is not None:
            self._watch.clock = clock

    def set_transport_factory(self, factory: TransportFactory) -> None:
        """How a server's transport is opened (tests: a transport that fails on demand; default ``open_transport``)."""
        if self._watch is not None:
            self._watch.transport_factory = factory

    def poll(self) -> None:
        """One poll of every server. Never raises: st2's PollingSensor.run() would die with it."""
        if self._watch is None or not self._watch.enabled:
            return
        try:
            self._watch.poll_once()
        except Exception:  # noqa: BLE001 - ServerWatch already shields each server; this is the last net
            self._logger.exception("AvamarServerSensor poll failed; the next poll tries again")

    def cleanup(self) -> None:
        if self._watch is not None:
            self._watch.close()
