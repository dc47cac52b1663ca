"""The agentless scene of the demo (`python -m st2_local.demo_agentless --answer yes`), as a user runs it.

No client log reaches the sensor; the drift is seen from the server in one poll, the rule starts the
workflow, the approval is given in chat, the node is remediated; a hung backup gives one
backup_stalled, which the pack's rule sends to the read-only diagnosis.
"""

from __future__ import annotations

import os
import subprocess
import sys

from st2_local.pack_loader import PACK_ROOT

DEMO_TIMEOUT_S = 240


def test_agentless_scene_remediates_through_the_rule_and_the_approval_gate():
    env = {k: v for k, v in os.environ.items() if k != "APPROVE"}
    paths = [os.path.join(PACK_ROOT, sub) for sub in ("lib", "simulator", "runner")]
    env["PYTHONPATH"] = os.pathsep.join(paths + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    proc = subprocess.run(
        [sys.executable, "-m", "st2_local.demo_agentless", "--answer", "yes"],
        cwd=PACK_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_S,
    )
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-2000:]
    for step in range(1, 8):
        assert f"[{step}/7]" in out
    assert "trigger avamar.session_ticket_warning: code 1418" in out and "(source server)" in out
    assert "trigger avamar.backup_auth_failure: server=ava01 client=fileserver01" in out and "source=mcs" in out
    assert "rule avamar.remediate_on_auth_failure matched avamar.backup_auth_failure" in out
    assert "<alice> !avamar approve " in out
    assert "workflow avamar.remediate_session_tickets succeeded: outcome remediated" in out
    assert "three polls, 1 dispatch" in out
    assert "rule avamar.remediate_on_backup_stalled matched avamar.backup_stalled" in out
    assert "AGENTLESS DEMO PASSED" in out
