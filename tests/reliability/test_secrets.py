"""No secret leaves its place during full workflow runs with chat, watched.

The simulated node's keystore has its own random passphrase (what ``avlockbox.sh -r
keystore_passphrase`` prints). A remediation runs end to end (diagnose, approval from chat,
publickey with the exported key, .srl write, restart, test backup), once over the local
transport and once over ssh (the private key given as PEM text in the config, plus a
password), plus a run that fails after the key export. Every config also holds secrets the run
has no use for (a second server's password and key, the salt-api password). Meanwhile a thread
reads every ``/proc/*/cmdline`` every ~2 ms. Afterwards no piece of any of these secrets (the
value, a line, a 12-character window: ``tests/secret_scan.py``) may appear anywhere: log
records (all loggers at DEBUG), the runner's progress output, stdout/stderr, the workflow
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
from secret_scan import Secret, find_leaks

SSH_PASSWORD = "rel-ssh-Passw0rd-canary-Q8tz"
DECOY_PASSWORD = "rel-decoy-Passw0rd-canary-Vb31"
SALT_PASSWORD = "rel-salt-Passw0rd-canary-Lm90"
# A private key no run uses (PEM text as st2kv would hold it): it must not show either.
DECOY_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "6Y60hCyF6k6oR7VhtevVERjOP3j2y5+NBZBXzX+kx5U3GhbppGN/2j0K0+ngkBC5FAmPOK\n"
    "/NvJqA2+pHABU6+mtNuCGmEGbbSK/DQ1IpGFzbGzasFwoTA0ZCRTKHuSv2KhKDwqWstle6\n"
    "qXQhLaShENgIF3eDmKFq01Drf4K4Rx/y356RbpRNCklh/wHp2C6GhjjNN1UPgtokO2zQnT\n"
    "mZe4WpWk/KBIrz2f3yQpR2ATmIsgVV5vxU799+Pod0i8+cQZJugvi0KvU=\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)


def with_every_secret(config: Dict[str, Any]) -> Dict[str, Any]:
    """The config plus secrets this run has no use for (anything dumping the config shows them)."""
    config["servers"]["ava09"] = {
        "transport": "ssh",
        "host": "ava09.example.com",
        "username": "admin",
        "password": DECOY_PASSWORD,
        "private_key": DECOY_KEY,
    }
    config["salt"] = {"api_url": "https://salt.example.com:8000", "username": "st2", "password": SALT_PASSWORD}
    return config


def configured_secrets(config: Dict[str, Any], passphrase: str) -> List[Secret]:
    found = [Secret("keystore passphrase", passphrase), Secret("salt password", config["salt"]["password"])]
    for name, entry in config["servers"].items():
        for key in ("password", "private_key"):
            value = entry.get(key)
            if value and not value.startswith("/"):  # a key file's path is not the secret; its text is
                found.append(Secret(f"servers.{name}.{key}", value))
    return found


def everything_said(run: Any, runner: Any, progress: io.StringIO) -> Dict[str, str]:
    tasks = [
        {"task": t.task_id, "action": t.action, "parameters": t.parameters, "status": t.status, "result": t.result}
        for t in run.tasks
    ]
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
    config = with_every_secret(config)
    progress = io.StringIO()
    caplog.set_level(logging.DEBUG)
    runner = workflow_runner(config, approve("alice"), progress=progress)
    with CmdlineSampler(secret.encode()) as sampler:
        run = runner.run("avamar.remediate_session_tickets", dict({"server": SERVER}, **params))
    out, err = capfd.readouterr()
    said = everything_said(run, runner, progress)
    said["log records"] = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    said["stdout/stderr"] = out + err
    said["process command lines"] = "\n".join(sampler.seen)
    leaks = [where for where, text in said.items() if secret in text]
    assert leaks == [], f"the keystore passphrase appears in: {leaks}"
    assert find_leaks(configured_secrets(config, secret), said) == {}
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


@pytest.mark.timeout(240)  # a safety net on a loaded machine, not a speed check
def test_no_passphrase_anywhere_during_a_full_remediation(drifted, caplog, capfd):
    node, secret = drifted
    run, runner, sampler = run_watched(sim_config(node), secret, caplog, capfd)
    assert run.output["outcome"] == "remediated", run.output
    assert len(runner.transcript.messages) >= 4  # detection, approval request, approval, report
    # The key export really ran while the sampler watched: keytool (a JVM) was seen running.
    assert any(b"keytool" in c or b"java" in c for c in sampler.seen_commands), sorted(sampler.seen_commands)[:40]
    leaks = [path for path, text in node_logs(node.root).items() if secret in text]
    assert leaks == [], leaks


@pytest.mark.timeout(240)  # a safety net on a loaded machine, not a speed check
def test_no_passphrase_in_errors_when_the_run_fails_after_the_key_export(drifted, caplog, capfd):
    node, secret = drifted
    node.inject_fault("avmaint", "error", exit_code=3, match="publickey", message="avmaint: publickey: failed")
    run, _, _ = run_watched(sim_config(node), secret, caplog, capfd)
    assert run.output["outcome"] == "failed" and run.output["error"]["step"] == "set_gsan_minserial", run.output


@pytest.mark.timeout(240)  # a safety net on a loaded machine, not a speed check
def test_no_passphrase_anywhere_over_ssh(drifted, caplog, capfd, sshd_service):
    node, secret = drifted
    config = sim_config(node)
    # The key as st2kv holds it (PEM text), and a password: both are in the config the run sees.
    config["servers"][SERVER].update(sshd_service.server_entry(private_key=sshd_service.key_pem, password=SSH_PASSWORD))
    run, _, _ = run_watched(config, secret, caplog, capfd)
    assert run.output["outcome"] == "remediated", run.output
    assert find_leaks(configured_secrets(config, secret), {"sshd log": sshd_service.log_text()}) == {}


def test_the_sampler_would_see_a_leak():
    """The watch itself works: a process with the secret in its argv is caught."""
    import subprocess

    secret = "reliability-canary-5f0c3a9e"
    with CmdlineSampler(secret.encode()) as sampler:
        proc = subprocess.Popen(["sh", "-c", "sleep 0.3", secret])
        proc.wait()
    hits: List[bytes] = sorted(sampler.hits)
    assert hits and secret.encode() in hits[0]
