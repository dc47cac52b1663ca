"""``python -m bench [--only workflow,storm] [--size-mib 256] ...``: run the figures, print the table.

Default: every figure at full size (what the issues ask for). Quick runs while developing:
``python -m bench --only catchup,storm --size-mib 64 --storm-failures 1000 --runs 3``.
Exit status: 0 when every figure that ran met its target; 1 when one that ran missed it (``NO``)
or could not be measured (``NOT MEASURED``). A figure whose module is not in the tree yet is
listed as ``not built`` and does not change the exit status.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
import time
from typing import Dict, List, Tuple

from bench.common import (
    DEFAULT_DATA_DIR,
    DEFAULT_RESULTS,
    Options,
    Row,
    error_row,
    machine,
    machine_line,
    not_built_row,
    say,
    setup_paths,
)

# row key -> (module, how it is called); order = table order. Every module has run(opts) ->
# List[Row], except bench.transports, whose run_one(key, opts) measures one transport.
FIGURES: Dict[str, Tuple[str, str]] = {
    "catchup": ("bench.catchup", "run"),
    "latency": ("bench.latency", "run"),
    "storm": ("bench.storm", "run"),
    "poll": ("bench.poll", "run"),
    "publickey": ("bench.publickey", "run"),
    "workflow": ("bench.workflow", "run"),
    "ssh": ("bench.transports", "run_one"),
    "salt": ("bench.transports", "run_one"),
}
# "scan" is the old name of the catch-up row (its bench-only scanner is gone): kept so old commands work.
GROUPS = {"transports": ("ssh", "salt"), "scan": ("catchup",), "all": tuple(FIGURES)}


def _selected(text: str, parser: argparse.ArgumentParser) -> List[str]:
    asked = [n.strip() for n in text.split(",") if n.strip()] or ["all"]
    unknown = sorted(n for n in asked if n not in FIGURES and n not in GROUPS)
    if unknown:
        parser.error(f"unknown figure(s) {', '.join(unknown)}; known: {', '.join(list(FIGURES) + list(GROUPS))}")
    wanted = {key for n in asked for key in GROUPS.get(n, (n,))}
    return [key for key in FIGURES if key in wanted]


def parse_args(argv: List[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", default="", help=f"comma-separated subset of: {', '.join(list(FIGURES) + list(GROUPS))} (default all)"
    )
    parser.add_argument(
        "--size-mib", type=int, default=1024, help="catchup: size of the pre-written backlog in MiB (default 1024)"
    )
    parser.add_argument(
        "--runs", type=int, default=5, help="workflow: runs, each beside its reference; medians reported (default 5)"
    )
    parser.add_argument("--trials", type=int, default=200, help="latency: trials (default 200)")
    parser.add_argument("--nodes", type=int, default=1000, help="publickey: simulated nodes (default 1000)")
    parser.add_argument("--commands", type=int, default=100, help="ssh/salt: commands each side (default 100)")
    parser.add_argument("--storm-failures", type=int, default=10000, help="storm: failures (default 10000)")
    parser.add_argument("--storm-clients", type=int, default=2000, help="storm: clients (default 2000)")
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR, help="where big generated logs are kept (gitignored)")
    parser.add_argument("--results", default=DEFAULT_RESULTS, help="JSON output (default bench/results.json)")
    parser.add_argument("--seed", type=int, default=7)
    ns = parser.parse_args(argv)
    only = _selected(ns.only, parser)
    for name in ("size_mib", "runs", "trials", "nodes", "commands", "storm_failures", "storm_clients"):
        if getattr(ns, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return Options(
        only=only,
        size_mib=ns.size_mib,
        trials=ns.trials,
        nodes=ns.nodes,
        commands=ns.commands,
        storm_failures=ns.storm_failures,
        storm_clients=ns.storm_clients,
        data_dir=ns.data_dir,
        results=ns.results,
        seed=ns.seed,
        runs=ns.runs,
    )


def run_figure(key: str, opts: Options) -> List[Row]:
    """The rows of one figure; a missing module gives a ``not built`` row, an error a NOT MEASURED one."""
    module_name, function = FIGURES[key]
    if importlib.util.find_spec(module_name) is None:
        say(f"{key}: not built ({module_name} does not exist)")
        return [not_built_row(key, module_name)]
    try:
        module = importlib.import_module(module_name)
        if function == "run_one":
            return list(module.run_one(key, opts))
        return list(getattr(module, function)(opts))
    except Exception as exc:  # noqa: BLE001 - one broken figure must not hide the others
        say(f"{key}: NOT MEASURED: {type(exc).__name__}: {exc}")
        return [error_row(key, exc)]


def exit_status(rows: List[Row]) -> int:
    """1 when a figure that ran missed its target or could not be measured; ``not built`` is not a run."""
    return 1 if any(row.built and row.passed is not True for row in rows) else 0


def main(argv: List[str]) -> int:
    opts = parse_args(argv)
    setup_paths()
    from bench.report import table, write_json  # noqa: PLC0415

    info = machine()
    say(machine_line(info))
    rows: List[Row] = []
    for key in opts.only:
        started = time.monotonic()
        say(f"{key}: running")
        rows.extend(run_figure(key, opts))
        say(f"{key}: {time.monotonic() - started:.1f} s")
    info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    info["ended_at"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    print(table(rows))
    print()
    print(machine_line(info))
    write_json(opts.results, rows, info, argv)
    say(f"results written to {opts.results}")
    return exit_status(rows)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
