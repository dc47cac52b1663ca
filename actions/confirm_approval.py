import lib  # noqa: F401 - first: puts the pack's lib/ on sys.path (actions/lib/__init__.py)

# isort: split
from typing import Any, Dict, Tuple

from avamar_pack.approval import ApprovalPolicy
from avamar_pack.approval_confirm import confirm_approval, unconfirmed
from avamar_pack.errors import ValidationError
from avamar_pack.st2api import St2Api, St2ApiError
from st2common.runners.base_action import Action


class ConfirmApproval(Action):
    """After core.ask: ask st2 who resumed the workflow and whether that identity may approve.

    Always succeeds with a verdict; ``approved`` is true only when st2's record names an
    allowed approver who approved. Everything else (st2 unreachable, no resumed_by, an
    identity outside approval.users, a bad config) gives ``approved: false`` and
    ``refused_reason``: the workflow ends rejected and changes nothing."""

    def run(self, workflow_execution_id: Any, response: Any) -> Tuple[bool, Dict[str, Any]]:
        try:
            policy = ApprovalPolicy.from_config(dict(self.config or {}))
            api = St2Api.from_env()
            verdict = confirm_approval(api, workflow_execution_id, response, policy)
        except (St2ApiError, ValidationError) as e:
            verdict = unconfirmed(e, response)
        if verdict["refused_reason"]:
            self.logger.warning(
                "approval of workflow %s not accepted: %s", str(workflow_execution_id)[:40], verdict["refused_reason"]
            )
        else:
            self.logger.info(
                "approval of workflow %s: approved=%s by %s (via %s)",
                workflow_execution_id,
                verdict["approved"],
                verdict["approver"],
                verdict["via"],
            )
        return True, verdict
