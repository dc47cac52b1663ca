"""Rule criteria and action parameters evaluated the way st2's rules engine does (our subset).

Criteria keys are paths into the trigger (``trigger.server``); patterns are rendered with
Jinja first when they hold templates. The operators are st2's (``st2common/operators.py``)
minus the time and ``search`` ones; note that st2's ``contains`` is ``pattern in value``.
An unknown operator is an error, never a silent "no match".
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from typing import Any, Callable, Dict, Mapping, Optional

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


def rule_matches_trigger(
    rule: Mapping[str, Any], trigger_type: str, trigger_parameters: Optional[Mapping[str, Any]] = None
) -> bool:
    """Enabled, of this trigger type, and (webhooks) the same trigger parameters."""
    trigger = rule.get("trigger") or {}
    if rule.get("enabled", True) is False or trigger.get("type") != trigger_type:
        return False
    wanted = trigger.get("parameters") or {}
    given = trigger_parameters or {}
    return all(given.get(k) == v for k, v in wanted.items())


def enforcement_context(
    rule: Mapping[str, Any], pack_ref: str, trigger_instance_id: str, action_pack: str
) -> Dict[str, Any]:
    """The execution context st2's RuleEnforcer gives a rule-started execution."""
    # st2's reference.get_ref_from_model: {"id", "name"} of the database objects (ids made up here).
    rule_id = hashlib.sha256(f"{rule.get('pack', pack_ref)}.{rule.get('name')}".encode()).hexdigest()[:24]
    return {
        "trigger_instance": {"id": trigger_instance_id, "name": None},
        "rule": {"id": rule_id, "name": rule.get("name")},
        "user": "stanley",
        "pack": action_pack,
    }


def rule_action_spec(rule: Mapping[str, Any]) -> tuple:
    """(action ref, parameters as the rule writes them): rendered at request time by
    st2_local.live_params.render_live_params, with ``trigger`` in the context."""
    action = rule.get("action") or {}
    return action["ref"], dict(action.get("parameters") or {})


def rule_action(rule: Mapping[str, Any], trigger_payload: Mapping[str, Any]) -> tuple:
    """(action ref, parameters rendered with the trigger), for a quick look at a rule; the
    runner renders them as st2 does (types cast, defaults) when it requests the action."""
    ref, params = rule_action_spec(rule)
    return ref, render_value(params, {"trigger": trigger_payload})
