"""The workflow definitions themselves: strict YAML, orquesta inspection, agreement with the actions,
parameter bounds, and the shape of every failure branch."""

from __future__ import annotations

import glob
import os
import re

import jsonschema
import pytest
import yaml
from avamar_pack.remediation_request import BOUNDS
from st2_local.pack_loader import PACK_ROOT, DuplicateKeyError, load_pack, load_yaml_strict
from st2_local.workflow_runner import WorkflowInspectionError, load_workflow_spec
from wfkit import ACTION_TRIGGER_KEYS, LOCKED_TASKS

PACK = load_pack()
META = PACK.action("avamar.remediate_session_tickets")
WORKFLOW_PATH = META.entry_point_path
CLEANUP = PACK.action("avamar.cleanup_remediation")
# Actions StackStorm provides (core, chatops packs); everything else must be in this pack.
PLATFORM_ACTIONS = {
    "core.ask": {"route", "users", "roles", "ttl", "schema"},
    "core.noop": set(),
    "chatops.post_message": {"channel", "message", "route", "user", "whisper", "extra"},
}
# Approval policy comes from the config only: none of these may be a parameter again.
REMOVED = ("require_approval", "approvers", "approver_roles", "approval_ttl")


def _text() -> str:
    with open(WORKFLOW_PATH, encoding="utf-8") as fh:
        return fh.read()


def _write(tmp_path, text: str) -> str:
    path = os.path.join(str(tmp_path), "wf.yaml")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def _tasks(path: str = WORKFLOW_PATH):
    return load_yaml_strict(path)["tasks"]


@pytest.mark.parametrize("path", [WORKFLOW_PATH, CLEANUP.entry_point_path])
def test_workflow_loads_strictly_and_inspects_clean(path):
    spec = load_workflow_spec(path)
    assert spec.inspect(app_ctx={"st2": {"action_execution_id": "x"}, "parent": {}}) == {}


def test_duplicate_task_name_is_caught(tmp_path):
    path = _write(tmp_path, _text() + "\n  verify:\n    action: core.noop\n")
    assert "verify" in yaml.safe_load(open(path, encoding="utf-8"))["tasks"], "PyYAML accepts it silently"
    with pytest.raises(DuplicateKeyError, match="duplicate key 'verify'"):
        load_workflow_spec(path)


def test_undefined_variable_and_unknown_target_are_caught(tmp_path):
    text = _text().replace("serial: <% ctx(accepted_serial) %>", "serial: <% ctx(acepted_serial) %>", 1)
    with pytest.raises(WorkflowInspectionError, match="acepted_serial"):
        load_workflow_spec(_write(tmp_path, text))
    text = _text().replace("do: write_mcs_serial", "do: write_mcs_serail", 1)
    with pytest.raises(WorkflowInspectionError, match="write_mcs_serail"):
        load_workflow_spec(_write(tmp_path, text))


@pytest.mark.parametrize("path", [WORKFLOW_PATH, CLEANUP.entry_point_path])
def test_every_action_exists_and_gets_only_its_parameters(path):
    for name, task in _tasks(path).items():
        ref = task["action"]
        given = set((task.get("input") or {}).keys())
        if ref in PLATFORM_ACTIONS:
            allowed = PLATFORM_ACTIONS[ref]
        else:
            allowed = set(PACK.action(ref).parameters)
            required = {k for k, v in PACK.action(ref).parameters.items() if v.get("required")}
            assert required <= given, f"task {name}: {ref} needs {required - given}"
        assert given <= allowed, f"task {name}: {ref} has no parameter(s) {given - allowed}"


def test_parameters_match_input_and_approval_is_not_a_parameter():
    assert set(load_yaml_strict(WORKFLOW_PATH)["input"]) == set(META.parameters)
    for name in (
        "server",
        "dry_run",
        "serial_margin",
        "max_publickey_attempts",
        "test_backup",
        "detection",
        "notify_route",
        "mcs_restart_timeout",
        "test_backup_timeout",
    ):
        assert name in META.parameters, f"PRODUCT.md parameter {name} missing"
    assert not set(REMOVED) & set(META.parameters)


def test_no_default_reads_the_config_anywhere():
    # st2api validates alias-execution parameters BEFORE rendering Jinja defaults: such a default
    # of a non-string parameter is an HTTP 400 ("... is not of type 'integer'").
    for meta in PACK.actions.values():
        for name, spec in meta.parameters.items():
            default = spec.get("default")
            assert not (isinstance(default, str) and "{{" in default), f"{meta.ref}.{name}: Jinja default {default!r}"


def test_every_parameter_carries_its_bounds_and_they_match_prepare():
    for name, spec in META.parameters.items():
        if spec["type"] == "integer":
            assert "minimum" in spec and "maximum" in spec, name
            assert (spec["minimum"], spec["maximum"]) == BOUNDS[name], name
        if spec["type"] == "string":
            assert spec.get("pattern") or spec.get("enum"), name
    for name, spec in CLEANUP.parameters.items():
        if spec["type"] == "string":
            assert spec.get("pattern") or spec.get("enum"), name


def _st2_schema(meta):
    """The parameters schema as st2 builds it (util_schema.get_schema_for_action_parameters +
    modify_schema_allow_default_none): additionalProperties false, optional without default nullable."""
    properties, required = {}, []
    for name, spec in meta.parameters.items():
        spec = {k: v for k, v in spec.items() if k not in ("required", "description", "immutable")}
        if not meta.parameters[name].get("required") and spec.get("default") is None:
            spec["type"] = [spec["type"], "null"]
        properties[name] = spec
        if meta.parameters[name].get("required"):
            required.append(name)
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


SCHEMA_REFUSES = [
    {"mcs_restart_timeout": 0},
    {"mcs_restart_timeout": -1},
    {"mcs_restart_timeout": 10**12},
    {"mcs_restart_timeout": "soon"},
    {"test_backup_timeout": -1},
    {"test_backup_timeout": 59},
    {"serial_margin": 0},
    {"serial_margin": -10000},
    {"serial_margin": 2**63},
    {"max_publickey_attempts": 0},
    {"max_publickey_attempts": 99},
    {"max_publickey_attempts": "six"},
    {"dry_run": "maybe"},
    {"test_backup": 3},
    {"notify_route": "general"},
    {"notify_route": "avamar`id`"},
    {"detection": "x"},
    {"server": "ava01; reboot"},
    {"server": ""},
    {"server": 5},
    {"require_approval": False},
    {"approvers": ["eve"]},
    {"approver_roles": ["anyone"]},
    {"approval_ttl": 0},
    {"unknown_key": 1},
]


@pytest.mark.parametrize("bad", SCHEMA_REFUSES, ids=[repr(b)[:40] for b in SCHEMA_REFUSES])
def test_st2_refuses_nonsense_at_scheduling(bad):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(_st2_schema(META)).validate({"server": "ava01", **bad})


def test_st2_accepts_the_sane_minimum():
    jsonschema.Draft4Validator(_st2_schema(META)).validate({"server": "ava01"})
    jsonschema.Draft4Validator(_st2_schema(META)).validate(
        {"server": "ava01", "serial_margin": None, "detection": {"server": "ava01"}, "mcs_restart_timeout": 60}
    )


def test_failure_branches_read_no_result_field_without_a_type_check():
    # A crashed python action's result is the STRING "None" (st2's python runner), or None, or a
    # dict without `result`: `result().result` or `.get(` on it would fail the transition itself.
    for path in (WORKFLOW_PATH, CLEANUP.entry_point_path):
        for name, task in _tasks(path).items():
            for transition in task.get("next") or []:
                if "failed()" not in str(transition.get("when", "")):
                    continue
                for item in transition.get("publish") or []:
                    ((var, expr),) = item.items()
                    text = str(expr)
                    assert "result().result" not in text, f"{name}.{var}: {text}"
                    if "result()" in text and text.strip() != "<% result() %>":
                        assert "isDict(" in text, f"{name}.{var} reads result() without a type check: {text}"


def test_every_failure_goes_to_the_one_assessment_and_releases_the_lock():
    tasks = _tasks()
    lock_side = set(LOCKED_TASKS)
    for name, task in tasks.items():
        for transition in task.get("next") or []:
            if "failed()" in str(transition.get("when", "")) and task["action"].startswith("avamar."):
                target = transition["do"]
                if name in ("release_lock", "read_state"):
                    continue
                expected = "read_state" if name in lock_side else "assess_failure"
                assert target == expected, f"{name} failure goes to {target}"
    assert [t["do"] for t in tasks["read_state"]["next"]] == ["assess_failure", "assess_failure"]
    assert [t["do"] for t in tasks["assess_failure"]["next"]] == ["after_failure"]
    after = {t["when"]: t["do"] for t in tasks["after_failure"]["next"]}
    assert after == {"<% ctx(lock_requested) %>": "release_lock", "<% not ctx(lock_requested) %>": "report"}
    # lock_requested is set on every way into acquire_lock.
    into = [(n, t) for n, task in tasks.items() for t in task.get("next") or [] if t.get("do") == "acquire_lock"]
    assert into and all({"lock_requested": True} in t["publish"] for _, t in into), into


def test_every_path_ends_in_report_and_failure_fails_the_execution():
    tasks = _tasks()
    for name, task in tasks.items():
        if name == "report":
            continue
        targets = {t["do"] for t in task.get("next", [])}
        assert targets and targets <= set(tasks), f"task {name} has no way on"
    assert tasks["report"]["next"] == [
        {"when": "<% completed() and ctx(outcome) = 'failed' %>", "do": "fail"},
        {"when": "<% failed() and ctx(outcome) != 'failed' %>", "do": "noop"},
    ]


def test_only_a_confirmed_approval_leads_to_the_lock():
    tasks = _tasks()
    assert [t["do"] for t in tasks["approval"]["next"]] == ["confirm_approval", "report"]
    confirm = tasks["confirm_approval"]
    assert confirm["input"] == {
        "workflow_execution_id": "<% ctx(st2).action_execution_id %>",
        "response": "<% ctx(approval_response) %>",
    }
    go = [t for t in confirm["next"] if t["do"] == "acquire_lock"]
    assert [t["when"] for t in go] == ["<% succeeded() and result().result.approved %>"]
    ask = tasks["approval"]["input"]
    assert ask == {
        "route": "<% ctx(route) %>",
        "users": "<% ctx(policy).inquiry_users %>",
        "roles": "<% ctx(policy).roles %>",
        "ttl": "<% ctx(policy).ttl_minutes %>",
        "schema": "<% ctx(policy).schema %>",
    }


def test_verify_judges_the_node_after_the_registration_and_decides():
    verify = _tasks()["verify"]
    assert verify["input"]["verify_serial"] == "<% ctx(accepted_serial) %>"
    out_of_sync = [t for t in verify["next"] if "not result().result.in_sync" in t["when"]]
    assert [t["do"] for t in out_of_sync] == ["assess_failure"]


def test_output_has_the_product_fields():
    names = {list(item)[0] for item in load_yaml_strict(WORKFLOW_PATH)["output"]}
    assert {
        "outcome",
        "before",
        "after",
        "accepted_serial",
        "attempts",
        "approver",
        "test_backup",
        "timeline",
        "state_left",
        "changes",
        "error",
    } <= names


def test_chat_messages_defuse_untrusted_text():
    # st2 renders Jinja found in a task's input: untrusted text in a chat message must not keep "{{".
    for path in (WORKFLOW_PATH, CLEANUP.entry_point_path):
        for name, task in _tasks(path).items():
            message = (task.get("input") or {}).get("message")
            if not message:
                continue
            for chain in re.findall(r"replace\('>', '&gt;'\)[^}]*", message):
                assert "replace('{', '{ ')" in chain, f"{name}: an escape chain without the brace defuse"


# -- rules -----------------------------------------------------------------------------------------
def _rule(name):
    return load_yaml_strict(os.path.join(PACK_ROOT, "rules", f"{name}.yaml"))


@pytest.mark.parametrize(
    "name,trigger",
    [
        ("remediate_on_auth_failure", "avamar.backup_auth_failure"),
        ("remediate_on_ticket_warning", "avamar.session_ticket_warning"),
        ("remediate_on_backup_stalled", "avamar.backup_stalled"),
    ],
)
def test_rules_start_the_remediation_with_the_payload_as_detection(name, trigger):
    rule = _rule(name)
    assert rule["trigger"]["type"] == trigger and rule["enabled"] is True
    assert rule["action"]["ref"] == "avamar.remediate_session_tickets"
    assert rule["action"]["parameters"] == {
        "server": "{{ trigger.server }}",
        "detection": "{{ trigger | tojson | replace('{', '{ ') }}",
    }
    assert rule["criteria"]["trigger.server"] == {"type": "regex", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"}


def test_cleanup_rule_matches_st2s_action_trigger_payload():
    rule = _rule("cleanup_on_remediation_end")
    assert rule["trigger"]["type"] == "core.st2.generic.actiontrigger"
    # st2actions/notifier/notifier.py _post_generic_trigger: these are the payload's keys.
    for key in rule["criteria"]:
        assert key.split(".")[1] in ACTION_TRIGGER_KEYS, key
    assert rule["criteria"]["trigger.status"]["pattern"] == "^(canceled|timeout|abandoned)$"
    assert rule["action"]["ref"] == "avamar.cleanup_remediation"
    assert set(rule["action"]["parameters"]) == set(CLEANUP.parameters)


def test_every_rule_starting_a_remediation_guards_the_server_name():
    for path in glob.glob(os.path.join(PACK_ROOT, "rules", "*.yaml")):
        rule = load_yaml_strict(path)
        if rule["action"]["ref"] != "avamar.remediate_session_tickets":
            continue
        guards = [k for k, v in rule["criteria"].items() if k.endswith(".server") and v["type"] == "regex"]
        assert guards, f"{rule['name']}: no server-name guard"
