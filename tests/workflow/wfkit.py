"""Helpers of the workflow tests: a pack config for a simulated node, a local runner, one-call runs.

The workflow runs on the real Orquesta conductor (runner/st2_local) with the pack's real Python
actions (each in its own process, as st2's python runner runs them) against the simulator
through the local transport, with the local fake st2 API (runner/st2_local/st2_api.py).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, Callable, Dict, Optional, Tuple

from avamar_pack.node.paths import NodePaths
from st2_local.chat_transcript import ChatTranscript
from st2_local.faults import Faults
from st2_local.inquiries import Answerer, fixed_answer
from st2_local.pack_loader import load_pack
from st2_local.sim_pack_config import SERVER, sim_pack_config
from st2_local.st2_api import FakeSt2Api
from st2_local.workflow_runner import WorkflowRun, WorkflowRunner

WORKFLOW = "avamar.remediate_session_tickets"
DRIFTED = "mcs_restored_old_flush"  # the KB's scenario: MCS restored from an old flush, behind GSAN
MUTATING_TASKS = ("set_gsan_serial", "write_mcs_serial", "restart_mcs", "run_test_backup")
FAST_PARAMS = {"mcs_restart_timeout": 60, "test_backup_timeout": 120}

# The workflow's tasks, in order, on the way to ``remediated`` (core.ask is ``approval``).
REMEDIATED_TASKS = (
    "prepare",
    "check_pending",
    "diagnose",
    "check_safety",
    "approval",
    "confirm_approval",
    "acquire_lock",
    "rediagnose",
    "set_gsan_serial",
    "write_mcs_serial",
    "restart_mcs",
    "verify",
    "run_test_backup",
    "flush_mcs",
    "record_remediation",
    "release_lock",
    "report",
)
# The tasks that run while the node lock is held (a failure there reads the state, then releases).
LOCKED_TASKS = REMEDIATED_TASKS[REMEDIATED_TASKS.index("acquire_lock") : REMEDIATED_TASKS.index("release_lock")]
# The plan's steps after the approval, as ``plan`` and ``timeline`` name them (the GSAN step is
# named after its action, set_gsan_minserial).
WRITE_STEPS = ("set_gsan_minserial",) + REMEDIATED_TASKS[
    REMEDIATED_TASKS.index("write_mcs_serial") : REMEDIATED_TASKS.index("release_lock")
]
# The payload of core.st2.generic.actiontrigger (st2actions/notifier/notifier.py _post_generic_trigger).
ACTION_TRIGGER_KEYS = frozenset(
    ("execution_id", "status", "start_timestamp", "action_name", "action_ref", "runner_ref", "parameters", "result")
)


def node_config(node: Any, **approval: Any) -> Dict[str, Any]:
    """The simulated node's pack config; ``approval`` keys over the workflow tests' own."""
    return sim_pack_config(node.root, approval={"route": "avamar", "ttl_minutes": 30, **approval})


def drifted(make_sim_node: Callable[..., Any], backups: int = 2, **knobs: Any) -> Any:
    """A node in the KB's scenario whose client backups already failed ``backups`` times
    (the evidence the diagnosis reads); ``knobs`` as ``SimNode.create`` takes them."""
    node = make_sim_node(DRIFTED, **knobs)
    for i in range(backups):
        assert node.run_backup(f"client{i:02d}")["ok"] is False
    return node


def api_with_workflow(testcase: Any, status: str, **execution: Any) -> Tuple[FakeSt2Api, str]:
    """A started local st2 API (closed when ``testcase``, a unittest TestCase, ends) holding one
    remediation run in ``status``, started by stanley; ``execution``: more of add_execution's
    arguments. The API and the run's execution id."""
    api = FakeSt2Api().start()
    testcase.addCleanup(api.close)
    run_id = api.add_execution(
        WORKFLOW, status=status, context={"user": "stanley", "pack": "avamar"}, runner="orquesta", **execution
    )
    return api, run_id


def make_runner(
    node: Any,
    config: Optional[Dict[str, Any]] = None,
    faults: Optional[Faults] = None,
    answer: Optional[Answerer] = None,
    **kwargs: Any,
) -> WorkflowRunner:
    """A local runner for one simulated node (close it, or use it as a context manager)."""
    return WorkflowRunner(
        load_pack(),
        config or node_config(node),
        answerer=answer,
        transcript=ChatTranscript(quiet=True),
        faults=faults,
        **kwargs,
    )


def run_workflow(
    node: Any,
    answer: Optional[Answerer] = None,
    config: Optional[Dict[str, Any]] = None,
    faults: Optional[Faults] = None,
    **params: Any,
) -> Outcome:
    """Start the workflow and answer every approval with ``answer`` (default: alice approves)."""
    with make_runner(node, config, faults, answer=answer or fixed_answer("yes", "alice")) as runner:
        run = runner.run(WORKFLOW, {"server": SERVER, **FAST_PARAMS, **params})
        return Outcome(run, runner.transcript, runner)


class Outcome:
    def __init__(self, run: WorkflowRun, transcript: ChatTranscript, runner: Optional[WorkflowRunner] = None) -> None:
        self.run = run
        self.transcript = transcript
        self.runner = runner
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


def node_bytes(node: Any) -> str:
    """One digest of every file under the node's root except the simulator's own ``.sim`` state."""
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(node.root):
        dirs[:] = sorted(d for d in dirs if d != ".sim")
        for name in sorted(files):
            path = os.path.join(folder, name)
            digest.update(os.path.relpath(path, node.root).encode() + b"\0")
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as fh:
                    digest.update(fh.read())
    return digest.hexdigest()


def lock_is_free(node: Any) -> bool:
    return not os.path.exists(NodePaths(node.root).lock_dir)


def answer_after(change: Callable[[], None], decision: str = "yes") -> Answerer:
    """An approver who answers only after something changed on the node (approvals take hours)."""
    inner = fixed_answer(decision, "alice")

    def answer(inquiry):
        change()
        return inner(inquiry)

    return answer
