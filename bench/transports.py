"""Figures 6 and 7: commands over the pack's SSH and Salt transports beside the stock clients.

The services are the ones the test suite starts (``tests/fixtures/servicekit``: a private sshd,
and salt-master + salt-minion + salt-api, all on 127.0.0.1, stopped by their process group).

* SSH: ``SshTransport`` (paramiko, one connection reused for the whole action run - its
  connect is included in the time) vs the OpenSSH ``ssh`` client run once per command
  (a new connection each time, as a script calling ``ssh`` does).
* Salt: ``SaltTransport`` (salt-api, one login, ``cmd.run_all`` per command) vs the ``salt`` CLI
  run once per command on the same master (``salt -c CONF MINION cmd.run_all ...``).

Both sides run the same harmless command (``echo bench-ok``) and their output is checked. The
two sides alternate in blocks, so a burst of load on the shared machine hits both. Each side
is bounded by a count and a time budget; the figure is the ratio of the MEDIAN seconds per
command (a few commands slowed by another process's burst move a mean, not a median); the
totals and means stay in the details.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Tuple

from bench.common import Deadline, Options, Row, median, percentile, say

BLOCK = 25
COMMAND = ["echo", "bench-ok"]
TARGETS = {"ssh": 3.0, "salt": 2.0}
SIDE_BUDGET_S = {"ssh": 180.0, "salt": 400.0}


def _alternate(
    ours: Callable[[], None], reference: Callable[[], None], count: int, budget: float, what: str
) -> Tuple[List[float], List[float]]:
    """Run both sides ``count`` times each, in alternating blocks; each side bounded by ``budget``."""
    ours_s: List[float] = []
    ref_s: List[float] = []
    ours_deadline, ref_deadline = Deadline(budget, f"{what} (ours)"), Deadline(budget, f"{what} (reference)")
    while len(ours_s) < count or len(ref_s) < count:
        progressed = False
        for side, samples, deadline in ((ours, ours_s, ours_deadline), (reference, ref_s, ref_deadline)):
            for _ in range(min(BLOCK, count - len(samples))):
                if deadline.expired():
                    break
                started = time.perf_counter()
                side()
                samples.append(time.perf_counter() - started)
                progressed = True
        if not progressed:
            break
    return ours_s, ref_s


def _row(
    kind: str, label: str, ref_label: str, ours_s: List[float], ref_s: List[float], count: int, details: Dict
) -> Row:
    ours_med, ref_med = median(ours_s), median(ref_s)
    speedup = ref_med / ours_med
    target = TARGETS[kind]
    complete = len(ours_s) == count and len(ref_s) == count
    details.update(
        ours_commands=len(ours_s),
        reference_commands=len(ref_s),
        ours_total_s=round(sum(ours_s), 3),
        reference_total_s=round(sum(ref_s), 3),
        ours_median_ms=round(ours_med * 1000, 1),
        reference_median_ms=round(ref_med * 1000, 1),
        ours_p90_ms=round(percentile(ours_s, 90) * 1000, 1),
        reference_p90_ms=round(percentile(ref_s, 90) * 1000, 1),
        ours_mean_ms=round(sum(ours_s) / len(ours_s) * 1000, 1),
        reference_mean_ms=round(sum(ref_s) / len(ref_s) * 1000, 1),
        speedup_of_medians=round(speedup, 2),
        speedup_of_means=round((sum(ref_s) / len(ref_s)) / (sum(ours_s) / len(ours_s)), 2),
    )
    note = (
        ""
        if complete
        else (f"time budget hit: {len(ours_s)} of ours and {len(ref_s)} reference commands ran; medians compared")
    )
    return Row(
        figure=f"{count} commands over the {label}",
        ours=f"median {ours_med * 1000:.0f} ms/command (total {sum(ours_s):.2f} s)",
        reference=f"{ref_label}: median {ref_med * 1000:.0f} ms/command (total {sum(ref_s):.2f} s)",
        target=f"{speedup:.1f}x faster (medians); >= {target:g}x",
        passed=speedup >= target,
        details=details,
        note=note,
    )


def login_shell_cost(username: str, runs: int = 5) -> Dict:
    """Seconds the login shell adds to every SSH command on THIS machine (both sides pay it).

    sshd runs each command through the user's login shell; bash, started by sshd, sources
    ``~/.bashrc``. A heavy one (pyenv init, say) is a fixed cost per command that says nothing
    about the transport, so it is measured here and an adjusted ratio is reported beside the
    measured one.
    """
    try:
        entry = pwd.getpwnam(username)
    except KeyError:
        return {"shell": None, "rc_s": 0.0}
    rc = os.path.join(entry.pw_dir, ".bashrc")
    if not entry.pw_shell.endswith("bash") or not os.path.isfile(rc):
        return {"shell": entry.pw_shell, "rc_s": 0.0}

    def timed(script: str) -> float:
        best = None
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run([entry.pw_shell, "-c", script], capture_output=True, timeout=30, check=False)  # noqa: S603
            spent = time.perf_counter() - started
            best = spent if best is None else min(best, spent)
        return best or 0.0

    cost = max(0.0, timed(f". {shlex.quote(rc)} >/dev/null 2>&1; true") - timed("true"))
    return {"shell": entry.pw_shell, "rc": rc, "rc_s": round(cost, 4)}


def _timed_sides(
    name: str,
    opts: Options,
    transport: Any,
    timeout: float,
    reference_argv: List[str],
    reference_ok: Callable[[str], bool],
) -> Tuple[List[float], List[float]]:
    """``COMMAND`` through our transport and through the reference client (``reference_argv``,
    its output judged by ``reference_ok``), alternating, ``opts.commands`` each; the transport
    is closed after. Either side answering wrong ends the row with an AssertionError."""

    def ours() -> None:
        result = transport.run(COMMAND, timeout=timeout, check=True)
        if result.stdout != "bench-ok\n":
            raise AssertionError(f"{name} transport answered {result.stdout!r}")

    def reference() -> None:
        proc = subprocess.run(reference_argv, capture_output=True, text=True, timeout=2 * timeout, check=False)  # noqa: S603
        if proc.returncode != 0 or not reference_ok(proc.stdout):
            raise AssertionError(
                f"the {name} client exited {proc.returncode}: {(proc.stderr or proc.stdout).strip()[:300]}"
            )

    try:
        return _alternate(ours, reference, opts.commands, SIDE_BUDGET_S[name], name)
    finally:
        transport.close()


def _ssh(opts: Options, work: str) -> Row:
    from avamar_pack.config import server_settings  # noqa: PLC0415
    from avamar_pack.transport import open_transport  # noqa: PLC0415
    from fixtures.servicekit.sshd import start_sshd  # noqa: PLC0415

    ssh_bin = shutil.which("ssh")
    if ssh_bin is None:
        raise RuntimeError("the ssh client is missing: install openssh-client")
    service = start_sshd(os.path.join(work, "sshd"))
    try:
        config = {"servers": {"node1": service.server_entry(command_path=["/usr/bin", "/bin"])}}
        transport = open_transport(server_settings(config, "node1"), config)
        client_argv = [
            ssh_bin,
            "-q",
            "-i",
            service.key_path,
            "-p",
            str(service.port),
            "-o",
            "BatchMode=yes",
            "-o",
            f"UserKnownHostsFile={service.known_hosts}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "ControlMaster=no",
            "-o",
            "ControlPath=none",
            "-F",
            "/dev/null",
            f"{service.username}@{service.host}",
            *COMMAND,
        ]

        ours_s, ref_s = _timed_sides("ssh", opts, transport, 30, client_argv, lambda out: out == "bench-ok\n")
        shell = login_shell_cost(service.username)
        details = {
            "connections_opened": getattr(transport, "connections_opened", None),
            "login_shell": shell,
            "ssh_client": subprocess.run(
                [ssh_bin, "-V"],
                capture_output=True,
                text=True,  # noqa: S603
                check=False,
            ).stderr.strip(),
        }
        row = _row(
            "ssh",
            "SSH transport (paramiko, one connection)",
            "ssh client, one per command",
            ours_s,
            ref_s,
            opts.commands,
            details,
        )
        fixed = shell["rc_s"]
        ours_med, ref_med = median(ours_s), median(ref_s)
        if fixed > 0.005 and ours_med > fixed:
            adjusted = (ref_med - fixed) / (ours_med - fixed)
            details["speedup_without_login_shell_rc"] = round(adjusted, 2)
            row.note = (
                f"{fixed * 1000:.0f} ms of every command on BOTH sides is this machine's {shell['rc']} "
                f"(bash sources it under sshd); without it the ratio would be about {adjusted:.1f}x "
                f"(estimate, not the measured figure). " + row.note
            ).strip()
        return row
    finally:
        service.stop()


def _salt(opts: Options, work: str) -> Row:
    from avamar_pack.config import server_settings  # noqa: PLC0415
    from avamar_pack.transport import open_transport  # noqa: PLC0415
    from fixtures.servicekit.salt import start_salt  # noqa: PLC0415

    salt_cli = os.path.join(os.path.dirname(sys.executable), "salt")
    if not os.access(salt_cli, os.X_OK):
        raise RuntimeError(f"{salt_cli} is missing: make venv installs salt")
    say("salt: starting salt-master, salt-minion and salt-api on 127.0.0.1")
    service = start_salt(os.path.join(work, "salt"))
    say(f"salt: up in {service.startup_s} s")
    try:
        config = {
            "servers": {"node1": service.server_entry(command_path=["/usr/bin", "/bin"])},
            "salt": service.salt_config(),
        }
        transport = open_transport(server_settings(config, "node1"), config)
        cli_argv = [
            salt_cli,
            "-c",
            service.conf_dir,
            "--out=json",
            "--static",
            "-t",
            "60",
            service.minion_id,
            "cmd.run_all",
            "echo bench-ok",
            "python_shell=False",
        ]

        ours_s, ref_s = _timed_sides("salt", opts, transport, 60, cli_argv, lambda out: '"bench-ok"' in out)
        details = {"salt_startup_s": service.startup_s, "logins": getattr(transport, "logins", None)}
        return _row(
            "salt",
            "Salt transport (salt-api, one login)",
            "salt CLI, one per command",
            ours_s,
            ref_s,
            opts.commands,
            details,
        )
    finally:
        service.stop()


def run_one(name: str, opts: Options) -> List[Row]:
    work = tempfile.mkdtemp(prefix=f"avamar-bench-{name}-")
    os.chmod(work, 0o755)  # noqa: S103 - sshd's StrictModes is off, but keep the tree readable
    try:
        return [_ssh(opts, work) if name == "ssh" else _salt(opts, work)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
