"""`python -m avamar_sim ...`: create a node, change its scenario, knobs and faults, look at it.

    python -m avamar_sim create --root DIR [--scenario NAME] [--knob k=v ...]
    python -m avamar_sim scenario --root DIR NAME [--knob k=v ...]
    python -m avamar_sim knobs --root DIR k=v [k=v ...]        (threshold_extra, restart_seconds ...)
    python -m avamar_sim fault --root DIR COMMAND KIND [--exit-code N] [--seconds S] [--times N] [--match TEXT]
    python -m avamar_sim clear-faults --root DIR
    python -m avamar_sim state --root DIR                       (JSON, no secrets)
    python -m avamar_sim backup --root DIR CLIENT               (exit 0 if the backup completed)
    python -m avamar_sim activity --root DIR KIND CLIENT [--hang] [--seconds S] [--started-ago S]
    python -m avamar_sim end-activity --root DIR ID [--outcome STATUS]
    python -m avamar_sim leave-lock --root DIR OWNER [--age-seconds S]
    python -m avamar_sim restore-mcs-from-flush --root DIR      (MCS back to its latest flush)
    python -m avamar_sim gsan-noise --root DIR [--lines N] | rotate-gsan --root DIR

--root defaults to $AVAMAR_SIM_ROOT.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, List, Optional

from .activities import KINDS as ACTIVITY_KINDS
from .node import COMMANDS, FAULT_KINDS, SRL_WRITE, SimNode
from .scenarios import SCENARIOS


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _knobs(pairs: List[str]) -> Dict[str, Any]:
    knobs: Dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"knob must be key=value: {pair!r}")
        knobs[key] = _value(value)
    return knobs


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m avamar_sim", description="Avamar utility-node simulator")
    sub = parser.add_subparsers(dest="action", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("--root", default=os.environ.get("AVAMAR_SIM_ROOT"), help="node directory")
        return cmd

    cmd = add("create", "create a node")
    cmd.add_argument("--scenario", default="healthy", choices=SCENARIOS)
    cmd.add_argument("--knob", action="append", default=[], metavar="K=V")
    cmd = add("scenario", "put the node in a scenario")
    cmd.add_argument("name", choices=SCENARIOS)
    cmd.add_argument("--knob", action="append", default=[], metavar="K=V")
    cmd = add("knobs", "change knobs without resetting")
    cmd.add_argument("pairs", nargs="+", metavar="K=V")
    cmd = add("fault", "inject a fault into a command")
    cmd.add_argument("command", choices=COMMANDS + (SRL_WRITE,))
    cmd.add_argument("kind", choices=FAULT_KINDS + ("readonly",))
    cmd.add_argument("--exit-code", type=int, help="exit code (error: default 1; partial: the command's own)")
    cmd.add_argument("--seconds", type=float, default=3600)
    cmd.add_argument("--times", type=int)
    cmd.add_argument("--match")
    add("clear-faults", "remove every fault")
    add("state", "print the state as JSON")
    cmd = add("backup", "run one backup")
    cmd.add_argument("client")
    cmd = add("activity", "start an MCS activity (prints its id)")
    cmd.add_argument("kind", choices=ACTIVITY_KINDS)
    cmd.add_argument("client")
    cmd.add_argument("--hang", action="store_true", help="Running with no progress until ended")
    cmd.add_argument("--seconds", type=float, help="ends by itself after S seconds (default: when ended)")
    cmd.add_argument("--started-ago", type=float, default=0.0)
    cmd = add("end-activity", "end a running activity")
    cmd.add_argument("id")
    cmd.add_argument("--outcome", default="Completed")
    cmd = add("leave-lock", "leave a cancelled workflow's node lock")
    cmd.add_argument("owner")
    cmd.add_argument("--age-seconds", type=float, default=0.0)
    add("restore-mcs-from-flush", "restore MCS's serial from its latest flush")
    cmd = add("gsan-noise", "append housekeeping lines to gsan.log")
    cmd.add_argument("--lines", type=int, default=1)
    add("rotate-gsan", "rotate gsan.log to gsan.log.001")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if not args.root:
        print("error: --root or AVAMAR_SIM_ROOT is required", file=sys.stderr)
        return 2
    try:
        if args.action == "create":
            node = SimNode.create(args.root, args.scenario, **_knobs(args.knob))
            print(json.dumps({"root": node.root, "bin": node.bin_dir, "scenario": args.scenario}))
            return 0
        node = SimNode.open(args.root)
        if args.action == "scenario":
            node.set_scenario(args.name, **_knobs(args.knob))
        elif args.action == "knobs":
            node.set_knobs(**_knobs(args.pairs))
        elif args.action == "fault":
            if args.command == SRL_WRITE:
                node.inject_fault(SRL_WRITE, args.kind)
            else:
                node.inject_fault(
                    args.command,
                    args.kind,
                    exit_code=args.exit_code,
                    seconds=args.seconds,
                    times=args.times,
                    match=args.match,
                )
        elif args.action == "clear-faults":
            node.clear_faults()
        elif args.action == "state":
            print(json.dumps(node.state(), indent=2, sort_keys=True))
        elif args.action == "backup":
            result = node.run_backup(args.client)
            print(json.dumps({k: result[k] for k in ("activity_id", "ok", "reason", "serial", "log_file")}))
            return 0 if result["ok"] else 1
        elif args.action == "activity":
            print(
                node.start_activity(
                    args.kind, args.client, args.hang, seconds=args.seconds, started_ago=args.started_ago
                )
            )
        elif args.action == "end-activity":
            node.end_activity(args.id, args.outcome)
        elif args.action == "leave-lock":
            print(node.leave_lock(args.owner, age_seconds=args.age_seconds))
        elif args.action == "restore-mcs-from-flush":
            print(node.restore_mcs_from_flush())
        elif args.action == "gsan-noise":
            print(node.gsan_noise(args.lines))
        elif args.action == "rotate-gsan":
            print("\n".join(node.rotate_gsan_log()))
    except (ValueError, FileNotFoundError, FileExistsError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
