"""``python -m st2_local run <action> key=value ...``: run one of the pack's actions locally.

Workflows run on the real Orquesta conductor; approvals are answered with ``--answer``,
``APPROVE=yes|no|expire``, or at the prompt. Production runs in StackStorm (see BANNER).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, List, Optional, Tuple

import yaml

from st2_local import BANNER
from st2_local.chat_transcript import ChatTranscript
from st2_local.inquiries import Answerer, answer_from_env, fixed_answer, prompt_answer
from st2_local.pack_loader import load_pack
from st2_local.workflow_runner import WorkflowInspectionError, WorkflowRunError, WorkflowRunner


def parse_assignments(items: List[str]) -> Dict[str, Any]:
    """``key=value`` pairs; values are read as YAML scalars/lists (``true``, ``5``, ``[a, b]``)."""
    params: Dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"parameter {item!r} is not key=value")
        params[key] = yaml.safe_load(value) if value else ""
    return params


def choose_answerer(
    answer: Optional[str], reason: Optional[str], approver: Optional[str] = None
) -> Tuple[Answerer, str]:
    """Command line first, then APPROVE in the environment, then the interactive prompt."""
    if answer:
        return fixed_answer(answer, approver=approver, reason=reason), f"--answer {answer}"
    from_env = answer_from_env()
    if from_env is not None:
        return from_env, "APPROVE"
    return prompt_answer(sys.stdin, sys.stdout), "prompt"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m st2_local", description=BANNER)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run an action or workflow of the pack")
    run.add_argument("action", help="e.g. avamar.remediate_session_tickets")
    run.add_argument("params", nargs="*", help="key=value")
    run.add_argument("--config", help="pack config YAML (like /opt/stackstorm/configs/avamar.yaml)")
    run.add_argument("--answer", choices=("yes", "no", "expire"), help="answer to any approval")
    run.add_argument("--reason", help="reason recorded with the answer")
    run.add_argument("--approver", help="st2 user who gives --answer (default: the first of approval.users)")
    run.add_argument("--user", default="stanley", help="st2 user the execution runs as (default stanley)")
    args = parser.parse_args(argv)

    print(BANNER, file=sys.stderr)
    pack = load_pack()
    config: Dict[str, Any] = {}
    if args.config:
        with open(args.config, encoding="utf-8") as fh:
            config = yaml.safe_load(fh) or {}
    params = parse_assignments(args.params)
    meta = pack.action(args.action)
    # `--answer` answers as st2 user --approver (default: the first of approval.users), through the
    # local st2 API, so st2's permission check applies as to `st2 inquiry respond` by that user.
    approver = args.approver or next(iter((config.get("approval") or {}).get("users") or []), None)
    answerer = choose_answerer(args.answer, args.reason, approver)[0] if meta.runner_type == "orquesta" else None
    try:
        with WorkflowRunner(
            pack, config, answerer=answerer, transcript=ChatTranscript(), progress=sys.stderr, user=args.user
        ) as runner:
            if meta.runner_type == "orquesta":
                run = runner.run(args.action, params)
                print(json.dumps({"status": run.status, "output": run.output}, indent=2, default=str))
            else:
                run = runner.start(args.action, params)
                print(json.dumps({"status": run.status, "result": run.result}, indent=2, default=str))
        return 0 if run.status == "succeeded" else 1
    except (WorkflowInspectionError, WorkflowRunError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
