"""avamar.respond_approval against the local st2 API: the identity st2 recorded, the policy, what is sent.

Each test builds the execution the way st2api 3.9 does (an alias execution requested by the chat
bot, an `st2 run` by an st2 user, a forged st2-context header) and runs the action with the
environment st2's Python runner gives it (its own execution id and a token of its st2 user).
"""

from __future__ import annotations

import os
from typing import Any, Dict, Optional
from unittest import mock

from avamar_pack import chat
from avamar_pack.approval import ApprovalPolicy, inquiry_schema
from respond_approval import RespondApproval
from st2tests.base import BaseActionTestCase
from wfkit import api_with_workflow

CONFIG = {"approval": {"users": ["alice", "bob"], "chatops_users": ["chatops_bot"], "roles": ["backup_admins"]}}
ACTION = "avamar.respond_approval"


class RespondApprovalTest(BaseActionTestCase):
    action_cls = RespondApproval

    def setUp(self) -> None:
        super().setUp()
        self.api, self.workflow = api_with_workflow(self, "paused")

    # -- helpers ----------------------------------------------------------------------------
    def ask(self, config: Optional[Dict[str, Any]] = None, **overrides: Any) -> str:
        """A pending Inquiry as the workflow creates it from the policy."""
        policy = ApprovalPolicy.from_config(config or CONFIG)
        spec = {
            "users": policy.inquiry_users(),
            "roles": list(policy.roles),
            "schema": inquiry_schema(),
            "route": policy.route,
            "ttl": policy.ttl_minutes,
        }
        spec.update(overrides)
        return self.api.add_inquiry(parent=self.workflow, **spec)

    def run_execution(self, execution_id: str, config: Optional[Dict[str, Any]] = None, env: Any = None):
        params = self.api.execution(execution_id)["parameters"]
        with mock.patch.dict(os.environ, env if env is not None else self.api.action_env(execution_id)):
            return self.get_action_instance(config=config or CONFIG).run(**params)

    def chat(self, params: Dict[str, Any], chat_user: str, bot: str = "chatops_bot", **kw: Any):
        execution = self.api.alias_execution(ACTION, params, requester=bot, api_user=chat_user)
        return self.run_execution(execution, **kw)

    def st2_run(self, params: Dict[str, Any], requester: str, **kw: Any):
        return self.run_execution(self.api.schedule_execution(ACTION, params, requester=requester), **kw)

    def assert_refused(self, result: Dict[str, Any], inquiry_id: str, step: str = "check_approver") -> None:
        self.assertEqual(result["error"]["step"], step, result)
        self.assertIn("still pending", result["error"]["state_left"])
        self.assertIn("still pending", result["message"])
        self.assertEqual(self.api.puts(), [])
        self.assertEqual(self.api.execution(inquiry_id)["status"], "pending")
        self.assertNotIn("resumed_by", self.api.execution(self.workflow)["context"])

    # -- chat ---------------------------------------------------------------------------------
    def test_an_allowed_chat_user_approves_and_is_recorded_as_the_chat_user(self):
        inquiry = self.ask()
        ok, result = self.chat({"inquiry_id": inquiry, "approved": True, "reason": "KB 000200098"}, "alice")
        self.assertTrue(ok, result)
        [put] = self.api.puts()
        self.assertEqual(put["path"], f"/v1/inquiries/{inquiry}")
        self.assertEqual(put["user"], "chatops_bot")  # st2 checks the bot's st2 user: it is in the Inquiry's users
        self.assertEqual(
            put["body"],
            {
                "id": inquiry,
                "response": {"approved": True, "approver": "alice", "via": "chat", "reason": "KB 000200098"},
            },
        )
        self.assertEqual((result["approver"], result["via"], result["st2_user"]), ("alice", "chat", "chatops_bot"))
        self.assertIn("approved by alice", result["message"])
        self.assertEqual(result["colour"], chat.GOOD)
        self.assertEqual(result["extra"]["slack"]["attachments"][0]["color"], chat.GOOD)
        workflow = self.api.execution(self.workflow)
        self.assertEqual((workflow["status"], workflow["context"]["resumed_by"]), ("resuming", "chatops_bot"))

    def test_a_chat_rejection_with_a_reason(self):
        inquiry = self.ask()
        ok, result = self.chat({"inquiry_id": inquiry, "approved": False, "reason": "change\x07 freeze"}, "bob")
        self.assertTrue(ok, result)
        self.assertEqual(
            self.api.puts()[0]["body"]["response"],
            {"approved": False, "approver": "bob", "via": "chat", "reason": "change  freeze"},
        )
        self.assertIn("rejected by bob", result["message"])
        self.assertEqual(result["colour"], chat.WARNING)

    def test_an_empty_reason_from_the_reject_alias_is_no_reason(self):
        inquiry = self.ask()
        ok, result = self.chat({"inquiry_id": inquiry, "approved": False, "reason": ""}, "bob")
        self.assertTrue(ok, result)
        self.assertNotIn("reason", self.api.puts()[0]["body"]["response"])

    def test_a_chat_user_outside_the_list_is_refused_and_nothing_is_sent(self):
        inquiry = self.ask()
        ok, result = self.chat({"inquiry_id": inquiry, "approved": True}, "mallory")
        self.assertFalse(ok)
        self.assert_refused(result, inquiry)
        self.assertIn("mallory is not on the approvers list", result["error"]["reason"])
        self.assertIn("mallory may not answer", result["message"])
        self.assertEqual(result["approver"], "mallory")

    def test_a_chat_user_is_trusted_only_from_the_bots_st2_user(self):
        # Any st2 user may POST /v1/aliasexecution naming any chat user: eve is not the bot.
        inquiry = self.ask()
        ok, result = self.chat({"inquiry_id": inquiry, "approved": True}, "alice", bot="eve")
        self.assertFalse(ok)
        self.assert_refused(result, inquiry)
        self.assertIn("eve is not on the approvers list", result["error"]["reason"])
        self.assertIn("not in approval.chatops_users", result["error"]["reason"])

    def test_without_chatops_users_a_chat_approval_says_how_to_fix_the_set_up(self):
        config = {"approval": {"users": ["alice"]}}
        inquiry = self.ask(config)
        ok, result = self.chat({"inquiry_id": inquiry, "approved": True}, "alice", config=config)
        self.assertFalse(ok)
        self.assert_refused(result, inquiry)
        self.assertIn("chatops_bot is not in approval.chatops_users", result["error"]["reason"])

    def test_the_bot_without_a_chat_user_is_refused(self):
        inquiry = self.ask()
        ok, result = self.chat({"inquiry_id": inquiry, "approved": True}, None)
        self.assertFalse(ok)
        self.assert_refused(result, inquiry)
        self.assertIn("without a chat user", result["error"]["reason"])

    def test_a_hostile_chat_user_name_is_refused(self):
        inquiry = self.ask()
        for name in ("<!channel>", "alice; rm -rf /", "$(id)"):
            ok, result = self.chat({"inquiry_id": inquiry, "approved": True}, name)
            self.assertFalse(ok)
            self.assert_refused(result, inquiry)
            self.assertNotIn("<!channel>", result["message"])

    # -- st2 run / st2 inquiry respond ---------------------------------------------------------
    def test_st2_run_by_an_allowed_st2_user_answers_as_that_user(self):
        inquiry = self.ask()
        ok, result = self.st2_run({"inquiry_id": inquiry, "approved": True}, requester="alice")
        self.assertTrue(ok, result)
        [put] = self.api.puts()
        self.assertEqual(put["user"], "alice")
        self.assertEqual(put["body"]["response"], {"approved": True, "approver": "alice", "via": "st2"})
        self.assertEqual(self.api.execution(self.workflow)["context"]["resumed_by"], "alice")

    def test_st2_run_by_someone_else_cannot_approve_as_alice(self):
        # There is no approver parameter any more, and the st2 user of the execution is eve.
        self.assertNotIn("approver", self.action_cls.run.__code__.co_varnames)
        inquiry = self.ask()
        ok, result = self.st2_run({"inquiry_id": inquiry, "approved": True}, requester="eve")
        self.assertFalse(ok)
        self.assert_refused(result, inquiry)
        self.assertIn("eve is not on the approvers list", result["error"]["reason"])

    def test_a_forged_st2_context_is_caught_when_rbac_records_the_real_user(self):
        self.api.rbac_enabled = True
        inquiry = self.ask()
        execution = self.api.schedule_execution(
            ACTION,
            {"inquiry_id": inquiry, "approved": True},
            requester="eve",
            context_header={"user": "chatops_bot", "api_user": "alice"},
        )
        self.assertEqual(self.api.execution(execution)["context"]["user"], "chatops_bot")  # st2 3.9 lets this through
        ok, result = self.run_execution(execution)
        self.assertFalse(ok)
        self.assert_refused(result, inquiry)
        self.assertIn("the context was altered", result["error"]["reason"])

    def test_st2_refusing_the_put_leaves_the_inquiry_pending(self):
        # An Inquiry whose users lack the bot (e.g. asked before chatops_users was configured): st2 says 403.
        inquiry = self.ask(users=["alice", "bob"])
        ok, result = self.chat({"inquiry_id": inquiry, "approved": True}, "alice")
        self.assertFalse(ok)
        self.assertEqual(result["error"]["step"], "respond_approval")
        self.assertIn("403", result["error"]["reason"])
        self.assertEqual(self.api.execution(inquiry)["status"], "pending")

    def test_roles_with_rbac_are_checked_by_st2_on_the_bot(self):
        self.api.rbac_enabled = True
        inquiry = self.ask()
        ok, result = self.chat({"inquiry_id": inquiry, "approved": True}, "alice")
        self.assertFalse(ok)
        self.assertIn("403", result["error"]["reason"])
        self.api.roles["chatops_bot"] = ["backup_admins"]
        ok, result = self.chat({"inquiry_id": inquiry, "approved": True}, "alice")
        self.assertTrue(ok, result)

    # -- policy --------------------------------------------------------------------------------
    def test_no_approvers_configured_means_nobody(self):
        config = {"approval": {"users": [], "chatops_users": ["chatops_bot"]}}
        inquiry = self.ask(config, users=["chatops_bot"])
        ok, result = self.chat({"inquiry_id": inquiry, "approved": True}, "alice", config=config)
        self.assertFalse(ok)
        self.assert_refused(result, inquiry)
        self.assertIn("no approvers configured", result["error"]["reason"])

    def test_allow_anyone_opens_it_explicitly(self):
        config = {"approval": {"allow_anyone": True, "chatops_users": ["chatops_bot"]}}
        inquiry = self.ask(config)
        ok, result = self.chat({"inquiry_id": inquiry, "approved": True}, "erin", config=config)
        self.assertTrue(ok, result)
        self.assertEqual(self.api.puts()[0]["body"]["response"]["approver"], "erin")

    def test_only_avamar_inquiries_are_answered(self):
        inquiry = self.ask(route="payroll")
        ok, result = self.chat({"inquiry_id": inquiry, "approved": True}, "alice")
        self.assertFalse(ok)
        self.assertIn("not an Avamar remediation approval", result["error"]["reason"])
        self.assertEqual(self.api.puts(), [])

    def test_an_answered_or_unknown_inquiry(self):
        inquiry = self.ask()
        self.assertTrue(self.chat({"inquiry_id": inquiry, "approved": True}, "alice")[0])
        ok, result = self.chat({"inquiry_id": inquiry, "approved": False}, "bob")
        self.assertFalse(ok)
        self.assertIn("already been responded to", result["error"]["reason"])
        ok, result = self.chat({"inquiry_id": "5f0c3a9e1b2c4d5e6f708192", "approved": True}, "alice")
        self.assertFalse(ok)
        self.assertIn("not found", result["error"]["reason"])
        self.assertEqual(len(self.api.puts()), 1)

    def test_an_expired_inquiry_cannot_be_answered(self):
        inquiry = self.ask()
        self.api.expire(inquiry)
        ok, result = self.chat({"inquiry_id": inquiry, "approved": True}, "alice")
        self.assertFalse(ok)
        self.assertIn("timed out", result["error"]["reason"])
        self.assertEqual(self.api.puts(), [])

    # -- input and environment -----------------------------------------------------------------
    def test_hostile_input_is_refused_before_any_request(self):
        execution = self.api.alias_execution(ACTION, {}, requester="chatops_bot", api_user="alice")
        env = self.api.action_env(execution)
        for params in (
            {"inquiry_id": "../../v1/actions", "approved": True},
            {"inquiry_id": "5f0c3a9e1b2c4d5e6f708192;id", "approved": True},
            {"inquiry_id": 5, "approved": True},
            {"inquiry_id": "5f0c3a9e1b2c4d5e6f708192", "approved": "yes"},
            {"inquiry_id": "5f0c3a9e1b2c4d5e6f708192", "approved": True, "reason": {"x": 1}},
        ):
            with mock.patch.dict(os.environ, env):
                ok, result = self.get_action_instance(config=CONFIG).run(**params)
            self.assertFalse(ok)
            self.assertEqual(result["error"]["step"], "respond_approval")
        self.assertEqual(self.api.requests, [])

    def test_without_st2_environment_it_says_so(self):
        inquiry = self.ask()
        execution = self.api.alias_execution(
            ACTION, {"inquiry_id": inquiry, "approved": True}, requester="chatops_bot", api_user="alice"
        )
        ok, result = self.run_execution(
            execution, env={"ST2_ACTION_API_URL": "", "ST2_ACTION_AUTH_TOKEN": "", "ST2_ACTION_EXECUTION_ID": ""}
        )
        self.assertFalse(ok)
        self.assertIn("ST2_ACTION_API_URL", result["error"]["reason"])
        env = dict(self.api.action_env(execution), ST2_ACTION_EXECUTION_ID="")
        ok, result = self.run_execution(execution, env=env)
        self.assertFalse(ok)
        self.assertIn("ST2_ACTION_EXECUTION_ID", result["error"]["reason"])
        self.assertEqual(self.api.puts(), [])

    def test_an_unreachable_api_fails_without_answering(self):
        env = {
            "ST2_ACTION_API_URL": "http://127.0.0.1:9/v1",
            "ST2_ACTION_AUTH_TOKEN": "x",
            "ST2_ACTION_EXECUTION_ID": "5f0c3a9e1b2c4d5e6f708192",
        }
        with mock.patch.dict(os.environ, env):
            ok, result = self.get_action_instance(config=CONFIG).run(
                inquiry_id="5f0c3a9e1b2c4d5e6f708193", approved=True
            )
        self.assertFalse(ok)
        self.assertIn("unreachable", result["error"]["reason"])
        self.assertNotIn("x", result["error"]["reason"].split("unreachable")[1].split())
