"""The StackStorm stand-ins match st2, and the pack test kit (tests/packkit.py) works.

Three kinds of tests, all valid with and without a real StackStorm:
- signatures: the classes behind st2's module names (stand-ins or the real ones) and the
  stand-ins themselves have the signatures read from st2's source;
- behaviour through st2's names (``st2tests.base`` ...), which st2's own mocks also satisfy;
- behaviour only the stand-ins have (ttl expiry, production-like value and scope handling,
  ``install()``), tested through ``st2_standins`` directly.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
import unittest
from typing import Any, Dict, List, Tuple

import jsonschema
import packkit
import pytest
import st2_standins
from st2_standins import action as standin_action
from st2_standins import datastore as standin_datastore
from st2_standins import mocks as standin_mocks
from st2_standins import sensor as standin_sensor
from st2_standins import testcases as standin_testcases
from st2common.runners.base_action import Action
from st2reactor.sensor.base import PollingSensor, Sensor
from st2tests.base import BaseActionTestCase, BaseSensorTestCase
from st2tests.mocks.action import MockActionService, MockActionWrapper
from st2tests.mocks.datastore import MockDatastoreService
from st2tests.mocks.sensor import MockSensorService, MockSensorWrapper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOOD_PACK = os.path.join(ROOT, "tests", "data", "metadata", "good")
NO_DEFAULT = inspect.Parameter.empty

# Read from st2 master (st2common/runners/base_action.py, st2reactor/sensor/base.py,
# st2tests/{actions,sensors}.py, st2tests/mocks/*.py, python_action_wrapper.ActionService,
# sensor_wrapper.SensorService): method -> [(parameter, default)], `self` left out.
_DATASTORE_METHODS = {
    "get_value": [("name", NO_DEFAULT), ("local", True), ("scope", "system"), ("decrypt", False)],
    "set_value": [
        ("name", NO_DEFAULT),
        ("value", NO_DEFAULT),
        ("ttl", None),
        ("local", True),
        ("scope", "system"),
        ("encrypt", False),
    ],
    "delete_value": [("name", NO_DEFAULT), ("local", True), ("scope", "system")],
    "get_user_info": [],
}
_SERVICE_LIST_VALUES = [("local", True), ("prefix", None), ("limit", None), ("offset", None)]
_SENSOR_TRIGGER_METHODS = {m: [("trigger", NO_DEFAULT)] for m in ("add_trigger", "update_trigger", "remove_trigger")}

EXPECTED: List[Tuple[str, Dict[str, List[Tuple[str, Any]]]]] = [
    ("Action", {"__init__": [("config", None), ("action_service", None)], "run": [("kwargs", NO_DEFAULT)]}),
    (
        "Sensor",
        {
            "__init__": [("sensor_service", NO_DEFAULT), ("config", None)],
            "setup": [],
            "run": [],
            "cleanup": [],
            **_SENSOR_TRIGGER_METHODS,
        },
    ),  # fmt: skip
    (
        "PollingSensor",
        {
            "__init__": [("sensor_service", NO_DEFAULT), ("config", None), ("poll_interval", 5)],
            "poll": [],
            "get_poll_interval": [],
            "set_poll_interval": [("poll_interval", NO_DEFAULT)],
            **_SENSOR_TRIGGER_METHODS,
        },
    ),
    (
        "MockSensorService",
        {
            "__init__": [("sensor_wrapper", NO_DEFAULT)],
            "dispatch": [("trigger", NO_DEFAULT), ("payload", None), ("trace_tag", None)],
            "dispatch_with_context": [("trigger", NO_DEFAULT), ("payload", None), ("trace_context", None)],
            "get_logger": [("name", NO_DEFAULT)],
            "list_values": _SERVICE_LIST_VALUES,
            **_DATASTORE_METHODS,
        },
    ),
    (
        "MockActionService",
        {"__init__": [("action_wrapper", NO_DEFAULT)], "list_values": _SERVICE_LIST_VALUES, **_DATASTORE_METHODS},
    ),
    (
        "MockDatastoreService",
        {
            "__init__": [
                ("logger", NO_DEFAULT),
                ("pack_name", NO_DEFAULT),
                ("class_name", NO_DEFAULT),
                ("api_username", None),
            ],
            "list_values": [("local", True), ("limit", None), ("prefix", None), ("offset", 0)],
            **_DATASTORE_METHODS,
        },
    ),  # fmt: skip
    ("MockSensorWrapper", {"__init__": [("pack", NO_DEFAULT), ("class_name", NO_DEFAULT)]}),
    ("MockActionWrapper", {"__init__": [("pack", NO_DEFAULT), ("class_name", NO_DEFAULT)]}),
    ("BaseActionTestCase", {"setUp": [], "get_action_instance": [("config", None)]}),
    (
        "BaseSensorTestCase",
        {
            "setUp": [],
            "get_sensor_instance": [("config", None), ("poll_interval", None)],
            "get_dispatched_triggers": [],
            "get_last_dispatched_trigger": [],
            "assertTriggerDispatched": [("trigger", NO_DEFAULT), ("payload", None), ("trace_context", None)],
        },
    ),
]

# The class each name resolves to through st2's module names, and the stand-in itself.
VIA_ST2_NAMES = {
    "Action": Action,
    "Sensor": Sensor,
    "PollingSensor": PollingSensor,
    "MockSensorService": MockSensorService,
    "MockActionService": MockActionService,
    "MockDatastoreService": MockDatastoreService,
    "MockSensorWrapper": MockSensorWrapper,
    "MockActionWrapper": MockActionWrapper,
    "BaseActionTestCase": BaseActionTestCase,
    "BaseSensorTestCase": BaseSensorTestCase,
}
STANDINS = {
    "Action": standin_action.Action,
    "Sensor": standin_sensor.Sensor,
    "PollingSensor": standin_sensor.PollingSensor,
    "MockSensorService": standin_mocks.MockSensorService,
    "MockActionService": standin_mocks.MockActionService,
    "MockDatastoreService": standin_datastore.MockDatastoreService,
    "MockSensorWrapper": standin_mocks.MockSensorWrapper,
    "MockActionWrapper": standin_mocks.MockActionWrapper,
    "BaseActionTestCase": standin_testcases.BaseActionTestCase,
    "BaseSensorTestCase": standin_testcases.BaseSensorTestCase,
}


def _parameters(func: Any) -> List[Tuple[str, Any]]:
    params = list(inspect.signature(func).parameters.values())[1:]  # drop self
    return [(p.name, p.default) for p in params]


@pytest.mark.parametrize("source", ["st2_names", "standins"])
@pytest.mark.parametrize(("name", "methods"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_signatures_match_st2(source: str, name: str, methods: Dict[str, List[Tuple[str, Any]]]) -> None:
    cls = (VIA_ST2_NAMES if source == "st2_names" else STANDINS)[name]
    for method, expected in methods.items():
        assert _parameters(getattr(cls, method)) == expected, f"{name}.{method}"


def test_base_classes_are_abstract_like_st2() -> None:
    for cls in (Action, Sensor, PollingSensor):
        with pytest.raises(TypeError):
            cls(None)


# ---------------------------------------------------------------- behaviour via st2's names


class EchoAction(Action):
    def run(self, **kwargs: Any) -> Any:
        return True, {"server": self.config["servers"]}


class CountingSensor(PollingSensor):
    """Dispatches one trigger per poll: enough to exercise the sensor test kit."""

    def setup(self) -> None:
        self.polls = 0
        self.logger = self.sensor_service.get_logger(__name__)

    def poll(self) -> None:
        self.polls += 1
        self.logger.debug("poll %d", self.polls)
        payload = {"server": self.config.get("server", "ava01"), "code": 5704}
        self.sensor_service.dispatch(trigger="avamar.auth_failure", payload=payload, trace_tag=f"poll-{self.polls}")

    def run(self) -> None:
        self.poll()

    def cleanup(self) -> None:
        pass

    def add_trigger(self, trigger: Any) -> None:
        pass

    def update_trigger(self, trigger: Any) -> None:
        pass

    def remove_trigger(self, trigger: Any) -> None:
        pass


class ActionKitTest(BaseActionTestCase):
    action_cls = EchoAction

    def test_config_and_service_reach_the_action(self) -> None:
        action = self.get_action_instance(config={"servers": {"ava01": {}}})
        self.assertIs(action.action_service, self.action_service)
        self.assertEqual(action.run(), (True, {"server": {"ava01": {}}}))
        self.assertEqual(action.logger.name, "st2.actions.python.EchoAction")

    def test_missing_config_key_names_the_key(self) -> None:
        action = self.get_action_instance(config={})
        with self.assertRaisesRegex(ValueError, 'missing key "servers"'):
            action.run()

    def test_datastore_keys_are_namespaced_by_pack_and_class(self) -> None:
        service = self.action_service
        self.assertTrue(service.set_value("lock", "held"))
        self.assertTrue(service.set_value("global_key", "g", local=False))
        self.assertEqual(service.get_value("lock"), "held")
        self.assertEqual(service.get_value("tests.EchoAction:lock", local=False), "held")
        self.assertIsNone(service.get_value("global_key"))
        self.assertEqual(service.get_value("global_key", local=False), "g")
        names = sorted(kvp.name for kvp in service.list_values(local=False))
        self.assertEqual(names, ["global_key", "tests.EchoAction:lock"])
        self.assertEqual([kvp.name for kvp in service.list_values(prefix="lo")], ["tests.EchoAction:lock"])
        self.assertEqual(service.list_values(prefix="nothing"), [])
        self.assertTrue(service.delete_value("lock"))
        self.assertFalse(service.delete_value("lock"))
        self.assertIsNone(service.get_value("lock"))

    def test_encrypted_values_read_back(self) -> None:
        self.action_service.set_value("token", "s3cret", encrypt=True)
        self.assertEqual(self.action_service.get_value("token", decrypt=True), "s3cret")


class SensorKitTest(BaseSensorTestCase):
    sensor_cls = CountingSensor

    def test_dispatch_is_recorded_with_trace_context(self) -> None:
        sensor = self.get_sensor_instance(config={"server": "ava02"}, poll_interval=30)
        sensor.setup()
        self.assertEqual(sensor.get_poll_interval(), 30)
        sensor.poll()
        sensor.poll()

        self.assertEqual(len(self.get_dispatched_triggers()), 2)
        last = self.get_last_dispatched_trigger()
        self.assertEqual(set(last), {"trigger", "payload", "trace_context"})
        self.assertEqual(last["payload"], {"server": "ava02", "code": 5704})
        self.assertEqual(last["trace_context"].trace_tag, "poll-2")
        self.assertTrue(self.assertTriggerDispatched("avamar.auth_failure", payload={"server": "ava02", "code": 5704}))
        with self.assertRaises(AssertionError):
            self.assertTriggerDispatched("avamar.auth_failure", payload={"server": "elsewhere"})
        with self.assertRaises(AssertionError):
            self.assertTriggerDispatched("avamar.other")
        sensor.logger.debug.assert_called_with("poll %d", 2)  # the service logger is a Mock

    def test_default_poll_interval_and_setter(self) -> None:
        sensor = self.get_sensor_instance()
        self.assertEqual(sensor.get_poll_interval(), 5)
        self.assertEqual(sensor.config, {})
        sensor.set_poll_interval(60)
        self.assertEqual(sensor.get_poll_interval(), 60)
        self.assertIs(sensor.sensor_service, self.sensor_service)

    def test_sensor_datastore_namespace(self) -> None:
        self.sensor_service.set_value("position", "42")
        self.assertEqual(
            [kvp.name for kvp in self.sensor_service.list_values(local=False)], ["tests.CountingSensor:position"]
        )

    # packkit.validate_dispatched_payloads, against the fixture pack's trigger schema

    def test_valid_payloads_pass_schema_validation(self) -> None:
        sensor = self.get_sensor_instance()
        sensor.setup()
        sensor.poll()
        self.assertEqual(packkit.validate_dispatched_payloads(self, root=GOOD_PACK), 1)

    def test_payload_breaking_the_schema_fails(self) -> None:
        self.sensor_service.dispatch("avamar.auth_failure", payload={"code": "5704"})
        with self.assertRaises(AssertionError) as caught:
            packkit.validate_dispatched_payloads(self, root=GOOD_PACK)
        message = str(caught.exception)
        self.assertIn("'server' is a required property", message)
        self.assertIn("code: '5704' is not of type 'integer'", message)

    def test_undeclared_trigger_fails(self) -> None:
        self.sensor_service.dispatch("avamar.nope", payload={})
        with self.assertRaisesRegex(AssertionError, "avamar.nope: trigger not declared"):
            packkit.validate_dispatched_payloads(self, root=GOOD_PACK)


# ---------------------------------------------------------------- packkit.load_pack_config


def test_load_pack_config_validates_overrides() -> None:
    with pytest.raises(jsonschema.ValidationError, match="is not of type 'integer'"):
        packkit.load_pack_config(root=GOOD_PACK, overrides={"retries": None})
    with pytest.raises(jsonschema.ValidationError, match="'host' is a required property"):
        packkit.load_pack_config(root=GOOD_PACK, overrides={"servers": {"x": {}}})


def test_load_pack_config_fills_schema_defaults(tmp_path) -> None:
    path = tmp_path / "avamar.yaml"
    path.write_text("servers:\n  a:\n    host: h\n")
    assert packkit.load_pack_config(str(path), root=GOOD_PACK) == {"servers": {"a": {"host": "h"}}, "retries": 3}
    overridden = packkit.load_pack_config(root=GOOD_PACK, overrides={"servers": {"b": {"host": "k"}}})
    assert overridden == {"servers": {"b": {"host": "k"}}, "retries": 2}


def test_repository_example_config_loads_with_defaults() -> None:
    config = packkit.load_pack_config()
    assert set(config["servers"]) >= {"ava01"}
    assert isinstance(config, dict)


# ---------------------------------------------------------------- stand-in only behaviour


def _datastore() -> standin_datastore.MockDatastoreService:
    return standin_datastore.MockDatastoreService(logger=None, pack_name="avamar", class_name="AvamarLogSensor")


def test_standin_ttl_expires_keys() -> None:
    store = _datastore()
    now = [100.0]
    store._clock = lambda: now[0]
    store.set_value("dedup", "1", ttl=60)
    store.set_value("forever", "1")
    now[0] = 159.9
    assert store.get_value("dedup") == "1"
    now[0] = 160.0
    assert store.get_value("dedup") is None
    assert [kvp.name for kvp in store.list_values()] == ["avamar.AvamarLogSensor:forever"]


def test_standin_stores_strings_and_refuses_other_scopes_like_production() -> None:
    store = _datastore()
    store.set_value("serial", 1234)
    assert store.get_value("serial") == "1234"
    for call in (
        lambda: store.get_value("serial", scope="user"),
        lambda: store.set_value("serial", "1", scope="user"),
        lambda: store.delete_value("serial", scope="user"),
    ):
        with pytest.raises(ValueError, match="Scope user is unsupported"):
            call()


def test_standin_list_values_offset_limit_and_secret_repr() -> None:
    store = _datastore()
    for i in range(5):
        store.set_value(f"k{i}", str(i), encrypt=(i == 0))
    assert [kvp.value for kvp in store.list_values(offset=1, limit=2)] == ["1", "2"]
    secret = store.list_values(limit=1)[0]
    assert secret.secret is True and "0" not in repr(secret).split("value=")[1]


def test_install_registers_every_module_and_is_idempotent() -> None:
    names = [
        "st2common", "st2common.runners", "st2common.runners.base_action", "st2reactor", "st2reactor.sensor",
        "st2reactor.sensor.base", "st2tests", "st2tests.base", "st2tests.mocks", "st2tests.mocks.action",
        "st2tests.mocks.sensor", "st2tests.mocks.datastore",
    ]  # fmt: skip
    script = textwrap.dedent(
        f"""
        import sys, st2_standins
        assert st2_standins.install() is True and st2_standins.install() is True
        import st2tests.mocks.sensor, st2common.runners.base_action as ba
        assert st2tests.mocks.sensor.MockSensorService is st2_standins.mocks.MockSensorService
        assert ba.Action is st2_standins.action.Action
        print(",".join(n for n in {names!r} if getattr(sys.modules.get(n), "__st2_standin__", False)))
        """
    )
    out = _run_isolated(script, extra_path=[])
    assert out.split(",") == names


def test_install_stays_out_when_a_real_st2_is_importable(tmp_path) -> None:
    fake = tmp_path / "st2common"
    fake.mkdir()
    (fake / "__init__.py").write_text("REAL = True\n")
    script = textwrap.dedent(
        """
        import sys, st2_standins
        print(st2_standins.install(), "st2tests" in sys.modules)
        import st2common
        print(getattr(st2common, "REAL", False))
        """
    )
    assert _run_isolated(script, extra_path=[str(tmp_path)]).split() == ["False", "False", "True"]


def _run_isolated(script: str, extra_path: List[str]) -> str:
    """Run ``script`` in a fresh interpreter that sees only the stdlib, the stand-ins and ``extra_path``.

    ``-S -E``: no site-packages, no PYTHONPATH, so a StackStorm installed next to the test run
    (st2-run-pack-tests adds st2's site-packages with a .pth file) cannot leak in.
    """
    paths = extra_path + [os.path.join(ROOT, "runner")]
    prelude = f"import sys; sys.path[:0] = {paths!r}\n"
    result = subprocess.run(
        [sys.executable, "-S", "-E", "-c", prelude + script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_test_cases_are_unittest_test_cases() -> None:
    # st2-run-pack-tests runs them with pytest, which collects unittest.TestCase subclasses.
    assert issubclass(BaseActionTestCase, unittest.TestCase)
    assert issubclass(BaseSensorTestCase, unittest.TestCase)
    # Exactly one of: the stand-ins are in place, a real StackStorm is.
    assert st2_standins.installed() != st2_standins.real_st2_available()
