"""The hostile input corpus (tests/data/hostile/*.yaml): every case gets the outcome it records.

Log content goes through the real sensor on a real file; node output (keytable XML, the .srl)
through the parsers and through the actions on a simulated node rigged to print it; parameters,
trigger payloads and configs through the actions, the rules and the workflow on the local
runner. Besides the expected error or skip, each test checks that nothing ran that changes the
node (a recording transport sees every call; refused parameters open no transport at all) and
that no file changed (hash snapshot of the node before and after).
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import stat
import subprocess
from typing import Any, Dict, List

import jsonschema
import pytest
import yaml
from avamar_pack.errors import ParseError
from avamar_pack.parsing import keytable as keytable_parser
from avamar_pack.parsing import srl as srl_parser
from avamar_sim import SimNode
from metadata_checks.st2schema import to_draft4
from relkit import (
    HOSTILE_DIR,
    SERVER,
    WORKFLOW,
    Recorder,
    failing_run,
    node_snapshot,
    pack,
    sensor_config,
    sim_config,
    workflow_runner,
)

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def repr_strings(value: Any) -> str:
    """Every string inside a payload, joined (control characters must not survive into one)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "".join(repr_strings(v) for v in value.values())
    if isinstance(value, list):
        return "".join(repr_strings(v) for v in value)
    return ""


PWNED = ["/tmp/avamar-pwned", "/tmp/avamar-pwned-file", "/tmp/avamar-pwned-trigger"]


def load(name: str) -> List[Dict[str, Any]]:
    with open(os.path.join(HOSTILE_DIR, name), encoding="utf-8") as handle:
        cases = yaml.safe_load(handle)
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids)), f"{name}: duplicate case ids"
    return cases


def cases(name: str, **where: Any) -> List[Any]:
    return [pytest.param(c, id=c["id"]) for c in load(name) if all(c.get(k) == v for k, v in where.items())]


def test_the_corpus_holds_at_least_200_cases_each_with_an_expected_outcome():
    total = 0
    for name in sorted(os.listdir(HOSTILE_DIR)):
        if not name.endswith(".yaml"):
            continue
        for case in load(name):
            assert case.get("expect", "error") in ("error", "skip", "ok", "dispatch", "warning"), case
            if case.get("expect", "error") == "error":
                assert "message" in case, case
            total += 1
    assert total >= 200, total


@pytest.fixture(autouse=True)
def _no_pwned_files():
    for path in PWNED:
        assert not os.path.exists(path), f"{path} exists before the test"
    yield
    for path in PWNED:
        assert not os.path.exists(path), f"hostile input ran a command: {path} was created"


# -- log lines through the real sensor ---------------------------------------------------------
def _generate(spec: Dict[str, Any]) -> bytes:
    if spec.get("unit_run"):
        unit = "".join(failing_run("huge")).replace("\n", " ").encode()
    elif "unit_hex" in spec:
        unit = bytes.fromhex(spec["unit_hex"])
    else:
        unit = spec["unit"].encode()
    prefix = spec.get("prefix", "").encode()
    body = prefix + unit * ((spec["size"] - len(prefix)) // len(unit) + 1)
    body = body[: spec["size"]]
    if spec.get("newline"):
        body = body.replace(b"\n", b" ") + b"\n"
    return body


def _run_text(spec: Dict[str, Any], case_id: str) -> bytes:
    kwargs: Dict[str, Any] = {"client": spec.get("client", case_id.replace("-", "")), "end": spec.get("end", True)}
    for key in ("host", "serial", "log_path"):
        if key in spec:
            kwargs[key] = spec[key]
    if "log_path_repeat" in spec:
        rep = spec["log_path_repeat"]
        kwargs["log_path"] = "/usr/local/avamar/var/clientlogs/" + rep["unit"] * rep["count"] + ".log"
    lines = failing_run(**kwargs)
    if "cut_before" in spec:
        lines = lines[: next(i for i, line in enumerate(lines) if spec["cut_before"] in line)]
    if "cut_after" in spec:
        lines = lines[: next(i for i, line in enumerate(lines) if spec["cut_after"] in line) + 1]
    text = "".join(lines)
    if spec.get("crlf"):
        text = text.replace("\n", "\r\n")
    if spec.get("no_final_newline"):
        text = text.rstrip("\n")
    if spec.get("cut_inside_last"):
        text = text[: -spec["cut_inside_last"]]
    return text.encode("utf-8", "surrogateescape")


def log_bytes(case: Dict[str, Any]) -> bytes:
    data = bytes.fromhex(case.get("prefix_hex", ""))
    if "text" in case:
        data += case["text"].encode("utf-8", "surrogateescape")
    elif "hex" in case:
        data += bytes.fromhex(case["hex"])
    elif "generate" in case:
        data += _generate(case["generate"])
    elif "run" in case:
        data += _run_text(case["run"], case["id"])
    return data


@pytest.fixture
def no_subprocess(monkeypatch):
    """Once armed (after setup, where ctypes may look up libc), the sensor never starts a
    process: any attempt is recorded (and refused)."""
    started: List[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        started.append(args[1:])
        raise AssertionError(f"the sensor tried to run a command: {args[1:]!r}")

    def arm() -> None:
        monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
        monkeypatch.setattr(os, "system", refuse)

    return started, arm


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", cases("log_lines.yaml"))
def test_log_content_through_the_real_sensor(case, tmp_path, no_subprocess):
    from avamar_log_sensor import AvamarLogSensor
    from packkit import trigger_payload_schemas
    from st2tests.mocks.sensor import MockSensorService, MockSensorWrapper

    service = MockSensorService(MockSensorWrapper("avamar", "AvamarLogSensor"))
    # The server is found by the host avtar connected to only (its avamar_root is elsewhere).
    config = sensor_config(str(tmp_path))
    config["servers"][SERVER]["avamar_root"] = "/nonexistent-avamar-root"
    if case.get("two_servers"):  # with one server configured, every failure is that server's
        config["servers"]["ava02"] = {
            "transport": "local",
            "host": "ava02.example.com",
            "avamar_root": "/nonexistent-avamar-root-2",
        }
    sensor = AvamarLogSensor(sensor_service=service, config=config)
    sensor.setup()
    started, arm = no_subprocess
    arm()
    sensor.poll_once()  # files are followed from here on
    if case["source"] == "avtar":
        path = tmp_path / "clientlogs" / f"{case.get('file', case['id'])}.log"
    else:
        path = tmp_path / "gsan" / "err.log"
    data = log_bytes(case)
    with open(path, "ab") as handle:
        handle.write(data)
    before = node_snapshot(str(tmp_path))
    try:
        sensor.poll_once()
        sensor.poll_once()
        got = list(service.dispatched_triggers)
        notes = " | ".join(sensor.skip_notes)
        schemas = trigger_payload_schemas()
        for item in got:
            jsonschema.Draft4Validator(to_draft4(schemas[item["trigger"]])).validate(item["payload"])
            assert not CONTROL.search(repr_strings(item["payload"])), item["payload"]
        auth = [d["payload"] for d in got if d["trigger"] == "avamar.backup_auth_failure"]
        warnings = [d["payload"] for d in got if d["trigger"] == "avamar.session_ticket_warning"]
        if case["expect"] == "skip":
            assert got == [], f"{case['why']}: dispatched {got}"
            if case.get("note"):
                assert case["note"] in notes, f"skip note {case['note']!r} not in {notes[:500]!r}"
        elif case["expect"] == "dispatch":
            assert len(auth) == 1 and not warnings, got
            assert auth[0]["server"] == SERVER and auth[0]["client"] == case["client"], auth[0]
        else:
            assert len(warnings) == 1 and not auth, got
            assert warnings[0]["kind"] == case["kind"], warnings[0]
        # Still alive: a genuine failure written after the hostile content is seen.
        with open(tmp_path / "clientlogs" / "alive.log", "a", encoding="utf-8") as handle:
            handle.writelines(failing_run("alivecheck"))
        sensor.poll_once()
        after = [d["payload"] for d in service.dispatched_triggers[len(got) :]]
        assert [p.get("client") for p in after] == ["alivecheck"], after
    finally:
        sensor.cleanup()
    assert started == []
    # The sensor wrote nothing next to the logs (only our own append of alive.log changed).
    changed = {k for k, v in node_snapshot(str(tmp_path)).items() if before.get(k) != v}
    assert changed <= {os.path.join("clientlogs", "alive.log")}, changed


# -- node output: keytable XML and .srl -----------------------------------------------------------
def keytable_bytes(case: Dict[str, Any]) -> bytes:
    if "hex" in case:
        return bytes.fromhex(case["hex"])
    gen = case.get("generate")
    if gen == "billion_laughs":
        ents = ['<!ENTITY a0 "lol">'] + [f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 10)]
        doctype = f"<!DOCTYPE k [{''.join(ents)}]>"
        return f'<?xml version="1.0"?>{doctype}<keytable minimalserial="1">&a9;</keytable>'.encode()
    if gen == "quadratic_blowup":
        big = "x" * 50000
        return (
            f'<?xml version="1.0"?><!DOCTYPE k [<!ENTITY b "{big}">]><keytable minimalserial="1">'
            + "&b;" * 20000
            + "</keytable>"
        ).encode()
    if gen == "huge_children":
        return b'<keytable minimalserial="5">' + b"<key serial='1'/>" * 200000 + b"</keytable>"
    if gen == "deep_nesting":
        return b'<keytable minimalserial="7">' + b"<a>" * 5000 + b"</a>" * 5000 + b"</keytable>"
    return case["xml"].encode("utf-8")


def srl_bytes(case: Dict[str, Any]) -> bytes:
    if "hex" in case:
        return bytes.fromhex(case["hex"])
    if "generate" in case:
        return case["generate"]["unit"].encode() * (case["generate"]["size"] // len(case["generate"]["unit"]))
    return case["text"].encode("utf-8")


@pytest.mark.timeout(30)
@pytest.mark.parametrize("case", cases("keytable.yaml"))
def test_keytable_parser(case):
    data = keytable_bytes(case)
    if case["expect"] == "ok":
        assert keytable_parser.parse_keytable(data).minimal_serial == case["value"]
        return
    with pytest.raises(ParseError) as err:
        keytable_parser.parse_keytable(data)
    assert case["message"] in str(err.value)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("case", cases("srl.yaml"))
def test_srl_parser(case):
    data = srl_bytes(case)
    if case["expect"] == "ok":
        assert srl_parser.parse_srl(data) == case["value"]
        return
    with pytest.raises(ParseError) as err:
        srl_parser.parse_srl(data)
    assert case["message"] in str(err.value)


@pytest.fixture(scope="module")
def rigged_node(tmp_path_factory):
    """One simulated node (drifted) whose `avmaint cat` prints whatever ``keytable.out`` holds."""
    for tool in ("keytool", "openssl"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"the simulator needs the real {tool} on PATH")
    node = SimNode.create(tmp_path_factory.mktemp("hostile-node"), "mcs_restored_old_flush", restart_seconds=0)
    real = os.path.join(node.bin_dir, "avmaint")
    os.rename(real, real + ".real")
    out = os.path.join(node.root, "keytable.out")
    with open(real, "w") as handle:
        handle.write(
            f'#!/bin/sh\nif [ "$1" = cat ] && [ -s "{out}" ]; then cat "{out}"; exit 0; fi\nexec "{real}.real" "$@"\n'
        )
    os.chmod(real, os.stat(real + ".real").st_mode | stat.S_IXUSR)
    yield node
    node.clear_faults()


def run_action(config: Dict[str, Any], name: str, params: Dict[str, Any]) -> Any:
    from st2_local.action_runner import ActionRunner

    # One subprocess per action, as st2's python runner runs it (the Recorder follows it there);
    # no runner parameters (st2's defaults) and the environment st2 gives every action.
    env = {"ST2_ACTION_PACK_NAME": pack().ref, "ST2_ACTION_DEBUG": "False"}
    outcome = ActionRunner(pack(), config).run(pack().action(f"avamar.{name}"), params, {}, env)
    result = outcome.result.get("result")
    assert outcome.status == "failed", f"avamar.{name} with hostile input succeeded: {outcome.result}"
    assert "traceback" not in outcome.result, outcome.result.get("traceback")
    assert isinstance(result, dict) and set(result["error"]) == {"step", "reason", "state_left"}, outcome.result
    return result["error"]


NODE_READERS = [("set_gsan_minserial", {"serial": 40000}), ("write_mcs_serial", {"serial": 40000})]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", cases("keytable.yaml", expect="error"))
def test_hostile_keytable_output_changes_nothing_on_the_node(case, rigged_node, monkeypatch):
    out = os.path.join(rigged_node.root, "keytable.out")
    with open(out, "wb") as handle:
        handle.write(keytable_bytes(case) or b"\n")  # empty: the rig falls through to real avmaint
    if not keytable_bytes(case):
        with open(out, "wb") as handle:
            handle.write(b" ")
    try:
        before = node_snapshot(rigged_node.root)
        gsan_before = rigged_node.state()["gsan_minimal_serial"]
        for name, params in NODE_READERS:
            recorder = Recorder(monkeypatch)
            error = run_action(sim_config(rigged_node), name, dict(params, server=SERVER))
            assert error["step"] == "read_serials", error
            assert "keytable" in error["reason"], error
            assert recorder.mutating() == [], recorder.mutating()
        assert node_snapshot(rigged_node.root) == before
        assert rigged_node.state()["gsan_minimal_serial"] == gsan_before
    finally:
        os.unlink(out)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", cases("srl.yaml", expect="error"))
def test_hostile_srl_content_changes_nothing_on_the_node(case, rigged_node, monkeypatch):
    with open(rigged_node.srl_path, "rb") as handle:
        original = handle.read()
    with open(rigged_node.srl_path, "wb") as handle:
        handle.write(srl_bytes(case))
    try:
        before = node_snapshot(rigged_node.root)
        gsan_before = rigged_node.state()["gsan_minimal_serial"]
        for name, params in NODE_READERS + [("diagnose_session_tickets", {})]:
            recorder = Recorder(monkeypatch)
            error = run_action(sim_config(rigged_node), name, dict(params, server=SERVER))
            assert error["step"] in ("read_serials", "read_srl"), error
            assert "srl" in error["reason"].lower() or "serial" in error["reason"].lower(), error
            assert recorder.mutating() == [], recorder.mutating()
        assert node_snapshot(rigged_node.root) == before
        assert rigged_node.state()["gsan_minimal_serial"] == gsan_before
    finally:
        with open(rigged_node.srl_path, "wb") as handle:
            handle.write(original)


# -- parameters, payloads, config ------------------------------------------------------------------
@pytest.mark.timeout(30)
@pytest.mark.parametrize("case", cases("action_params.yaml"))
def test_hostile_action_parameters_run_nothing(case, rigged_node, monkeypatch):
    recorder = Recorder(monkeypatch)
    before = node_snapshot(rigged_node.root)
    # respond_approval talks to the st2 API, not the node: point it at a closed port, so any
    # request it made would fail with "unreachable" instead of the validation message.
    monkeypatch.setenv("ST2_ACTION_API_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("ST2_ACTION_AUTH_TOKEN", "token")
    error = run_action(sim_config(rigged_node), case["action"], case["params"])
    if case["action"] == "respond_approval":
        assert error["step"] == "respond_approval" and "still pending" in error["state_left"], error
        assert "unreachable" not in error["reason"], error
    else:
        assert error["step"] == "validate", error
        assert error["state_left"] == "nothing was run", error
    assert case["message"] in error["reason"], error
    assert recorder.opened == 0 and recorder.calls == []
    assert node_snapshot(rigged_node.root) == before


def config_cases(sensor: bool) -> List[Any]:
    return [p for p in cases("config.yaml") if ("sensor_section" in p.values[0]) == sensor]


@pytest.mark.parametrize("case", config_cases(sensor=True))
def test_hostile_sensor_config_is_refused_by_the_config_schema(case):
    """What st2 does when the pack config is registered: validate it against config.schema.yaml."""
    from metadata_checks.st2schema import config_json_schema
    from st2_local.pack_loader import PACK_ROOT, load_yaml_strict

    schema = config_json_schema(load_yaml_strict(os.path.join(PACK_ROOT, "config.schema.yaml")))
    config = {"servers": {SERVER: {"transport": "local"}}, "sensor": copy.deepcopy(case["sensor_section"])}
    with pytest.raises(jsonschema.ValidationError) as err:
        jsonschema.Draft4Validator(schema).validate(config)
    where = "/".join(str(p) for p in err.value.absolute_path) + " " + err.value.message
    assert case["message"] in where, where


@pytest.mark.timeout(30)
@pytest.mark.parametrize("case", config_cases(sensor=False))
def test_hostile_config_runs_nothing(case, rigged_node, monkeypatch):
    if "replace" in case:
        config = copy.deepcopy(case["replace"])
    else:
        config = sim_config(rigged_node)
        config["servers"][SERVER].update(copy.deepcopy(case.get("entry") or {}))
        config.update(copy.deepcopy(case.get("extra") or {}))
    recorder = Recorder(monkeypatch)
    before = node_snapshot(rigged_node.root)
    actions = (
        [(case["action"], case.get("params") or {})]
        if "action" in case
        else [("diagnose_session_tickets", {}), ("check_preconditions", {})]
    )
    for name, params in actions:
        error = run_action(config, name, dict(params, server=SERVER))
        assert error["step"] == "validate", error
        assert case["message"] in error["reason"], error
    assert recorder.opened == 0 and recorder.calls == []
    assert node_snapshot(rigged_node.root) == before


VALID_PAYLOAD = {
    "server": SERVER,
    "client": "web01",
    "clients": ["web01"],
    "codes": [8609, 5704, 5126, 8941, 7001],
    "message": "avtar FATAL <5704>: Fatal Server Error occurred (MSG_ERR_AUTH_FAIL)",
    "ticket": None,
    "log_file": "/usr/local/avamar/var/clientlogs/web01.log",
    "first_seen": "2026-01-05T03:00:00",
    "last_seen": "2026-01-05T03:00:00",
    "count": 1,
    "source": "file",
}


VALID_WEBHOOK_BODY = {
    "event": "backup_auth_failure",
    "server": SERVER,
    "minion": "ava01-node",
    "line": "2026-01-05 03:00:00 avtar FATAL <5704>: Fatal Server Error occurred (MSG_ERR_AUTH_FAIL)",
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", cases("triggers.yaml"))
def test_hostile_trigger_payloads_change_nothing(case, rigged_node, monkeypatch):
    from st2_local.rules import criteria_match, rule_action

    rule = pack().rule(f"avamar.{case.get('rule', 'remediate_on_auth_failure')}")
    if "body" in case:  # core.st2.webhook: the rule reads trigger.body
        payload = {"headers": {}, "body": dict(VALID_WEBHOOK_BODY, **case["body"])}
    else:
        payload = dict(VALID_PAYLOAD, **case["payload"])
    recorder = Recorder(monkeypatch)
    before = node_snapshot(rigged_node.root)
    try:
        matched = criteria_match(rule, payload)
    except (TypeError, ValueError):
        matched = False
    if case["expect"] == "skip":
        assert not matched, f"{case['why']}: the rule matched {payload}"
    else:
        assert matched, f"the rule did not match {payload}; the refusal must come from the workflow"
        ref, params = rule_action(rule, payload)
        assert ref == WORKFLOW
        runner = workflow_runner(sim_config(rigged_node))
        try:
            run = runner.run(ref, params)
        except Exception as exc:  # noqa: BLE001 - the runner refusing the parameters is a clear error too
            message = str(exc)
        else:
            assert run.output["outcome"] == "failed", run.output
            # The workflow's first step validates every input before the node is touched (INTERFACES.md).
            assert run.output["error"]["step"] == "prepare_remediation", run.output["error"]
            assert run.output["error"]["state_left"].startswith("nothing was read from or written to the node")
            message = run.output["error"]["reason"]
        assert case["message"] in message, message
    assert recorder.opened == 0 and recorder.calls == []
    assert node_snapshot(rigged_node.root) == before


# -- Salt events through the real sensor --------------------------------------------------------
def salt_events(case: Dict[str, Any]) -> List[Any]:
    """(tag, data) pairs of a case, the SSE ones through the real salt_api.parse_sse.

    A case's ``data`` for an ``avamar/...`` tag is what the minion sent with ``event.send``; on the
    master bus it arrives wrapped in the request the master checked (``as_on_the_bus``).
    """
    from avamar_pack.detection.sources.salt_api import parse_sse

    if "sse" in case or "sse_generate" in case:
        text = case.get("sse") or (
            'data: {"tag": "avamar/avtar/failure", "data": {"lines": ["'
            + "x" * case["sse_generate"]["size"]
            + '"]}}\n\n'
        )
        return list(parse_sse(text.split("\n")))
    data = copy.deepcopy(case.get("data"))
    if "run" in case:
        lines = _run_text(case["run"], case["id"]).decode("utf-8", "surrogateescape").splitlines()
        if case["tag"].startswith("salt/beacon/"):
            return [(case["tag"], dict(data, raw=line)) for line in lines]
        data["lines"] = lines
    if "many_lines" in case:
        data["lines"] = ["2026-01-05 03:00:00 avtar Info <5552>: x"] * case["many_lines"]
    return [(case["tag"], as_on_the_bus(case["tag"], data))]


def as_on_the_bus(tag: str, sent: Any) -> Any:
    """``salt-call event.send tag sent`` as salt-api shows it: the minion's id checked, its data inside."""
    if not isinstance(sent, dict) or not isinstance(sent.get("id"), str):
        return sent
    inner = {k: v for k, v in sent.items() if k != "id"}
    return {"id": sent["id"], "cmd": "_minion_event", "tag": tag, "data": inner}


SALT_MINIONS = ["web01", "web02", "$(reboot)", "../../etc", "alivecheck"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", cases("salt_events.yaml"))
def test_salt_events_through_the_real_sensor(case, tmp_path, no_subprocess):
    from avamar_log_sensor import AvamarLogSensor
    from packkit import trigger_payload_schemas
    from st2tests.mocks.sensor import MockSensorService, MockSensorWrapper

    service = MockSensorService(MockSensorWrapper("avamar", "AvamarLogSensor"))
    config = sensor_config(str(tmp_path))
    config["sensor"]["salt_minions"] = {minion: SERVER for minion in SALT_MINIONS}
    sensor = AvamarLogSensor(sensor_service=service, config=config)
    sensor.setup()
    started, arm = no_subprocess
    arm()
    try:
        for tag, data in salt_events(case):
            sensor.push_salt_event(tag, data)  # what the salt-api reader thread does
        sensor.poll_once()
        sensor.poll_once()
        got = list(service.dispatched_triggers)
        schemas = trigger_payload_schemas()
        for item in got:
            jsonschema.Draft4Validator(to_draft4(schemas[item["trigger"]])).validate(item["payload"])
            assert not CONTROL.search(repr_strings(item["payload"])), item["payload"]
        if case["expect"] == "skip":
            assert got == [], f"{case['why']}: dispatched {got}"
        else:
            assert len(got) == 1 and got[0]["payload"]["client"] == case["client"], got
            assert got[0]["payload"]["source"] == "salt" and got[0]["payload"]["server"] == SERVER
        # Still alive: a genuine excerpt afterwards is seen.
        lines = _run_text({"client": "alivecheck"}, "alive").decode().splitlines()
        sensor.push_salt_event(
            "avamar/avtar/failure", as_on_the_bus("avamar/avtar/failure", {"id": "alivecheck", "lines": lines})
        )
        sensor.poll_once()
        assert [d["payload"]["client"] for d in service.dispatched_triggers[len(got) :]] == ["alivecheck"]
    finally:
        sensor.cleanup()
    assert started == []
