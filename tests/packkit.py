"""Test helpers StackStorm's st2tests does not have; they work with and without st2.

- :func:`validate_dispatched_payloads`: st2tests' ``MockSensorService`` records whatever a
  sensor dispatches; the real sensor container validates each payload against the trigger's
  ``payload_schema`` (``system.validate_trigger_payload``). This puts that check back.
- :func:`load_pack_config`: a pack config validated against ``config.schema.yaml`` with the
  schema applied as st2's config loader applies it (``avamar_pack.schema_defaults.fill_like_st2``,
  the one home of that rule, checked against st2's own loader by tests/st2_real).
- :func:`python_action_entries`: the python-script actions the metadata declares.
- :func:`load_in_st2_path`: load actions or sensors in a fresh interpreter with only what st2's
  python runner / sensor container puts on the import path (``register_plugin_class``, st2's
  own when importable, else the same steps written out), and report what was imported.

Kept out of the st2 stand-ins on purpose: nothing here may look like part of st2.
"""

from __future__ import annotations

import copy
import glob
import json
import os
import subprocess
import sys
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import jsonschema
from avamar_pack.schema_defaults import fill_like_st2
from metadata_checks import st2schema
from st2_local.pack_loader import load_yaml_strict

__all__ = [
    "ACTION_BASE",
    "PACK_LIB",
    "PACK_ROOT",
    "SENSOR_BASES",
    "load_in_st2_path",
    "load_pack_config",
    "python_action_entries",
    "trigger_payload_schemas",
    "validate_dispatched_payloads",
]

PACK_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACK_LIB = os.path.join(PACK_ROOT, "lib")
ACTION_BASE = "st2common.runners.base_action:Action"
SENSOR_BASES = "st2reactor.sensor.base:Sensor,PollingSensor"


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


def python_action_entries(root: str = PACK_ROOT) -> List[Tuple[str, Dict[str, Any]]]:
    """(entry point path, metadata) of every ``python-script`` action in ``actions/*.yaml``."""
    found = []
    for meta_path in sorted(glob.glob(os.path.join(root, "actions", "*.yaml"))):
        meta = load_yaml_strict(meta_path) or {}
        if meta.get("runner_type") == "python-script":
            found.append((os.path.join(root, "actions", meta["entry_point"]), meta))
    return found


# argv: [(path, class name), ...] as JSON, the pack's lib/, "module:Base[,Other]" (the class given
# to register_plugin_class first; a loaded class passes if it derives from any of them).
_LOADER = r"""
import importlib, importlib.util, json, os, sys
module_name, names = sys.argv[3].split(":")
try:
    from st2common.util.loader import register_plugin_class
    bases = tuple(getattr(importlib.import_module(module_name), n) for n in names.split(","))
except ImportError:  # no StackStorm: the stand-ins and register_plugin_class's own steps
    from st2_standins import install
    install()
    bases = tuple(getattr(importlib.import_module(module_name), n) for n in names.split(","))

    def register_plugin_class(base, path, name):
        folder = os.path.dirname(os.path.realpath(path))
        if folder not in sys.path:
            sys.path.append(folder)
        spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return getattr(module, name)

loaded = {}
for path, name in json.loads(sys.argv[1]):
    loaded[os.path.basename(path)] = issubclass(register_plugin_class(bases[0], path, name), bases)
import avamar_pack
print(json.dumps({"loaded": loaded, "avamar_pack": avamar_pack.__file__,
                  "lib_entries": [p for p in sys.path if os.path.realpath(p) == os.path.realpath(sys.argv[2])]}))
"""


def load_in_st2_path(
    python_path: Sequence[str], plugins: Sequence[Tuple[str, str]], bases: str, lib: str = PACK_LIB
) -> Dict[str, Any]:
    """Load each (file, class) of ``plugins`` in ONE fresh interpreter whose PYTHONPATH is
    ``python_path`` only (cwd ``/``), as st2 loads an action or a sensor.

    The report: ``loaded`` {file name: derives from ``bases``}, ``avamar_pack`` (the file the
    pack's library was imported from), ``lib_entries`` (the entries of sys.path that are ``lib``)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(python_path))
    out = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _LOADER, json.dumps([list(p) for p in plugins]), lib, bases],
        env=env,
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])
