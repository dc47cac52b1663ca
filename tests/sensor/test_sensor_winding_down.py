"""A failing avtar run that printed its outcome is acted on at once, END banner or not.

avtar often dies without ``----- END avtar log``, so the sensor waits ``settle_seconds`` of quiet
before acting on an open run. A run that already printed ``<6149> Error summary``, ``<7001>
Exiting avtar`` or ``<5314> Command failed`` is winding down: waiting would only add latency.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from avamar_log_sensor import AvamarLogSensor
from packkit import validate_dispatched_payloads
from sensorkit import Clock, append, auth_payloads, config, failing_run
from st2tests.base import BaseSensorTestCase

NEVER = 10_000.0  # a settle time the test clock never reaches


class WindingDownTest(BaseSensorTestCase):
    sensor_cls = AvamarLogSensor

    def setUp(self) -> None:
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="avamar-sensor-")
        self.log = os.path.join(self.tmp, "clientlogs", "c1.log")
        sensor = self.get_sensor_instance(config=config(self.tmp, settle_seconds=NEVER))
        sensor.setup()
        clock = Clock()
        sensor.set_clock(clock)
        sensor.poll_once()
        self.sensor = sensor

    def tearDown(self) -> None:
        self.sensor.cleanup()
        validate_dispatched_payloads(self)
        shutil.rmtree(self.tmp, ignore_errors=True)
        super().tearDown()

    def test_a_run_with_its_outcome_but_no_end_banner_dispatches_on_the_same_pass(self) -> None:
        append(self.log, failing_run("c1", end_banner=False))
        self.sensor.poll_once()
        payloads = auth_payloads(self.get_dispatched_triggers())
        self.assertEqual(len(payloads), 1)
        self.assertEqual(payloads[0]["codes"], [8609, 5704, 5126, 8941, 7001])

    def test_a_run_cut_before_its_outcome_still_waits_for_quiet(self) -> None:
        run = failing_run("c1", end_banner=False)
        append(self.log, run[:9])  # FATAL 5704 and 5126 are there; no summary, exit or 5314 yet
        self.sensor.poll_once()
        self.assertEqual(auth_payloads(self.get_dispatched_triggers()), [])
        append(self.log, run[9:])  # the outcome arrives: act now, once
        self.sensor.poll_once()
        self.sensor.poll_once()
        self.assertEqual(len(auth_payloads(self.get_dispatched_triggers())), 1)
