"""The keystore passphrase never leaves the node's shell: full workflow runs with chat, watched.

The simulated node's keystore has its own random passphrase (what ``avlockbox.sh -r
keystore_passphrase`` prints). A remediation runs end to end (diagnose, approval from chat,
publickey with the exported key, .srl write, restart, test backup), once over the local
transport and once over ssh, plus a run that fails after the key export. Meanwhile a thread
reads every ``/proc/*/cmdline`` every ~2 ms. Afterwards the passphrase must appear nowhere:
log records (all loggers at DEBUG), the runner's progress output, stdout/stderr, the workflow
output, every task's parameters and result (errors and tracebacks included), chat messages,
the process command lines sampled, and the node's log files.
"""

from __future__ import annotations

import io
import json
import logging
import os
from typing import Any, Dict, List

import pytest
from proc_sampler import CmdlineSampler
from relkit import SERVER, approve, sim_config, workflow_runner


def everything_said(run: Any, runner: Any, progress: io.StringIO) -> Dict[str, str]:
    tasks = [{"task": t.task_id, "action": t.action, "parameters": t.parameters, "status": t.status,
              "result": t.result} for t in run.tasks]
    return {
        "workflow output": json.dumps(run.output, default=str),
        "orquesta errors": json.dumps(run.errors, default=str),
        "task parameters and results": json.dumps(tasks, default=str),
        "chat messages": "\n".join(m.message for m in runner.transcript.messages),
        "runner progress": progress.getvalue(),
    }


def node_logs(root: str) -> Dict[str, str]:
    """Every text the node keeps except the keystore itself and the simulator's secret store."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".sim"]
        for name in filenames:
            path = os.path.join(dirpath, name)
            if name.startswith("avamar_keystore"):
                continue
            with open(path, "rb") as handle:
                out[path] = handle.read().decode("utf-8", "replace")
    return out


def run_watched(config: Dict[str, Any], secret: str, caplog: Any, capfd: Any, **params: Any) -> Any:
    progress = io.StringIO()
    caplog.set_level(logging.DEBUG)
    runner = workflow_runner(config, approve("alice"), progress=progress)
    with CmdlineSampler(secret.encode()) as sampler:
        run = runner.run("avamar.remediate_session_tickets", dict({"server": SERVER}, **params))
    out, err = capfd.readouterr()
    said = everything_said(run, runner, progress)
    said["log records"] = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    said["stdout/stderr"] = out + err
    leaks = [where for where, text in said.items() if secret in text]
    assert leaks == [], f"the keystore passphrase appears in: {leaks}"
    assert sampler.hits == set(), f"the passphrase was in a process command line: {sampler.hits}"
    assert sampler.sweeps > 50, sampler.sweeps  # the sampler really ran through the remediation
    return run, runner, sampler


@pytest.fixture
def drifted(make_sim_node):
    node = make_sim_node("mcs_restored_old_flush", restart_seconds=0)
    for i in range(2):
        node.run_backup(f"client{i:02d}")
    secret = node.passphrase()
    assert len(secret) >= 12, "the simulator's passphrase is too short to search for"
    return node, secret


@pytest.mark.timeout(60)
def test_no_passphrase_anywhere_during_a_full_remediation(drifted, caplog, capfd):
    node, secret = drifted
    run, runner, sampler = run_watched(sim_config(node), secret, caplog, capfd)
    assert run.output["outcome"] == "remediated", run.output
    assert len(runner.transcript.messages) >= 4  # detection, approval request, approval, report
    # The key export really ran while the sampler watched: keytool (a JVM) was seen running.
    assert any(b"keytool" in c or b"java" in c for c in sampler.seen_commands), sorted(sampler.seen_commands)[:40]
    leaks = [path for path, text in node_logs(node.root).items() if secret in text]
    assert leaks == [], leaks


@pytest.mark.timeout(60)
def test_no_passphrase_in_errors_when_the_run_fails_after_the_key_export(drifted, caplog, capfd):
    node, secret = drifted
    node.inject_fault("avmaint", "error", exit_code=3, match="publickey", message="avmaint: publickey: failed")
    run, _, _ = run_watched(sim_config(node), secret, caplog, capfd)
    assert run.output["outcome"] == "failed" and run.output["error"]["step"] == "set_gsan_minserial", run.output


@pytest.mark.timeout(60)
def test_no_passphrase_anywhere_over_ssh(drifted, caplog, capfd, sshd_service):
    node, secret = drifted
    config = sim_config(node)
    config["servers"][SERVER].update(sshd_service.server_entry())
    run, _, _ = run_watched(config, secret, caplog, capfd)
    assert run.output["outcome"] == "remediated", run.output
    assert secret not in sshd_service.log_text()


def test_the_sampler_would_see_a_leak():
    """The watch itself works: a process with the secret in its argv is caught."""
    import subprocess

    secret = "reliability-canary-5f0c3a9e"
    with CmdlineSampler(secret.encode()) as sampler:
        proc = subprocess.Popen(["sh", "-c", "sleep 0.3", secret])
        proc.wait()
    hits: List[bytes] = sorted(sampler.hits)
    assert hits and secret.encode() in hits[0]
