"""The rules' criteria, evaluated the way st2's rules engine evaluates them.

``st2common/operators.py`` (StackStorm 3.x) is re-implemented here for the operators the pack's
rules use - faithfully, including its one trap: ``contains`` is ``pattern in value`` after only
a bytes->str conversion, so on a list of integers an integer pattern matches and the STRING
"5704" never does. st2's rule filter looks the criteria key up in the payload (``trigger.x.y``)
and renders a pattern through Jinja only when it is a string; an integer stays an integer.
"""

from __future__ import annotations

import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _strings(value, pattern):  # st2's ensure_operators_are_strings
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if isinstance(pattern, bytes):
        pattern = pattern.decode("utf-8")
    return value, pattern


def contains(value, pattern):
    if pattern is None:
        return False
    value, pattern = _strings(value, pattern)
    return pattern in value


def equals(value, pattern):
    if pattern is None:
        return False
    value, pattern = _strings(value, pattern)
    return value == pattern


def greaterthan(value, pattern):
    if pattern is None:
        return False
    return value > pattern


def regex(value, pattern):
    if pattern is None:
        return False
    value, pattern = _strings(value, pattern)
    return re.compile(pattern).search(value) is not None


OPERATORS = {
    "contains": contains,
    "equals": equals,
    "eq": equals,
    "greaterthan": greaterthan,
    "gt": greaterthan,
    "regex": regex,
}


def lookup(payload, key):
    """``trigger.a.b`` -> payload["a"]["b"] (None when missing), as st2's PayloadLookup."""
    parts = key.split(".")
    assert parts[0] == "trigger", key
    value = payload
    for part in parts[1:]:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def matches(rule, payload) -> bool:
    for key, criterion in (rule.get("criteria") or {}).items():
        operator = OPERATORS[criterion["type"]]  # KeyError: a rule uses an operator not checked here
        if not operator(lookup(payload, key), criterion.get("pattern")):
            return False
    return True


def load_rule(name):
    with open(os.path.join(ROOT, "rules", name), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


PAYLOAD = {
    "server": "ava1",
    "client": "client1",
    "clients": ["client1"],
    "codes": [8609, 5704, 5126, 8941, 7001],
    "message": "Fatal Server Error occurred (MSG_ERR_AUTH_FAIL), aborting execution",
    "ticket": None,
    "log_file": "/usr/local/avamar/var/clientlogs/client1.log",
    "first_seen": "2019-12-31T07:35:23",
    "last_seen": "2019-12-31T07:35:23",
    "count": 3,
    "source": "file",
}


def test_contains_on_a_list_of_integers_needs_an_integer_pattern() -> None:
    assert contains([8609, 5704], 5704) is True
    assert contains([8609, 5704], "5704") is False  # the trap the rule avoids
    assert contains("codes 5704", "5704") is True


def test_remediate_on_auth_failure_matches_the_sensor_payload() -> None:
    rule = load_rule("remediate_on_auth_failure.yaml")
    assert rule["trigger"]["type"] == "avamar.backup_auth_failure"
    assert isinstance(rule["criteria"]["trigger.codes"]["pattern"], int)
    assert matches(rule, PAYLOAD)
    assert not matches(rule, dict(PAYLOAD, codes=[8609, 5126]))
    assert rule["action"]["ref"] == "avamar.remediate_session_tickets"
    params = rule["action"]["parameters"]
    assert params["server"] == "{{ trigger.server }}"
    assert set(params) <= {"server", "detection"}  # the payload itself is the workflow's evidence (issue 12.6)
    if "detection" in params:
        assert "trigger" in params["detection"]


def test_the_payload_the_sensor_dispatches_matches_the_rule(tmp_path) -> None:
    from avamar_log_sensor import AvamarLogSensor
    from sensorkit import append, auth_payloads, config, failing_run
    from st2tests.mocks.sensor import MockSensorService

    try:
        from st2_standins.mocks import MockSensorWrapper
    except ImportError:  # a real st2tests
        from st2tests.mocks.sensor import MockSensorWrapper
    service = MockSensorService(MockSensorWrapper("tests", "AvamarLogSensor"))
    sensor = AvamarLogSensor(service, config(str(tmp_path)))
    sensor.setup()
    sensor.poll_once()
    append(os.path.join(str(tmp_path), "clientlogs", "c1.log"), failing_run("c1"))
    sensor.poll_once()
    sensor.cleanup()
    payloads = auth_payloads(service.dispatched_triggers)
    assert len(payloads) == 1
    assert matches(load_rule("remediate_on_auth_failure.yaml"), payloads[0])


def test_salt_webhook_rule_criteria() -> None:
    rule = load_rule("salt_webhook_remediate.yaml")
    assert rule["trigger"] == {"type": "core.st2.webhook", "parameters": {"url": "avamar_auth_failure"}}
    body = {
        "event": "backup_auth_failure",
        "server": "ava1",
        "minion": "client1",
        "line": "2019-12-31 07:35:23 avtar FATAL <5704>: Fatal Server Error occurred (MSG_ERR_AUTH_FAIL), ...",
    }
    assert matches(rule, {"body": body, "headers": {}})
    assert not matches(rule, {"body": dict(body, line="2019-12-31 07:35:23 avtar Error <8609>: Connection killed")})
    assert rule["enabled"] is False
