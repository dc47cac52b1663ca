"""AvamarLogSensor: sees ``avtar FATAL <5704> ... (MSG_ERR_AUTH_FAIL)`` as it is written.

A thin shell over ``avamar_pack.detection`` (the pack's ``lib/``): ``setup()`` builds the
engine from the pack config, ``run()`` loops - wait for an inotify wake-up (or a Salt event, or
a timeout), then one ``poll_once()`` - and ``cleanup()`` stops. Everything the sensor guarantees
(folding per server, durable positions, rotation) is documented in ``detection/`` (``engine.py``
follows one failure from log line to trigger; ``cursor.py`` holds the exactly-once argument).

Works inside StackStorm's sensor container, which monkey-patches with eventlet: the wait is a
``select()`` (green), files are read with non-blocking ``pread``, and the salt-api reader is a
(green) thread that only appends to a queue and pokes the wake-up pipe.
"""

from __future__ import annotations

from avamar_pack_lib import TriggersFromMetadata  # first: puts the pack's lib/ on sys.path

# isort: split
import threading
from typing import Any, Callable, List, Mapping, Optional

from avamar_pack.config import section
from avamar_pack.detection.engine import DetectionEngine
from avamar_pack.detection.wakeup import Wakeup
from st2reactor.sensor.base import Sensor

IDLE_WAIT = 1.0  # seconds between passes when nothing wakes us (a safety net for inotify misses)
MAX_BYTES_PER_PASS = 8 * 1024 * 1024  # per file, so a huge backlog does not starve the Salt queue


class AvamarLogSensor(TriggersFromMetadata, Sensor):
    def __init__(self, sensor_service: Any, config: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__(sensor_service=sensor_service, config=config)
        self._logger = self.sensor_service.get_logger(name=self.__class__.__name__)
        self._engine: Optional[DetectionEngine] = None
        self._wakeup: Optional[Wakeup] = None
        self._salt: Optional[Any] = None  # salt_api.SaltEventClient when sensor.salt_events is on
        self._salt_thread: Optional[threading.Thread] = None
        self._stopped = threading.Event()
        self._running = False

    def setup(self) -> None:
        self._engine = DetectionEngine(self.config, self.sensor_service, self._logger)
        self._wakeup = Wakeup()
        if self._wakeup.reason:
            self._logger.warning(self._wakeup.reason)
        sensor_cfg = section(self.config, "sensor")
        if sensor_cfg.get("salt_events"):
            # Imported here: the salt-api client pulls in requests, which a file-only sensor never needs.
            from avamar_pack.detection.sources.salt_api import DEFAULT_PREFIXES, SaltEventClient  # noqa: PLC0415
            from avamar_pack.transport.policy import salt_api  # noqa: PLC0415 - https and CA rules, as the transport

            prefixes = sensor_cfg.get("salt_tag_prefixes") or list(DEFAULT_PREFIXES)
            self._salt = SaltEventClient(salt_api(self.config), self._on_salt_event, prefixes)

    def run(self) -> None:
        if self._salt is not None:
            self._salt_thread = threading.Thread(target=self._salt.run_forever, name="avamar-salt-events", daemon=True)
            self._salt_thread.start()
        self._running = True
        try:
            while not self._stopped.is_set():
                self.poll_once(max_bytes_per_file=MAX_BYTES_PER_PASS)
                self._wakeup.watch(self._engine.watched_dirs())
                self._wakeup.wait(self._engine.next_timeout(IDLE_WAIT))
        finally:
            self._running = False
            self._close()

    def poll_once(self, max_bytes_per_file: Optional[int] = None) -> int:
        """One deterministic pass (files, queued Salt events, ended windows); returns triggers dispatched."""
        if self._engine is None:
            self.setup()
        return self._engine.poll_once(max_bytes_per_file)

    def set_clock(self, clock: Callable[[], float]) -> None:
        """The time source for folding windows and settling (tests and replays; default ``time.time``)."""
        if self._engine is None:
            self.setup()
        self._engine.clock = clock

    @property
    def salt_reader(self) -> Optional[Any]:
        """The salt-api event reader (``sources.salt_api.SaltEventClient``) when sensor.salt_events is on."""
        return self._salt

    @property
    def skip_notes(self) -> List[str]:
        """What was skipped or recovered and why (the first 100 reasons; every one is also logged)."""
        return list(self._engine.skipped) if self._engine is not None else []

    def cleanup(self) -> None:
        self._stopped.set()
        if self._salt is not None:
            self._salt.stop()
        # No wake-up write here: st2 may call cleanup() from a signal handler, i.e. from eventlet's
        # hub, where green I/O is refused. run() sees the flag within IDLE_WAIT and closes on its
        # way out, so its select() never sees a closed fd.
        if not self._running:
            self._close()

    def _close(self) -> None:
        if self._wakeup is not None:
            self._wakeup.close()
        if self._engine is not None:
            self._engine.close()

    def push_salt_event(self, tag: str, data: Any) -> None:
        """Hand one salt-api event to the engine (what the reader thread does) and wake ``run()``."""
        if self._engine is None:
            self.setup()
        self._engine.push_salt_event(tag, data)
        if self._wakeup is not None:
            self._wakeup.notify()

    def _on_salt_event(self, tag: str, data: Any) -> None:
        self.push_salt_event(tag, data)
