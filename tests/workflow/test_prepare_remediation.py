"""avamar.prepare_remediation: every workflow input checked, the rest resolved from the config.

The action opens no transport; a refusal names step ``validate_inputs`` and says nothing was
touched. The same bounds are in the workflow's metadata (test_workflow_definition checks that).
"""

from __future__ import annotations

import copy

import pytest
from avamar_pack.errors import ValidationError
from avamar_pack.remediation_request import BOUNDS, clean_detection, defuse, failures_of, prepare
from avamar_pack.schema_defaults import fill_like_st2
from prepare_remediation import PrepareRemediation
from st2_local.sim_pack_config import SERVER, sim_pack_config
from st2tests.base import BaseActionTestCase


def config(**changes):
    base = sim_pack_config(
        "/tmp/ava01-root",
        approval={"users": ["alice"], "chatops_users": ["chatops_bot"], "ttl_minutes": 30, "route": "avamar"},
        remediation={"serial_margin": 2000, "max_publickey_attempts": 5},
    )
    for key, value in changes.items():
        base[key] = value
    return fill_like_st2(base)


class PrepareRemediationTest(BaseActionTestCase):
    action_cls = PrepareRemediation

    def run_action(self, cfg=None, **params):
        params.setdefault("server", SERVER)
        return self.get_action_instance(config=cfg or config()).run(**params)

    def test_resolves_unset_values_from_the_config(self):
        ok, result = self.run_action()
        self.assertTrue(ok, result)
        self.assertEqual(result["serial_margin"], 2000)
        self.assertEqual(result["max_publickey_attempts"], 5)
        self.assertEqual((result["mcs_restart_timeout"], result["test_backup_timeout"]), (900, 3600))
        self.assertEqual(result["route"], "avamar")
        self.assertEqual(result["policy"]["inquiry_users"], ["alice", "chatops_bot"])
        self.assertEqual(result["policy"]["ttl_minutes"], 30)
        self.assertTrue(result["approval_required"])
        self.assertTrue(result["flush_mcs"])
        self.assertEqual(
            result["srl_path"], "/tmp/ava01-root/usr/local/avamar/var/mc/server_data/prefs/sessionticket.srl"
        )
        self.assertEqual(result["detection"], {})

    def test_given_values_win_within_bounds(self):
        ok, result = self.run_action(
            serial_margin=50,
            max_publickey_attempts=20,
            mcs_restart_timeout=60,
            test_backup_timeout=86400,
            notify_route="avamar-prod",
        )
        self.assertTrue(ok, result)
        self.assertEqual((result["serial_margin"], result["max_publickey_attempts"]), (50, 20))
        self.assertEqual(result["route"], "avamar-prod")

    def test_a_refusal_names_the_step_and_that_nothing_was_touched(self):
        ok, result = self.run_action(mcs_restart_timeout=0)
        self.assertFalse(ok)
        self.assertEqual(result["error"]["step"], "validate_inputs")
        self.assertIn("mcs_restart_timeout 0 is outside 60..86400", result["error"]["reason"])
        self.assertEqual(result["error"]["state_left"], "nothing was read from or written to the node")
        self.assertEqual(result["route"], "avamar")

    def test_a_bad_route_reports_to_the_configured_one(self):
        ok, result = self.run_action(notify_route="general")
        self.assertFalse(ok)
        self.assertIn("must start with 'avamar'", result["error"]["reason"])
        self.assertEqual(result["route"], "avamar")

    def test_test_backup_needs_a_configured_client(self):
        cfg = config(servers={SERVER: {"transport": "local", "avamar_root": "/tmp/x"}})
        ok, result = self.run_action(cfg)
        self.assertFalse(ok)
        self.assertIn("test_backup.client is not configured", result["error"]["reason"])
        ok, result = self.run_action(cfg, test_backup=False)
        self.assertTrue(ok, result)
        self.assertIsNone(result["test_client"])

    def test_an_unsatisfiable_approval_policy_is_refused_unless_dry_run(self):
        cfg = config(approval={"users": [], "route": "avamar"})
        ok, result = self.run_action(cfg)
        self.assertFalse(ok)
        self.assertIn("no approvers configured", result["error"]["reason"])
        ok, result = self.run_action(cfg, dry_run=True)
        self.assertTrue(ok, result)
        self.assertTrue(result["policy"]["problem"])

    def test_approval_not_required_comes_from_the_config_only(self):
        ok, result = self.run_action(config(approval={"required": False, "users": []}))
        self.assertTrue(ok, result)
        self.assertFalse(result["approval_required"])


# -- the refusals, one by one (lib level: same function) ----------------------------------------
NONSENSE = [
    {"server": ""},
    {"server": "ava02"},
    {"server": "../../etc"},
    {"server": "{{ st2kv.system.x }}"},
    {"server": 7},
    {"server": None},
    {"dry_run": "maybe"},
    {"dry_run": 1},
    {"test_backup": "yes please"},
    {"serial_margin": 0},
    {"serial_margin": -1},
    {"serial_margin": 10**12},
    {"serial_margin": "ten"},
    {"serial_margin": 1.5},
    {"serial_margin": True},
    {"max_publickey_attempts": 0},
    {"max_publickey_attempts": 21},
    {"max_publickey_attempts": -6},
    {"max_publickey_attempts": [6]},
    {"mcs_restart_timeout": 0},
    {"mcs_restart_timeout": -1},
    {"mcs_restart_timeout": 59},
    {"mcs_restart_timeout": 10**9},
    {"mcs_restart_timeout": "900s"},
    {"test_backup_timeout": -1},
    {"test_backup_timeout": 0},
    {"test_backup_timeout": 86401},
    {"test_backup_timeout": {"s": 1}},
    {"notify_route": "general"},
    {"notify_route": "avamar; rm -rf /"},
    {"notify_route": 5},
    {"detection": "not an object"},
    {"detection": [1, 2]},
    {"detection": {"server": "ava02", "client": "c1"}},
    {"detection": 42},
]


@pytest.mark.parametrize("bad", NONSENSE, ids=[repr(b)[:50] for b in NONSENSE])
def test_nonsense_is_refused(bad):
    params = {"server": SERVER, **bad}
    with pytest.raises(ValidationError):
        prepare(config(), params)


def test_every_bound_is_enforced_at_both_ends():
    for name, (low, high) in BOUNDS.items():
        for value in (low - 1, high + 1):
            with pytest.raises(ValidationError, match=name):
                prepare(config(), {"server": SERVER, name: value})
        for value in (low, high):
            assert prepare(config(), {"server": SERVER, name: value})[name] == value


def test_a_bad_config_is_refused_before_anything():
    for bad in (
        {"remediation": {"serial_margin": 0}},
        {"approval": {"ttl_minutes": 0, "users": ["a"]}},
        {"approval": {"route": "ops", "users": ["a"]}},
    ):
        cfg = copy.deepcopy(config())
        for key, value in bad.items():
            cfg[key] = value
        with pytest.raises(ValidationError):
            prepare(cfg, {"server": SERVER})


# -- detection: untrusted, kept typed and inert -----------------------------------------------------
def test_detection_keeps_known_fields_typed_and_defused():
    payload = {
        "server": SERVER,
        "client": "{{ st2kv.system.secret }}",
        "clients": ["a", "{%b", 3],
        "codes": [5704, "5704", True, 7001],
        "count": 3,
        "message": "x" * 5000,
        "ticket": {"serial": 1, "seq": "0"},
        "unexpected": {"nested": "{{ x }}"},
        "activities": [{"id": 7, "client": "/clients/c{{", "minutes": 95, "evil": "{{"}],
    }
    clean = clean_detection(payload, SERVER)
    assert "unexpected" not in clean
    assert clean["codes"] == [5704, 7001]
    assert clean["clients"] == ["a", "{ %b"]
    assert len(clean["message"]) == 500
    assert clean["activities"] == [{"id": "7", "client": "/clients/c{ {", "minutes": 95}]
    assert "{{" not in repr(clean) and "{%" not in repr(clean)
    assert failures_of(clean) == {"count": 3, "clients": ["{ { st2kv.system.secret }}", "a", "{ %b", "/clients/c{ {"]}


def test_defuse_leaves_no_template_marker_whatever_the_braces():
    for text in ("{{{{", "{%{%{", "{{%", "a{\x00{b", "{" * 101):
        assert "{{" not in defuse(text) and "{%" not in defuse(text)


def test_a_stalled_backup_detection_counts_its_activities():
    clean = clean_detection(
        {
            "server": SERVER,
            "source": "mcs",
            "activities": [
                {"id": "9000001", "client": "/c1", "minutes": 61},
                {"id": "9000002", "client": "/c2", "minutes": 75},
            ],
        },
        SERVER,
    )
    assert failures_of(clean) == {"count": 2, "clients": ["/c1", "/c2"]}
