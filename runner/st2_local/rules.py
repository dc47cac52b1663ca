"""Rule criteria and action parameters evaluated the way st2's rules engine does (our subset).

Criteria keys are paths into the trigger (``trigger.server``); patterns are rendered with
Jinja first when they hold templates. The operators are st2's (``st2common/operators.py``)
minus the time and ``search`` ones; note that st2's ``contains`` is ``pattern in value``.
An unknown operator is an error, never a silent "no match".
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any, Callable, Dict, Mapping

from st2_local.rendering import render_value

_MISSING = object()


def _lookup(path: str, context: Mapping[str, Any]) -> Any:
    value: Any = context
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        else:
            return _MISSING
    return value


_OPERATORS: Dict[str, Callable[[Any, Any], bool]] = {
    "equals": lambda v, p: v == p,
    "eq": lambda v, p: v == p,
    "nequals": lambda v, p: v != p,
    "iequals": lambda v, p: str(v).lower() == str(p).lower(),
    "contains": lambda v, p: p in v,
    "ncontains": lambda v, p: p not in v,
    "icontains": lambda v, p: str(p).lower() in str(v).lower(),
    "startswith": lambda v, p: str(v).startswith(str(p)),
    "endswith": lambda v, p: str(v).endswith(str(p)),
    # As st2common/operators.py: `regex` searches anywhere, `matchregex` is anchored at the start,
    # and a value that is not a string raises (st2's rule filter then counts it as no match).
    "regex": lambda v, p: re.search(str(p), v) is not None,
    "matchregex": lambda v, p: re.match(str(p), v, re.DOTALL) is not None,
    "istartswith": lambda v, p: str(v).lower().startswith(str(p).lower()),
    "iendswith": lambda v, p: str(v).lower().endswith(str(p).lower()),
    "incontains": lambda v, p: str(p).lower() not in str(v).lower(),
    "iregex": lambda v, p: re.search(str(p), v, re.IGNORECASE) is not None,
    "matchwildcard": lambda v, p: fnmatch.fnmatch(str(v), str(p)),
    "greaterthan": lambda v, p: v > p,
    "lessthan": lambda v, p: v < p,
    "gt": lambda v, p: v > p,
    "lt": lambda v, p: v < p,
    "ge": lambda v, p: v >= p,
    "le": lambda v, p: v <= p,
    "inside": lambda v, p: v in p,
    "ninside": lambda v, p: v not in p,
}


def criteria_match(rule: Mapping[str, Any], trigger_payload: Mapping[str, Any]) -> bool:
    """True when every criterion of ``rule`` holds for the payload."""
    context = {"trigger": trigger_payload}
    for key, criterion in (rule.get("criteria") or {}).items():
        op = str(criterion.get("type", "equals")).lower()
        value = _lookup(key, context)
        if op in ("exists", "nexists"):
            if (value is _MISSING) == (op == "exists"):
                return False
            continue
        if op not in _OPERATORS:
            raise ValueError(f"rule {rule.get('name')}: operator {op!r} is not supported by the local runner")
        if value is _MISSING:
            return False
        pattern = render_value(criterion.get("pattern"), context)
        try:
            if not _OPERATORS[op](value, pattern):
                return False
        except TypeError:
            return False
    return True


def rule_action(rule: Mapping[str, Any], trigger_payload: Mapping[str, Any]) -> tuple:
    """(action ref, rendered parameters) of a matching rule."""
    action = rule.get("action") or {}
    params = render_value(dict(action.get("parameters") or {}), {"trigger": trigger_payload})
    return action["ref"], params
