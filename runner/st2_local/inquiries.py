"""``core.ask`` the way StackStorm's inquirer runner handles it, answered locally.

In StackStorm, ``core.ask`` leaves its task ``pending`` (the workflow pauses), emits a
``core.st2.generic.inquiry`` trigger, and waits for a response to ``PUT /api/v1/inquiries/<id>``
that validates against the Inquiry's schema; after ``ttl`` minutes the garbage collector marks
it ``timeout``. Here an answer comes from a callable: an interactive prompt, a fixed
command-line answer, ``APPROVE=yes|no|expire`` in the environment, or "expire" for tests.

When the runner gives the Inquiry the local st2 API (``Inquiry.api``, a
``st2_local.st2_api.FakeSt2Api`` holding the Inquiry), the answerers here answer THROUGH it, as
``st2 inquiry respond`` by the answering st2 user would: the API checks the requester against
the Inquiry's users/roles (st2's check_permission) and the schema, and records ``resumed_by`` on
the paused workflow, which ``avamar.confirm_approval`` reads back. Without ``api`` the answer is
only checked by :func:`validate_response`.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, TextIO, Tuple


@dataclass
class Inquiry:
    id: str
    schema: Dict[str, Any]
    users: List[str] = field(default_factory=list)
    roles: List[str] = field(default_factory=list)
    route: str = ""
    ttl: int = 1440
    response: Optional[Dict[str, Any]] = None
    api: Any = None  # st2_local.st2_api.FakeSt2Api holding this Inquiry, when the runner has one

    def respond(self, response: Mapping[str, Any], requester: str) -> Dict[str, Any]:
        """PUT ``response`` as st2 user ``requester`` through ``api``; InvalidResponse if st2 refuses."""
        from st2_local.st2_api import ApiAnswer

        try:
            self.api.respond(self.id, dict(response), requester=requester)
        except ApiAnswer as e:
            raise InvalidResponse(f"st2 refused the answer ({e.code}): {e.faultstring}") from None
        self.response = dict(response)
        return dict(response)

    def question(self) -> str:
        props = (self.schema or {}).get("properties") or {}
        return str((props.get("approved") or {}).get("description") or "Approve?")


# An answerer returns the response, or None when the Inquiry expires unanswered.
Answerer = Callable[[Inquiry], Optional[Dict[str, Any]]]


class InvalidResponse(ValueError):
    """A response that StackStorm would refuse (schema, or a user not allowed to answer)."""


def validate_response(inquiry: Inquiry, response: Mapping[str, Any]) -> None:
    """Refuse what st2's ``inquiry.validate_response`` refuses (the Inquiry schema), and, for a
    runner WITHOUT the local st2 API, an ``approver`` outside ``users``. (st2 itself checks the
    requester of the PUT, not a field of the answer: ``st2_api.FakeSt2Api.check_permission``.)"""
    from st2_local.st2_api import validate_inquiry_response

    try:
        validate_inquiry_response(inquiry.schema, response)
    except ValueError as e:
        raise InvalidResponse(f"response {e}") from None
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
        who = approver or local_user()
        response: Dict[str, Any] = {"approved": decision == "yes", "approver": who}
        if reason:
            response["reason"] = reason
        return inquiry.respond(response, who) if inquiry.api is not None else response

    return answer


# How APPROVE=... may be spelled (the demo's and the CLI's).
DECISION_WORDS = {"y": "yes", "true": "yes", "1": "yes", "n": "no", "false": "no", "0": "no"}


def decision_word(value: str) -> str:
    """``APPROVE`` / ``--answer`` spelled as yes, no or expire ('' when unset)."""
    word = value.strip().lower()
    return DECISION_WORDS.get(word, word)


def answer_from_env(env: Optional[Mapping[str, str]] = None) -> Optional[Answerer]:
    """``APPROVE=yes|no|expire`` -> an answerer; unset -> None."""
    value = decision_word((env if env is not None else os.environ).get("APPROVE", ""))
    return fixed_answer(value) if value else None


def ask_yes_no(stdin: TextIO, out: TextIO) -> Optional[Tuple[str, str]]:
    """Ask at the terminal until yes or no: ("yes", "") or ("no", reason); None at end of input
    (nobody answers: the Inquiry expires)."""
    while True:
        out.write(">>> Approve? [yes/no]: ")
        out.flush()
        line = stdin.readline()
        if not line:
            out.write("\n>>> no answer (end of input): the Inquiry expires\n")
            return None
        word = line.strip().lower()
        if word in ("y", "yes"):
            return "yes", ""
        if word in ("n", "no"):
            out.write(">>> Reason (optional): ")
            out.flush()
            return "no", stdin.readline().strip()
        out.write(">>> please answer yes or no\n")


def prompt_answer(stdin: TextIO, stdout: TextIO) -> Answerer:
    """Ask on the terminal. End of input counts as no answer: the Inquiry expires."""

    def answer(inquiry: Inquiry) -> Optional[Dict[str, Any]]:
        stdout.write(f"\n>>> Inquiry {inquiry.id}: {inquiry.question()}\n")
        asked = ask_yes_no(stdin, stdout)
        if asked is None:
            return None
        decision, reason = asked
        response: Dict[str, Any] = {"approved": decision == "yes", "approver": local_user()}
        if reason:
            response["reason"] = reason
        return _deliver(inquiry, response)

    return answer


def _deliver(inquiry: Inquiry, response: Dict[str, Any]) -> Dict[str, Any]:
    return inquiry.respond(response, str(response["approver"])) if inquiry.api is not None else response


def answer_from_api(wait_s: float) -> Answerer:
    """Wait for someone else (respond_approval, a test) to answer through ``inquiry.api``;
    None (the Inquiry expires) when nothing was accepted within ``wait_s``."""

    def answer(inquiry: Inquiry) -> Optional[Dict[str, Any]]:
        if inquiry.api is None:
            raise InvalidResponse("answer_from_api needs an Inquiry held by the local st2 API")
        return inquiry.api.wait_for_answer(inquiry.id, wait_s)

    return answer
