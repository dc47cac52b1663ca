"""Who may approve a remediation, and who really answered: the pack's approval policy.

The policy comes from the pack config (``approval.*``), never from a chat command or an action
parameter. Two places use it (docs/APPROVAL.md has the whole picture):

* ``avamar.respond_approval`` (run by the chat aliases) reads ITS OWN execution from st2 and
  takes the identity st2 recorded there (:func:`identity_of_execution`), checks it against the
  policy and only then answers the Inquiry with the action's token. A refused identity causes no
  request at all: the Inquiry stays pending.
* ``avamar.confirm_approval`` (``approval_confirm``) runs in the workflow right after ``core.ask``
  and asks st2 who resumed the workflow (``context.resumed_by``, written by st2's ``request_resume`` from the
  token of the PUT), so an answer that bypassed ``respond_approval`` (``st2 inquiry respond``)
  is checked too. Any doubt fails closed: ``approved`` false with the reason.

The checks follow st2's own ``inquiry.check_permission``: AND of users and roles. st2 checks the
roles (with an RBAC backend; on stock st2 every user "has" every role, so roles alone restrict
nobody); the pack checks the names, which is the part that works on every st2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence

from avamar_pack.errors import AvamarPackError, ConfigError, ValidationError
from avamar_pack.st2api import St2Api, St2ApiError, validate_st2_id

# st2 user names and chat user names as hubot-stackstorm reports them.
NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,127}\Z")
# The route is also the chat channel the approval request is posted to (rules/notify_approval_request
# recognises this pack's Inquiries by it): "avamar", "avamar-prod", "avamar_dc2".
ROUTE_RE = re.compile(r"^avamar[A-Za-z0-9_-]{0,73}\Z")
REASON_MAX = 500
TTL_MAX_MINUTES = 43200  # 30 days, as config.schema.yaml
VIA_CHAT, VIA_ST2 = "chat", "st2"


class ApprovalError(AvamarPackError):
    """The approval could not be read, checked or answered. ``identity``: who, when known."""

    def __init__(self, message: str, identity: Optional[Identity] = None) -> None:
        super().__init__(message)
        self.identity = identity


class ApproverNotAllowed(ApprovalError):
    """The identity is not allowed to approve by the pack's policy."""


class IdentityUnknown(ApprovalError):
    """st2's record does not say, beyond doubt, who is answering."""


def validate_name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise ValidationError(f"{what} {str(value)[:40]!r} is not a valid user name")
    return value


def validate_inquiry_id(value: Any) -> str:
    try:
        return validate_st2_id(value, "inquiry id")
    except St2ApiError as e:
        raise ValidationError(str(e)) from None


def clean_reason(value: Any) -> Optional[str]:
    """A reason as text: control characters dropped, at most REASON_MAX characters, None if empty."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError("reason must be a string")
    text = "".join(ch if ch.isprintable() else " " for ch in value).strip()
    return text[:REASON_MAX] or None


def _names(raw: Mapping[str, Any], key: str) -> List[str]:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"approval.{key} must be a list of user names")
    names: List[str] = []
    for item in value:
        try:
            name = validate_name(item, f"approval.{key} entry")
        except ValidationError as e:
            raise ConfigError(str(e)) from None
        if name not in names:
            names.append(name)
    return names


def _bool(raw: Mapping[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ConfigError(f"approval.{key} must be true or false")
    return value


@dataclass(frozen=True)
class ApprovalPolicy:
    """The config's ``approval`` section, validated."""

    required: bool = True
    users: Sequence[str] = ()
    roles: Sequence[str] = ()
    chatops_users: Sequence[str] = ()
    allow_anyone: bool = False
    ttl_minutes: int = 60
    route: str = "avamar"

    @classmethod
    def from_config(cls, config: Optional[Mapping[str, Any]]) -> ApprovalPolicy:
        """From the whole pack config (st2 has filled the schema defaults); raises ConfigError."""
        raw = (config or {}).get("approval") or {}
        if not isinstance(raw, Mapping):
            raise ConfigError("config key 'approval' must be a mapping")
        ttl = raw.get("ttl_minutes", 60)
        if ttl is None:
            ttl = 60
        if isinstance(ttl, bool) or not isinstance(ttl, int) or not 1 <= ttl <= TTL_MAX_MINUTES:
            raise ConfigError(
                f"approval.ttl_minutes must be a whole number of minutes from 1 to {TTL_MAX_MINUTES}, got {ttl!r}"
            )
        route = raw.get("route") or "avamar"
        if not isinstance(route, str) or not ROUTE_RE.match(route):
            raise ConfigError(
                f"approval.route {str(route)[:40]!r} must start with 'avamar' (letters, digits, - and _ "
                "only): rules/notify_approval_request.yaml posts only routes starting with avamar"
            )
        roles = raw.get("roles") or []
        if not isinstance(roles, (list, tuple)) or not all(isinstance(r, str) and r.strip() for r in roles):
            raise ConfigError("approval.roles must be a list of st2 role names")
        return cls(
            required=_bool(raw, "required", True),
            users=tuple(_names(raw, "users")),
            roles=tuple(dict.fromkeys(r.strip() for r in roles)),
            chatops_users=tuple(_names(raw, "chatops_users")),
            allow_anyone=_bool(raw, "allow_anyone", False),
            ttl_minutes=ttl,
            route=route,
        )

    # -- what the Inquiry gets ----------------------------------------------------------------
    def inquiry_users(self) -> List[str]:
        """``users`` of the core.ask: the approvers and the bot's st2 users (st2 checks the st2 user
        of the PUT: the bot for a chat answer, the person for ``st2 inquiry respond``).
        Empty (an Inquiry open to every st2 user) only with allow_anyone and no users."""
        if not self.users:
            return []
        return list(dict.fromkeys(list(self.users) + list(self.chatops_users)))

    def problem(self) -> Optional[str]:
        """Why no approval could ever be valid (the workflow refuses to ask), or None."""
        if not self.required:
            return None
        if not self.users and not self.allow_anyone:
            return (
                "no approvers configured: approval.users is empty and approval.allow_anyone is not true, "
                "so nobody may approve; add the approvers' chat and st2 user names to approval.users"
            )
        return None

    def notes(self) -> List[str]:
        """Set-up remarks worth showing with an approval request (not errors)."""
        notes = []
        if self.required and self.users and not self.chatops_users:
            notes.append(
                "approval.chatops_users is empty: chat approvals are refused; answer with "
                "`st2 inquiry respond` or add the chat bot's st2 user"
            )
        if self.required and self.allow_anyone and not self.users:
            notes.append("approval.allow_anyone is true: any st2 user (and anyone who can reach the bot) may approve")
        if self.roles and not self.users:
            notes.append("approval.roles alone restricts nobody on a StackStorm without an RBAC backend")
        return notes

    def as_dict(self) -> Dict[str, Any]:
        """Everything the workflow needs for its core.ask, as plain data."""
        return {
            "required": self.required,
            "users": list(self.users),
            "roles": list(self.roles),
            "chatops_users": list(self.chatops_users),
            "allow_anyone": self.allow_anyone,
            "inquiry_users": self.inquiry_users(),
            "ttl_minutes": self.ttl_minutes,
            "route": self.route,
            "problem": self.problem(),
            "notes": self.notes(),
            "schema": inquiry_schema(),
        }

    # -- the check ------------------------------------------------------------------------
    def refusal(self, name: str) -> Optional[str]:
        """Why ``name`` may not approve, or None when the policy allows it."""
        if self.users:
            if name in self.users:
                return None
            return f"{name} is not on the approvers list (approval.users: {', '.join(self.users)})"
        if self.allow_anyone:
            return None
        return "no approvers configured (approval.users is empty), so nobody may approve"

    def check(self, name: str) -> None:
        why = self.refusal(name)
        if why:
            raise ApproverNotAllowed(why)


def inquiry_schema() -> Dict[str, Any]:
    """The response schema of the approval Inquiry (st2 Inquiry schemas mark required properties
    with ``required: true``, as st2's own core.ask default does)."""
    return {
        "type": "object",
        "properties": {
            "approved": {"type": "boolean", "required": True, "description": "Approve this remediation? (true/false)"},
            "approver": {
                "type": "string",
                "description": "The chat user who answered (set by avamar.respond_approval).",
            },
            "reason": {"type": "string", "description": "Optional reason, shown in the report."},
            "via": {
                "type": "string",
                "enum": [VIA_CHAT, VIA_ST2],
                "description": "How the answer came (set by avamar.respond_approval).",
            },
        },
        "additionalProperties": False,
    }


# -- identities --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Identity:
    """Who answers: ``name`` is checked against the policy; ``st2_user`` is whose token acts."""

    name: str
    via: str
    st2_user: str


def identity_of_execution(execution: Mapping[str, Any], policy: ApprovalPolicy) -> Identity:
    """The identity st2 recorded for an execution of respond_approval; IdentityUnknown if in doubt.

    * st2 user: ``context.user``. st2api lets an API caller put keys into the context (the
      ``st2-context`` header, merged after ``user`` is set), so when st2 also wrote
      ``context.rbac.user`` (RBAC enabled: written last, from the authenticated user) that one
      must agree, else the context was altered.
    * chat user: ``context.api_user`` (the alias execution's ``payload.user``) is trusted only
      when the st2 user is one of ``approval.chatops_users``: any st2 user may POST an alias
      execution naming any chat user, only the bot's credentials vouch for it.
    """
    context = execution.get("context") if isinstance(execution, Mapping) else None
    if not isinstance(context, Mapping):
        raise IdentityUnknown("st2 recorded no context for this execution")
    st2_user = context.get("user")
    if not isinstance(st2_user, str) or not NAME_RE.match(st2_user):
        raise IdentityUnknown("st2 recorded no valid st2 user for this execution")
    rbac = context.get("rbac")
    if isinstance(rbac, Mapping) and rbac.get("user") is not None and rbac.get("user") != st2_user:
        raise IdentityUnknown(
            f"the execution's context.user ({st2_user}) is not the st2 user st2 authenticated "
            f"({rbac.get('user')}): the context was altered"
        )
    if st2_user not in policy.chatops_users:
        return Identity(name=st2_user, via=VIA_ST2, st2_user=st2_user)
    api_user = context.get("api_user")
    if not api_user:
        raise IdentityUnknown(f"run by the chat bot's st2 user {st2_user} without a chat user (context.api_user)")
    if not isinstance(api_user, str) or not NAME_RE.match(api_user):
        raise IdentityUnknown(f"the chat user {str(api_user)[:40]!r} is not a valid user name")
    return Identity(name=api_user, via=VIA_CHAT, st2_user=st2_user)


# -- avamar.respond_approval ---------------------------------------------------------------------
# The statuses in which a remediation still waits for (or is taking) its approval.
_WAITING_STATUSES = ("paused", "pausing", "running", "resuming")


def _refuse_unless_the_run_waits(api: St2Api, inquiry_id: str) -> None:
    """Refuse to answer the Inquiry of a remediation that no longer waits for it.

    st2 cannot cancel a pending Inquiry (``pending`` is not a cancelable state), so the approval
    request of a canceled or failed run stays answerable; answering it would change nothing but
    tell chat "the workflow resumes". The Inquiry is an execution whose ``parent`` is the run.
    """
    parent_id = (api.get_execution(inquiry_id) or {}).get("parent")
    if not parent_id:
        return
    status = str((api.get_execution(str(parent_id)) or {}).get("status") or "unknown")
    if status not in _WAITING_STATUSES:
        ended = "was canceled" if status in ("canceled", "canceling") else f"ended {status}"
        raise ApprovalError(
            f"remediation {parent_id} {ended}: nothing to approve (Inquiry {inquiry_id} left unanswered)"
        )


def answer_inquiry(
    api: St2Api,
    execution_id: Optional[str],
    inquiry_id: str,
    approved: bool,
    reason: Optional[str],
    policy: ApprovalPolicy,
) -> Dict[str, Any]:
    """Identify the caller from st2, check the policy, then answer. Raises ApprovalError (no PUT)."""
    if not execution_id:
        raise IdentityUnknown("ST2_ACTION_EXECUTION_ID is not set: cannot read who runs this action")
    execution = api.get_execution(execution_id)
    identity = identity_of_execution(execution, policy)
    why = policy.refusal(identity.name)
    if why:
        context = execution.get("context") or {}
        if identity.via == VIA_ST2 and context.get("api_user"):
            # A chat command whose st2 user is not a configured bot: say how to fix the set-up.
            why += (
                f" (this came from chat as {str(context.get('api_user'))[:40]}, but its st2 user "
                f"{identity.st2_user} is not in approval.chatops_users)"
            )
        raise ApproverNotAllowed(why, identity)
    inquiry = api.get_inquiry(inquiry_id)
    route = str(inquiry.get("route") or "")
    if not route.startswith("avamar"):
        raise ApprovalError(f"Inquiry {inquiry_id} is not an Avamar remediation approval (route {route[:40]!r})")
    _refuse_unless_the_run_waits(api, inquiry_id)
    response: Dict[str, Any] = {"approved": approved, "approver": identity.name, "via": identity.via}
    if reason:
        response["reason"] = reason
    api.respond_inquiry(inquiry_id, response)
    return {
        "inquiry_id": inquiry_id,
        "response": response,
        "approver": identity.name,
        "via": identity.via,
        "st2_user": identity.st2_user,
    }
