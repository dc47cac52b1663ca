"""avamar.check_pending_remediation: one pending approval per server, asked of st2 over HTTP.

Runs the action against the fake st2 API (runner/st2_local/st2_api.py, st2's semantics for
``GET /v1/executions?action=&status=``): a paused run of the same server means fold; a paused
run of another server, a running one, or the asking run itself does not.
"""

from __future__ import annotations

import json
import os
from unittest import mock

from avamar_pack.pending import WORKFLOW, fold_key, merge
from check_pending_remediation import CheckPendingRemediation
from st2tests.base import BaseActionTestCase
from wfkit import api_with_workflow


class CheckPendingTest(BaseActionTestCase):
    action_cls = CheckPendingRemediation

    def setUp(self) -> None:
        super().setUp()
        self.api, self.own = api_with_workflow(self, "running", parameters={"server": "ava01"})
        patcher = mock.patch.dict(os.environ, self.api.action_env(self.own))
        patcher.start()
        self.addCleanup(patcher.stop)
        self.action = self.get_action_instance(config={})

    def check(self, failures=None, server="ava01"):
        return self.action.run(server=server, execution_id=self.own, failures=failures)

    def paused_run(self, server="ava01", status="paused"):
        return self.api.add_execution(
            WORKFLOW,
            status=status,
            parameters={"server": server},
            context={"user": "stanley", "pack": "avamar"},
            runner="orquesta",
        )

    def test_nothing_pending(self):
        self.paused_run(server="ava02")
        self.paused_run(status="running")
        ok, result = self.check({"count": 2, "clients": ["c1"]})
        self.assertTrue(ok, result)
        self.assertFalse(result["pending"])
        self.assertIsNone(result["note"])

    def test_the_asking_run_is_not_its_own_pending_run(self):
        self.api.set_status(self.own, "paused")
        ok, result = self.check()
        self.assertTrue(ok)
        self.assertFalse(result["pending"])

    def test_a_paused_run_of_the_server_folds_and_totals_add_up(self):
        pending = self.paused_run()
        totals = []
        for failures in (
            {"count": 3, "clients": ["c1", "c2"]},
            {"count": 1, "clients": ["c2", "c3"]},
            {"count": 5, "clients": []},
        ):
            ok, result = self.check(failures)
            self.assertTrue(ok, result)
            self.assertTrue(result["pending"])
            self.assertEqual(result["pending_execution_id"], pending)
            totals.append(result["total"])
        self.assertEqual(totals[-1], {"count": 9, "clients": ["c1", "c2", "c3"], "runs": 3})
        stored = json.loads(self.action.action_service.get_value(fold_key("ava01", pending), local=True))
        self.assertEqual(stored, totals[-1])

    def test_st2_unreachable_goes_on_with_a_note(self):
        with mock.patch.dict(os.environ, {"ST2_ACTION_API_URL": "http://127.0.0.1:9/v1"}):
            ok, result = self.check()
        self.assertTrue(ok)
        self.assertFalse(result["pending"])
        self.assertIn("could not ask st2", result["note"])

    def test_a_bad_server_name_is_refused(self):
        ok, result = self.check(server="{{ x }}")
        self.assertFalse(ok)
        self.assertEqual(result["error"]["step"], "check_pending")


def test_merge_ignores_garbage_in_the_datastore():
    assert merge("not json data", {"count": 2, "clients": ["a"]}) == {"count": 2, "clients": ["a"], "runs": 1}
    assert merge({"count": "x", "clients": [1, "b"], "runs": None}, {"count": 1, "clients": ["b", "c"]}) == {
        "count": 1,
        "clients": ["b", "c"],
        "runs": 1,
    }
