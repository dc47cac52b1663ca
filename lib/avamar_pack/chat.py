"""Slack-formatted chat messages of the pack's Python side (the approval answers).

The workflow composes its own messages in Jinja (StackStorm renders them where the data is);
this module holds what Python code posts or returns for chat, plus the escaping both follow:
Slack reads ``&``, ``<`` and ``>`` as control characters (``<!channel>``, ``<@U123>``,
links), so any text that came from a log, a node or a user is escaped before it is shown.
"""

from __future__ import annotations

from typing import Iterable, Optional

APPROVE_COMMAND = "!avamar approve {inquiry_id}"
REJECT_COMMAND = "!avamar reject {inquiry_id}"


def escape(text: object) -> str:
    """Escape Slack's control characters in untrusted text (a log line, a reason, a name)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(text: object) -> str:
    """Inline code span; backticks inside are replaced so the span cannot be closed early."""
    return "`" + escape(text).replace("`", "'") + "`"


def approval_commands(inquiry_id: str) -> str:
    """The two exact commands that answer an Inquiry from chat."""
    return (f"approve: {code(APPROVE_COMMAND.format(inquiry_id=inquiry_id))}   "
            f"reject: {code(REJECT_COMMAND.format(inquiry_id=inquiry_id))}")


def approval_recorded(inquiry_id: str, approved: bool, approver: str, reason: Optional[str] = None) -> str:
    verdict = ":white_check_mark: approved" if approved else ":x: rejected"
    because = f" ({escape(reason)})" if reason else ""
    return f"{verdict} by {escape(approver)}{because}: Inquiry {code(inquiry_id)} answered; the workflow resumes."


def approval_refused(inquiry_id: str, approver: str, why: str, allowed: Iterable[str] = ()) -> str:
    allowed = list(allowed)
    who = f" Allowed: {', '.join(escape(a) for a in allowed)}." if allowed else ""
    return (f":no_entry: {escape(approver)} may not answer Inquiry {code(inquiry_id)}: {escape(why)}.{who} "
            "The Inquiry is still open.")
