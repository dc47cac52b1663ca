"""Two remediations of one server at once, outside StackStorm's concurrency policy.

Two local runners in two processes (as two st2 clusters, or an operator's `st2 run` next to
the rule's execution, would be) remediate the same simulated node. Both are held at the
approval until both are there, then approved together, so both reach the locked re-check at
the same moment. Exactly one changes anything; the other is refused, with a message naming the
lock and its holder, by the lock held on the node itself, and runs no mutating command.
"""

from __future__ import annotations

import multiprocessing
import traceback
from typing import Any, Dict

import pytest
from relkit import Recorder, SerialWatcher, run_remediation, sim_config


def _remediate(config: Dict[str, Any], barrier: Any, queue: Any, name: str) -> None:
    """Child process: one remediation; reports its output and every mutating call it made."""
    monkeypatch = pytest.MonkeyPatch()
    try:
        recorder = Recorder(monkeypatch)

        def answer(inquiry: Any) -> Dict[str, Any]:
            barrier.wait(60)  # both workflows are paused at the approval now: approve both at once
            return {"approved": True, "approver": "alice"}

        run, _ = run_remediation(config, answer)
        queue.put(
            {
                "name": name,
                "output": run.output,
                "mutating": recorder.mutating(),
                "tasks": [(t.task_id, t.status) for t in run.tasks],
            }
        )
    except BaseException:  # noqa: BLE001 - the parent reports it
        queue.put({"name": name, "crash": traceback.format_exc()})
    finally:
        monkeypatch.undo()


@pytest.mark.timeout(90)
def test_two_remediations_of_one_server_exactly_one_changes_anything(make_sim_node):
    node = make_sim_node("mcs_restored_old_flush", restart_seconds=0)
    for i in range(2):
        node.run_backup(f"client{i:02d}")
    config = sim_config(node)
    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_remediate, args=(config, barrier, queue, name)) for name in ("first", "second")]
    for proc in procs:  # fork before the watcher thread exists: a child must not inherit its locks
        proc.start()
    with SerialWatcher(node) as watcher:
        results = [queue.get(timeout=80) for _ in procs]
        for proc in procs:
            proc.join(10)
    crashes = [r["crash"] for r in results if "crash" in r]
    assert not crashes, crashes
    outcomes = sorted(r["output"]["outcome"] for r in results)
    assert outcomes == ["remediated", "unsafe"], [r["output"] for r in results]
    winner = next(r for r in results if r["output"]["outcome"] == "remediated")
    loser = next(r for r in results if r is not winner)
    # The loser was refused by the node lock at its locked re-check, before any change, and says
    # so (outcome unsafe: the workflow's word for "refused, nothing changed").
    reasons = " ".join(loser["output"]["reasons"])
    assert "holds the node lock" in reasons.lower(), loser["output"]
    assert winner["output"]["plan"] and loser["output"]["after"] == loser["output"]["before"]
    assert ("acquire_lock", "succeeded") in loser["tasks"], loser["tasks"]
    assert loser["mutating"] == [], loser["mutating"]
    assert not any(task in ("set_gsan_serial", "write_mcs_serial", "restart_mcs") for task, _ in loser["tasks"])
    # The winner's lock is not released by the loser: its release reports "released" only for itself.
    assert winner["output"]["lock_release"] == "released"
    # One change: GSAN took one serial, the .srl was written once, nothing was lowered.
    writes = [m for m in winner["mutating"] if m and "sessionticket.srl" in m[0]]
    assert len(writes) == 1, winner["mutating"]
    assert watcher.lowered() == []
    state = node.state()
    assert state["gsan_minimal_serial"] == winner["output"]["accepted_serial"]
    assert node.run_backup("client-after")["ok"]
