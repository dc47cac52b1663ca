"""The set-up every sensor test shares: StackStorm's ``BaseSensorTestCase`` with a temp folder, a
test clock, the sensors it started cleaned up, and every dispatched payload checked against its
trigger's ``payload_schema`` (``packkit.validate_dispatched_payloads``) in tearDown."""

from __future__ import annotations

import shutil
import tempfile
from typing import Any, List

from packkit import validate_dispatched_payloads
from sensorkit import Clock
from st2tests.base import BaseSensorTestCase


class SensorCase(BaseSensorTestCase):
    """Subclasses set ``sensor_cls`` (st2tests builds it), and may set ``tmp_prefix``/``clock_start``."""

    tmp_prefix = "avamar-sensor-"
    clock_start = 1_000_000.0

    def setUp(self) -> None:
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix=self.tmp_prefix)
        self.clock = Clock(self.clock_start)
        self.sensors: List[Any] = []

    def tearDown(self) -> None:
        for sensor in self.sensors:
            sensor.cleanup()
        validate_dispatched_payloads(self)
        shutil.rmtree(self.tmp, ignore_errors=True)
        super().tearDown()


class LogSensorCase(SensorCase):
    """For ``AvamarLogSensor``: ``start(cfg)`` sets it up on the test clock and runs its first pass."""

    def start(self, cfg: dict) -> Any:
        sensor = self.get_sensor_instance(config=cfg)
        sensor.setup()
        sensor.set_clock(self.clock)
        sensor.poll_once()
        self.sensors.append(sensor)
        return sensor
