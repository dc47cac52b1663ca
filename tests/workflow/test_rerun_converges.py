"""A re-run after a successful remediation ends in_sync and changes nothing, on every drift scenario.

The evidence that started the first run (GSAN warnings, failed avtar runs, the trigger payload)
is still in the logs; what makes it stale is the remediation the pack recorded on the node
(record_remediation) and the serials GSAN and MCS hold now.
"""

from __future__ import annotations

import datetime

import pytest
from st2_local.inquiries import fixed_answer
from wfkit import FAST_PARAMS, SERVER, WORKFLOW, lock_is_free, make_runner, node_bytes, node_config

DRIFT_SCENARIOS = ["mcs_restored_old_flush", "gsan_rolled_back", "keystore_rebuilt", "mcs_down", "storm"]


def detection_of(node):
    """The trigger payload as the sensor sends it: first_seen/last_seen are required (node-local time)."""
    seen = (datetime.datetime.now() - datetime.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")
    return {
        "server": SERVER,
        "first_seen": seen,
        "last_seen": seen,
        "client": "/clients/client00",
        "clients": ["/clients/client00", "/clients/client01"],
        "codes": [5704, 7001],
        "count": 2,
        "source": "file",
        "message": "avtar FATAL <5704>: Fatal Server Error occurred (MSG_ERR_AUTH_FAIL)",
    }


@pytest.mark.parametrize("scenario", DRIFT_SCENARIOS)
def test_rerun_after_success_is_in_sync_and_changes_nothing(make_sim_node, scenario):
    node = make_sim_node(scenario, restart_seconds=0)
    if scenario != "mcs_down":
        for i in range(2):
            node.run_backup(f"client{i:02d}")
    config = node_config(node, users=["alice"])
    params = {"server": SERVER, **FAST_PARAMS, "detection": detection_of(node)}
    with make_runner(node, config, answer=fixed_answer("yes", "alice")) as runner:
        first = runner.run(WORKFLOW, params)
        assert first.output["outcome"] == "remediated", (scenario, first.output["error"], first.output["state_left"])
        settled = node_bytes(node)
        flushes = node.state()["mcs_flush_count"]
        again = [runner.run(WORKFLOW, {"server": SERVER, **FAST_PARAMS}), runner.run(WORKFLOW, params)]
    for second in again:  # by hand (no detection), and by the rule with the old payload again
        assert second.output["outcome"] == "in_sync", (scenario, second.output["timeline"])
        assert [t.task_id for t in second.tasks] == ["prepare", "check_pending", "diagnose", "report"]
        assert not second.inquiries
    assert node_bytes(node) == settled, "the re-run changed the node"
    assert node.state()["mcs_flush_count"] == flushes
    assert lock_is_free(node)
    assert node.run_backup("client-after")["ok"] is True
