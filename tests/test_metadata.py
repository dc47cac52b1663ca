"""The pack's StackStorm metadata is what st2 accepts, and the checks prove they catch mistakes.

`test_pack_metadata` runs every check of metadata_checks.checks on this repository.
The self-tests copy the minimal pack tests/data/metadata/good/ (which every check accepts),
drop one broken file from tests/data/metadata/broken/ into it, and expect the right check to
name the mistake.
"""

from __future__ import annotations

import os
import shutil

import pytest
import yaml
from metadata_checks import st2schema
from metadata_checks.checks import ALL_CHECKS
from st2_local.pack_loader import DuplicateKeyError, load_yaml_text

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "data", "metadata")
GOOD_PACK = os.path.join(FIXTURES, "good")


@pytest.mark.parametrize("check", sorted(ALL_CHECKS))
def test_pack_metadata(check: str) -> None:
    problems = ALL_CHECKS[check](ROOT)
    assert problems == [], "\n".join(problems)


def test_pack_has_the_metadata_files_st2_installs() -> None:
    for name in ("pack.yaml", "config.schema.yaml", "avamar.yaml.example", "requirements.txt"):
        assert os.path.isfile(os.path.join(ROOT, name)), name


@pytest.mark.parametrize("check", sorted(ALL_CHECKS))
def test_good_fixture_pack_passes(check: str) -> None:
    assert ALL_CHECKS[check](GOOD_PACK) == []


# (broken fixture, where it goes in the pack, check, words every expected problem contains)
BROKEN_CASES = [
    ("duplicate_key.yaml", "actions/dup.yaml", "yaml_files", ["found duplicate key 'parameters'"]),
    ("action_bad_runner.yaml", "actions/bad_runner.yaml", "actions", ["runner_type: 'python' is not one of"]),
    (
        "action_missing_entry_point.yaml",
        "actions/ghost.yaml",
        "actions",
        ["entry_point actions/ghost.py does not exist"],
    ),
    (
        "action_bad_parameter.yaml",
        "actions/bad_parameter.yaml",
        "actions",
        ["parameters/server/type: 'str'", "parameters/server/required: 'yes'", "parameter margin default"],
    ),
    (
        "workflow_unknown_action.yaml",
        "actions/workflows/flow.yaml",
        "workflows",
        ["calls unknown action 'avamar.chek'", "unknown task 'reprot'"],
    ),
    (
        "workflow_bad_input.yaml",
        "actions/workflows/flow.yaml",
        "workflows",
        ["avamar.check has no parameter 'srv'", "has no parameter 'verbos'", "required parameter 'server'"],
    ),
    ("sensor_no_payload_schema.yaml", "sensors/quiet.yaml", "sensors", ["trigger nothing has no payload_schema"]),
    (
        "sensor_required_list.yaml",
        "sensors/listed.yaml",
        "sensors",
        ["trigger listed payload_schema: required must be true/false on each property (st2 refuses"],
    ),
    (
        "rule_unknown_action.yaml",
        "rules/unknown_action.yaml",
        "rules",
        ["action 'avamar.remediate_everything' does not exist"],
    ),
    (
        "rule_bad_criteria.yaml",
        "rules/bad_criteria.yaml",
        "rules",
        [
            "enabled: 'yes' is not of type 'boolean'",
            "'equal' is not one of",
            "'serevr' is not in the trigger's payload_schema",
            "avamar.flow has no parameter 'force'",
        ],
    ),
    ("rule_missing_parameter.yaml", "rules/missing.yaml", "rules", ["required parameter 'server' of avamar.check"]),
    (
        "policy_bad.yaml",
        "policies/bad.yaml",
        "policies",
        ["resource_ref 'avamar.nothing' does not exist", "'always' is not one of"],
    ),
    ("alias_unknown_action.yaml", "aliases/unknown.yaml", "aliases", ["action_ref 'avamar.nothing' does not exist"]),
    ("alias_unknown_parameter.yaml", "aliases/unknown.yaml", "aliases", ["avamar.check has no parameter 'host'"]),
    (
        "config_schema_secret_unmarked.yaml",
        "config.schema.yaml",
        "config_schema",
        ["servers.<additionalProperties>.password holds a credential"],
    ),
    (
        "config_example_wrong_type.yaml",
        "avamar.yaml.example",
        "config_example",
        ["'host' is a required property", "retries: 'three' is not of type 'integer'"],
    ),
    (
        "config_example_decrypt_kv.yaml",
        "avamar.yaml.example",
        "config_example",
        ["servers.ava01.password is `secret: true`"],
    ),
    (
        "pack_bad.yaml",
        "pack.yaml",
        "pack_yaml",
        ["'email' is a required property", "version: '1.0' does not match", "python_versions is ['2']"],
    ),
]


@pytest.mark.parametrize(
    ("fixture", "destination", "check", "expected"), BROKEN_CASES, ids=[c[0] for c in BROKEN_CASES]
)
def test_each_check_catches_its_mistake(tmp_path, fixture: str, destination: str, check: str, expected: list) -> None:
    pack = tmp_path / "avamar"
    shutil.copytree(GOOD_PACK, pack)
    shutil.copyfile(os.path.join(FIXTURES, "broken", fixture), pack / destination)

    problems = ALL_CHECKS[check](str(pack))

    report = "\n".join(problems)
    for words in expected:
        assert any(words in p for p in problems), f"{words!r} not reported; got:\n{report}"


def test_duplicate_keys_rejected_at_any_depth_but_merges_allowed() -> None:
    with pytest.raises(DuplicateKeyError, match="duplicate key 'b'"):
        load_yaml_text("a:\n  b: 1\n  c: 2\n  b: 3\n")
    # A `<<:` merge followed by an override is legitimate YAML, not a duplicate.
    assert load_yaml_text("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n")["other"] == {"x": 1, "y": 3}
    # Still a safe loader: no arbitrary Python objects.
    with pytest.raises(yaml.constructor.ConstructorError):
        load_yaml_text("!!python/object/apply:os.system ['true']")


def test_st2_required_flags_become_draft4_lists() -> None:
    schema = st2schema.to_draft4(
        {
            "type": "object",
            "properties": {
                "a": {"type": "string", "required": True},
                "b": {"type": "integer", "required": True, "default": 1},  # st2 fills the default in
                "c": {"type": "object", "properties": {"d": {"type": "string", "required": True}}},
            },
        }
    )
    assert schema["required"] == ["a"]
    assert "required" not in schema["properties"]["a"]
    assert schema["properties"]["c"]["required"] == ["d"]
    assert st2schema.schema_errors({"c": {}}, schema) == [
        "<root>: 'a' is a required property",
        "c: 'd' is a required property",
    ]
