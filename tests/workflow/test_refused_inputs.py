"""Nonsensical inputs are refused before anything touches the node: the node stays byte-for-byte the same.

Two layers, both exercised through the local runner the way st2 schedules a run:
* st2's own parameter validation against the action metadata (types, bounds, patterns, unknown
  keys) refuses the request: no execution runs at all;
* what a schema cannot say (an unknown server, a test backup without a configured client, a
  detection about another server, a config nobody can approve under) fails the first task,
  ``prepare_remediation``, with a chat report and nothing after it.
"""

from __future__ import annotations

import pytest
from st2_local.inquiries import fixed_answer
from wfkit import SERVER, WORKFLOW, drifted, lock_is_free, make_runner, node_bytes, node_config

SCHEMA_NONSENSE = [
    {"mcs_restart_timeout": 0},
    {"mcs_restart_timeout": -1},
    {"mcs_restart_timeout": 59},
    {"mcs_restart_timeout": 10**15},
    {"mcs_restart_timeout": "fast"},
    {"mcs_restart_timeout": [900]},
    {"test_backup_timeout": -1},
    {"test_backup_timeout": 0},
    {"test_backup_timeout": 86401},
    {"serial_margin": 0},
    {"serial_margin": -1000},
    {"serial_margin": 10**18},
    {"serial_margin": "lots"},
    {"max_publickey_attempts": 0},
    {"max_publickey_attempts": -3},
    {"max_publickey_attempts": 1000},
    {"dry_run": "perhaps"},
    {"dry_run": 7},
    {"test_backup": "sometimes"},
    {"test_backup": {"x": 1}},
    {"notify_route": "general"},
    {"notify_route": ""},
    {"notify_route": "avamar\nother"},
    {"detection": "a string"},
    {"detection": [1, 2, 3]},
    {"detection": 5},
    {"server": ""},
    {"server": "ava01 && reboot"},
    {"server": "../../../etc"},
    {"server": 12},
    {"server": "{{ st2kv.system.secret }}"},
    # Unknown keys, among them the approval parameters that no longer exist: st2 refuses them.
    {"require_approval": False},
    {"approvers": ["eve"]},
    {"approver_roles": ["anyone"]},
    {"approval_ttl": 0},
    {"force": True},
]
SEMANTIC_NONSENSE = [
    ({"server": "ava02"}, None, "unknown server 'ava02'"),
    ({"server": "ava01", "detection": {"server": "ava02", "client": "c1"}}, None, "detection is about server 'ava02'"),
    ({"server": "ava01"}, "no_test_client", "test_backup.client is not configured"),
    ({"server": "ava01"}, "no_approvers", "no approvers configured"),
    ({"server": "ava01"}, "bad_margin_config", "remediation.serial_margin"),
]


def _config(node, variant):
    config = node_config(node, users=["alice"])
    if variant == "no_test_client":
        del config["servers"][SERVER]["test_backup"]
    elif variant == "no_approvers":
        config["approval"]["users"] = []
    elif variant == "bad_margin_config":
        config["remediation"]["serial_margin"] = 0
    return config


@pytest.fixture
def drifted_node(make_sim_node):
    return drifted(make_sim_node)


def test_st2_refuses_every_nonsense_before_any_execution(drifted_node):
    node = drifted_node
    before = node_bytes(node)
    with make_runner(node, _config(node, None), answer=fixed_answer("yes", "alice")) as runner:
        for bad in SCHEMA_NONSENSE:
            params = {"server": SERVER, **bad}
            with pytest.raises(ValueError):  # ParamException / ParameterValidationError
                runner.start(WORKFLOW, params)
            assert node_bytes(node) == before, bad
        assert not runner.runs, "a refused request must not become an execution"
    assert lock_is_free(node)


@pytest.mark.parametrize("params,variant,why", SEMANTIC_NONSENSE, ids=[s[2][:30] for s in SEMANTIC_NONSENSE])
def test_prepare_refuses_what_a_schema_cannot_say(drifted_node, params, variant, why):
    node = drifted_node
    before = node_bytes(node)
    with make_runner(node, _config(node, variant), answer=fixed_answer("yes", "alice")) as runner:
        run = runner.start(WORKFLOW, params)
        chat = runner.transcript.text()
    assert run.status == "failed"
    assert run.output["outcome"] == "failed"
    error = run.output["error"]
    assert (error["step"], error["action_step"]) == ("prepare_remediation", "validate_inputs")
    assert why in error["reason"]
    assert "nothing was read from or written to the node" in run.output["state_left"]
    assert [t.task_id for t in run.tasks] == ["prepare", "assess_failure", "after_failure", "report"]
    assert "FAILED at step `prepare_remediation`" in chat and why.split("'")[0] in chat
    assert node_bytes(node) == before
    assert lock_is_free(node)
