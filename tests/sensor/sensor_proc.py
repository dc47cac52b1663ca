"""Run AvamarLogSensor in its own process, the way st2's sensor container does (for the tests).

    python sensor_proc.py WORKDIR [--eventlet]

WORKDIR/config.json is the pack config. The sensor service is file-backed so that a kill -9
is a real crash: ``set_value`` writes WORKDIR/datastore.json atomically (temp, fsync, rename),
``dispatch`` appends one JSON line to WORKDIR/dispatched.jsonl and fsyncs it. WORKDIR/ready
appears when the sensor runs. SIGTERM -> cleanup() and exit 0.
With --eventlet, ``eventlet.monkey_patch()`` runs first, as in st2's sensor container, and the
sensor's run() is a green thread.
"""

from __future__ import annotations

import sys

if "--eventlet" in sys.argv:
    import eventlet

    eventlet.monkey_patch(os=True, select=True, socket=True, thread=True, time=True)

import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
for sub in ("lib", "runner", "sensors"):
    sys.path.insert(0, os.path.join(ROOT, sub))

try:
    import st2tests  # noqa: F401
except ImportError:
    from st2_standins import install

    install()

from avamar_log_sensor import AvamarLogSensor  # noqa: E402


class FileSensorService:
    def __init__(self, workdir: str) -> None:
        self.state_path = os.path.join(workdir, "datastore.json")
        self.dispatch_path = os.path.join(workdir, "dispatched.jsonl")
        self.values = {}
        if os.path.exists(self.state_path):
            with open(self.state_path, encoding="utf-8") as handle:
                self.values = json.load(handle)
        self.out = open(self.dispatch_path, "a", encoding="utf-8")  # noqa: SIM115

    def get_logger(self, name: str) -> logging.Logger:
        return logging.getLogger(name)

    def get_value(self, name, local=True, scope="system", decrypt=False):
        return self.values.get(name)

    def set_value(self, name, value, ttl=None, local=True, scope="system", encrypt=False):
        self.values[name] = str(value)
        tmp = self.state_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(self.values, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(tmp, self.state_path)
        return True

    def dispatch(self, trigger, payload=None, trace_tag=None):
        self.out.write(json.dumps({"trigger": trigger, "payload": payload, "pid": os.getpid()}) + "\n")
        self.out.flush()
        os.fsync(self.out.fileno())


def main() -> int:
    workdir = sys.argv[1]
    logging.basicConfig(filename=os.path.join(workdir, "sensor.log"), level=logging.INFO)
    with open(os.path.join(workdir, "config.json"), encoding="utf-8") as handle:
        config = json.load(handle)
    sensor = AvamarLogSensor(FileSensorService(workdir), config)
    sensor.setup()
    signal.signal(signal.SIGTERM, lambda *_: sensor.cleanup())
    info = {"pid": os.getpid(), "eventlet": False}
    if "--eventlet" in sys.argv:
        import eventlet.patcher

        info["eventlet"] = all(
            eventlet.patcher.is_monkey_patched(m) for m in ("os", "select", "socket", "thread", "time")
        )
        thread = eventlet.spawn(sensor.run)
        with open(os.path.join(workdir, "ready"), "w", encoding="utf-8") as handle:
            json.dump(info, handle)
        thread.wait()
    else:
        with open(os.path.join(workdir, "ready"), "w", encoding="utf-8") as handle:
            json.dump(info, handle)
        sensor.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
