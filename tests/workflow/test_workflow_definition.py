"""The workflow definition itself: strict YAML, orquesta inspection, and agreement with the actions."""

from __future__ import annotations

import os
import re

import pytest
import yaml
from st2_local.pack_loader import DuplicateKeyError, load_pack, load_yaml_strict
from st2_local.workflow_runner import WorkflowInspectionError, load_workflow_spec

PACK = load_pack()
META = PACK.action("avamar.remediate_session_tickets")
WORKFLOW_PATH = META.entry_point_path
# Actions StackStorm provides (core, chatops packs); everything else must be in this pack.
PLATFORM_ACTIONS = {"core.ask": {"route", "users", "roles", "ttl", "schema"},
                    "chatops.post_message": {"channel", "message", "route", "user", "whisper", "extra"}}


def _text() -> str:
    with open(WORKFLOW_PATH, encoding="utf-8") as fh:
        return fh.read()


def _write(tmp_path, text: str) -> str:
    path = os.path.join(str(tmp_path), "wf.yaml")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def test_workflow_loads_strictly_and_inspects_clean():
    spec = load_workflow_spec(WORKFLOW_PATH)
    assert spec.inspect(app_ctx={"st2": {"action_execution_id": "x"}, "parent": {}}) == {}
    assert spec.tasks.has_task("approval") and spec.tasks.has_task("release_lock")


def test_duplicate_task_name_is_caught(tmp_path):
    text = _text()
    # Append a second `verify:` task under `tasks:`; YAML keeps only the last one silently.
    duplicate = "\n  verify:\n    action: core.noop\n"
    path = _write(tmp_path, text + duplicate)
    assert "verify" in yaml.safe_load(open(path, encoding="utf-8"))["tasks"], "PyYAML accepts it silently"
    with pytest.raises(DuplicateKeyError, match="duplicate key 'verify'"):
        load_yaml_strict(path)
    with pytest.raises(DuplicateKeyError):
        load_workflow_spec(path)


def test_undefined_variable_is_caught(tmp_path):
    text = _text().replace("serial: <% ctx(accepted_serial) %>", "serial: <% ctx(acepted_serial) %>")
    assert "acepted_serial" in text
    with pytest.raises(WorkflowInspectionError, match="acepted_serial"):
        load_workflow_spec(_write(tmp_path, text))


def test_unknown_transition_target_is_caught(tmp_path):
    text = _text().replace("do: write_mcs_serial", "do: write_mcs_serail")
    with pytest.raises(WorkflowInspectionError, match="write_mcs_serail"):
        load_workflow_spec(_write(tmp_path, text))


def test_every_action_exists_and_gets_only_its_parameters():
    definition = load_yaml_strict(WORKFLOW_PATH)
    for name, task in definition["tasks"].items():
        ref = task["action"]
        given = set((task.get("input") or {}).keys())
        if ref in PLATFORM_ACTIONS:
            allowed = PLATFORM_ACTIONS[ref]
        else:
            allowed = set(PACK.action(ref).parameters)
            required = {k for k, v in PACK.action(ref).parameters.items() if v.get("required")}
            assert required <= given, f"task {name}: {ref} needs {required - given}"
        assert given <= allowed, f"task {name}: {ref} has no parameter(s) {given - allowed}"


def test_metadata_parameters_match_workflow_input():
    definition = load_yaml_strict(WORKFLOW_PATH)
    assert set(definition["input"]) == set(META.parameters)
    for name in ("server", "require_approval", "dry_run", "approvers", "approval_ttl", "serial_margin",
                 "max_publickey_attempts", "test_backup", "notify_route"):
        assert name in META.parameters, f"PRODUCT.md parameter {name} missing"


def test_output_has_the_product_fields():
    definition = load_yaml_strict(WORKFLOW_PATH)
    names = {list(item)[0] for item in definition["output"]}
    assert {"outcome", "before", "after", "accepted_serial", "attempts", "approver", "test_backup", "timeline"} <= names


def test_every_path_ends_in_report_and_failure_fails_the_execution():
    definition = load_yaml_strict(WORKFLOW_PATH)
    tasks = definition["tasks"]
    for name, task in tasks.items():
        if name == "report":
            continue
        targets = {t["do"] for t in task.get("next", [])}
        assert targets and targets <= set(tasks), f"task {name} has no way on"
    report = tasks["report"]["next"]
    assert report == [{"when": "<% completed() and ctx(outcome) = 'failed' %>", "do": "fail"},
                      {"when": "<% failed() and ctx(outcome) != 'failed' %>", "do": "noop"}]
    # After the lock is taken, every way out goes through release_lock.
    for name in ("lock_and_recheck", "set_gsan_serial", "write_mcs_serial", "restart_mcs", "verify", "run_test_backup"):
        for transition in tasks[name]["next"]:
            assert transition["do"] in ("release_lock",) or transition["do"] in tasks and name != transition["do"]
            if "failed()" in transition.get("when", ""):
                assert transition["do"] == "release_lock", f"{name}: failure must release the lock"


def test_approval_branches_on_the_answer_not_on_success_alone():
    definition = load_yaml_strict(WORKFLOW_PATH)
    whens = [t["when"] for t in definition["tasks"]["approval"]["next"]]
    assert any("result().response.approved" in w and "not " not in w for w in whens)
    assert any("not result().response.approved" in w for w in whens)
    schema = definition["tasks"]["approval"]["input"]["schema"]
    assert schema["properties"]["approved"] == {**schema["properties"]["approved"], "type": "boolean", "required": True}


def test_compat_fixes_python_311_inline_flags():
    from orquesta.utils import parameters

    assert "(?i)" not in parameters.REGEX_INLINE_PARAMS
    parsed = {}
    for pair in parameters.parse_inline_params("a=TRUE b=false c=12"):
        parsed.update(pair)
    assert parsed == {"a": True, "b": False, "c": 12}
    assert re.compile(parameters.REGEX_INLINE_PARAMS)
