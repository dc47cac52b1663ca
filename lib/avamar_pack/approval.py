"""Answer a StackStorm Inquiry (the workflow's approval) over the st2 REST API, with `requests`.

Why not st2client: it cannot be installed next to the pack's other dependencies everywhere
(its jsonpath-rw dependency fails to build), and we need two calls only:
``GET /inquiries/<id>`` and ``PUT /inquiries/<id>``. The API URL and token are the ones
StackStorm's Python runner gives every action: ``ST2_ACTION_API_URL`` (ends in ``/v1``) and
``ST2_ACTION_AUTH_TOKEN``.

Who may approve: StackStorm checks the *st2 user behind the token* against the Inquiry's
``users``/``roles``; from chat that user is the bot's, not the person who typed the command.
So this module checks the chat user (``approver``, the alias's ``action_context.api_user``)
itself: it must be in the Inquiry's ``users`` or hold one of its ``roles`` (looked up through
st2 RBAC); an Inquiry with neither falls back to the config's ``approval.users``/``roles``.
With no users and no roles anywhere, anyone who can reach the bot may answer, as with a
StackStorm Inquiry without users/roles.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional

import requests

from avamar_pack.errors import AvamarPackError, ValidationError

INQUIRY_ID_RE = re.compile(r"^[0-9a-f]{24}$")  # a MongoDB ObjectId, as st2 execution ids are
APPROVER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,127}$")
DEFAULT_TIMEOUT_S = 15.0


class ApprovalError(AvamarPackError):
    """The Inquiry could not be read or answered."""


class ApproverNotAllowed(ApprovalError):
    """The chat user is not on the allowed users/roles list."""


def validate_inquiry_id(value: Any) -> str:
    if not isinstance(value, str) or not INQUIRY_ID_RE.match(value.strip().lower()):
        raise ValidationError(f"inquiry id {str(value)[:40]!r} is not an st2 id (24 hex digits)")
    return value.strip().lower()


def validate_approver(value: Any) -> str:
    if not isinstance(value, str) or not APPROVER_RE.match(value):
        raise ValidationError(f"approver {str(value)[:40]!r} is not a valid user name")
    return value


@dataclass(frozen=True)
class InquiryInfo:
    id: str
    users: List[str] = field(default_factory=list)
    roles: List[str] = field(default_factory=list)
    route: str = ""
    schema: Dict[str, Any] = field(default_factory=dict)


class InquiryClient:
    """The two st2 API calls an approval needs, plus the RBAC role lookup."""

    def __init__(self, api_url: str, auth_token: Optional[str] = None, api_key: Optional[str] = None,
                 verify: bool = True, timeout: float = DEFAULT_TIMEOUT_S,
                 session: Optional[requests.Session] = None) -> None:
        if not api_url:
            raise ApprovalError("no st2 API URL (ST2_ACTION_API_URL is not set: run inside StackStorm)")
        if not auth_token and not api_key:
            raise ApprovalError("no st2 credentials (ST2_ACTION_AUTH_TOKEN is not set: run inside StackStorm)")
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.verify = verify
        self.session = session or requests.Session()
        self.session.headers["Content-Type"] = "application/json"
        if auth_token:
            self.session.headers["X-Auth-Token"] = auth_token
        else:
            self.session.headers["St2-Api-Key"] = str(api_key)

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> InquiryClient:
        """Client from the environment StackStorm's Python runner sets for every action."""
        env = os.environ if env is None else env
        return cls(api_url=env.get("ST2_ACTION_API_URL", ""), auth_token=env.get("ST2_ACTION_AUTH_TOKEN"),
                   api_key=env.get("ST2_API_KEY"))

    def _request(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        url = f"{self.api_url}/{path}"
        try:
            response = self.session.request(method, url, timeout=self.timeout, verify=self.verify, **kwargs)
        except requests.RequestException as e:
            raise ApprovalError(f"{what}: st2 API unreachable at {self.api_url}: {type(e).__name__}") from None
        if response.status_code == 404:
            raise ApprovalError(f"{what}: not found (no pending Inquiry with this id: answered or expired?)")
        if response.status_code in (401, 403):
            raise ApprovalError(f"{what}: refused by st2 ({response.status_code}): {_api_message(response)}")
        if response.status_code >= 400:
            raise ApprovalError(f"{what}: st2 answered {response.status_code}: {_api_message(response)}")
        try:
            return response.json()
        except ValueError:
            return None

    def get(self, inquiry_id: str) -> InquiryInfo:
        inquiry_id = validate_inquiry_id(inquiry_id)
        body = self._request("GET", f"inquiries/{inquiry_id}", f"reading Inquiry {inquiry_id}") or {}
        return InquiryInfo(id=inquiry_id, users=list(body.get("users") or []), roles=list(body.get("roles") or []),
                           route=str(body.get("route") or ""), schema=dict(body.get("schema") or {}))

    def respond(self, inquiry_id: str, response: Mapping[str, Any]) -> Dict[str, Any]:
        inquiry_id = validate_inquiry_id(inquiry_id)
        body = self._request("PUT", f"inquiries/{inquiry_id}", f"answering Inquiry {inquiry_id}",
                             json={"id": inquiry_id, "response": dict(response)})
        return dict(body or {"id": inquiry_id, "response": dict(response)})

    def user_roles(self, user: str) -> List[str]:
        """Roles assigned to ``user`` through st2 RBAC; raises ApprovalError if RBAC cannot say."""
        body = self._request("GET", "rbac/role_assignments", f"reading the RBAC roles of {user}",
                             params={"user": user}) or []
        return sorted({str(item.get("role")) for item in body if isinstance(item, Mapping) and item.get("role")})


def check_approver(approver: str, users: Iterable[str], roles: Iterable[str],
                   roles_of: Callable[[str], List[str]]) -> str:
    """Return how ``approver`` is allowed (``user``, ``role:<name>`` or ``open``); else raise."""
    users, roles = sorted(set(users)), sorted(set(roles))
    if not users and not roles:
        return "open"
    if approver in users:
        return "user"
    if roles:
        try:
            held = set(roles_of(approver))
        except ApprovalError as e:
            raise ApproverNotAllowed(
                f"{approver} is not an allowed user and their roles cannot be checked ({e})") from None
        matching = sorted(held.intersection(roles))
        if matching:
            return f"role:{matching[0]}"
    raise ApproverNotAllowed(f"{approver} is not on the approvers list (users: {', '.join(users) or 'none'}; "
                             f"roles: {', '.join(roles) or 'none'})")


def answer_inquiry(client: InquiryClient, inquiry_id: str, approved: bool, approver: str,
                   reason: Optional[str] = None, config: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Check the approver, then answer. The response records who approved and why."""
    inquiry_id = validate_inquiry_id(inquiry_id)
    approver = validate_approver(approver)
    if not isinstance(approved, bool):
        raise ValidationError("approved must be a boolean")
    approval_cfg = dict((config or {}).get("approval") or {})
    inquiry = client.get(inquiry_id)
    # The Inquiry's lists (the workflow's `approvers`/`approver_roles`) decide; when it has
    # neither, fall back to the config's, so an Inquiry never ends up open by omission.
    users, roles = list(inquiry.users), list(inquiry.roles)
    if not users and not roles:
        users, roles = list(approval_cfg.get("users") or []), list(approval_cfg.get("roles") or [])
    allowed_by = check_approver(approver, users, roles, client.user_roles)
    response: Dict[str, Any] = {"approved": approved, "approver": approver}
    if reason:
        response["reason"] = str(reason)[:500]
    sent = client.respond(inquiry_id, response)
    return {"inquiry_id": inquiry_id, "response": response, "allowed_by": allowed_by, "api_answer": sent}


def _api_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, Mapping):
        return str(body.get("faultstring") or body.get("message") or body)[:200]
    return str(body)[:200]
