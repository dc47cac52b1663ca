"""The pack's ``action.concurrency`` / ``action.concurrency.attr`` policies as st2 applies them.

st2's scheduler runs ``apply_before`` on a requested execution: it counts the LiveActions of
the same action in status ``scheduled`` or ``running`` (and, for ``.attr``, with the same
values of the listed parameters). Below the threshold the execution is scheduled; at it, the
execution becomes ``delayed`` (``action: delay``) or ``canceled`` (``action: cancel``). A
``paused`` execution (a workflow waiting at ``core.ask``) does NOT count. st2's scheduler
re-evaluates delayed executions periodically; the local runner re-evaluates them each time
an execution completes or pauses, in the order they were requested.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional

from st2_local.pack_loader import Pack, load_yaml_strict

COUNTED = ("scheduled", "running")
TYPES = ("action.concurrency", "action.concurrency.attr")


@dataclass(frozen=True)
class ConcurrencyPolicy:
    ref: str
    resource_ref: str
    threshold: int
    action: str = "delay"
    attributes: List[str] = field(default_factory=list)

    def counts(self, candidate_params: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
        """Does execution ``other`` (st2 API shape) count against a run with these parameters?"""
        if other.get("status") not in COUNTED:
            return False
        params = other.get("parameters") or {}
        return all(params.get(a) == candidate_params.get(a) for a in self.attributes if a in candidate_params)

    def decide(self, execution_id: str, parameters: Mapping[str, Any], executions: Iterable[Mapping[str, Any]]) -> str:
        """``requested`` (go on), ``delayed`` or ``canceled``."""
        count = sum(1 for e in executions if e.get("id") != execution_id and self.counts(parameters, e))
        if count < self.threshold:
            return "requested"
        return "delayed" if self.action == "delay" else "canceled"


def load_policies(pack: Pack) -> List[ConcurrencyPolicy]:
    folder = os.path.join(pack.root, "policies")
    found: List[ConcurrencyPolicy] = []
    if not os.path.isdir(folder):
        return found
    for name in sorted(os.listdir(folder)):
        if not name.endswith((".yaml", ".yml")):
            continue
        doc: Dict[str, Any] = load_yaml_strict(os.path.join(folder, name)) or {}
        if doc.get("enabled", True) is False or doc.get("policy_type") not in TYPES:
            continue
        params = doc.get("parameters") or {}
        attributes = list(params.get("attributes") or []) if doc["policy_type"].endswith(".attr") else []
        found.append(
            ConcurrencyPolicy(
                ref=f"{doc.get('pack', pack.ref)}.{doc['name']}",
                resource_ref=str(doc["resource_ref"]),
                threshold=int(params.get("threshold", 0)),
                action=str(params.get("action", "delay")),
                attributes=attributes,
            )
        )
    return found


def decide(
    policies: Iterable[ConcurrencyPolicy],
    action_ref: str,
    execution_id: str,
    parameters: Mapping[str, Any],
    executions: List[Mapping[str, Any]],
) -> Optional[str]:
    """The first policy of ``action_ref`` that stops the run: ``delayed``/``canceled``; else None."""
    for policy in policies:
        if policy.resource_ref != action_ref:
            continue
        verdict = policy.decide(
            execution_id, parameters, [e for e in executions if (e.get("action") or {}).get("ref") == action_ref]
        )
        if verdict != "requested":
            return verdict
    return None
