"""avamar.respond_approval: answer the workflow's approval Inquiry from chat."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

from avamar_pack import chat
from avamar_pack.approval import ApprovalError, ApproverNotAllowed, InquiryClient, answer_inquiry
from avamar_pack.errors import ValidationError
from st2common.runners.base_action import Action


class RespondApproval(Action):
    """Check the approver against the allowed list, then PUT the response to the Inquiry."""

    def run(self, inquiry_id: str, approved: bool, approver: str,
            reason: Optional[str] = None) -> Tuple[bool, Dict[str, Any]]:
        result: Dict[str, Any] = {"inquiry_id": inquiry_id, "approved": approved, "approver": approver}
        try:
            client = InquiryClient.from_env()
            answered = answer_inquiry(client, inquiry_id, approved, approver, reason, dict(self.config))
        except ApproverNotAllowed as e:
            result["message"] = chat.approval_refused(str(inquiry_id), str(approver), str(e))
            return False, self._error(result, "check_approver", str(e))
        except (ApprovalError, ValidationError) as e:
            result["message"] = f":warning: Inquiry {chat.code(inquiry_id)} not answered: {chat.escape(e)}"
            return False, self._error(result, "respond_approval", str(e))
        result.update(answered)
        result["message"] = chat.approval_recorded(answered["inquiry_id"], approved, approver, reason)
        self.logger.info("Inquiry %s answered approved=%s by %s", answered["inquiry_id"], approved, approver)
        return True, result

    @staticmethod
    def _error(result: Dict[str, Any], step: str, reason: str) -> Dict[str, Any]:
        result["error"] = {"step": step, "reason": reason,
                           "state_left": "the Inquiry is still pending; nothing was changed"}
        return result
