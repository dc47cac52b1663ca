"""The pack's approval policy under st2's own Inquiry service (check_permission, validate_response).

st2api's ``PUT /api/v1/inquiries/<id>`` calls ``inquiry_service.check_permission(inquiry,
requester_user)``: the REQUESTER (the st2 user behind the token) must be in the Inquiry's
``users`` (when set) AND hold one of its ``roles`` (when set; on a StackStorm without an RBAC
backend every user holds every role). The requester of a chat answer is the chat bot's st2 user;
of ``st2 inquiry respond`` the person. These tests give st2 the Inquiry the pack's policy makes.
"""

from __future__ import annotations

import types
from typing import Any, Dict

import pytest
from avamar_pack.approval import ApprovalPolicy, inquiry_schema
from avamar_pack.schema_defaults import fill_like_st2
from conftest import BOT

EXAMPLE_APPROVAL = {"users": ["alice", "bob"], "roles": ["backup_admins"], "chatops_users": [BOT]}


def inquiry_for(approval: Dict[str, Any]) -> Any:
    """The users/roles the workflow's core.ask gets from this approval config."""
    policy = ApprovalPolicy.from_config(fill_like_st2({"servers": {}, "approval": approval}))
    return types.SimpleNamespace(id="5f1e0c9a8b7d6e5f4a3b2c1d", users=policy.inquiry_users(), roles=list(policy.roles))


def st2_accepts(inquiry: Any, requester: str) -> bool:
    from st2common.exceptions.inquiry import InquiryResponseUnauthorized
    from st2common.services import inquiry as inquiry_service

    try:
        inquiry_service.check_permission(inquiry, requester)
    except InquiryResponseUnauthorized:
        return False
    return True


@pytest.mark.parametrize("requester", [BOT, "alice", "bob"])
def test_st2_accepts_the_bot_and_the_approvers(st2: Any, requester: str) -> None:
    assert st2_accepts(inquiry_for(EXAMPLE_APPROVAL), requester)


@pytest.mark.parametrize("requester", ["eve", "admin", "stanley", "ALICE"])
def test_st2_refuses_everyone_else(st2: Any, requester: str) -> None:
    assert not st2_accepts(inquiry_for(EXAMPLE_APPROVAL), requester)


def test_roles_alone_restrict_nobody_on_stock_st2_so_the_policy_never_relies_on_them(st2: Any) -> None:
    # st2's noop RBAC backend: a roles-only Inquiry accepts any user
    assert st2_accepts(types.SimpleNamespace(id="x", users=[], roles=["backup_admins"]), "eve")
    # so a roles-only approval config must not give an Inquiry open to everyone
    policy = ApprovalPolicy.from_config(
        fill_like_st2({"servers": {}, "approval": {"roles": ["backup_admins"], "chatops_users": [BOT]}})
    )
    assert policy.inquiry_users() or policy.problem(), "roles-only config: an Inquiry every st2 user may answer"


def test_the_bot_alone_is_not_an_approver_list(st2: Any) -> None:
    """With no approvers, the Inquiry is never opened to the bot (and so to every chat user)."""
    inquiry = inquiry_for({"chatops_users": [BOT]})
    policy = ApprovalPolicy.from_config(fill_like_st2({"servers": {}, "approval": {"chatops_users": [BOT]}}))
    assert policy.problem(), "no approvers configured must be a problem the workflow reports"
    assert BOT not in inquiry.users


@pytest.mark.parametrize(
    "response, valid",
    [
        ({"approved": True, "approver": "alice", "via": "chat"}, True),
        ({"approved": False, "approver": "alice", "via": "st2", "reason": "change freeze"}, True),
        ({"approved": True}, True),
        ({}, False),
        ({"approved": "yes"}, False),
        ({"approved": True, "approver": "alice", "sudo": True}, False),
    ],
)
def test_st2_validates_answers_against_the_pack_inquiry_schema(st2: Any, response: Dict[str, Any], valid: bool) -> None:
    from st2common.exceptions.inquiry import InvalidInquiryResponse
    from st2common.services import inquiry as inquiry_service

    inquiry = types.SimpleNamespace(id="5f1e0c9a8b7d6e5f4a3b2c1d", schema=inquiry_schema())
    try:
        inquiry_service.validate_response(inquiry, dict(response))
    except InvalidInquiryResponse:
        assert not valid, f"st2 refused a valid answer {response}"
        return
    assert valid, f"st2 accepted an invalid answer {response}"


def test_st2s_check_permission_agrees_with_the_case_table_the_local_api_follows(st2: Any) -> None:
    """tests/lib/approval_cases.py: the same table runs against runner/st2_local's API."""
    import importlib.util

    from st2boot import REPO_ROOT
    from st2common.exceptions.inquiry import InquiryResponseUnauthorized
    from st2common.services import inquiry as inquiry_service

    spec = importlib.util.spec_from_file_location("approval_cases", f"{REPO_ROOT}/tests/lib/approval_cases.py")
    cases = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cases)
    assert cases.disagreements(inquiry_service.check_permission, (InquiryResponseUnauthorized,)) == []
    assert cases.disagreements(lambda inquiry, requester: None, (InquiryResponseUnauthorized,)) != []
