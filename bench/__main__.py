"""``python -m bench [--only scan,storm] [--size-mib 64] ...``: run the figures, print the table.

Default: every figure at full size (what the issue asks for). Quick runs while developing:
``python -m bench --only scan,storm --size-mib 64 --storm-failures 1000``.
Exit status: 0 when every figure was measured (a missed target is shown in the table, not
turned into a failure), 1 when a figure could not be measured at all.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from typing import List

from bench.common import (
    DEFAULT_DATA_DIR,
    DEFAULT_RESULTS,
    Options,
    Row,
    error_row,
    machine,
    machine_line,
    say,
    setup_paths,
)

# name -> module (each has run(opts) -> List[Row]); order = table order
FIGURES = {
    "scan": "bench.scan",
    "latency": "bench.latency",
    "storm": "bench.storm",
    "publickey": "bench.publickey",
    "workflow": "bench.workflow",
    "ssh": "bench.transports",
    "salt": "bench.transports",
}


def parse_args(argv: List[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(FIGURES)}")
    parser.add_argument("--size-mib", type=int, default=1024, help="scan: size of the generated log (default 1024)")
    parser.add_argument("--trials", type=int, default=200, help="latency: trials (default 200)")
    parser.add_argument("--nodes", type=int, default=1000, help="publickey: simulated nodes (default 1000)")
    parser.add_argument("--commands", type=int, default=100, help="ssh/salt: commands each side (default 100)")
    parser.add_argument("--storm-failures", type=int, default=10000, help="storm: failures (default 10000)")
    parser.add_argument("--storm-clients", type=int, default=2000, help="storm: clients (default 2000)")
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR, help="where the scan log is kept (gitignored)")
    parser.add_argument("--results", default=DEFAULT_RESULTS, help="JSON output (default bench/results.json)")
    parser.add_argument("--seed", type=int, default=7)
    ns = parser.parse_args(argv)
    only = [n.strip() for n in ns.only.split(",") if n.strip()] or list(FIGURES)
    unknown = sorted(set(only) - set(FIGURES))
    if unknown:
        parser.error(f"unknown figure(s) {', '.join(unknown)}; known: {', '.join(FIGURES)}")
    for name in ("size_mib", "trials", "nodes", "commands", "storm_failures", "storm_clients"):
        if getattr(ns, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return Options(only=only, size_mib=ns.size_mib, trials=ns.trials, nodes=ns.nodes, commands=ns.commands,
                   storm_failures=ns.storm_failures, storm_clients=ns.storm_clients, data_dir=ns.data_dir,
                   results=ns.results, seed=ns.seed)


def main(argv: List[str]) -> int:
    opts = parse_args(argv)
    setup_paths()
    from bench.report import table, write_json  # noqa: PLC0415

    info = machine()
    say(machine_line(info))
    rows: List[Row] = []
    done_modules = set()
    for name in FIGURES:
        if name not in opts.only:
            continue
        module_name = FIGURES[name]
        started = time.monotonic()
        say(f"{name}: running")
        try:
            module = importlib.import_module(module_name)
            if module_name == "bench.transports":
                rows.extend(module.run_one(name, opts))
            else:
                if module_name in done_modules:
                    continue
                rows.extend(module.run(opts))
            done_modules.add(module_name)
        except Exception as exc:  # noqa: BLE001 - one broken figure must not hide the others
            say(f"{name}: NOT MEASURED: {type(exc).__name__}: {exc}")
            rows.append(error_row(name, exc))
        say(f"{name}: {time.monotonic() - started:.1f} s")
    info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    print(table(rows))
    print()
    print(machine_line(info))
    write_json(opts.results, rows, info, argv)
    say(f"results written to {opts.results}")
    return 1 if any(row.passed is None for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
