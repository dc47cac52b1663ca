"""``avamar.confirm_approval``: who answered the workflow's Inquiry, by st2's own record, and may they.

Runs right after ``core.ask``. st2's ``request_resume`` writes ``context.resumed_by`` on the
workflow execution from the token of the PUT that answered, so an answer that bypassed
``respond_approval`` (``st2 inquiry respond``) is checked here too. Any doubt fails closed:
``approved`` false with the reason. The policy and the identities are ``approval``'s.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, Mapping, Optional

from avamar_pack.approval import NAME_RE, REASON_MAX, VIA_CHAT, VIA_ST2, ApprovalPolicy, clean_reason
from avamar_pack.errors import ValidationError
from avamar_pack.st2api import St2Api, St2ApiError


@dataclass
class ApprovalVerdict:
    """The result of confirm_approval: ``approved`` only when st2's record names an allowed approver
    who approved; otherwise ``refused_reason`` says why. ``answered_approved``: what the answer said."""

    approved: bool = False
    approver: Optional[str] = None
    via: Optional[str] = None
    reason: Optional[str] = None
    refused_reason: Optional[str] = None
    answered_approved: Optional[bool] = None
    resumed_by: Optional[str] = None

    def refuse(self, why: str) -> Dict[str, Any]:
        self.refused_reason = why
        return self.as_result()

    def as_result(self) -> Dict[str, Any]:
        return asdict(self)


def unconfirmed(error: Any, response: Any) -> Dict[str, Any]:
    """The verdict when st2 (or the config) could not be read: refused, fail closed."""
    answered = response.get("approved") if isinstance(response, Mapping) else None
    verdict = ApprovalVerdict(answered_approved=answered if isinstance(answered, bool) else None)
    return verdict.refuse(f"cannot confirm who answered: {error}"[:REASON_MAX])


def confirm_answer(execution: Mapping[str, Any], response: Any, policy: ApprovalPolicy) -> Dict[str, Any]:
    """Who answered the workflow's Inquiry and may they: the result of confirm_approval.

    ``execution`` is the workflow execution read from st2; ``response`` what core.ask returned.
    Never raises for a bad answer: ``approved`` is true only when everything checks out."""
    verdict = ApprovalVerdict()
    if not isinstance(response, Mapping) or not isinstance(response.get("approved"), bool):
        return verdict.refuse("the Inquiry response has no boolean 'approved'")
    verdict.answered_approved = response["approved"]
    try:
        verdict.reason = clean_reason(response.get("reason"))
    except ValidationError:
        verdict.reason = None
    context = execution.get("context") if isinstance(execution, Mapping) else None
    resumed_by = context.get("resumed_by") if isinstance(context, Mapping) else None
    if not isinstance(resumed_by, str) or not NAME_RE.match(resumed_by):
        return verdict.refuse("st2 recorded no valid resumed_by on the workflow execution: who answered is unknown")
    verdict.resumed_by = resumed_by
    if resumed_by in policy.chatops_users:
        approver, via = response.get("approver"), VIA_CHAT
        if not isinstance(approver, str) or not NAME_RE.match(approver):
            verdict.via = via
            return verdict.refuse(
                f"answered by the chat bot's st2 user {resumed_by} without a valid chat approver in the response"
            )
    else:
        approver, via = resumed_by, VIA_ST2
    verdict.approver, verdict.via = approver, via
    why = policy.refusal(approver)
    if why:
        return verdict.refuse(why)
    verdict.approved = response["approved"]
    return verdict.as_result()


def confirm_approval(api: St2Api, workflow_execution_id: str, response: Any, policy: ApprovalPolicy) -> Dict[str, Any]:
    """confirm_answer on the workflow execution read from st2; any failure fails closed."""
    try:
        execution = api.get_execution(workflow_execution_id)
    except St2ApiError as e:
        return unconfirmed(e, response)
    return confirm_answer(execution, response, policy)
