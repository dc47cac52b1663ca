"""lib/avamar_pack/approval.py and st2api.py: the policy, identities, the confirmation, the API client.

The st2 side is the local st2 API (runner/st2_local/st2_api.py), which follows st2 3.9's
semantics; approval_cases.py holds the check_permission table that tests/st2_real also runs
through st2's real code.
"""

from __future__ import annotations

import os
from typing import Any, Dict

import pytest
from approval_cases import PERMISSION_CASES
from avamar_pack.approval import ApprovalPolicy, IdentityUnknown, identity_of_execution, inquiry_schema
from avamar_pack.approval_confirm import confirm_answer, confirm_approval
from avamar_pack.errors import ConfigError
from avamar_pack.st2api import LIVE_STATUSES, St2Api, St2ApiError, execution_is_live
from st2_local.st2_api import ApiAnswer, FakeSt2Api, validate_inquiry_response

POLICY = ApprovalPolicy.from_config(
    {"approval": {"users": ["alice", "bob"], "chatops_users": ["chatops_bot"], "roles": ["backup_admins"]}}
)


@pytest.fixture
def api():
    with FakeSt2Api() as fake:
        yield fake


def client(fake: FakeSt2Api, user: str = "stanley") -> St2Api:
    return St2Api(fake.url, auth_token=fake.token_for(user))


# -- ApprovalPolicy ----------------------------------------------------------------------------
def test_defaults_require_approval_by_nobody_until_configured():
    policy = ApprovalPolicy.from_config({})
    assert policy.required is True and policy.allow_anyone is False
    assert (policy.ttl_minutes, policy.route) == (60, "avamar")
    assert policy.inquiry_users() == []
    assert "no approvers configured" in policy.problem()
    assert policy.refusal("alice") and policy.refusal("anyone")


def test_st2_filled_schema_defaults_read_as_not_set():
    # st2's config loader fills [] for arrays and the schema defaults for the rest.
    policy = ApprovalPolicy.from_config(
        {
            "approval": {
                "users": [],
                "roles": [],
                "chatops_users": [],
                "allow_anyone": False,
                "required": True,
                "ttl_minutes": 60,
                "route": "avamar",
            }
        }
    )
    assert policy.problem() is not None


def test_inquiry_users_add_the_bot_so_st2_accepts_its_answer():
    assert POLICY.inquiry_users() == ["alice", "bob", "chatops_bot"]
    assert POLICY.problem() is None
    assert POLICY.refusal("alice") is None and POLICY.refusal("bob") is None
    assert "eve is not on the approvers list" in POLICY.refusal("eve")
    # the bot's own st2 user is no approver: it only vouches for chat users
    assert POLICY.refusal("chatops_bot") is not None


def test_roles_alone_are_never_the_allow_list():
    policy = ApprovalPolicy.from_config({"approval": {"roles": ["backup_admins"], "chatops_users": ["chatops_bot"]}})
    assert "no approvers configured" in policy.problem()
    assert policy.refusal("anyone") is not None
    assert any("restricts nobody" in note for note in policy.notes())


def test_allow_anyone_must_be_explicit():
    policy = ApprovalPolicy.from_config({"approval": {"allow_anyone": True}})
    assert policy.problem() is None and policy.refusal("erin") is None
    assert policy.inquiry_users() == []
    assert any("allow_anyone" in note for note in policy.notes())
    # with users configured, users decide
    policy = ApprovalPolicy.from_config({"approval": {"allow_anyone": True, "users": ["alice"]}})
    assert policy.refusal("erin") is not None and policy.inquiry_users() == ["alice"]


def test_not_required_has_no_problem():
    assert ApprovalPolicy.from_config({"approval": {"required": False}}).problem() is None


@pytest.mark.parametrize(
    "approval, message",
    [
        ({"ttl_minutes": 0}, "ttl_minutes"),
        ({"ttl_minutes": -5}, "ttl_minutes"),
        ({"ttl_minutes": "60"}, "ttl_minutes"),
        ({"ttl_minutes": True}, "ttl_minutes"),
        ({"ttl_minutes": 10**6}, "ttl_minutes"),
        ({"route": "backups"}, "must start with 'avamar'"),
        ({"route": "avamar prod"}, "must start with 'avamar'"),
        ({"route": 'avamar"}'}, "must start with 'avamar'"),
        ({"users": "alice"}, "list of user names"),
        ({"users": ["<!channel>"]}, "not a valid user name"),
        ({"chatops_users": [""]}, "not a valid user name"),
        ({"roles": [1]}, "roles"),
        ({"required": "no"}, "true or false"),
        ({"allow_anyone": "yes"}, "true or false"),
    ],
)
def test_bad_config_is_refused(approval, message):
    with pytest.raises(ConfigError, match=message):
        ApprovalPolicy.from_config({"approval": approval})


def test_as_dict_is_what_the_workflow_asks_with():
    as_dict = POLICY.as_dict()
    assert as_dict["inquiry_users"] == ["alice", "bob", "chatops_bot"]
    assert as_dict["roles"] == ["backup_admins"] and as_dict["problem"] is None
    assert as_dict["schema"] == inquiry_schema()
    for key in ("required", "users", "roles", "inquiry_users", "ttl_minutes", "route", "problem"):
        assert key in as_dict


def test_the_schema_accepts_what_respond_approval_sends_and_st2_inquiry_respond_sends():
    schema = inquiry_schema()
    validate_inquiry_response(schema, {"approved": True, "approver": "alice", "via": "chat", "reason": "KB"})
    validate_inquiry_response(schema, {"approved": False})
    for bad in ({}, {"approved": "yes"}, {"approved": True, "via": "email"}, {"approved": True, "extra": 1}):
        with pytest.raises(ValueError, match="schema validation"):
            validate_inquiry_response(schema, bad)


# -- identity_of_execution ----------------------------------------------------------------------
def execution(**context: Any) -> Dict[str, Any]:
    return {"id": "5f0c3a9e1b2c4d5e6f708192", "context": context}


def test_chat_identity_only_through_the_bot():
    identity = identity_of_execution(execution(user="chatops_bot", api_user="alice"), POLICY)
    assert (identity.name, identity.via, identity.st2_user) == ("alice", "chat", "chatops_bot")
    identity = identity_of_execution(execution(user="eve", api_user="alice"), POLICY)
    assert (identity.name, identity.via) == ("eve", "st2")


def test_st2_identity_is_context_user():
    identity = identity_of_execution(execution(user="alice", pack="avamar"), POLICY)
    assert (identity.name, identity.via, identity.st2_user) == ("alice", "st2", "alice")


@pytest.mark.parametrize(
    "context, message",
    [
        ({}, "no valid st2 user"),
        ({"user": ""}, "no valid st2 user"),
        ({"user": "a b"}, "no valid st2 user"),
        ({"user": "chatops_bot"}, "without a chat user"),
        ({"user": "chatops_bot", "api_user": "<!here>"}, "not a valid"),
        ({"user": "chatops_bot", "api_user": "alice", "rbac": {"user": "eve", "roles": []}}, "context was altered"),
    ],
)
def test_identity_in_doubt(context, message):
    with pytest.raises(IdentityUnknown, match=message):
        identity_of_execution(execution(**context), POLICY)
    with pytest.raises(IdentityUnknown):
        identity_of_execution({"id": "x"}, POLICY)


def test_rbac_context_that_agrees_is_fine():
    identity = identity_of_execution(execution(user="alice", rbac={"user": "alice", "roles": []}), POLICY)
    assert identity.name == "alice"


def test_without_rbac_a_forged_context_header_cannot_be_told_apart(api):
    """Documented limit (docs/APPROVAL.md): st2 3.9 merges the st2-context header after setting
    context.user, and without RBAC nothing else records the real requester."""
    forged = api.schedule_execution(
        "avamar.respond_approval", {}, requester="eve", context_header={"user": "chatops_bot", "api_user": "alice"}
    )
    assert identity_of_execution(api.execution(forged), POLICY).name == "alice"
    api.rbac_enabled = True
    forged = api.schedule_execution(
        "avamar.respond_approval", {}, requester="eve", context_header={"user": "chatops_bot", "api_user": "alice"}
    )
    with pytest.raises(IdentityUnknown, match="context was altered"):
        identity_of_execution(api.execution(forged), POLICY)


# -- confirm_answer / confirm_approval -----------------------------------------------------------
def workflow(resumed_by: Any = None) -> Dict[str, Any]:
    context: Dict[str, Any] = {"user": "stanley"}
    if resumed_by is not None:
        context["resumed_by"] = resumed_by
    return {"id": "5f0c3a9e1b2c4d5e6f708192", "status": "running", "context": context}


def test_confirm_a_chat_approval_names_the_chat_user():
    verdict = confirm_answer(workflow("chatops_bot"), {"approved": True, "approver": "alice", "via": "chat"}, POLICY)
    assert verdict["approved"] is True and verdict["refused_reason"] is None
    assert (verdict["approver"], verdict["via"], verdict["resumed_by"]) == ("alice", "chat", "chatops_bot")


def test_confirm_a_direct_answer_names_the_st2_user_whatever_the_response_says():
    verdict = confirm_answer(workflow("bob"), {"approved": True, "approver": "alice"}, POLICY)
    assert (verdict["approved"], verdict["approver"], verdict["via"]) == (True, "bob", "st2")
    verdict = confirm_answer(workflow("eve"), {"approved": True, "approver": "alice"}, POLICY)
    assert verdict["approved"] is False and verdict["approver"] == "eve"
    assert "eve is not on the approvers list" in verdict["refused_reason"]
    assert verdict["answered_approved"] is True


def test_confirm_a_rejection():
    verdict = confirm_answer(
        workflow("chatops_bot"), {"approved": False, "approver": "bob", "reason": "freeze"}, POLICY
    )
    assert verdict["approved"] is False and verdict["refused_reason"] is None
    assert (verdict["approver"], verdict["reason"], verdict["answered_approved"]) == ("bob", "freeze", False)


@pytest.mark.parametrize(
    "wf, response, message",
    [
        (workflow(None), {"approved": True, "approver": "alice"}, "no valid resumed_by"),
        (workflow(""), {"approved": True}, "no valid resumed_by"),
        (workflow("chatops_bot"), {"approved": True}, "without a valid chat approver"),
        (workflow("chatops_bot"), {"approved": True, "approver": "mallory"}, "mallory is not on the approvers list"),
        (workflow("chatops_bot"), {"approved": True, "approver": "<!channel>"}, "without a valid chat approver"),
        (workflow("alice"), {"approved": "yes"}, "no boolean 'approved'"),
        (workflow("alice"), None, "no boolean 'approved'"),
        ({}, {"approved": True}, "no valid resumed_by"),
    ],
)
def test_confirm_fails_closed(wf, response, message):
    verdict = confirm_answer(wf, response, POLICY)
    assert verdict["approved"] is False
    assert message in verdict["refused_reason"]


def test_confirm_approval_reads_st2_and_fails_closed_when_it_cannot(api):
    wf = api.add_execution(
        "avamar.remediate_session_tickets", status="paused", runner="orquesta", context={"user": "stanley"}
    )
    inquiry = api.add_inquiry(parent=wf, users=POLICY.inquiry_users(), schema=inquiry_schema())
    api.respond(inquiry, {"approved": True, "approver": "alice", "via": "chat"}, requester="chatops_bot")
    verdict = confirm_approval(client(api), wf, {"approved": True, "approver": "alice", "via": "chat"}, POLICY)
    assert (verdict["approved"], verdict["approver"]) == (True, "alice")
    unreachable = St2Api("http://127.0.0.1:9/v1", auth_token="t")
    verdict = confirm_approval(unreachable, wf, {"approved": True, "approver": "alice"}, POLICY)
    assert verdict["approved"] is False and "unreachable" in verdict["refused_reason"]
    verdict = confirm_approval(client(api), "5f0c3a9e1b2c4d5e6f708192", {"approved": True}, POLICY)
    assert verdict["approved"] is False and "not found" in verdict["refused_reason"]
    verdict = confirm_approval(client(api), "../executions", {"approved": True}, POLICY)
    assert verdict["approved"] is False and "not an st2 id" in verdict["refused_reason"]


# -- st2's check_permission, as the local API applies it -----------------------------------------
@pytest.mark.parametrize("case", PERMISSION_CASES, ids=[c[0] for c in PERMISSION_CASES])
def test_check_permission_like_st2(api, case):
    _, users, roles, requester, rbac, requester_roles, accepted = case
    api.rbac_enabled = rbac
    api.roles[requester] = list(requester_roles)
    inquiry = api.add_inquiry(users=users, roles=roles, schema=inquiry_schema())
    if accepted:
        api.respond(inquiry, {"approved": True}, requester=requester)
        assert api.execution(inquiry)["status"] == "succeeded"
    else:
        with pytest.raises(ApiAnswer) as refused:
            api.respond(inquiry, {"approved": True}, requester=requester)
        assert refused.value.code == 403
        assert api.execution(inquiry)["status"] == "pending"


def test_resumed_by_is_recorded_only_on_a_paused_parent(api):
    running = api.add_execution("avamar.remediate_session_tickets", status="running", runner="orquesta")
    inquiry = api.add_inquiry(parent=running, schema=inquiry_schema())
    api.respond(inquiry, {"approved": True}, requester="alice")
    assert "resumed_by" not in api.execution(running)["context"]  # st2 resumes only paused workflows


# -- St2Api over HTTP -----------------------------------------------------------------------------
def test_st2api_reads_executions_and_lists_by_status(api):
    paused = api.add_execution(
        "avamar.remediate_session_tickets", status="paused", parameters={"server": "ava01"}, runner="orquesta"
    )
    running = api.add_execution("avamar.remediate_session_tickets", status="running", runner="orquesta")
    api.add_execution("avamar.remediate_session_tickets", status="succeeded", runner="orquesta")
    api.add_execution("avamar.diagnose_session_tickets", status="running")
    st2 = client(api)
    assert st2.get_execution(paused)["parameters"] == {"server": "ava01"}
    found = st2.list_executions("avamar.remediate_session_tickets", ["paused", "running"])
    assert sorted(e["id"] for e in found) == sorted([paused, running])
    # one request per status: st2's status filter takes a single value
    statuses = [r["query"].get("status") for r in api.requests if r["path"] == "/v1/executions"]
    assert statuses == [["paused"], ["running"]]
    assert execution_is_live(st2, paused) is True
    api.set_status(paused, "canceled")
    assert execution_is_live(st2, paused) is False
    assert execution_is_live(st2, "5f0c3a9e1b2c4d5e6f708192") is False  # st2 never forgets a live one
    assert execution_is_live(St2Api("http://127.0.0.1:9/v1", auth_token="t"), running) is None
    assert set(LIVE_STATUSES) >= {"paused", "pending", "running", "scheduled", "delayed"}


def test_st2api_inquiry_calls_and_errors(api):
    inquiry = api.add_inquiry(users=["alice"], schema=inquiry_schema())
    assert client(api, "alice").get_inquiry(inquiry)["users"] == ["alice"]
    with pytest.raises(St2ApiError) as refused:
        client(api, "eve").respond_inquiry(inquiry, {"approved": True})
    assert refused.value.status == 403 and "does not have permission" in str(refused.value)
    with pytest.raises(St2ApiError) as bad:
        client(api, "alice").respond_inquiry(inquiry, {"approved": "yes"})
    assert bad.value.status == 400
    assert client(api, "alice").respond_inquiry(inquiry, {"approved": True})["response"] == {"approved": True}
    with pytest.raises(St2ApiError) as again:
        client(api, "alice").get_inquiry(inquiry)
    assert again.value.status == 400 and "already been responded" in str(again.value)
    with pytest.raises(St2ApiError) as unauthorised:
        St2Api(api.url, auth_token="not-a-token").get_inquiry(inquiry)
    assert unauthorised.value.status == 401
    with pytest.raises(St2ApiError) as hostile:
        client(api).get_inquiry("../../v1/actions")
    assert hostile.value.status == 400 and api.requests[-1]["path"] != "/v1/actions"


def test_st2api_from_env_and_errors_never_show_the_token(api):
    env = api.action_env(api.add_execution("avamar.respond_approval", context={"user": "alice"}))
    st2 = St2Api.from_env(env)
    assert St2Api.current_execution_id(env) == env["ST2_ACTION_EXECUTION_ID"]
    assert St2Api.current_execution_id({}) is None
    assert st2.get_execution(env["ST2_ACTION_EXECUTION_ID"])["context"]["user"] == "alice"
    with pytest.raises(St2ApiError, match="ST2_ACTION_API_URL"):
        St2Api.from_env({})
    with pytest.raises(St2ApiError, match="ST2_ACTION_AUTH_TOKEN"):
        St2Api.from_env({"ST2_ACTION_API_URL": api.url})
    token = env["ST2_ACTION_AUTH_TOKEN"]
    with pytest.raises(St2ApiError) as down:
        St2Api("http://127.0.0.1:9/v1", auth_token=token).get_execution("5f0c3a9e1b2c4d5e6f708192")
    assert down.value.unreachable and token not in str(down.value)
    assert os.environ.get("ST2_ACTION_AUTH_TOKEN") != token


# -- the local runner's answerers answer through the API, as st2 inquiry respond would -----------
def test_fixed_answers_go_through_the_api_as_the_approver(api):
    from st2_local.inquiries import Inquiry, InvalidResponse, answer_from_api, fixed_answer

    wf = api.add_execution("avamar.remediate_session_tickets", status="paused", runner="orquesta")
    iid = api.add_inquiry(parent=wf, users=POLICY.inquiry_users(), schema=inquiry_schema())
    inquiry = Inquiry(id=iid, schema=inquiry_schema(), users=POLICY.inquiry_users(), api=api)
    with pytest.raises(InvalidResponse, match="403"):
        fixed_answer("yes", "mallory")(inquiry)
    assert api.execution(iid)["status"] == "pending"
    assert fixed_answer("no", "bob", reason="freeze")(inquiry) == {
        "approved": False,
        "approver": "bob",
        "reason": "freeze",
    }
    assert api.execution(wf)["context"]["resumed_by"] == "bob"
    assert answer_from_api(0.1)(inquiry) == {"approved": False, "approver": "bob", "reason": "freeze"}
    other = Inquiry(id=api.add_inquiry(parent=wf, schema=inquiry_schema()), schema=inquiry_schema(), api=api)
    assert answer_from_api(0.1)(other) is None  # nobody answered: it expires


def test_the_case_table_runner_that_tests_st2_real_uses(api):
    from approval_cases import disagreements

    def fake_check(inquiry: Any, requester: str) -> None:
        api.check_permission({"id": inquiry.id, "result": {"users": inquiry.users, "roles": inquiry.roles}}, requester)

    assert disagreements(fake_check, (ApiAnswer,)) == []
    assert disagreements(lambda inquiry, requester: None, (ApiAnswer,)) != []  # it does catch a lax check
