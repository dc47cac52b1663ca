"""What StackStorm requires of pack metadata, written as JSON Schema (draft 4).

Encoded from the API models in st2's ``st2common/st2common/models/api/`` (``ActionAPI``,
``SensorTypeAPI``/``TriggerTypeAPI``, ``RuleAPI``, ``PolicyAPI``, ``ActionAliasAPI``,
``ConfigSchemaAPI``), the parameter meta-schema ``util/schema/action_params.json``, the
runners in ``contrib/runners``, the rule operators in ``st2common/operators.py`` and the
policy types in ``st2common/policies/meta``. st2 writes ``required: true`` on a property
(draft 3 style); the schemas here use draft 4 ``required`` lists, and :func:`to_draft4`
converts st2-style parameter schemas (actions, config.schema.yaml) the same way.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Mapping

import jsonschema

__all__ = [
    "ACTION_SCHEMA",
    "ALIAS_SCHEMA",
    "CRITERIA_OPERATORS",
    "PACK_SCHEMA",
    "PARAMETER_SCHEMA",
    "POLICY_SCHEMA",
    "POLICY_TYPES",
    "RULE_SCHEMA",
    "RUNNER_TYPES",
    "SENSOR_SCHEMA",
    "config_json_schema",
    "parameters_json_schema",
    "schema_errors",
    "required_lists",
    "to_draft4",
]

# contrib/runners/*/runner.yaml
RUNNER_TYPES = (
    "action-chain",
    "announcement",
    "http-request",
    "inquirer",
    "local-shell-cmd",
    "local-shell-script",
    "noop",
    "orquesta",
    "python-script",
    "remote-shell-cmd",
    "remote-shell-script",
    "winrm-cmd",
    "winrm-ps-cmd",
    "winrm-ps-script",
)
# Runners that execute a file named by entry_point (relative to the pack's actions/).
RUNNERS_WITH_ENTRY_POINT = (
    "action-chain",
    "local-shell-script",
    "orquesta",
    "python-script",
    "remote-shell-script",
    "winrm-ps-script",
)

# st2common/operators.py
CRITERIA_OPERATORS = (
    "matchwildcard", "matchregex", "regex", "iregex", "eq", "equals", "nequals", "neq", "ieq",
    "iequals", "contains", "icontains", "ncontains", "incontains", "startswith", "istartswith",
    "endswith", "iendswith", "lt", "lessthan", "gt", "greaterthan", "td_lt", "timediff_lt",
    "td_gt", "timediff_gt", "exists", "nexists", "inside", "in", "ninside", "nin", "search",
)  # fmt: skip
# Operators that take no pattern.
CRITERIA_OPERATORS_WITHOUT_PATTERN = ("exists", "nexists")

_SIMPLE_TYPES = ["array", "boolean", "integer", "null", "number", "object", "string"]
_PARAM_REF = {"$ref": "#/definitions/parameter"}
_PARAM_MAP = {"type": "object", "additionalProperties": _PARAM_REF}
_NON_NEGATIVE_INT = {"type": "integer", "minimum": 0}
_PARAM_LIST = {"type": "array", "minItems": 1, "items": _PARAM_REF}

# One parameter (or config attribute), nested schemas included: the keywords st2 accepts
# and nothing else (action_params.json sets additionalProperties false). Note `required`
# and `secret` are booleans, at every depth.
_PARAMETER_DEFINITION: Dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "$schema": {"type": "string"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "default": {},
        "multipleOf": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
        "maximum": {"type": "number"},
        "exclusiveMaximum": {"type": "boolean"},
        "minimum": {"type": "number"},
        "exclusiveMinimum": {"type": "boolean"},
        "maxLength": _NON_NEGATIVE_INT,
        "minLength": _NON_NEGATIVE_INT,
        "pattern": {"type": "string"},
        "additionalItems": {"anyOf": [{"type": "boolean"}, _PARAM_REF]},
        "items": {"anyOf": [_PARAM_REF, _PARAM_LIST]},
        "maxItems": _NON_NEGATIVE_INT,
        "minItems": _NON_NEGATIVE_INT,
        "uniqueItems": {"type": "boolean"},
        "maxProperties": _NON_NEGATIVE_INT,
        "minProperties": _NON_NEGATIVE_INT,
        "required": {"type": "boolean"},
        "secret": {"type": "boolean"},
        "additionalProperties": {"anyOf": [{"type": "boolean"}, _PARAM_REF]},
        "definitions": _PARAM_MAP,
        "properties": _PARAM_MAP,
        "patternProperties": _PARAM_MAP,
        "dependencies": {"type": "object"},
        "enum": {"type": "array", "minItems": 1, "uniqueItems": True},
        # a list of types (e.g. [boolean, string]) is what st2 accepts below the top level of a
        # config schema; the st2 tier (tests/st2_real) checks the exact rule with st2's own API
        "type": {
            "anyOf": [
                {"enum": _SIMPLE_TYPES},
                {"type": "array", "items": {"enum": _SIMPLE_TYPES}, "minItems": 1, "uniqueItems": True},
            ]
        },
        "position": {"type": "number", "minimum": 0},
        "immutable": {"type": "boolean"},
        "allOf": _PARAM_LIST,
        "anyOf": _PARAM_LIST,
        "oneOf": _PARAM_LIST,
        "not": _PARAM_REF,
    },
    "dependencies": {"exclusiveMaximum": ["maximum"], "exclusiveMinimum": ["minimum"]},
    "additionalProperties": False,
}
_DEFINITIONS = {"parameter": _PARAMETER_DEFINITION}
PARAMETER_SCHEMA: Dict[str, Any] = {"definitions": _DEFINITIONS, **_PARAM_REF}

_STR = {"type": "string"}
_BOOL = {"type": "boolean"}
_OBJ = {"type": "object"}
_TAGS = {"type": "array", "items": _OBJ}
_PARAMETERS = {
    "type": "object",
    "patternProperties": {r"^\w+$": _PARAM_REF},
    "additionalProperties": False,
}
# Fields st2 computes or fills in; allowed in files, never required.
_COMPUTED = {"id": _STR, "ref": _STR, "uid": _STR, "pack": _STR, "metadata_file": _STR}


def _resource(required: List[str], properties: Dict[str, Any], named: bool = True) -> Dict[str, Any]:
    """An st2 API document: the ``required`` fields, st2's computed fields allowed, a string
    ``name`` (when ``named``) and ``description``, then ``properties``; nothing else."""
    common: Dict[str, Any] = {**_COMPUTED, "name": _STR} if named else dict(_COMPUTED)
    common["description"] = _STR
    return {
        "type": "object",
        "required": required,
        "properties": {**common, **properties},
        "additionalProperties": False,
    }


_NOTIFY_SUB = {
    "type": "object",
    "properties": {
        "message": _STR,
        "data": _OBJ,
        "routes": {"type": "array", "items": _STR},
        "channels": {"type": "array", "items": _STR},
    },
    "additionalProperties": False,
}

ACTION_SCHEMA: Dict[str, Any] = {
    "definitions": _DEFINITIONS,
    **_resource(
        ["name", "runner_type"],
        {
            "enabled": _BOOL,
            "runner_type": {"enum": list(RUNNER_TYPES)},
            "entry_point": _STR,
            "parameters": _PARAMETERS,
            "output_schema": _OBJ,
            "tags": _TAGS,
            "notify": {
                "type": "object",
                "properties": {"on-complete": _NOTIFY_SUB, "on-failure": _NOTIFY_SUB, "on-success": _NOTIFY_SUB},
                "additionalProperties": False,
            },
        },
    ),
}

TRIGGER_TYPE_SCHEMA: Dict[str, Any] = _resource(
    ["name"],
    {
        "payload_schema": _OBJ,
        "parameters_schema": _OBJ,
        "tags": _TAGS,
    },
)

SENSOR_SCHEMA: Dict[str, Any] = _resource(
    ["class_name"],
    {
        "class_name": _STR,
        "artifact_uri": _STR,
        "entry_point": _STR,
        "enabled": _BOOL,
        "trigger_types": {"type": "array", "items": TRIGGER_TYPE_SCHEMA},
        "poll_interval": {"type": "number"},
    },
    named=False,
)

_CRITERION = {
    "type": "object",
    "required": ["type"],
    "properties": {"type": {"enum": list(CRITERIA_OPERATORS)}, "pattern": {}},
    "additionalProperties": False,
}

RULE_SCHEMA: Dict[str, Any] = _resource(
    ["name", "trigger", "action"],
    {
        "type": {
            "type": "object",
            "required": ["ref"],
            "properties": {"ref": {"enum": ["standard", "backstop"]}, "parameters": _OBJ},
            "additionalProperties": False,
        },
        "trigger": {
            "type": "object",
            "required": ["type"],
            "properties": {"type": _STR, "description": _STR, "parameters": _OBJ, "ref": _STR},
        },
        # Keys are payload paths: `trigger.<field>[.<field>...]`.
        "criteria": {
            "type": "object",
            "patternProperties": {r"^trigger\.": _CRITERION},
            "additionalProperties": False,
        },
        "action": {
            "type": "object",
            "required": ["ref"],
            "properties": {"ref": _STR, "description": _STR, "parameters": _OBJ},
            "additionalProperties": False,
        },
        "enabled": _BOOL,
        "context": _OBJ,
        "tags": _TAGS,
    },
)

# st2common/policies/meta/*.yaml, as st2-style parameter schemas; the ref is
# <resource_type>.<name>.
_THRESHOLD = {"type": "integer", "required": True}
_ON_THRESHOLD = {"type": "string", "default": "delay", "enum": ["delay", "cancel"]}
POLICY_TYPES: Dict[str, Dict[str, Any]] = {
    "action.concurrency": {"threshold": _THRESHOLD, "action": _ON_THRESHOLD},
    "action.concurrency.attr": {
        "threshold": _THRESHOLD,
        "action": _ON_THRESHOLD,
        "attributes": {"type": "array", "uniqueItems": True, "items": {"type": "string", "minLength": 1}},
    },
    "action.retry": {
        "retry_on": {"type": "string", "required": True, "enum": ["failure", "timeout"]},
        "max_retry_count": {"type": "integer", "required": True, "minimum": 1, "maximum": 5, "default": 2},
        "delay": {"type": "number", "minimum": 0, "maximum": 120},
    },
}

POLICY_SCHEMA: Dict[str, Any] = _resource(
    ["name", "resource_ref", "policy_type"],
    {
        "enabled": _BOOL,
        "resource_ref": _STR,
        "policy_type": {"enum": sorted(POLICY_TYPES)},
        "parameters": {
            "type": "object",
            "patternProperties": {r"^\w+$": {"type": ["array", "boolean", "integer", "number", "object", "string"]}},
            "additionalProperties": False,
        },
    },
)

_MESSAGE_FORMAT = {
    "type": "object",
    "properties": {"enabled": _BOOL, "format": _STR, "extra": _OBJ, "append_url": _BOOL},
}
ALIAS_SCHEMA: Dict[str, Any] = _resource(
    ["name", "action_ref", "formats"],  # formats: an alias without one never matches
    {
        "description": {"type": ["string", "null"]},
        "enabled": _BOOL,
        "action_ref": _STR,
        "formats": {
            "type": "array",
            "minItems": 1,
            "items": {
                "anyOf": [
                    _STR,
                    {
                        "type": "object",
                        "properties": {"display": _STR, "representation": {"type": "array", "items": _STR}},
                    },
                ]
            },
        },
        "ack": _MESSAGE_FORMAT,
        "result": _MESSAGE_FORMAT,
        "extra": _OBJ,
        "immutable_parameters": _OBJ,
    },
)

_SEMVER = r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"
_VERSION_CLAUSE = r"(>=|<=|>|<|==)?\d+\.\d+(\.\d+)?"
_VERSION_SPEC = rf"^{_VERSION_CLAUSE}(\s*,\s*{_VERSION_CLAUSE})?$"
# PackAPI plus what the Exchange and this project require of pack.yaml.
PACK_SCHEMA: Dict[str, Any] = {
    "type": "object",
    "required": [
        "ref",
        "name",
        "description",
        "version",
        "author",
        "email",
        "keywords",
        "python_versions",
        "stackstorm_version",
    ],  # fmt: skip
    "properties": {
        "ref": {"type": "string", "pattern": r"^[a-z0-9_]+$"},  # st2 PACK_REF_WHITELIST_REGEX
        "name": _STR,
        "description": {"type": "string", "minLength": 1},
        "version": {"type": "string", "pattern": _SEMVER},
        "author": {"type": "string", "minLength": 1},
        "email": {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$"},
        "keywords": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
        "python_versions": {"type": "array", "items": {"enum": ["2", "3"]}, "minItems": 1},
        "stackstorm_version": {"type": "string", "pattern": _VERSION_SPEC},
        "contributors": {"type": "array", "items": _STR},
        "dependencies": {"type": "array", "items": _STR},
        "system": _OBJ,
    },
}


def required_lists(schema: Any, path: str = "<schema>") -> List[str]:
    """Where an st2-style schema has a draft 4 ``required`` list.

    st2 validates trigger payloads (``validate_trigger_payload``) and Inquiry responses with its
    ``CustomValidator``, whose metaschema (st2common/util/schema/custom.json) types ``required``
    as a boolean: a list there is a ``SchemaError`` for every payload, and st2 drops the trigger.
    """
    found: List[str] = []
    if isinstance(schema, dict):
        if isinstance(schema.get("required"), list):
            found.append(path)
        for key, value in schema.items():
            if key in ("properties", "patternProperties", "definitions") and isinstance(value, dict):
                for name, sub in value.items():
                    found += required_lists(sub, f"{path}/{key}/{name}")
            elif key in ("items", "additionalProperties", "not"):
                found += required_lists(value, f"{path}/{key}")
            elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
                for index, sub in enumerate(value):
                    found += required_lists(sub, f"{path}/{key}/{index}")
    return found


def to_draft4(schema: Any) -> Any:
    """Copy of an st2-style schema with ``required: true`` on properties turned into lists.

    A required property that has a ``default`` is not listed: st2 fills defaults in before
    validating, so such a property is never missing.
    """
    if isinstance(schema, list):
        return [to_draft4(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "required" and isinstance(value, bool):
            continue
        if key in ("properties", "patternProperties", "definitions") and isinstance(value, dict):
            out[key] = {name: to_draft4(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "additionalItems", "not", "allOf", "anyOf", "oneOf"):
            out[key] = to_draft4(value)
        else:
            out[key] = copy.deepcopy(value)
    properties = schema.get("properties")
    if isinstance(properties, dict):
        required = sorted(
            name
            for name, sub in properties.items()
            if isinstance(sub, dict) and sub.get("required") is True and "default" not in sub
        )
        if required:
            out["required"] = required
    return out


def parameters_json_schema(parameters: Mapping[str, Any], allow_additional_properties: bool = False) -> Dict[str, Any]:
    """JSON Schema of a parameters mapping, as st2's ``get_schema_for_resource_parameters``."""
    properties = {name: (sub or {}) for name, sub in parameters.items()}
    schema: Dict[str, Any] = {"type": "object", "properties": properties}
    schema["additionalProperties"] = allow_additional_properties
    return to_draft4(schema)


def config_json_schema(config_schema: Mapping[str, Any]) -> Dict[str, Any]:
    """JSON Schema of a pack config, as ``validate_config_against_schema`` builds it."""
    return parameters_json_schema(config_schema, allow_additional_properties=True)


def schema_errors(instance: Any, schema: Mapping[str, Any]) -> List[str]:
    """Every violation of ``schema`` by ``instance``, as ``path: message`` lines."""
    validator = jsonschema.Draft4Validator(schema)
    errors = sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{_path(e)}: {e.message}" for e in errors]


def _path(error: jsonschema.ValidationError) -> str:
    return "/".join(str(p) for p in error.absolute_path) or "<root>"
