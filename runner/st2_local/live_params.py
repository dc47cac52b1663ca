"""Execution parameters rendered the way st2's ``st2common.util.param`` renders them.

Every path that creates an execution in st2 goes through the same two functions: st2api
(``st2 run``), the rules engine (with the trigger payload as ``trigger``), the workflow engine
(task input) call ``render_live_params``; the action runner container later calls
``render_final_params``. We follow them:

* each given parameter and each default is a node; a Jinja string depends on the names it
  reads (``config_context``, ``action_context``, ``trigger``, other parameters) and nodes are
  rendered in dependency order (a cycle or an unknown name is an error);
* Jinja runs in a sandbox with StrictUndefined, trim_blocks and lstrip_blocks (st2's
  ``get_jinja_environment``); a template always renders to a STRING, which is then cast to the
  declared type with st2's casts: ``object``/``array`` by JSON, else Python literal (so
  ``"{{ trigger }}"`` on an object parameter becomes the payload dict again); ``boolean`` by
  literal of the capitalised text; ``integer`` ``int()``; ``number`` ``float()``;
* live parameters are the given ones plus the defaults that are Jinja expressions; final
  parameters add the plain defaults; then runner parameters (``timeout``...) are split off:
  an action parameter that has a runner parameter's name goes to the RUNNER, not to the
  action's ``run()`` (``_split_params``).

Not here: ``st2kv`` lookups (the pack uses none; reading one is an error, not a silent empty
string) and st2's custom Jinja filters beyond ``to_complex``/``json_escape``/``to_json_string``.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

import jinja2
import jinja2.sandbox
from jinja2 import meta

# Runner parameters of the runners the pack uses (st2's contrib/runners/*/runner.yaml).
RUNNER_PARAMETERS: Dict[str, Dict[str, Dict[str, Any]]] = {
    "python-script": {
        "debug": {"type": "boolean", "default": False},
        "content_version": {"type": "string"},
        "env": {"type": "object"},
        "timeout": {"type": "integer", "default": 600},
        "log_level": {"type": "string", "default": "DEBUG"},
    },
    "orquesta": {"notify": {"type": "array", "default": []}},
    "inquirer": {
        "schema": {"type": "object"},
        "roles": {"type": "array", "default": []},
        "users": {"type": "array", "default": []},
        "route": {"type": "string", "default": ""},
        "ttl": {"type": "integer", "default": 1440},
    },
    "noop": {},
    "local-shell-cmd": {},
    "announcement": {},
}

# st2common.expressions.functions.data.NONE_MAGIC_VALUE
NONE_MAGIC_VALUE = "%*****__%NONE%__*****%"


class ParamException(ValueError):
    """Same meaning as st2's ParamException: a parameter does not render."""


def _jinja_env() -> jinja2.Environment:
    env = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["to_complex"] = lambda v: json.dumps(v)
    env.filters["to_json_string"] = lambda v: json.dumps(v)
    env.filters["json_escape"] = lambda v: json.dumps(str(v))[1:-1]
    env.tests["in"] = lambda item, seq: item in seq
    return env


ENV = _jinja_env()


def is_jinja_expression(value: Any) -> bool:
    """st2's test: a string holding ``{{``/``{%`` (lists and dicts as their ``str()``)."""
    if isinstance(value, (list, dict)):
        value = str(value)
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _cast_none(value: Any) -> Any:
    return None if isinstance(value, str) and value == NONE_MAGIC_VALUE else value


def _cast_object(value: Any) -> Any:
    value = _cast_none(value)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            try:
                return ast.literal_eval(value)
            except (ValueError, SyntaxError) as e:
                raise ParamException(f"{value!r} is neither JSON nor a Python literal") from e
    return value


def _cast_boolean(value: Any) -> Any:
    value = _cast_none(value)
    if isinstance(value, str):
        try:
            return ast.literal_eval(value.capitalize())
        except (ValueError, SyntaxError) as e:
            raise ParamException(f"{value!r} is not a boolean") from e
    return value


def _cast_string(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ParamException(f'Value "{value}" must either be a string or None. Got "{type(value).__name__}".')
    return _cast_none(value)


CASTS = {
    "array": _cast_object,
    "object": _cast_object,
    "boolean": _cast_boolean,
    "integer": lambda v: int(_cast_none(v)),
    "number": lambda v: float(_cast_none(v)),
    "string": _cast_string,
}


def cast(value: Any, schema: Optional[Mapping[str, Any]]) -> Any:
    if value is None or not schema or not schema.get("type"):
        return value
    caster = CASTS.get(str(schema.get("type")))
    if caster is None:
        return value
    try:
        return caster(value)
    except (TypeError, ValueError) as e:
        raise ParamException(f"cannot cast {value!r} to {schema.get('type')}: {e}") from e


def _node(value: Any) -> Dict[str, Any]:
    if is_jinja_expression(value):
        try:
            deps = meta.find_undeclared_variables(ENV.parse(value if isinstance(value, str) else json.dumps(value)))
        except jinja2.TemplateSyntaxError:
            return {"value": value}
        return {"template": value, "deps": set(deps)}
    return {"value": value}


def _render(node: Mapping[str, Any], context: Mapping[str, Any]) -> Any:
    if "template" not in node:
        return node.get("value")
    template = node["template"]
    if isinstance(template, (list, dict)):
        # As st2: a complex value is rendered as its JSON text and decoded again.
        text = re.sub(r'"{{([A-z0-9_-]+)}}"', r"{{\1 | to_complex}}", json.dumps(template))
        return json.loads(ENV.from_string(text).render(dict(context)))
    return ENV.from_string(str(template)).render(dict(context))


def _resolve(graph: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    """Render every node in dependency order (Kahn); a cycle or a missing name is an error."""
    for node in graph.values():
        for dep in node.get("deps", ()):
            if dep not in graph:
                raise ParamException(f'Dependency unsatisfied in variable "{dep}"')
    done: Dict[str, Any] = {}
    remaining = dict(graph)
    while remaining:
        ready = [n for n, node in remaining.items() if not (set(node.get("deps", ())) - set(done))]
        if not ready:
            raise ParamException("Cyclic dependency found in the following variables: " + ", ".join(sorted(remaining)))
        for name in sorted(ready):
            try:
                done[name] = _render(remaining.pop(name), done)
            except jinja2.TemplateError as e:
                raise ParamException(f'Failed to render parameter "{name}": {e}') from e
    return done


def _graph(
    context_nodes: Mapping[str, Any], params: Mapping[str, Any], schemas: List[Mapping[str, Any]], render_given: bool
) -> Dict[str, Dict[str, Any]]:
    graph: Dict[str, Dict[str, Any]] = {name: {"value": value} for name, value in context_nodes.items()}
    for name, value in params.items():
        graph[name] = _node(value) if render_given else {"value": value}
    for schema in schemas:
        for name, spec in schema.items():
            absent = name not in graph
            is_none = graph.get(name, {}).get("value", 0) is None and "template" not in graph.get(name, {})
            if absent or is_none or spec.get("immutable", False):
                graph[name] = _node(spec.get("default"))
    return graph


def _schema_of(name: str, schemas: List[Mapping[str, Any]]) -> Mapping[str, Any]:
    found: Mapping[str, Any] = {}
    for schema in schemas:
        if name in schema:
            found = schema[name] or {}
    return found


def _rendered(
    schemas: List[Mapping[str, Any]],
    params: Mapping[str, Any],
    action_context: Mapping[str, Any],
    config: Mapping[str, Any],
    additional: Optional[Mapping[str, Any]],
    user_params: bool,
) -> Dict[str, Any]:
    """Every parameter and context node, rendered in dependency order (st2's resolve step)."""
    nodes: Dict[str, Any] = {"action_context": dict(action_context), "config_context": dict(config)}
    nodes.update(additional or {})
    return _resolve(_graph(nodes, params, schemas, user_params))


def render_live_params(
    runner_parameters: Mapping[str, Any],
    action_parameters: Mapping[str, Any],
    params: Mapping[str, Any],
    action_context: Mapping[str, Any],
    config: Mapping[str, Any],
    additional_contexts: Optional[Mapping[str, Any]] = None,
) -> Dict[str, Any]:
    """Given parameters rendered and cast, plus the Jinja defaults (st2's render_live_params)."""
    schemas = [action_parameters, runner_parameters]
    context = _rendered(schemas, params, action_context, config, additional_contexts, True)
    live = {name: cast(context[name], _schema_of(name, schemas)) for name in params}
    for schema in schemas:
        for name, spec in schema.items():
            if spec.get("immutable") or name in params or "default" not in spec:
                continue
            if spec.get("default") == context.get(name) or not is_jinja_expression(spec.get("default")):
                continue
            live[name] = cast(context[name], spec)
    return live


def render_final_params(
    runner_parameters: Mapping[str, Any],
    action_parameters: Mapping[str, Any],
    params: Mapping[str, Any],
    action_context: Mapping[str, Any],
    config: Mapping[str, Any],
) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """(runner parameters, action parameters) as the runner container computes them."""
    schemas = [action_parameters, runner_parameters]
    context = _rendered(schemas, params, action_context, config, None, False)
    names: Set[str] = set(params) | set(action_parameters) | set(runner_parameters)
    final = {name: cast(context.get(name), _schema_of(name, schemas)) for name in names}
    runner = {k: v for k, v in final.items() if k in runner_parameters}
    action = {k: v for k, v in final.items() if k in action_parameters and k not in runner_parameters}
    return runner, action
