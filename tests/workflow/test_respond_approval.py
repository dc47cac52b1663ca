"""avamar.respond_approval against a local HTTP st2 API: who may approve, and what is sent."""

from __future__ import annotations

import os
from unittest import mock

from fake_st2_api import TOKEN, FakeSt2Api
from respond_approval import RespondApproval
from st2tests.base import BaseActionTestCase

INQ = "5f0c3a9e1b2c4d5e6f708192"


class RespondApprovalTest(BaseActionTestCase):
    action_cls = RespondApproval

    def setUp(self) -> None:
        super().setUp()
        self.api = FakeSt2Api().__enter__()
        self.addCleanup(self.api.__exit__, None, None, None)
        env = {"ST2_ACTION_API_URL": self.api.url, "ST2_ACTION_AUTH_TOKEN": TOKEN}
        patcher = mock.patch.dict(os.environ, env)
        patcher.start()
        self.addCleanup(patcher.stop)

    def run_action(self, config=None, **params):
        return self.get_action_instance(config=config or {}).run(**params)

    def test_allowed_user_approves_and_is_recorded(self):
        self.api.add_inquiry(INQ, users=["alice", "bob"])
        ok, result = self.run_action(inquiry_id=INQ, approved=True, approver="alice", reason="KB 000200098")
        self.assertTrue(ok, result)
        [put] = self.api.puts()
        self.assertEqual(put["path"], f"/v1/inquiries/{INQ}")
        self.assertEqual(put["body"], {"id": INQ, "response": {"approved": True, "approver": "alice",
                                                                "reason": "KB 000200098"}})
        self.assertEqual(result["allowed_by"], "user")
        self.assertIn("approved* by alice".replace("*", ""), result["message"].replace("*", ""))
        self.assertIn(INQ, result["message"])

    def test_user_outside_the_list_is_refused_and_nothing_is_sent(self):
        self.api.add_inquiry(INQ, users=["alice"])
        ok, result = self.run_action(inquiry_id=INQ, approved=True, approver="mallory")
        self.assertFalse(ok)
        self.assertEqual(self.api.puts(), [])
        self.assertEqual(result["error"]["step"], "check_approver")
        self.assertIn("mallory is not on the approvers list", result["error"]["reason"])
        self.assertIn("still pending", result["error"]["state_left"])
        self.assertEqual(self.api.inquiries[INQ]["response"], {})

    def test_rejection_by_a_role_holder(self):
        self.api.add_inquiry(INQ, roles=["backup_admins"])
        self.api.roles["carol"] = ["backup_admins"]
        ok, result = self.run_action(inquiry_id=INQ, approved=False, approver="carol", reason="change freeze")
        self.assertTrue(ok, result)
        self.assertEqual(result["allowed_by"], "role:backup_admins")
        self.assertEqual(self.api.puts()[0]["body"]["response"],
                         {"approved": False, "approver": "carol", "reason": "change freeze"})

    def test_roles_that_cannot_be_checked_refuse(self):
        self.api.add_inquiry(INQ, roles=["backup_admins"])
        self.api.rbac_enabled = False
        ok, result = self.run_action(inquiry_id=INQ, approved=True, approver="carol")
        self.assertFalse(ok)
        self.assertIn("cannot be checked", result["error"]["reason"])
        self.assertEqual(self.api.puts(), [])

    def test_inquiry_without_lists_falls_back_to_the_config(self):
        self.api.add_inquiry(INQ)
        config = {"approval": {"users": ["alice"]}}
        ok, result = self.run_action(config=config, inquiry_id=INQ, approved=True, approver="dave")
        self.assertFalse(ok)
        self.assertEqual(self.api.puts(), [])
        ok, result = self.run_action(config=config, inquiry_id=INQ, approved=True, approver="alice")
        self.assertTrue(ok, result)

    def test_open_inquiry_anyone_may_answer_as_in_stackstorm(self):
        self.api.add_inquiry(INQ)
        ok, result = self.run_action(inquiry_id=INQ, approved=True, approver="erin")
        self.assertTrue(ok, result)
        self.assertEqual(result["allowed_by"], "open")

    def test_answered_or_unknown_inquiry(self):
        ok, result = self.run_action(inquiry_id=INQ, approved=True, approver="alice")
        self.assertFalse(ok)
        self.assertIn("not found", result["error"]["reason"])

    def test_hostile_input_is_refused_before_any_request(self):
        for inquiry_id, approver in (("../../v1/actions", "alice"), (INQ, "alice; rm -rf /"), (INQ, "<!channel>")):
            ok, result = self.run_action(inquiry_id=inquiry_id, approved=True, approver=approver)
            self.assertFalse(ok)
            self.assertEqual(result["error"]["step"], "respond_approval")
        self.assertEqual(self.api.requests, [])

    def test_without_st2_environment_it_says_so(self):
        with mock.patch.dict(os.environ, {"ST2_ACTION_API_URL": "", "ST2_ACTION_AUTH_TOKEN": ""}):
            ok, result = self.run_action(inquiry_id=INQ, approved=True, approver="alice")
        self.assertFalse(ok)
        self.assertIn("ST2_ACTION_API_URL", result["error"]["reason"])
