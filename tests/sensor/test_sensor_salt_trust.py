"""Salt trust (issue 18.2): only minions mapped in ``sensor.salt_minions``, by the id the master checked.

Events are handed to the real sensor the way its salt-api reader does (``push_salt_event``),
shaped as salt-api shows them (see ``sensorkit.minion_event`` / ``beacon_event``).
"""

from __future__ import annotations

import shutil
import tempfile

from avamar_log_sensor import AvamarLogSensor
from packkit import validate_dispatched_payloads
from sensorkit import Clock, auth_payloads, beacon_event, config, failing_run, minion_event
from st2tests.base import BaseSensorTestCase

SERVERS = {
    "ava01": {"transport": "local", "host": "ava01.example.com"},
    "ava02": {"transport": "local", "host": "ava02.example.com"},
}
TAG = "avamar/avtar/failure"


class SaltTrustTest(BaseSensorTestCase):
    sensor_cls = AvamarLogSensor

    def setUp(self) -> None:
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="avamar-salt-trust-")
        cfg = config(
            self.tmp,
            window=0,
            servers=SERVERS,
            salt_minions={"payroll-db": "ava02", "web01": "ava01", "stray": "not-a-server"},
        )
        self.sensor = self.get_sensor_instance(config=cfg)
        self.sensor.setup()
        self.sensor.set_clock(Clock())
        self.sensor.poll_once()

    def tearDown(self) -> None:
        self.sensor.cleanup()
        validate_dispatched_payloads(self)
        shutil.rmtree(self.tmp, ignore_errors=True)
        super().tearDown()

    def send(self, minion: str, client: str, host: str = "ava02.example.com", **inner) -> None:
        lines = [line.rstrip("\n") for line in failing_run(client, host=host)]
        self.sensor.push_salt_event(TAG, minion_event(TAG, minion, dict(inner, lines=lines)))
        self.sensor.poll_once()

    def test_the_kiosk_cannot_raise_a_trigger_by_naming_another_minion_or_server(self) -> None:
        self.send("kiosk-printer", "payroll-db", id="payroll-db")  # forged inner id
        self.send("kiosk-printer", "payroll-db", id="payroll-db")
        tag = "salt/beacon/payroll-db/avamar_avtar_log/avtar"  # forged tag, claimed id disagrees
        self.sensor.push_salt_event(tag, {"id": "kiosk-printer", "raw": failing_run("payroll-db")[7]})
        self.sensor.poll_once()
        self.assertEqual(self.get_dispatched_triggers(), [])
        # st2's mock sensor service hands out one Mock logger: one warning for the minion, not one per event.
        logger = self.sensor.sensor_service.get_logger(name="AvamarLogSensor")
        warned = [call.args for call in logger.warning.call_args_list if "kiosk-printer" in repr(call.args)]
        self.assertEqual(len(warned), 1, warned)

    def test_a_mapped_minion_raises_for_its_own_server_only(self) -> None:
        self.send("payroll-db", "payroll-db")
        self.assertEqual(
            [(p["server"], p["client"], p["source"]) for p in auth_payloads(self.get_dispatched_triggers())],
            [("ava02", "payroll-db", "salt")],
        )
        # Its log naming ANOTHER configured server (or an unknown one) does not move the trigger there.
        self.send("payroll-db", "payroll-db", host="ava01.example.com")
        self.send("payroll-db", "payroll-db", host="avamar-dr.example")
        self.assertEqual(len(auth_payloads(self.get_dispatched_triggers())), 1)
        self.assertTrue(any("mapped to ava02" in note for note in self.sensor.skip_notes))

    def test_a_mapping_to_an_unknown_server_is_ignored(self) -> None:
        self.send("stray", "stray-client")
        self.assertEqual(self.get_dispatched_triggers(), [])

    def test_beacon_lines_of_a_mapped_minion_settle_into_one_trigger(self) -> None:
        for line in failing_run("web-a", host="ava01.example.com"):
            self.sensor.push_salt_event(*beacon_event("web01", line.rstrip("\n")))
        self.sensor.poll_once()
        auth = auth_payloads(self.get_dispatched_triggers())
        self.assertEqual([(p["server"], p["client"]) for p in auth], [("ava01", "web-a")])
