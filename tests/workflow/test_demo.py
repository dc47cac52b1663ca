"""`make demo` as a user runs it: APPROVE=yes, an answer typed at the prompt (a pty), and a rejection.

The approval is given in chat as in production: alice types `!avamar approve <id>` and the chat
bot runs avamar.respond_approval as an alias execution (st2 user chatops_bot, api_user alice).
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

from st2_local.pack_loader import PACK_ROOT

DEMO_TIMEOUT_S = 600  # a guard against a hang, not a speed check


def _env(**extra: str) -> dict:
    """The caller's environment without APPROVE, with the import paths the Makefile sets."""
    env = {k: v for k, v in os.environ.items() if k != "APPROVE"}
    # Prepend, never replace: st2-run-pack-tests puts StackStorm's own libraries on PYTHONPATH.
    paths = [os.path.join(PACK_ROOT, sub) for sub in ("lib", "simulator", "runner")]
    env["PYTHONPATH"] = os.pathsep.join(paths + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.update(extra)
    return env


def test_make_demo_with_approve_yes():
    proc = subprocess.run(
        ["make", "-s", "demo"],
        cwd=PACK_ROOT,
        env=_env(APPROVE="yes"),
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_S,
    )
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-2000:]
    assert "production runs in StackStorm" in out
    for step in ("[1/6]", "[2/6]", "[3/6]", "[4/6]", "[5/6]", "[6/6]"):
        assert step in out
    assert "FATAL <5704>" in out and "avamar.backup_auth_failure" in out
    assert "rule avamar.remediate_on_auth_failure matched avamar.backup_auth_failure" in out
    assert "alice types `!avamar approve " in out and "<alice> !avamar approve " in out
    assert "workflow avamar.remediate_session_tickets succeeded: outcome remediated" in out and "DEMO PASSED" in out


def test_demo_answered_at_the_prompt_in_a_terminal():
    pid, fd = pty.fork()
    if pid == 0:  # the child: the demo on a real terminal, nothing pre-answered
        os.chdir(PACK_ROOT)
        os.execve(sys.executable, [sys.executable, "-m", "st2_local.demo"], _env())  # noqa: S606
    output = b""
    answered = False
    deadline = time.monotonic() + DEMO_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            if not answered and b"Approve? [yes/no]:" in output:
                os.write(fd, b"yes\n")
                answered = True
    finally:
        _, status = os.waitpid(pid, 0)
    text = output.decode(errors="replace")
    assert answered, text[-3000:]
    assert os.waitstatus_to_exitcode(status) == 0, text[-3000:]
    assert "DEMO PASSED" in text


def test_demo_rejected_on_stdin_exits_1_and_changes_nothing():
    proc = subprocess.run(
        [sys.executable, "-m", "st2_local.demo"],
        cwd=PACK_ROOT,
        env=_env(),
        input="no\nnot now\n",
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_S,
    )
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "<alice> !avamar reject " in proc.stdout and " because not now" in proc.stdout
    assert "outcome rejected" in proc.stdout
    # The reason reaches the workflow: after the typed command, the reports quote it again.
    assert proc.stdout.split("<alice> !avamar reject", 1)[1].count("not now") >= 2
    assert "DEMO DID NOT REMEDIATE" in proc.stdout
