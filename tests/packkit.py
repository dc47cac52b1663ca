"""Test helpers StackStorm's st2tests does not have; they work with and without st2.

- :func:`validate_dispatched_payloads`: st2tests' ``MockSensorService`` records whatever a
  sensor dispatches; the real sensor container validates each payload against the trigger's
  ``payload_schema`` (``system.validate_trigger_payload``). This puts that check back.
- :func:`load_pack_config`: a pack config validated against ``config.schema.yaml`` with the
  schema applied as st2's config loader applies it (``avamar_pack.schema_defaults.fill_like_st2``,
  the one home of that rule, checked against st2's own loader by tests/st2_real).

Kept out of the st2 stand-ins on purpose: nothing here may look like part of st2.
"""

from __future__ import annotations

import copy
import os
from typing import Any, Dict, Mapping, Optional

import jsonschema
from avamar_pack.schema_defaults import fill_like_st2
from metadata_checks import st2schema
from st2_local.pack_loader import load_yaml_strict

__all__ = ["PACK_ROOT", "load_pack_config", "trigger_payload_schemas", "validate_dispatched_payloads"]

PACK_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _pack_ref(root: str) -> str:
    meta = load_yaml_strict(os.path.join(root, "pack.yaml"))
    return meta.get("ref") or meta["name"]


def trigger_payload_schemas(root: str = PACK_ROOT) -> Dict[str, Dict[str, Any]]:
    """Trigger ref (``<pack>.<name>``) -> ``payload_schema``, from every sensors/*.yaml."""
    ref = _pack_ref(root)
    schemas: Dict[str, Dict[str, Any]] = {}
    sensors_dir = os.path.join(root, "sensors")
    for name in sorted(os.listdir(sensors_dir)) if os.path.isdir(sensors_dir) else []:
        if not name.endswith((".yaml", ".yml")):
            continue
        meta = load_yaml_strict(os.path.join(sensors_dir, name)) or {}
        for trigger in meta.get("trigger_types") or []:
            schemas[f"{ref}.{trigger['name']}"] = trigger.get("payload_schema") or {}
    return schemas


def validate_dispatched_payloads(testcase: Any, root: str = PACK_ROOT) -> int:
    """Validate every trigger ``testcase`` (a ``BaseSensorTestCase``) saw dispatched.

    Each dispatched trigger must be declared by one of the pack's sensors and its payload
    must satisfy that trigger's ``payload_schema``. Raises ``AssertionError`` listing every
    failure; returns how many payloads were validated, so a test can also assert that
    something was dispatched at all.
    """
    schemas = trigger_payload_schemas(root)
    failures = []
    dispatched = testcase.get_dispatched_triggers()
    for index, item in enumerate(dispatched):
        trigger = item["trigger"]
        if trigger not in schemas:
            failures.append(f"#{index} {trigger}: trigger not declared in sensors/*.yaml")
            continue
        payload = item["payload"] if item["payload"] is not None else {}
        validator = jsonschema.Draft4Validator(st2schema.to_draft4(schemas[trigger]))
        for error in sorted(validator.iter_errors(payload), key=lambda e: [str(p) for p in e.absolute_path]):
            where = "/".join(str(p) for p in error.absolute_path) or "<payload>"
            failures.append(f"#{index} {trigger}: {where}: {error.message}")
    if failures:
        raise AssertionError("dispatched payloads break their payload_schema:\n  " + "\n  ".join(failures))
    return len(dispatched)


def load_pack_config(
    path: Optional[str] = None, overrides: Optional[Mapping[str, Any]] = None, root: str = PACK_ROOT
) -> Dict[str, Any]:
    """The pack config at ``path`` (default: the pack's ``*.yaml.example``), checked and completed.

    ``overrides`` replace top-level sections before validation. The result is validated
    against ``config.schema.yaml`` the way st2 validates configs (``jsonschema.ValidationError``
    otherwise) and is filled the way st2 fills it: schema defaults, ``{}`` for missing objects
    and ``[]`` for missing arrays.
    """
    schema = load_yaml_strict(os.path.join(root, "config.schema.yaml"))
    if path is None:
        path = os.path.join(root, f"{_pack_ref(root)}.yaml.example")
    config = load_yaml_strict(path) or {}
    config.update(copy.deepcopy(dict(overrides or {})))
    config = fill_like_st2(config, schema)
    jsonschema.Draft4Validator(st2schema.config_json_schema(schema)).validate(config)
    return config
