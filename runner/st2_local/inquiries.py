"""``core.ask`` the way StackStorm's inquirer runner handles it, answered locally.

In StackStorm, ``core.ask`` leaves its task ``pending`` (the workflow pauses), emits a
``core.st2.generic.inquiry`` trigger, and waits for a response to ``PUT /api/v1/inquiries/<id>``
that validates against the Inquiry's schema; after ``ttl`` minutes the garbage collector marks
it ``timeout``. Here an answer comes from a callable: an interactive prompt, a fixed
command-line answer, ``APPROVE=yes|no|expire`` in the environment, or "expire" for tests.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, TextIO

import jsonschema


@dataclass
class Inquiry:
    id: str
    schema: Dict[str, Any]
    users: List[str] = field(default_factory=list)
    roles: List[str] = field(default_factory=list)
    route: str = ""
    ttl: int = 1440
    response: Optional[Dict[str, Any]] = None

    def question(self) -> str:
        props = (self.schema or {}).get("properties") or {}
        return str((props.get("approved") or {}).get("description") or "Approve?")


# An answerer returns the response, or None when the Inquiry expires unanswered.
Answerer = Callable[[Inquiry], Optional[Dict[str, Any]]]


class InvalidResponse(ValueError):
    """A response that StackStorm would refuse (schema, or a user not allowed to answer)."""


def validate_response(inquiry: Inquiry, response: Mapping[str, Any]) -> None:
    """Refuse what st2 refuses: schema violations and approvers outside ``users`` when set."""
    schema = dict(inquiry.schema or {})
    props = schema.get("properties") or {}
    # st2 Inquiry schemas mark required properties with ``required: true`` on the property.
    missing = [name for name, spec in props.items()
               if isinstance(spec, Mapping) and spec.get("required") is True and name not in response]
    if missing:
        raise InvalidResponse(f"response lacks required field(s): {', '.join(missing)}")
    plain_props = {k: {kk: vv for kk, vv in v.items() if kk != "required"} for k, v in props.items()}
    draft4 = {**schema, "properties": plain_props}
    try:
        jsonschema.Draft4Validator(draft4).validate(dict(response))
    except jsonschema.ValidationError as e:
        raise InvalidResponse(f"response does not match the Inquiry schema: {e.message}") from e
    approver = response.get("approver")
    if inquiry.users and approver not in inquiry.users and not inquiry.roles:
        raise InvalidResponse(f"{approver!r} may not answer this Inquiry (allowed: {', '.join(inquiry.users)})")


def local_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "local-operator"


def fixed_answer(decision: str, approver: Optional[str] = None, reason: Optional[str] = None) -> Answerer:
    """Answer every Inquiry the same way: ``yes``, ``no`` or ``expire``."""
    decision = decision.strip().lower()
    if decision not in ("yes", "no", "expire"):
        raise ValueError(f"answer must be yes, no or expire, got {decision!r}")

    def answer(inquiry: Inquiry) -> Optional[Dict[str, Any]]:
        if decision == "expire":
            return None
        response: Dict[str, Any] = {"approved": decision == "yes", "approver": approver or local_user()}
        if reason:
            response["reason"] = reason
        return response

    return answer


def answer_from_env(env: Optional[Mapping[str, str]] = None) -> Optional[Answerer]:
    """``APPROVE=yes|no|expire`` -> an answerer; unset -> None."""
    value = (env if env is not None else os.environ).get("APPROVE", "").strip().lower()
    if not value:
        return None
    mapping = {"y": "yes", "true": "yes", "1": "yes", "n": "no", "false": "no", "0": "no"}
    return fixed_answer(mapping.get(value, value))


def prompt_answer(stdin: TextIO, stdout: TextIO) -> Answerer:
    """Ask on the terminal. End of input counts as no answer: the Inquiry expires."""

    def answer(inquiry: Inquiry) -> Optional[Dict[str, Any]]:
        stdout.write(f"\n>>> Inquiry {inquiry.id}: {inquiry.question()}\n")
        while True:
            stdout.write(">>> Approve? [yes/no]: ")
            stdout.flush()
            line = stdin.readline()
            if not line:
                stdout.write("\n>>> no answer (end of input): the Inquiry expires\n")
                return None
            word = line.strip().lower()
            if word in ("y", "yes"):
                return {"approved": True, "approver": local_user()}
            if word in ("n", "no"):
                stdout.write(">>> Reason (optional): ")
                stdout.flush()
                reason = stdin.readline().strip()
                response: Dict[str, Any] = {"approved": False, "approver": local_user()}
                if reason:
                    response["reason"] = reason
                return response
            stdout.write(">>> please answer yes or no\n")

    return answer
