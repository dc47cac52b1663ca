"""Action parameters rendered the way StackStorm renders them (the part we use).

StackStorm renders Jinja in parameter defaults with ``config_context`` (the pack config, its
schema defaults filled by ``avamar_pack.schema_defaults.fill_like_st2``, see
``workflow_runner.pack_config_like_st2``) in scope, then casts each rendered string to the
parameter's declared type (``"60"`` -> 60, ``"['a']"`` -> ['a']). Undefined variables are
errors, as in st2.
"""

from __future__ import annotations

import ast
import copy
import json
from typing import Any, Dict, Mapping, Optional

import jinja2

from st2_local.pack_loader import ActionMeta

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701 - not HTML


class ParameterError(ValueError):
    """A parameter is missing, unknown, immutable or does not render/cast."""


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def render_template(template: str, context: Mapping[str, Any]) -> str:
    """Render one Jinja string; undefined variables raise ParameterError."""
    try:
        return _ENV.from_string(template).render(**context)
    except jinja2.TemplateError as e:
        raise ParameterError(f"cannot render {template!r}: {e}") from e


def render_value(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every Jinja string inside ``value`` (dicts and lists walked)."""
    if is_template(value):
        return render_template(value, context)
    if isinstance(value, dict):
        return {k: render_value(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, context) for v in value]
    return value


def cast(value: Any, type_name: Optional[str], name: str) -> Any:
    """Cast a rendered string to the declared JSON-schema type, like st2's parameter casting."""
    if not isinstance(value, str) or type_name in (None, "string"):
        return value
    try:
        if type_name == "integer":
            return int(value)
        if type_name == "number":
            return float(value)
        if type_name == "boolean":
            lowered = value.strip().lower()
            if lowered in ("true", "1", "yes", "on"):
                return True
            if lowered in ("false", "0", "no", "off", ""):
                return False
            raise ValueError(value)
        if type_name in ("array", "object"):
            try:
                return json.loads(value)
            except ValueError:
                return ast.literal_eval(value)
    except (ValueError, SyntaxError) as e:
        raise ParameterError(f"parameter {name!r}: {value!r} is not a valid {type_name}") from e
    return value


def render_parameters(
    meta: ActionMeta, given: Mapping[str, Any], config: Mapping[str, Any], context: Optional[Mapping[str, Any]] = None
) -> Dict[str, Any]:
    """Final parameters of one action run: given values, else rendered defaults, cast to type."""
    unknown = sorted(set(given) - set(meta.parameters))
    if unknown:
        raise ParameterError(f"{meta.ref}: unknown parameter(s) {', '.join(unknown)}")
    scope = {"config_context": config}
    scope.update(context or {})
    result: Dict[str, Any] = {}
    for name, spec in meta.parameters.items():
        if name in given:
            if spec.get("immutable"):
                raise ParameterError(f"{meta.ref}: parameter {name!r} is immutable")
            value = given[name]
        elif "default" in spec:
            value = render_value(copy.deepcopy(spec["default"]), scope)
        elif spec.get("required"):
            raise ParameterError(f"{meta.ref}: required parameter {name!r} is missing")
        else:
            continue
        result[name] = cast(value, spec.get("type"), name)
    return result
