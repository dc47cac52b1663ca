"""Cases of st2's ``inquiry.check_permission`` that the pack's approval design relies on.

Plain data, so the same table runs against the local st2 API (tests/lib/test_lib_approval.py)
and against StackStorm's REAL ``st2common.services.inquiry.check_permission`` (tests/st2_real,
with st2's noop RBAC backend: only the ``rbac: False`` rows apply there). Each row:
(id, inquiry users, inquiry roles, requester, rbac enabled, requester's roles, st2 accepts).
"""

from __future__ import annotations

import types
from typing import Any, Callable, Dict, List, Tuple

APPROVERS = ["alice", "bob"]
BOT = "chatops_bot"
# approval.users + approval.chatops_users: what ApprovalPolicy.inquiry_users() gives the core.ask.
INQUIRY_USERS = APPROVERS + [BOT]

PermissionCase = Tuple[str, List[str], List[str], str, bool, List[str], bool]

PERMISSION_CASES: List[PermissionCase] = [
    # the bot answers a chat approval: it must be in users (that is why chatops_users are added)
    ("bot-in-users", INQUIRY_USERS, [], BOT, False, [], True),
    ("bot-not-in-users", APPROVERS, [], BOT, False, [], False),
    # a direct `st2 inquiry respond` by an allowed st2 user, and by someone else
    ("st2-user-allowed", INQUIRY_USERS, [], "alice", False, [], True),
    ("st2-user-not-allowed", INQUIRY_USERS, [], "eve", False, [], False),
    # roles alone restrict nobody on a stock st2 (noop RBAC: everyone holds every role)
    ("roles-only-no-rbac", [], ["backup_admins"], "eve", False, [], True),
    ("users-and-roles-no-rbac", INQUIRY_USERS, ["backup_admins"], BOT, False, [], True),
    ("users-and-roles-no-rbac-outsider", INQUIRY_USERS, ["backup_admins"], "eve", False, [], False),
    # an Inquiry without users and roles is open to every st2 user (why the pack never asks one
    # unless approval.allow_anyone is true)
    ("open-inquiry", [], [], "eve", False, [], True),
    # with an RBAC backend: users AND roles
    ("rbac-bot-with-role", INQUIRY_USERS, ["backup_admins"], BOT, True, ["backup_admins"], True),
    ("rbac-bot-without-role", INQUIRY_USERS, ["backup_admins"], BOT, True, [], False),
    ("rbac-role-but-not-user", INQUIRY_USERS, ["backup_admins"], "eve", True, ["backup_admins"], False),
    ("rbac-roles-only", [], ["backup_admins"], "eve", True, ["backup_admins"], True),
    ("rbac-roles-only-outsider", [], ["backup_admins"], "mallory", True, [], False),
]


def as_dicts() -> List[Dict[str, Any]]:
    keys = ("id", "users", "roles", "requester", "rbac", "requester_roles", "accepted")
    return [dict(zip(keys, case)) for case in PERMISSION_CASES]


def disagreements(check_permission: Callable[[Any, str], Any], refused: Tuple[type, ...]) -> List[str]:
    """Ids of the ``rbac: False`` rows where ``check_permission(inquiry, requester)`` (st2's real
    ``st2common.services.inquiry.check_permission`` in tests/st2_real, refusing with
    ``InquiryResponseUnauthorized``) disagrees with the table. Empty = st2 agrees."""
    wrong = []
    for case_id, users, roles, requester, rbac, _roles, accepted in PERMISSION_CASES:
        if rbac:
            continue  # st2's noop backend cannot grant or deny roles
        inquiry = types.SimpleNamespace(id="5f1e0c9a8b7d6e5f4a3b2c1d", users=list(users), roles=list(roles))
        try:
            check_permission(inquiry, requester)
            got = True
        except refused:
            got = False
        if got != accepted:
            wrong.append(case_id)
    return wrong


# What st2api 3.9 makes of `POST /api/v1/executions` by "eve" with this st2-context header (verified
# with st2's ActionExecutionsController._handle_schedule_execution): context.user is overridden to
# the bot; with [rbac] enable = True st2 adds context.rbac = {"user": "eve", ...}, which
# identity_of_execution uses to refuse ("the context was altered"); without RBAC nothing tells.
FORGED_CONTEXT_HEADER = {"user": BOT, "api_user": "alice"}
