"""The Salt source: salt-api's /events stream into the same parsing and folding path.

Against the REAL salt-master, salt-minion and salt-api of ``fixtures.services`` (127.0.0.1):
a failing avtar excerpt sent from the minion with ``event.send avamar/avtar/failure``, and the
lines a real ``log`` beacon on the minion matches, each arrive as exactly one trigger. The
client's re-login and backoff are tested against a small local SSE server.
"""

from __future__ import annotations

import os
import threading
import time

import pytest
import yaml
from avamar_log_sensor import AvamarLogSensor
from avamar_pack.config import SaltApiSettings
from avamar_pack.detection.sources.salt import parse_event
from avamar_pack.detection.sources.salt_api import SaltEventClient, parse_sse
from packkit import validate_dispatched_payloads
from sensorkit import FakeSaltApi, append, auth_payloads, config, failing_run, minion_event
from st2tests.base import BaseSensorTestCase

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def contrib_beacon_regex() -> str:
    with open(os.path.join(ROOT, "contrib", "salt", "minion.d", "avamar_beacons.conf"), encoding="utf-8") as handle:
        beacon = yaml.safe_load(handle)["beacons"]["avamar_avtar_log"]
    tags = next(item["tags"] for item in beacon if "tags" in item)
    return tags["avtar"]["regex"]


def wait_for(predicate, timeout: float, what: str) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)
    return time.monotonic() - start


@pytest.mark.salt
@pytest.mark.timeout(300)
class SaltSourceTest(BaseSensorTestCase):
    sensor_cls = AvamarLogSensor

    @pytest.fixture(autouse=True)
    def _salt(self, salt_service, tmp_path) -> None:
        self.salt = salt_service
        self.tmp = str(tmp_path)

    def run_sensor(self, **sensor):
        cfg = config(
            self.tmp,
            window=600,
            salt_events=True,
            salt_tag_prefixes=["salt/beacon/", "avamar/"],
            salt_minions={self.salt.minion_id: "ava1"},
            **sensor,
        )
        cfg["salt"] = self.salt.salt_config()
        cfg["servers"] = {"ava1": self.salt.server_entry()}
        sensor_obj = self.get_sensor_instance(config=cfg)
        sensor_obj.setup()
        thread = threading.Thread(target=sensor_obj.run, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(sensor_obj.cleanup)
        wait_for(sensor_obj.salt_reader.connected.is_set, 60, "the salt-api /events stream")
        time.sleep(0.5)  # salt-api subscribes to the master bus right after answering
        return sensor_obj

    def test_event_send_from_the_minion_arrives_as_one_trigger(self) -> None:
        sensor = self.run_sensor()
        lines = [line.rstrip("\n") for line in failing_run("salt-client1", host="127.0.0.1")]
        self.salt.send_event(
            "avamar/avtar/failure", {"lines": lines, "log_file": "/usr/local/avamar/var/clientlogs/salt-client1.log"}
        )
        self.salt.send_event("other/tag", {"lines": lines})  # not a configured prefix: ignored
        latency = wait_for(lambda: self.get_dispatched_triggers(), 60, "the trigger")
        time.sleep(2.0)  # nothing else may follow
        auth = auth_payloads(self.get_dispatched_triggers())
        self.assertEqual(len(auth), 1, self.get_dispatched_triggers())
        self.assertEqual(auth[0]["server"], "ava1")
        self.assertEqual(auth[0]["client"], "salt-client1")
        self.assertEqual(auth[0]["source"], "salt")
        self.assertEqual(auth[0]["codes"], [8609, 5704, 5126, 8941, 7001])
        self.assertEqual(validate_dispatched_payloads(self), 1)
        self.assertGreaterEqual(sensor.salt_reader.logins, 1)
        self.assertTrue(sensor.salt_reader.chunked)  # the real salt-api streams chunked: big reads, no latency
        print(f"salt event.send -> trigger in {latency:.2f} s")

    def test_log_beacon_on_the_minion_arrives_as_one_trigger(self) -> None:
        avtar_log = os.path.join(self.tmp, "minion-clientlogs", "beacon-client.log")
        os.makedirs(os.path.dirname(avtar_log))
        append(avtar_log, ["2026-01-05 02:59:59 avtar Info <5314>: start\n"])
        # The beacon of contrib/salt/minion.d/avamar_beacons.conf, added at run time on this log file.
        regex = contrib_beacon_regex()
        result = self.salt.call(
            {
                "client": "local",
                "tgt": self.salt.minion_id,
                "fun": "beacons.add",
                "arg": [
                    "avamar_avtar_log",
                    [{"beacon_module": "log"}, {"file": avtar_log}, {"tags": {"avtar": {"regex": regex}}}],
                ],
            }
        )
        self.assertTrue(result[self.salt.minion_id]["result"], result)
        self.addCleanup(
            self.salt.call,
            {"client": "local", "tgt": self.salt.minion_id, "fun": "beacons.delete", "arg": ["avamar_avtar_log"]},
        )
        self.run_sensor(settle_seconds=3.0)
        time.sleep(3)  # the log beacon's first run only records the end of the file
        append(avtar_log, failing_run("beacon-client", host="127.0.0.1"))
        wait_for(lambda: self.get_dispatched_triggers(), 90, "the trigger from the beacon")
        time.sleep(4.0)
        auth = auth_payloads(self.get_dispatched_triggers())
        self.assertEqual(len(auth), 1, self.get_dispatched_triggers())
        self.assertEqual(auth[0]["source"], "salt")
        self.assertEqual(auth[0]["client"], "beacon-client")
        self.assertIn(5704, auth[0]["codes"])
        validate_dispatched_payloads(self)


# -- the SSE client against a local server ---------------------------------------------------


def test_sse_client_relogs_in_after_401_and_backs_off_boundedly() -> None:
    api = FakeSaltApi()
    api.fail_logins = 1
    api.events = [
        ("salt/beacon/m1/log/avtar", {"raw": "x avtar FATAL <5704>", "id": "m1"}),
        ("salt/job/123/ret", {"x": 1}),
        ("avamar/avtar/failure", {"data": {"lines": ["a"]}, "id": "m2"}),
    ]
    got, sleeps = [], []
    settings = SaltApiSettings(api_url=api.url, username="st2", password="pw", eauth="sharedsecret", verify_ssl=False)

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) >= 8:
            client.stop()

    client = SaltEventClient(
        settings,
        lambda tag, data: got.append(tag),
        ["salt/beacon/", "avamar/"],
        backoff_initial=0.5,
        backoff_max=4.0,
        sleep=sleep,
    )
    try:
        client.run_forever()
    finally:
        api.close()
    assert got == ["salt/beacon/m1/log/avtar", "avamar/avtar/failure"]  # salt/job/... filtered out
    assert api.logins >= 2  # logged in again when the token was refused
    assert sleeps[0] == 0.5 and max(sleeps) <= 4.0 and sleeps == sorted(sleeps[: len(sleeps)])
    posts = [r for r in api.requests if r[0] == "POST"]
    assert posts[0][2] == {"username": "st2", "password": "pw", "eauth": "sharedsecret"}


def test_event_shapes_and_their_senders() -> None:
    beacon = parse_event("salt/beacon/c1/log/avtar", {"raw": "L1", "id": "c1", "tag": "avtar"})
    assert (beacon.sender, beacon.verified, beacon.lines, beacon.complete) == ("c1", False, ["L1"], False)
    sent = parse_event(
        "avamar/avtar/failure",
        minion_event("avamar/avtar/failure", "c2", {"lines": ["A", "B\nC"], "log_file": "/x/c2.log"}),
    )
    assert (sent.sender, sent.verified, sent.log_file, sent.lines, sent.complete) == (
        "c2",
        True,
        "salt://c2/x/c2.log",
        ["A", "B", "C"],
        True,
    )
    # The id inside the minion's own data and the one in a tag are its words, never the sender.
    forged = minion_event("avamar/avtar/failure", "kiosk", {"id": "payroll-db", "lines": ["A"]})
    assert parse_event("avamar/avtar/failure", forged).sender == "kiosk"
    assert parse_event("salt/beacon/payroll-db/log/avtar", {"raw": "L1", "id": "kiosk"}) is None  # names disagree
    assert parse_event("avamar/avtar/failure", {"id": "payroll-db", "lines": ["A"]}) is None  # no sender shape
    assert parse_event("avamar/x", "not a dict") is None
    events = list(
        parse_sse(
            [
                "retry: 400",
                "",
                "tag: a",
                'data: {"tag": "a", "data": {"k": 1}}',
                "",
                "data: not json",
                "",
                'data: {"no": "tag"}',
                "",
            ]
        )
    )
    assert events == [("a", {"k": 1})]
