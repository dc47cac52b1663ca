"""Figure: the whole remediation workflow on the local runner, simulated waits at 0, beside st2's floor.

``avamar.remediate_session_tickets`` runs on the local st2 (``st2_local.WorkflowRunner``: real
Orquesta conductor, every Python action in its own process as st2's python runner does, the
fake st2 API for Inquiries and executions) against a simulator node in the KB's scenario
(``mcs_restored_old_flush``: MCS behind GSAN, 28500 refused), ``restart_seconds`` and
``backup_seconds`` 0, the approval answered yes by an allowed approver at once.

Absolute seconds flip with the load of a shared machine, so the figure is a RATIO against a
reference measured in the same run: st2's floor, i.e. as many Python action processes as the
workflow ran, each running a no-op action through StackStorm v3.9.0's own
``python_action_wrapper.py`` (st2's interpreter and imports, from the st2 reference tree at
``$ST2_REF``, default ``~/st2-reference``; none of the pack's code). Without that tree the floor
is the local runner's wrapper with the same no-op (lighter: the stand-ins import less than
st2common), and the row says so. Every measured run is followed at once by its floors, so a burst
of load hits both; ``--runs`` pairs are measured (default 5) after one warm-up run (the action
processes' bytecode is compiled once, as on a st2 worker), and the medians are reported. Both
wall and CPU seconds (this process and every process it waited for, their node commands
included) are taken on each side; the target is on the CPU ratio, which the neighbours move
far less than the wall ratio (shown beside it). The workflow's cost beyond the floor is the
pack's code and imports, the node commands (each simulated command a Python process) and the
conductor.

Per task (stderr, and ``details.tasks``): the action's time (its process, start to result) and
the runner's time (the gap since the previous action: conductor, YAQL/Jinja, parameter
rendering, the Inquiry), medians over the measured runs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from bench.common import ROOT, Options, Row, cpu_seconds, median, say
from bench.floor import BytecodeCache, local_noop_runner, st2_noop, st2_wrapper

WORKFLOW = "avamar.remediate_session_tickets"
APPROVER = "alice"
# The pack's code, its node commands and the conductor together may cost as much again as
# st2's own process floor: the workflow at most twice the floor (CPU seconds), side by side.
TARGET_RATIO = 2.0


@dataclass
class Span:
    """One action the runner ran: when it started and ended, and how long its process took."""

    ref: str
    execution_id: str
    start: float
    end: float
    process_s: float = 0.0
    python_action: bool = False


@dataclass
class Sample:
    total_s: float
    cpu_s: float
    status: str
    outcome: Optional[str]
    spans: List[Span] = field(default_factory=list)
    tasks: List[Dict[str, Any]] = field(default_factory=list)
    errors: List[Any] = field(default_factory=list)
    accepted_serial: Any = None
    attempts: Any = None

    @property
    def processes(self) -> int:
        return sum(1 for s in self.spans if s.python_action)


def _pack_config(node_root: str) -> Dict[str, Any]:
    """The pack config of the simulated node, from the one builder the tests and the demo use."""
    from st2_local.sim_pack_config import sim_pack_config  # noqa: PLC0415

    return sim_pack_config(node_root, approval={"users": [APPROVER]})


def _instrument(runner: Any) -> List[Span]:
    """Record every action the runner runs (workflow tasks and rule-started actions)."""
    spans: List[Span] = []
    run_action, run_process = runner.run_action, runner.actions.run
    current: List[Span] = []

    def timed_process(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return run_process(*args, **kwargs)
        finally:
            if current:
                current[-1].process_s += time.perf_counter() - started
                current[-1].python_action = True

    def timed_action(
        ref: str, live_params: Mapping[str, Any], context: Mapping[str, Any], execution_id: str, fault: Any
    ) -> Any:
        span = Span(ref=ref, execution_id=execution_id, start=time.perf_counter(), end=0.0)
        current.append(span)
        try:
            return run_action(ref, live_params, context, execution_id, fault)
        finally:
            span.end = time.perf_counter()
            current.pop()
            spans.append(span)

    runner.run_action = timed_action
    runner.actions.run = timed_process
    return spans


def _one_run(pack: Any, work: str, index: int) -> Sample:
    from avamar_sim import SimNode  # noqa: PLC0415
    from st2_local.chat_transcript import ChatTranscript  # noqa: PLC0415
    from st2_local.inquiries import fixed_answer  # noqa: PLC0415
    from st2_local.sim_pack_config import SERVER  # noqa: PLC0415
    from st2_local.workflow_runner import WorkflowRunner  # noqa: PLC0415

    node_dir = os.path.join(work, f"node{index}")
    node = SimNode.create(node_dir, "mcs_restored_old_flush", restart_seconds=0, backup_seconds=0)
    try:
        for i in range(3):  # the failing backups the sensor saw: the diagnosis' evidence
            node.run_backup(f"client{i:02d}")
        runner = WorkflowRunner(
            pack, _pack_config(node.root), answerer=fixed_answer("yes", APPROVER), transcript=ChatTranscript(quiet=True)
        )
        with runner:
            spans = _instrument(runner)
            cpu_before = cpu_seconds()
            started = time.perf_counter()
            result = runner.run(WORKFLOW, {"server": SERVER})
            total = time.perf_counter() - started
            cpu = cpu_seconds() - cpu_before
        output = result.output or {}
        return Sample(
            total_s=total,
            cpu_s=cpu,
            status=result.status,
            outcome=output.get("outcome"),
            spans=spans,
            tasks=_task_listing(result.tasks, spans, started),
            errors=list(result.errors)[:2],
            accepted_serial=output.get("accepted_serial"),
            attempts=output.get("attempts"),
        )
    finally:
        try:
            SimNode.open(node_dir).clear_faults()
        except Exception:  # noqa: BLE001,S110 - best effort before the folder is removed
            pass


def _task_listing(tasks: List[Any], spans: List[Span], started: float) -> List[Dict[str, Any]]:
    """Per workflow task: its action's time and the runner's time since the previous action ended."""
    by_execution = {s.execution_id: s for s in spans}
    listing: List[Dict[str, Any]] = []
    previous_end = started
    for task in tasks:
        item: Dict[str, Any] = {"task": task.task_id, "action": task.action, "status": task.status}
        span = by_execution.get(task.execution_id)
        if span is not None:  # core.ask has no action: its time (the Inquiry) is in the next gap
            action_s = span.process_s if span.python_action else span.end - span.start
            item["action_s"] = action_s
            item["runner_s"] = (span.start - previous_end) + (span.end - span.start - action_s)
            previous_end = span.end
        listing.append(item)
    return listing


def _per_task_medians(samples: List[Sample]) -> List[Dict[str, Any]]:
    """Task by task (same order in every run of the same outcome), the medians over the runs."""
    first = samples[0].tasks
    out: List[Dict[str, Any]] = []
    same_shape = all([t["task"] for t in s.tasks] == [t["task"] for t in first] for s in samples)
    for position, item in enumerate(first):
        entry = {"task": item["task"], "action": item["action"], "status": item["status"]}
        if same_shape and "action_s" in item:
            entry["action_ms"] = round(median([s.tasks[position]["action_s"] for s in samples]) * 1000, 1)
            entry["runner_ms"] = round(median([s.tasks[position]["runner_s"] for s in samples]) * 1000, 1)
        out.append(entry)
    return out


def run(opts: Options) -> List[Row]:
    from st2_local.pack_loader import load_pack  # noqa: PLC0415

    work = tempfile.mkdtemp(prefix="avamar-bench-workflow-")
    try:
        pack = load_pack(ROOT)
        st2 = st2_wrapper()
        with BytecodeCache(os.path.join(work, "pycache")):
            local_noop = local_noop_runner(pack, work, _pack_config(os.path.join(work, "unused")))
            floor_kind = (
                "st2's floor: {n} no-op actions through st2 v3.9.0's python_action_wrapper"
                if st2
                else "no st2 tree (ST2_REF): the local runner's floor, {n} no-op actions through its wrapper"
            )
            noop = st2_noop(st2, work, pack.ref) if st2 else local_noop
            say("workflow: warm-up run (bytecode compiled once, not counted)")
            warm = _one_run(pack, work, 0)
            noop()
            local_noop()
            say(f"workflow: warm-up {warm.status}, outcome {warm.outcome}, {warm.total_s:.2f} s")
            samples: List[Sample] = []
            floors: Dict[str, List[float]] = {"floor": [], "local": []}
            floor_cpus: Dict[str, List[float]] = {"floor": [], "local": []}
            each: Dict[str, List[float]] = {"floor": [], "local": []}
            for index in range(1, opts.runs + 1):
                sample = _one_run(pack, work, index)
                samples.append(sample)
                for key, one in (("floor", noop), ("local", local_noop)):
                    cpu_before = cpu_seconds()
                    spent = [one() for _ in range(max(1, sample.processes))]
                    floor_cpus[key].append(cpu_seconds() - cpu_before)
                    floors[key].append(sum(spent))
                    each[key].extend(spent)
                say(
                    f"workflow: run {index}/{opts.runs}: {sample.status}, outcome {sample.outcome}, "
                    f"{sample.total_s:.2f} s ({sample.cpu_s:.2f} s CPU, {sample.processes} action processes); "
                    f"floor {floors['floor'][-1]:.2f} s (local wrapper {floors['local'][-1]:.2f} s); "
                    f"ratio {sample.total_s / floors['floor'][-1]:.2f}"
                )
        row = _row(warm, samples, floors["floor"], floor_cpus["floor"], each["floor"], floor_kind)
        row.details["st2_reference"] = st2["root"] if st2 else None
        row.details["local_wrapper_floors_s"] = [round(x, 3) for x in floors["local"]]
        row.details["local_wrapper_per_process_ms"] = round(median(each["local"]) * 1000, 1)
        row.details["ratio_to_local_wrapper_floor"] = round(
            median([s.total_s / f for s, f in zip(samples, floors["local"])]), 3
        )
        row.details["cpu_ratio_to_local_wrapper_floor"] = round(
            median([s.cpu_s / c for s, c in zip(samples, floor_cpus["local"]) if c > 0] or [0.0]), 3
        )
        row.note += (
            f"; against the local runner's lighter wrapper ({row.details['local_wrapper_per_process_ms']:.0f} ms "
            f"a process): {row.details['cpu_ratio_to_local_wrapper_floor']:.2f}x in CPU, "
            f"{row.details['ratio_to_local_wrapper_floor']:.2f}x in wall time"
        )
        return [row]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _row(
    warm: Sample,
    samples: List[Sample],
    floors: List[float],
    floor_cpus: List[float],
    floor_each: List[float],
    floor_kind: str,
) -> Row:
    """The row: the CPU ratio is the target (the neighbours move CPU seconds far less than wall
    seconds); the wall ratio is shown beside it."""
    ratios = [s.total_s / f for s, f in zip(samples, floors)]
    cpu_ratios = [s.cpu_s / c for s, c in zip(samples, floor_cpus) if c > 0] or [float("inf")]
    totals = [s.total_s for s in samples]
    cpus = [s.cpu_s for s in samples]
    outcomes = [s.outcome for s in samples]
    all_remediated = all(o == "remediated" for o in outcomes)
    ratio = median(ratios)
    cpu_ratio = median(cpu_ratios)
    tasks = _per_task_medians(samples)
    processes = samples[0].processes
    actions_s = median([sum(t.get("action_s", 0.0) for t in s.tasks) for s in samples])
    runner_s = median([sum(t.get("runner_s", 0.0) for t in s.tasks) for s in samples])
    timed = [t for t in tasks if "runner_ms" in t]
    slowest = sorted(timed, key=lambda t: -t["action_ms"])[:3]
    slow_text = ", ".join(f"{t['task']} {t['action_ms']:.0f}" for t in slowest)
    say(f"  {'task':<24} {'action':<38} {'action ms':>10} {'runner ms':>10}   (medians of {len(samples)} runs)")
    for t in tasks:
        say(f"  {t['task']:<24} {t['action']:<38} {t.get('action_ms', 0):10.1f} {t.get('runner_ms', 0):10.1f}")
    details = {
        "runs": len(samples),
        "totals_s": [round(x, 3) for x in totals],
        "cpu_s": [round(x, 3) for x in cpus],
        "floors_s": [round(x, 3) for x in floors],
        "ratios": [round(x, 3) for x in ratios],
        "median_total_s": round(median(totals), 3),
        "median_cpu_s": round(median(cpus), 3),
        "median_floor_s": round(median(floors), 3),
        "median_floor_per_process_ms": round(median(floor_each) * 1000, 1),
        "median_ratio": round(ratio, 3),
        "floor_cpu_s": [round(x, 3) for x in floor_cpus],
        "cpu_ratios": [round(x, 3) for x in cpu_ratios],
        "median_cpu_ratio": round(cpu_ratio, 3),
        "action_processes_per_run": [s.processes for s in samples],
        "median_actions_s": round(actions_s, 3),
        "median_runner_s": round(runner_s, 3),
        "warm_up": {"total_s": round(warm.total_s, 3), "status": warm.status, "outcome": warm.outcome},
        "outcomes": outcomes,
        "accepted_serial": samples[0].accepted_serial,
        "attempts": samples[0].attempts,
        "tasks": tasks,
        "rule_actions": sorted({s.ref for s in samples[0].spans} - {t["action"] for t in samples[0].tasks}),
    }
    failed = [s for s in samples if s.outcome != "remediated"]
    note = (
        f"absolute: median {median(totals):.2f} s wall (min {min(totals):.2f}, max {max(totals):.2f}), "
        f"{median(cpus):.2f} s CPU (min {min(cpus):.2f}, max {max(cpus):.2f}; this process + action processes + "
        f"their node commands); "
        f"warm-up run {warm.total_s:.2f} s"
    )
    if failed:
        note = (
            f"{len(failed)} of {len(samples)} runs ended {failed[0].status} with outcome {failed[0].outcome}: "
            f"{[e.get('message') if isinstance(e, dict) else e for e in failed[0].errors]}; " + note
        )
    return Row(
        figure=f"whole workflow, local runner, simulated waits 0 (median of {len(samples)} runs)",
        ours=(
            f"{median(totals):.2f} s wall, {median(cpus):.2f} s CPU; {len(tasks)} tasks, {processes} action "
            f"processes: actions {actions_s:.2f} s "
            f"+ runner {runner_s:.2f} s (slowest actions ms: {slow_text}); outcome "
            f"{'remediated in every run' if all_remediated else outcomes}"
        ),
        reference=(
            f"{floor_kind.format(n=processes)}, right after each run: "
            f"{median(floors):.2f} s wall ({median(floor_each) * 1000:.0f} ms each), {median(floor_cpus):.2f} s CPU"
        ),
        target=(
            f"{cpu_ratio:.2f}x the floor in CPU, {ratio:.2f}x in wall time (medians of per-run ratios); "
            f"CPU <= {TARGET_RATIO:g}x, outcome remediated"
        ),
        passed=all_remediated and cpu_ratio <= TARGET_RATIO,
        details=details,
        note=note,
    )
