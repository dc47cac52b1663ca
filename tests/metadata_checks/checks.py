"""Checks of a pack's metadata: what ``st2 pack install``/registration would refuse, and more.

Every check takes the pack root and returns a list of problems (``"<file>: <what>"``), empty
when all is well. They iterate over whatever files exist, so a new action, rule or alias is
checked as soon as it appears. ``ALL_CHECKS`` lists them for the test suite.
"""

from __future__ import annotations

import os
import re
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

import jsonschema

from metadata_checks import st2schema
from metadata_checks.pack_files import (
    PackFiles,
    Problems,
    defines_class,
    missing_action,
    resource_documents,
    schema_problems,
)

__all__ = [
    "ALL_CHECKS",
    "EXCLUDED_DIRS",
    "SECRET_KEY_NAMES",
    "check_actions",
    "check_aliases",
    "check_config_example",
    "check_config_schema",
    "check_pack_yaml",
    "check_policies",
    "check_rules",
    "check_sensors",
    "check_workflows",
    "check_yaml_files",
]

# Directories whose YAML is not pack content: the virtualenv, git, and the broken fixtures
# the self-tests feed to these checks.
EXCLUDED_DIRS = (".venv", ".git", os.path.join("tests", "data", "metadata"))

# Config keys whose values are credentials: the schema must mark them `secret: true`.
SECRET_KEY_NAMES = re.compile(r"(^|_)(password|passphrase|private_key|secret|token|api_key)$")

_JINJA = re.compile(r"{{|{%|<%")


def check_yaml_files(root: str) -> Problems:
    """Every YAML file of the repository loads, with duplicate keys rejected."""
    pack = PackFiles(root)
    excluded = tuple(os.path.join(pack.root, d) for d in EXCLUDED_DIRS)
    for dirpath, dirnames, filenames in os.walk(pack.root):
        dirnames[:] = sorted(d for d in dirnames if os.path.join(dirpath, d) not in excluded)
        for filename in sorted(filenames):
            if filename.endswith((".yaml", ".yml")) or filename.endswith(".yaml.example"):
                pack.load(os.path.join(dirpath, filename))
    return pack.problems


# ---------------------------------------------------------------- pack.yaml and config


def check_pack_yaml(root: str, expected_ref: str = "avamar") -> Problems:
    pack = PackFiles(root)
    path = os.path.join(pack.root, "pack.yaml")
    data = pack.load(path)
    if data is None:
        return pack.problems
    problems = schema_problems(pack, path, data, st2schema.PACK_SCHEMA)
    if data.get("ref") != expected_ref:
        problems.append(f"pack.yaml: ref is {data.get('ref')!r}, expected {expected_ref!r}")
    if data.get("python_versions") != ["3"]:
        problems.append(f"pack.yaml: python_versions is {data.get('python_versions')!r}, expected ['3']")
    return problems


def _walk_schema(schema: Any, path: str = "") -> Iterator[Tuple[str, Dict[str, Any]]]:
    """(dotted path, sub-schema) of every property schema, nested ones included."""
    if not isinstance(schema, dict):
        return
    for name, sub in (schema.get("properties") or {}).items():
        if isinstance(sub, dict):
            here = f"{path}.{name}" if path else name
            yield here, sub
            yield from _walk_schema(sub, here)
    for key in ("additionalProperties", "items"):
        sub = schema.get(key)
        if isinstance(sub, dict):
            yield from _walk_schema(sub, f"{path}.<{key}>" if path else f"<{key}>")


def check_config_schema(root: str) -> Problems:
    """config.schema.yaml is what st2 accepts, and every credential is marked secret."""
    pack = PackFiles(root)
    path = os.path.join(pack.root, "config.schema.yaml")
    schema = pack.load(path)
    if schema is None:
        return pack.problems
    if not isinstance(schema, dict):
        return ["config.schema.yaml: top level is not a mapping"]
    problems = []
    for name, attribute in schema.items():
        if not re.match(r"^\w+$", str(name)):
            problems.append(f"config.schema.yaml: attribute name {name!r} is not \\w+")
        problems += schema_problems(pack, path, attribute, st2schema.PARAMETER_SCHEMA)
    for dotted, sub in _walk_schema({"properties": schema}):
        leaf = dotted.rsplit(".", 1)[-1]
        if SECRET_KEY_NAMES.search(leaf) and sub.get("secret") is not True:
            problems.append(f"config.schema.yaml: {dotted} holds a credential but is not `secret: true`")
    return problems


def _secret_decrypt_kv(config: Any, schema: Any, path: str = "") -> Iterator[str]:
    """Config values that apply `decrypt_kv` to an item the schema marks secret.

    st2's config loader decrypts secret items itself; `decrypt_kv` on top makes it decrypt
    plain text and fail at run time (st2 refuses this only for top-level keys).
    """
    if not isinstance(schema, dict):
        return
    if isinstance(config, dict):
        properties = schema.get("properties") or {}
        for key, value in config.items():
            sub = properties.get(key)
            if sub is None and isinstance(schema.get("additionalProperties"), dict):
                sub = schema["additionalProperties"]
            yield from _secret_decrypt_kv(value, sub, f"{path}.{key}" if path else str(key))
    elif isinstance(config, list) and isinstance(schema.get("items"), dict):
        for index, value in enumerate(config):
            yield from _secret_decrypt_kv(value, schema["items"], f"{path}[{index}]")
    elif isinstance(config, str) and schema.get("secret") is True and "decrypt_kv" in config:
        yield path


def check_config_example(root: str, example: str = "avamar.yaml.example") -> Problems:
    """The example config validates against config.schema.yaml the way st2 validates configs."""
    pack = PackFiles(root)
    schema = pack.load(os.path.join(pack.root, "config.schema.yaml"))
    path = os.path.join(pack.root, example)
    config = pack.load(path)
    if schema is None or config is None:
        return pack.problems
    problems = schema_problems(pack, path, config, st2schema.config_json_schema(schema))
    for dotted in _secret_decrypt_kv(config, {"properties": schema}):
        problems.append(
            f"{example}: {dotted} is `secret: true`, st2 decrypts it itself:"
            " drop `| decrypt_kv` (it would decrypt twice)"
        )
    return problems


# ---------------------------------------------------------------- actions and workflows


def _parameter_problems(pack: PackFiles, path: str, parameters: Any) -> Problems:
    """Each parameter's default satisfies the parameter's own schema."""
    problems = []
    if not isinstance(parameters, dict):
        return problems
    for name, spec in parameters.items():
        if not isinstance(spec, dict) or "default" not in spec or _JINJA.search(str(spec["default"])):
            continue
        sub = st2schema.to_draft4(spec)
        try:
            jsonschema.Draft4Validator(sub).validate(spec["default"])
        except jsonschema.ValidationError as e:
            problems.append(f"{pack.rel(path)}: parameter {name} default: {e.message}")
        except jsonschema.SchemaError as e:
            problems.append(f"{pack.rel(path)}: parameter {name} schema: {e.message}")
    return problems


def check_actions(root: str) -> Problems:
    """Each actions/*.yaml is a valid ActionAPI document whose entry point exists."""
    pack = PackFiles(root)
    documents, problems = resource_documents(pack, "actions", st2schema.ACTION_SCHEMA)
    for path, data, where in documents:
        problems += _parameter_problems(pack, path, data.get("parameters"))
        runner = data.get("runner_type")
        entry_point = data.get("entry_point")
        if runner in st2schema.RUNNERS_WITH_ENTRY_POINT and not entry_point:
            problems.append(f"{where}: runner {runner} needs an entry_point")
        if not entry_point or not isinstance(entry_point, str):
            continue
        target = pack.inside("actions", entry_point)
        if target is None:
            problems.append(f"{where}: entry_point {entry_point!r} leaves actions/")
        elif not os.path.isfile(target):
            problems.append(f"{where}: entry_point actions/{entry_point} does not exist")
        elif runner == "python-script" and not (target.endswith(".py") and defines_class(target)):
            problems.append(f"{where}: entry_point {entry_point} defines no action class")
    return pack.problems + problems


def _workflow_files(pack: PackFiles) -> List[str]:
    files = set(pack.yaml_files(os.path.join("actions", "workflows")))
    for _, data in pack.actions().values():
        if data.get("runner_type") == "orquesta" and isinstance(data.get("entry_point"), str):
            target = pack.inside("actions", data["entry_point"])
            if target and os.path.isfile(target):
                files.add(target)
    return sorted(files)


def _task_transitions(task: Mapping[str, Any]) -> Iterator[str]:
    for transition in task.get("next") or []:
        targets = transition.get("do") if isinstance(transition, dict) else None
        if isinstance(targets, str):
            targets = [t.strip() for t in targets.split(",")]
        for target in targets or []:
            if isinstance(target, str):
                yield target


def _task_parameters(action: str, task_input: Any) -> Optional[Dict[str, Any]]:
    """Parameters a task passes: ``input`` plus inline ``key=value`` after the action ref.

    None when ``input`` is an expression: what it holds is only known at run time.
    """
    if task_input is not None and not isinstance(task_input, dict):
        return None
    given = dict(task_input or {})
    for token in action.split()[1:]:
        key, sep, value = token.partition("=")
        if sep:
            given[key] = value
    return given


def check_workflows(root: str) -> Problems:
    """Orquesta workflows: shape, task transitions, and every action they call exists."""
    pack = PackFiles(root)
    actions = pack.actions()
    problems: Problems = []
    for path in _workflow_files(pack):
        where = pack.rel(path)
        wf = pack.load(path)
        if wf is None:
            continue
        if not isinstance(wf, dict) or str(wf.get("version")) not in ("1.0", "1"):
            problems.append(f"{where}: not an Orquesta workflow (`version: 1.0` missing)")
            continue
        tasks = wf.get("tasks")
        if not isinstance(tasks, dict) or not tasks:
            problems.append(f"{where}: no tasks")
            continue
        for name, task in tasks.items():
            if not isinstance(task, dict):
                problems.append(f"{where}: task {name} is not a mapping")
                continue
            action = task.get("action")
            if isinstance(action, str) and not _JINJA.search(action):
                ref = action.split()[0] if action.split() else ""
                if not pack.action_exists(ref, actions):
                    problems.append(f"{where}: task {name} calls unknown action {ref!r}")
                given = _task_parameters(action, task.get("input"))
                if given is not None:
                    problems += _action_parameter_problems(f"{where}: task {name}", ref, given, actions)
            for target in _task_transitions(task):
                if target not in tasks and target not in ("fail", "noop", "retry") and not _JINJA.search(target):
                    problems.append(f"{where}: task {name} goes to unknown task {target!r}")
    return pack.problems + problems


# ---------------------------------------------------------------- sensors and rules


def check_sensors(root: str) -> Problems:
    """Each sensors/*.yaml is a valid SensorTypeAPI document; triggers carry a payload_schema."""
    pack = PackFiles(root)
    documents, problems = resource_documents(pack, "sensors", st2schema.SENSOR_SCHEMA, name_field="class_name")
    for _path, data, where in documents:
        entry_point = data.get("entry_point")
        if not isinstance(entry_point, str) or not entry_point:
            problems.append(f"{where}: no entry_point")
        else:
            target = pack.inside("sensors", entry_point)
            if target is None or not os.path.isfile(target):
                problems.append(f"{where}: entry_point sensors/{entry_point} does not exist")
            elif not defines_class(target, data.get("class_name")):
                problems.append(f"{where}: {entry_point} does not define class {data.get('class_name')}")
        triggers = data.get("trigger_types") or []
        if not triggers:
            problems.append(f"{where}: declares no trigger_types")
        for trigger in triggers:
            if not isinstance(trigger, dict):
                continue
            schema = trigger.get("payload_schema")
            if not isinstance(schema, dict) or not schema.get("properties"):
                problems.append(f"{where}: trigger {trigger.get('name')} has no payload_schema properties")
                continue
            for path in st2schema.required_lists(schema):
                problems.append(
                    f"{where}: trigger {trigger.get('name')} payload_schema: required must be true/false on each "
                    f"property (st2 refuses every dispatched payload: its CustomValidator's metaschema), at {path}"
                )
            try:
                # st2 accepts draft 3 style `required: true` here (its CustomValidator)
                jsonschema.Draft4Validator.check_schema(st2schema.to_draft4(schema))
            except jsonschema.SchemaError as e:
                problems.append(f"{where}: trigger {trigger.get('name')} payload_schema: {e.message}")
    return pack.problems + problems


def _action_parameter_problems(
    where: str, ref: str, given: Any, actions: Mapping[str, Tuple[str, Dict[str, Any]]]
) -> Problems:
    """Parameters passed to a pack action are declared, and its required ones are passed."""
    if ref not in actions or not isinstance(given, dict):
        return []
    declared = actions[ref][1].get("parameters") or {}
    problems = [f"{where}: {ref} has no parameter {name!r}" for name in given if name not in declared]
    for name, spec in declared.items():
        if isinstance(spec, dict) and spec.get("required") is True and "default" not in spec and name not in given:
            problems.append(f"{where}: required parameter {name!r} of {ref} is not passed")
    return problems


def check_rules(root: str) -> Problems:
    """Each rules/*.yaml is a valid RuleAPI document wired to a real trigger and action."""
    pack = PackFiles(root)
    actions = pack.actions()
    triggers = pack.trigger_types()
    documents, problems = resource_documents(pack, "rules", st2schema.RULE_SCHEMA)
    for _path, data, where in documents:
        trigger_ref = (data.get("trigger") or {}).get("type") if isinstance(data.get("trigger"), dict) else None
        payload_fields = None
        if isinstance(trigger_ref, str):
            if trigger_ref in triggers:
                payload_fields = (triggers[trigger_ref].get("payload_schema") or {}).get("properties")
            elif not trigger_ref.startswith("core.st2."):
                problems.append(f"{where}: trigger {trigger_ref!r} is not declared by any sensor")
        criteria = data.get("criteria") or {}
        for key, criterion in criteria.items() if isinstance(criteria, dict) else []:
            field = key.split(".")[1] if key.startswith("trigger.") and "." in key else None
            if payload_fields is not None and field is not None and field not in payload_fields:
                problems.append(f"{where}: criteria {key}: {field!r} is not in the trigger's payload_schema")
            if isinstance(criterion, dict):
                needs_pattern = criterion.get("type") not in st2schema.CRITERIA_OPERATORS_WITHOUT_PATTERN
                if needs_pattern and "pattern" not in criterion:
                    problems.append(f"{where}: criteria {key}: operator {criterion.get('type')} needs a pattern")
        action = data.get("action") if isinstance(data.get("action"), dict) else {}
        ref = action.get("ref")
        problems += missing_action(pack, where, "action", ref, actions)
        problems += _action_parameter_problems(where, ref, action.get("parameters") or {}, actions)
    return pack.problems + problems


# ---------------------------------------------------------------- policies and aliases


def check_policies(root: str) -> Problems:
    """Each policies/*.yaml is a valid PolicyAPI document on an existing action."""
    pack = PackFiles(root)
    actions = pack.actions()
    documents, problems = resource_documents(pack, "policies", st2schema.POLICY_SCHEMA)
    for _path, data, where in documents:
        problems += missing_action(pack, where, "resource_ref", data.get("resource_ref"), actions)
        policy_type = st2schema.POLICY_TYPES.get(data.get("policy_type"))
        if policy_type is not None:
            schema = st2schema.parameters_json_schema(policy_type)
            problems += [
                f"{where}: parameters {e}" for e in st2schema.schema_errors(data.get("parameters") or {}, schema)
            ]
    return pack.problems + problems


_FORMAT_PARAMETER = re.compile(r"{{\s*(\w+)")


def _alias_format_strings(formats: Any) -> Iterator[str]:
    for item in formats if isinstance(formats, list) else []:
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            if isinstance(item.get("display"), str):
                yield item["display"]
            yield from (r for r in item.get("representation") or [] if isinstance(r, str))


def check_aliases(root: str) -> Problems:
    """Each aliases/*.yaml is a valid ActionAliasAPI document on an existing action."""
    pack = PackFiles(root)
    actions = pack.actions()
    documents, problems = resource_documents(pack, "aliases", st2schema.ALIAS_SCHEMA)
    for _path, data, where in documents:
        ref = data.get("action_ref")
        missing = missing_action(pack, where, "action_ref", ref, actions)
        problems += missing
        if missing or not isinstance(ref, str) or ref not in actions:
            continue
        declared = actions[ref][1].get("parameters") or {}
        used = {m for text in _alias_format_strings(data.get("formats")) for m in _FORMAT_PARAMETER.findall(text)}
        used |= set((data.get("immutable_parameters") or {}).keys())
        for name in sorted(used - set(declared)):
            problems.append(f"{where}: {ref} has no parameter {name!r}")
    return pack.problems + problems


ALL_CHECKS: Dict[str, Callable[[str], Problems]] = {
    "yaml_files": check_yaml_files,
    "pack_yaml": check_pack_yaml,
    "config_schema": check_config_schema,
    "config_example": check_config_example,
    "actions": check_actions,
    "workflows": check_workflows,
    "sensors": check_sensors,
    "rules": check_rules,
    "policies": check_policies,
    "aliases": check_aliases,
}
