"""Helpers of the workflow tests: a pack config for a simulated node and one call to run the workflow.

The workflow runs on the real Orquesta conductor (runner/st2_local) with the pack's real Python
actions against the simulator through the local transport.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, Optional

from avamar_pack.node.paths import NodePaths
from st2_local.chat_transcript import ChatTranscript
from st2_local.inquiries import Answerer, fixed_answer
from st2_local.pack_loader import load_pack
from st2_local.workflow_runner import WorkflowRun, WorkflowRunner

SERVER = "ava01"
WORKFLOW = "avamar.remediate_session_tickets"
TEST_CLIENT = "/clients/linux-test01"
MUTATING_TASKS = ("set_gsan_serial", "write_mcs_serial", "restart_mcs", "run_test_backup")


def node_config(node: Any, **approval: Any) -> Dict[str, Any]:
    return {
        "servers": {SERVER: {"transport": "local", "avamar_root": node.root, "test_backup": {"client": TEST_CLIENT}}},
        "approval": {"route": "avamar", "ttl_minutes": 30, **approval},
        "remediation": {"serial_margin": 1000, "max_publickey_attempts": 6},
    }


def run_workflow(node: Any, answer: Optional[Answerer] = None, config: Optional[Dict[str, Any]] = None,
                 **params: Any) -> Outcome:
    transcript = ChatTranscript(quiet=True)
    runner = WorkflowRunner(load_pack(), config or node_config(node), answerer=answer or fixed_answer("yes", "alice"),
                            transcript=transcript)
    run = runner.run(WORKFLOW, {"server": SERVER, "mcs_restart_timeout": 60, "test_backup_timeout": 120, **params})
    return Outcome(run, transcript)


class Outcome:
    def __init__(self, run: WorkflowRun, transcript: ChatTranscript) -> None:
        self.run = run
        self.transcript = transcript
        self.output: Dict[str, Any] = run.output or {}

    @property
    def tasks(self):
        return [t.task_id for t in self.run.tasks]

    def chat(self) -> str:
        return self.transcript.text()


def serials(node: Any) -> Dict[str, Any]:
    """What the node holds: GSAN's minimal serial and the bytes of MCS's sessionticket.srl."""
    with open(node.srl_path, "rb") as fh:
        srl = fh.read()
    return {"gsan": node.state()["gsan_minimal_serial"], "srl": srl}


def lock_is_free(node: Any) -> bool:
    return not os.path.exists(NodePaths(node.root).lock_dir)


def answer_after(change: Callable[[], None], decision: str = "yes") -> Answerer:
    """An approver who answers only after something changed on the node (approvals take hours)."""
    inner = fixed_answer(decision, "alice")

    def answer(inquiry):
        change()
        return inner(inquiry)

    return answer
