"""Shared pieces of the performance suite: the result row, options, the machine, small timers.

Every figure is measured beside its reference in the same run (these machines are shared and
noisy), so a row carries both numbers and the ratio or count the target is about. A figure in
absolute time is the median of several runs (``--runs``), its spread shown beside it.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_DIR = os.path.join(ROOT, "bench")
DEFAULT_DATA_DIR = os.path.join(BENCH_DIR, "data")
DEFAULT_RESULTS = os.path.join(BENCH_DIR, "results.json")


def setup_paths() -> None:
    """The import paths the Makefile sets, so ``python -m bench`` works from a bare shell too.

    ``tests`` is added for the service helpers (``fixtures.servicekit``: sshd, salt), which are
    plain functions the benchmarks reuse to start the same daemons the tests start.
    """
    for sub in ("lib", "simulator", "runner", "tests", "sensors", "actions/lib", "actions", ""):
        path = os.path.join(ROOT, sub) if sub else ROOT
        if path not in sys.path:
            sys.path.insert(0, path)
    from st2_standins import install  # noqa: PLC0415 - only after the paths are set

    install()  # StackStorm stand-ins, only when st2 itself is not importable


@dataclass
class Options:
    only: List[str]
    size_mib: int = 1024
    trials: int = 200
    nodes: int = 1000
    commands: int = 100
    storm_failures: int = 10000
    storm_clients: int = 2000
    data_dir: str = DEFAULT_DATA_DIR
    results: str = DEFAULT_RESULTS
    seed: int = 7
    runs: int = 5


@dataclass
class Row:
    """One line of the table. ``passed`` is None when the figure could not be measured;
    ``built`` is False for a figure whose module does not exist yet (shown, never a failure)."""

    figure: str
    ours: str
    reference: str
    target: str
    passed: Optional[bool]
    details: Dict[str, Any] = field(default_factory=dict)
    note: str = ""
    built: bool = True

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


def error_row(figure: str, exc: BaseException) -> Row:
    """A figure that could not be measured shows up as such, never as a pass."""
    text = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    return Row(figure=figure, ours="not measured", reference="-", target="-", passed=None, note=text)


def not_built_row(name: str, module: str) -> Row:
    """A figure whose module is not in the tree: listed so that nobody mistakes it for a pass."""
    return Row(
        figure=name,
        ours="not built",
        reference="-",
        target="-",
        passed=None,
        note=f"{module} does not exist in this tree",
        built=False,
    )


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_gib() -> float:
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / (1 << 20), 1)
    except OSError:
        pass
    return 0.0


def machine() -> Dict[str, Any]:
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": _cpu_model(),
        "ram_gib": _mem_total_gib(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "started_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }


def machine_line(info: Dict[str, Any]) -> str:
    load = info.get("loadavg_start")
    end = info.get("loadavg_end")
    text = (
        f"machine: nproc={info['nproc']}, CPU {info['cpu']}, RAM {info['ram_gib']} GiB, "
        f"Python {info['python']}, kernel {info['kernel']}, load average {load} at start"
        + (f", {end} at end" if end else "")
    )
    if info.get("started_at"):
        text += f"; started {info['started_at']}"
        if info.get("ended_at"):
            text += f", ended {info['ended_at']}"
    # The load at the start is other work's (the suite has not run yet); at the end it includes ours.
    if load and info.get("nproc") and load[0] > 0.5 * info["nproc"]:
        text += " (shared with other work while measuring: absolute times are slower than on an idle machine)"
    return text


def median(values: List[float]) -> float:
    if not values:
        raise ValueError("no samples")
    return float(statistics.median(values))


def cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and of every child it has waited for.

    The children's figure includes THEIR waited-for children (the kernel adds a reaped child's
    own children to it), so action processes and the node commands they run are counted.
    """
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def percentile(values: List[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: p99 of 200 samples is the 198th smallest)."""
    if not values:
        raise ValueError("no samples")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


class Deadline:
    """A wall-clock budget for a loop: every long loop here is bounded in count AND time."""

    def __init__(self, seconds: float, what: str) -> None:
        self.end = time.monotonic() + seconds
        self.seconds = seconds
        self.what = what

    def expired(self) -> bool:
        return time.monotonic() > self.end

    def check(self) -> None:
        if self.expired():
            raise TimeoutError(f"{self.what}: over its {self.seconds:g} s budget")


def say(text: str) -> None:
    """Progress on stderr, so stdout holds only the table."""
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {text}\n")
    sys.stderr.flush()
