"""Run the real AvamarLogSensor (``setup()`` then its ``run()`` loop) in its own process, so a
test can kill it with SIGKILL and start it again.

Usage: ``python sensor_driver.py WORKDIR``. WORKDIR holds ``config.json`` (the pack config).
The sensor service is durable, like StackStorm's: the datastore is ``datastore.json`` (written
atomically: temp, fsync, rename) and every dispatch is appended to ``dispatched.jsonl`` (fsync)
before ``dispatch()`` returns. ``SENSOR_KILL_AT`` makes the process SIGKILL itself at an exact
point: ``before-dispatch:<serial>`` (the trigger for ticket serial N is about to go out) or
``after-save:<serial>`` (the datastore save that follows dispatching serial N has completed).
``SENSOR_GRACE`` shortens the rotation grace (seconds) so a test need not wait 5 s.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from typing import Any, Dict, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
for sub in ("lib", "runner", "sensors", ""):
    sys.path.insert(0, os.path.join(ROOT, sub) if sub else ROOT)


class DurableSensorService:
    """The parts of st2's SensorService the sensor uses, kept on disk."""

    def __init__(self, workdir: str, kill_at: str) -> None:
        self.workdir = workdir
        self.store_path = os.path.join(workdir, "datastore.json")
        self.dispatch_path = os.path.join(workdir, "dispatched.jsonl")
        self.kill_at = kill_at
        self.last_dispatched_serial: Optional[int] = None
        logging.basicConfig(
            filename=os.path.join(workdir, "sensor.log"),
            level=logging.INFO,
            format="%(asctime)s %(name)s %(levelname)s %(message)s",
        )

    def get_logger(self, name: str) -> logging.Logger:
        return logging.getLogger(name)

    def _load(self) -> Dict[str, Any]:
        try:
            with open(self.store_path, encoding="utf-8") as handle:
                return json.load(handle)
        except FileNotFoundError:
            return {}

    def get_value(self, name: str, local: bool = True, scope: str = "system", decrypt: bool = False) -> Any:
        return self._load().get(name)

    def set_value(
        self, name: str, value: Any, ttl: Any = None, local: bool = True, scope: str = "system", encrypt: bool = False
    ) -> bool:
        data = self._load()
        data[name] = value
        tmp = self.store_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.store_path)
        if self.last_dispatched_serial is not None and self.kill_at == f"after-save:{self.last_dispatched_serial}":
            os.kill(os.getpid(), signal.SIGKILL)
        return True

    def delete_value(self, name: str, local: bool = True, scope: str = "system") -> bool:
        data = self._load()
        data.pop(name, None)
        with open(self.store_path, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        return True

    def list_values(self, local: bool = True, scope: str = "system", prefix: Optional[str] = None) -> list:
        return []

    def dispatch(self, trigger: str, payload: Optional[Dict[str, Any]] = None, trace_tag: Any = None) -> None:
        serial = ((payload or {}).get("ticket") or {}).get("serial")
        if self.kill_at == f"before-dispatch:{serial}":
            os.kill(os.getpid(), signal.SIGKILL)
        with open(self.dispatch_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"trigger": trigger, "payload": payload}) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.last_dispatched_serial = serial

    def dispatch_with_context(self, trigger: str, payload: Any = None, trace_context: Any = None) -> None:
        self.dispatch(trigger, payload)


def main(workdir: str) -> None:
    try:
        import st2reactor.sensor.base  # noqa: F401
    except ImportError:
        from st2_standins import install

        install()
    from avamar_log_sensor import AvamarLogSensor

    with open(os.path.join(workdir, "config.json"), encoding="utf-8") as handle:
        config = json.load(handle)
    if os.environ.get("SENSOR_GRACE"):
        config.setdefault("sensor", {})["rotation_grace_seconds"] = float(os.environ["SENSOR_GRACE"])
    service = DurableSensorService(workdir, os.environ.get("SENSOR_KILL_AT", ""))
    sensor = AvamarLogSensor(sensor_service=service, config=config)
    sensor.setup()
    signal.signal(signal.SIGTERM, lambda *_: sensor.cleanup())
    with open(os.path.join(workdir, "ready"), "w") as handle:
        handle.write(str(os.getpid()))
    sensor.run()


if __name__ == "__main__":
    main(sys.argv[1])
