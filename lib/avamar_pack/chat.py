"""Chat messages of the pack, the StackStorm chatops way for Slack, with a plain-text fallback.

A post is ``{"message": <mrkdwn text>, "extra": {"slack": {"attachments": [...]}}, "colour": ...}``:
exactly the ``message`` and ``extra`` parameters of ``chatops.post_message``. hubot-stackstorm's
Slack adapter sends ``extra.slack.attachments`` as they are (coloured bar, title, fields); every
other adapter shows ``message``, which therefore says everything on its own.

Slack reads ``&``, ``<`` and ``>`` as control characters (``<!channel>``, ``<@U123>``, links),
so any text that came from a log, a node or a user is escaped before it is shown.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

APPROVE_COMMAND = "!avamar approve {inquiry_id}"
REJECT_COMMAND = "!avamar reject {inquiry_id}"
REJECT_WITH_REASON_COMMAND = "!avamar reject {inquiry_id} because change freeze"

# Slack attachment colours by outcome (Slack's own good/warning/danger hues, and its blue).
GOOD, WARNING, DANGER, INFO = "#2eb886", "#daa038", "#a30200", "#439fe0"
OUTCOME_COLOURS = {
    "remediated": GOOD,
    "in_sync": GOOD,
    "approved": GOOD,
    "rejected": WARNING,
    "expired": WARNING,
    "unsafe": WARNING,
    "refused": WARNING,
    "folded": INFO,
    "dry_run": INFO,
    "approval_request": INFO,
    "diagnosis": INFO,
    "failed": DANGER,
    "canceled": DANGER,
    "timeout": DANGER,
    "abandoned": DANGER,
}

Field = Dict[str, Any]
Post = Dict[str, Any]


def escape(text: object) -> str:
    """Escape Slack's control characters in untrusted text (a log line, a reason, a name)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(text: object) -> str:
    """Inline code span; backticks inside are replaced so the span cannot be closed early."""
    return "`" + escape(text).replace("`", "'") + "`"


def outcome_colour(outcome: Optional[str]) -> str:
    return OUTCOME_COLOURS.get(str(outcome or ""), WARNING)


def field(title: str, value: object, short: bool = True) -> Field:
    """One attachment field; the value is escaped (it may come from a node or a user)."""
    return {"title": title, "value": escape(value), "short": short}


def post(
    message: str, colour: str, title: Optional[str] = None, fields: Sequence[Field] = (), text: Optional[str] = None
) -> Post:
    """A chatops.post_message ``message`` + ``extra``: one Slack attachment, ``message`` as fallback.

    ``text`` is the attachment body (default: ``message`` minus its first line when a title is
    given, else ``message``); callers pass already-escaped mrkdwn."""
    if text is None:
        text = message.split("\n", 1)[1] if title and "\n" in message else ("" if title else message)
    attachment: Dict[str, Any] = {"fallback": message, "color": colour, "mrkdwn_in": ["text", "pretext", "fields"]}
    if title:
        attachment["title"] = title
    if text:
        attachment["text"] = text
    if fields:
        attachment["fields"] = list(fields)
    return {"message": message, "extra": {"slack": {"attachments": [attachment]}}, "colour": colour}


# -- approval ----------------------------------------------------------------------------------
def approval_commands(inquiry_id: str) -> str:
    """The exact commands that answer an Inquiry from chat."""
    return (
        f"approve: {code(APPROVE_COMMAND.format(inquiry_id=inquiry_id))}   "
        f"reject: {code(REJECT_COMMAND.format(inquiry_id=inquiry_id))} "
        f"(or {code(REJECT_WITH_REASON_COMMAND.format(inquiry_id=inquiry_id))})"
    )


def approval_recorded(
    inquiry_id: str, approved: bool, approver: str, reason: Optional[str] = None, via: Optional[str] = None
) -> str:
    verdict = ":white_check_mark: approved" if approved else ":x: rejected"
    because = f" ({escape(reason)})" if reason else ""
    how = " from chat" if via == "chat" else (" as st2 user" if via == "st2" else "")
    return (
        f"{verdict} by {escape(approver)}{how}{because}: Inquiry {code(inquiry_id)} answered; "
        "the workflow resumes and checks the answer with st2."
    )


def approval_recorded_post(
    inquiry_id: str, approved: bool, approver: str, reason: Optional[str] = None, via: Optional[str] = None
) -> Post:
    message = approval_recorded(inquiry_id, approved, approver, reason, via)
    fields = [field("Inquiry", inquiry_id), field("Approver", approver)]
    if reason:
        fields.append(field("Reason", reason, short=False))
    return post(message, outcome_colour("approved" if approved else "rejected"), fields=fields, text=message)


def approval_refused(inquiry_id: str, why: str, who: Optional[str] = None) -> str:
    subject = f"{escape(who)} may not answer" if who else "Not answered:"
    return (
        f":no_entry: {subject} Inquiry {code(inquiry_id)}: {escape(why)}. "
        "The Inquiry is still pending; nothing was changed."
    )


def approval_refused_post(inquiry_id: str, why: str, who: Optional[str] = None) -> Post:
    message = approval_refused(inquiry_id, why, who)
    return post(message, outcome_colour("refused"), fields=[field("Inquiry", inquiry_id)], text=message)


def approval_not_answered_post(inquiry_id: str, why: str) -> Post:
    message = (
        f":warning: Inquiry {code(inquiry_id)} not answered: {escape(why)}. "
        "The Inquiry is still pending (if it exists); nothing was changed."
    )
    return post(message, outcome_colour("failed"), text=message)


def approval_request_post(
    inquiry_id: str, server: Optional[str] = None, ttl_minutes: Optional[int] = None, approvers: Iterable[str] = ()
) -> Post:
    """What rules/notify_approval_request.yaml posts (that rule renders the same text in Jinja)."""
    where = f" of Avamar {code(server)}" if server else ""
    message = (
        f":ballot_box_with_check: *Approval request* {code(inquiry_id)} (session-ticket remediation"
        f"{where}, plan above)\n{approval_commands(inquiry_id)}"
    )
    fields = [field("Inquiry", inquiry_id)]
    if ttl_minutes:
        fields.append(field("Expires after", f"{ttl_minutes} min"))
    approvers = list(approvers)
    if approvers:
        fields.append(field("Approvers", ", ".join(approvers)))
    return post(message, outcome_colour("approval_request"), title="Approval request", fields=fields)


# -- remediation report ------------------------------------------------------------------------
SERIAL_KEYS: Tuple[Tuple[str, str], ...] = (("gsan_minserial", "GSAN"), ("mcs_serial", "MCS"))


def serial_fields(
    before: Optional[Mapping[str, Any]], after: Optional[Mapping[str, Any]] = None, proposed: Optional[int] = None
) -> List[Field]:
    """Serials as fields: ``GSAN before``, ``MCS before``, ``GSAN after``..., then ``Proposed``."""
    fields: List[Field] = []
    for label, serials in (("before", before), ("after", after)):
        if not serials:
            continue
        for key, name in SERIAL_KEYS:
            if serials.get(key) is not None:
                fields.append(field(f"{name} {label}", serials[key]))
    if proposed is not None:
        fields.append(field("Proposed serial", proposed))
    return fields


def remediation_report_post(output: Mapping[str, Any], server: str) -> Post:
    """The workflow's final report from its output (outcome, serials, approver, error)."""
    outcome = str(output.get("outcome") or "failed")
    title = f"Avamar {server}: {outcome.replace('_', ' ')}"
    lines = [f"*Avamar {code(server)}*: outcome *{escape(outcome)}*"]
    if output.get("approver"):
        lines.append(f"approver: {escape(output['approver'])}")
    error = output.get("error")
    if isinstance(error, Mapping):
        lines.append(
            f":fire: failed at {code(error.get('step'))}: {escape(error.get('reason'))}; "
            f"state left: {escape(error.get('state_left'))}"
        )
    fields = serial_fields(output.get("before"), output.get("after"))
    if output.get("accepted_serial") is not None:
        fields.append(field("Accepted serial", output["accepted_serial"]))
    message = "\n".join(lines)
    return post(message, outcome_colour(outcome), title=title, fields=fields, text="\n".join(lines[1:]) or None)
