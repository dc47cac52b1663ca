import lib  # noqa: F401 - first: puts the pack's lib/ on sys.path (actions/lib/__init__.py)

# isort: split
from typing import Any, Dict, Optional, Tuple

from avamar_pack import chat
from avamar_pack.approval import (
    ApprovalError,
    ApprovalPolicy,
    ApproverNotAllowed,
    IdentityUnknown,
    answer_inquiry,
    clean_reason,
    validate_inquiry_id,
)
from avamar_pack.errors import ValidationError
from avamar_pack.st2api import St2Api, St2ApiError
from st2common.runners.base_action import Action

STILL_PENDING = "the Inquiry is still pending; nothing was changed"


class RespondApproval(Action):
    """Answer the approval Inquiry as the identity st2 recorded for THIS execution.

    Who answers is never a parameter: the action reads its own execution from st2 (the chat
    user of an alias execution run by the bot, else the st2 user who ran it), checks the pack's
    approval policy, and only then PUTs the response with its own token."""

    def run(self, inquiry_id: Any, approved: Any, reason: Optional[Any] = None) -> Tuple[bool, Dict[str, Any]]:
        result: Dict[str, Any] = {"inquiry_id": str(inquiry_id)[:40], "approved": approved, "approver": None}
        try:
            inquiry_id = validate_inquiry_id(inquiry_id)
            if not isinstance(approved, bool):
                raise ValidationError("approved must be a boolean")
            reason = clean_reason(reason)
            policy = ApprovalPolicy.from_config(dict(self.config or {}))
            api = St2Api.from_env()
            answered = answer_inquiry(api, St2Api.current_execution_id(), inquiry_id, approved, reason, policy)
        except (ApproverNotAllowed, IdentityUnknown) as e:
            who = e.identity.name if e.identity is not None else None
            post = chat.approval_refused_post(str(inquiry_id), str(e), who)
            return False, failure({**result, "approver": who}, post, "check_approver", str(e))
        except (ApprovalError, St2ApiError, ValidationError) as e:
            post = chat.approval_not_answered_post(str(inquiry_id), str(e))
            return False, failure(result, post, "respond_approval", str(e))
        post = chat.approval_recorded_post(inquiry_id, approved, answered["approver"], reason, answered["via"])
        result = {**result, **answered, **post_fields(post)}
        self.logger.info(
            "Inquiry %s answered approved=%s by %s (via %s, st2 user %s)",
            inquiry_id,
            approved,
            answered["approver"],
            answered["via"],
            answered["st2_user"],
        )
        return True, result


def post_fields(post: Dict[str, Any]) -> Dict[str, Any]:
    """The chat post as result keys: ``message`` (the alias result format shows it), ``colour``
    (the alias result's extra.color) and ``extra`` (for a chatops.post_message of it)."""
    return {"message": post["message"], "colour": post["colour"], "extra": post["extra"]}


def failure(result: Dict[str, Any], post: Dict[str, Any], step: str, reason: str) -> Dict[str, Any]:
    """The result of a refusal: what is known, the chat post saying so, and the error."""
    error = {"step": step, "reason": reason[:500], "state_left": STILL_PENDING}
    return {**result, **post_fields(post), "error": error}
