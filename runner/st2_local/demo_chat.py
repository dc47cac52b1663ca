"""The approver's side of ``make demo``: the decision, typed in chat as a real approver types it.

The decision comes from ``--answer``, ``APPROVE=yes|no|expire`` or a prompt. It is then given
the way it is given in production: the chat user types ``!avamar approve <id>`` (or
``!avamar reject <id> because <reason>``); the chat bot, authenticated as its own st2 user,
posts the command to st2's alias-execution API, which runs ``avamar.respond_approval`` with
``api_user`` = the chat user. "expire" lets st2's garbage collector time the Inquiry out.
"""

from __future__ import annotations

import os
import sys
from typing import Callable, Optional, TextIO, Tuple

from st2_local.executions import WorkflowRun
from st2_local.inquiries import ask_yes_no, decision_word
from st2_local.workflow_runner import WorkflowRunner

Decide = Callable[[str], Tuple[str, str]]  # Inquiry id -> (yes|no|expire, reason)


def choose_decision(answer: Optional[str], out: TextIO, approver: str, channel: str) -> Tuple[Decide, str]:
    """How the approver decides, and a sentence saying so."""
    fixed = answer or decision_word(os.environ.get("APPROVE", ""))
    if fixed:
        if fixed not in ("yes", "no", "expire"):
            raise SystemExit(f"APPROVE / --answer must be yes, no or expire, got {fixed!r}")
        source = f"--answer {answer}" if answer else f"APPROVE={os.environ.get('APPROVE')}"
        return (lambda _id: (fixed, "")), source
    return (
        lambda inquiry_id: prompt(inquiry_id, sys.stdin, out, approver, channel)
    ), "the prompt below (or set APPROVE=yes)"


def prompt(inquiry_id: str, stdin: TextIO, out: TextIO, approver: str, channel: str) -> Tuple[str, str]:
    """Ask at the terminal; end of input lets the Inquiry expire."""
    out.write(f"\n>>> You are {approver} in #{channel}; approval request {inquiry_id} is waiting.\n")
    return ask_yes_no(stdin, out) or ("expire", "")


def chat_command_for(decision: str, inquiry_id: str, reason: str) -> str:
    if decision == "yes":
        return f"!avamar approve {inquiry_id}"
    return f"!avamar reject {inquiry_id}" + (f" because {reason}" if reason else "")


def answer_in_chat(
    runner: WorkflowRunner,
    run: WorkflowRun,
    decide: Decide,
    approver: str,
    bot: str,
    channel: str,
    say: Callable[[str], None],
) -> None:
    """Answer each approval request of ``run`` in chat until the run no longer waits."""
    while run.status == "paused" and run.pending_inquiry is not None:
        inquiry = run.pending_inquiry
        decision, reason = decide(inquiry.id)
        if decision == "expire":
            say(f"nobody answers: st2's garbage collector times the Inquiry out after its ttl ({inquiry.ttl} min)")
            runner.expire(inquiry.id)
            continue
        command = chat_command_for(decision, inquiry.id, reason)
        say(f"{approver} types `{command}`; the chat bot (st2 user {bot}) runs it as an alias execution")
        runner.chat_command(command, chat_user=approver, bot_user=bot, source_channel=channel)
        if run.pending_inquiry is not None and run.pending_inquiry.id == inquiry.id:
            say("the answer was not accepted: the workflow still waits for approval")
            return
