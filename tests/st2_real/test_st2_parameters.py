"""Every action's parameters through st2's own rendering, casting and schema validation.

Three paths st2 takes, each with its own order of operations:

* ``st2 run`` / POST /v1/executions and the rules engine: ``render_live_params`` (Jinja defaults,
  ``config_context``) THEN schema validation (``create_request``), then ``render_final_params`` in
  the worker (defaults rendered and cast to the declared type);
* chat (``/v1/aliasexecution``): ``cast_params`` on the extracted strings, then schema validation
  BEFORE any Jinja default is rendered (issue 11: a non-string parameter whose default is Jinja
  fails there with "... is not of type 'array'").
"""

from __future__ import annotations

import glob
import os
from typing import Any, Dict, List

import pytest
import yaml
from st2boot import REPO_ROOT

IID = "5f1e0c9a8b7d6e5f4a3b2c1d"
# Values a user would give for required parameters, by name (else one per declared type).
EXAMPLES: Dict[str, Any] = {
    "server": "ava01",
    "inquiry_id": IID,
    "approved": True,
    "serial": 40000,
    "lock_owner": "6b0f0103eb8bbc172bd7ef1f",
    "workflow_execution_id": IID,
    "execution_id": IID,
    "channel": "avamar",
    "message": "hello",
}
BY_TYPE: Dict[str, Any] = {"string": "x", "integer": 1, "number": 1.5, "boolean": True, "array": [], "object": {}}


def action_refs() -> List[str]:
    refs = []
    for path in sorted(glob.glob(os.path.join(REPO_ROOT, "actions", "*.yaml"))):
        with open(path, encoding="utf-8") as fh:
            meta = yaml.safe_load(fh) or {}
        if isinstance(meta, dict) and meta.get("runner_type"):
            refs.append(f"avamar.{meta['name']}")
    return refs


def action_and_runner(ref: str) -> Any:
    from st2common.util import action_db as action_utils

    action_db = action_utils.get_action_by_ref(ref)
    assert action_db is not None, f"{ref} is not registered"
    return action_db, action_utils.get_runnertype_by_name(action_db.runner_type["name"])


def required_values(action_db: Any) -> Dict[str, Any]:
    params = {}
    for name, spec in (action_db.parameters or {}).items():
        if spec.get("required") and "default" not in spec and not spec.get("immutable"):
            fallback = spec["enum"][0] if spec.get("enum") else BY_TYPE.get(spec.get("type"), "x")
            params[name] = EXAMPLES.get(name, fallback)
    return params


def matches_type(value: Any, declared: Any) -> bool:
    types = declared if isinstance(declared, list) else [declared]
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
        "null": lambda v: v is None,
    }
    return any(checks.get(t, lambda v: True)(value) for t in types if t)


@pytest.fixture(params=["example", "minimal"])
def registered_config(request: pytest.FixtureRequest, st2: Any) -> str:
    """The pack config st2 renders ``config_context`` from: the example file, or a minimal one."""
    if request.param == "example":
        with open(os.path.join(REPO_ROOT, "avamar.yaml.example"), encoding="utf-8") as fh:
            st2.use_config(yaml.safe_load(fh))
    else:
        st2.use_config({"servers": {"ava01": {"transport": "local"}}})
    return request.param


@pytest.mark.parametrize("ref", action_refs())
def test_st2_run_renders_validates_and_casts_every_parameter(st2: Any, registered_config: str, ref: str) -> None:
    from st2common.util import param as param_utils
    from st2common.util import schema as util_schema

    action_db, runner_db = action_and_runner(ref)
    context = {"user": "admin", "pack": "avamar"}
    live = param_utils.render_live_params(
        runner_db.runner_parameters, action_db.parameters, required_values(action_db), context
    )
    schema = util_schema.get_schema_for_action_parameters(action_db, runner_db)
    # as action_service.create_request validates
    util_schema.validate(live, schema, util_schema.get_validator(), use_default=True, allow_default_none=True)
    _runner_params, final = param_utils.render_final_params(
        runner_db.runner_parameters, action_db.parameters, live, context
    )
    wrong = {
        name: value
        for name, value in final.items()
        if value is not None and not matches_type(value, (action_db.parameters.get(name) or {}).get("type"))
    }
    assert not wrong, f"{ref}: st2 hands these parameters over with the wrong type: {wrong}"


@pytest.mark.parametrize("ref", action_refs())
def test_chat_path_validates_every_parameter_before_rendering(st2: Any, registered_config: str, ref: str) -> None:
    """What the alias-execution API does with the extracted strings: cast, then validate."""
    from st2api.controllers.v1.aliasexecution import CAST_OVERRIDES
    from st2common.models.utils import action_param_utils
    from st2common.util import schema as util_schema

    action_db, runner_db = action_and_runner(ref)
    # chat gives every value as text
    typed = {
        name: ("true" if v is True else str(v)) if not isinstance(v, (list, dict)) else v
        for name, v in required_values(action_db).items()
    }
    params = action_param_utils.cast_params(action_ref=ref, params=typed, cast_overrides=CAST_OVERRIDES)
    assert params == required_values(action_db), "st2's cast_params does not give back the typed values"
    schema = util_schema.get_schema_for_action_parameters(action_db, runner_db)
    util_schema.validate(params, schema, util_schema.get_validator(), use_default=True, allow_default_none=True)
