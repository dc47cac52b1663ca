"""Commands work for any caller with only PATH set, from any directory, without a TTY."""

from __future__ import annotations

import subprocess
import threading

import pytest


def bare(node, *argv: str, cwd: str = "/") -> subprocess.CompletedProcess:
    return subprocess.run(
        ["env", "-i", f"PATH={node.bin_dir}:/usr/bin:/bin", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_commands_need_only_path(sim_node):
    assert bare(sim_node, "dpnctl", "status", "gsan").stdout == "dpnctl: INFO: gsan status: up\n"
    assert bare(sim_node, "mcserver.sh", "--version").returncode == 0
    assert bare(sim_node, "avlockbox.sh", "-r", "keystore_passphrase").stdout == sim_node.passphrase() + "\n"
    assert bare(sim_node, "avlockbox.sh", "-r", "other").returncode != 0


def test_publickey_refuses_below_hidden_threshold_and_wrong_key(sim_node, tmp_path):
    key = tmp_path / "mcecroot.pub"
    key.write_text(sim_node.public_key_pem())
    threshold = sim_node.state()["gsan_threshold"]
    args = ["avmaint", "publickey", f"--keyfile={key}", "--ava"]
    refused = bare(sim_node, *args, f"--serial={threshold}")
    assert refused.returncode != 0
    assert refused.stderr == "ERROR: avmaint: publickey: server_exception(MSG_ERR_INVALID_PARAMETERS)\n"
    other = tmp_path / "other.pub"
    other.write_text("-----BEGIN PUBLIC KEY-----\nMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEAAAA\n-----END PUBLIC KEY-----\n")
    assert (
        bare(sim_node, "avmaint", "publickey", f"--keyfile={other}", "--ava", f"--serial={threshold + 1}").returncode
        != 0
    )
    assert bare(sim_node, "avmaint", "publickey", "--keyfile=/nope", "--ava", "--serial=99999999").returncode != 0
    assert bare(sim_node, *args, f"--serial={threshold + 1}").returncode == 0
    assert sim_node.state()["gsan_minimal_serial"] == threshold + 1


@pytest.mark.parametrize("extra", [0, 50000])
def test_threshold_extra_knob(sim_node, tmp_path, extra):
    sim_node.set_knobs(threshold_extra=extra)
    state = sim_node.state()
    assert state["gsan_threshold"] == max(state["gsan_minimal_serial"], state["gsan_max_used"]) + extra


def test_concurrent_backups_never_share_a_serial(sim_node):
    results = []

    def worker(i: int) -> None:
        proc = bare(sim_node, "avtar", "--backup", f"--account=/clients/c{i}")
        results.append(proc.returncode)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [0] * 6
    state = sim_node.state()
    assert state["gsan_used_serials"][-6:] == list(range(state["gsan_max_used"] - 5, state["gsan_max_used"] + 1))


def test_usage_errors(sim_node):
    assert bare(sim_node, "dpnctl", "start").returncode != 0
    assert bare(sim_node, "dpnctl", "status", "x").returncode != 0
    assert bare(sim_node, "mcserver.sh").returncode != 0
    assert bare(sim_node, "avmaint", "frobnicate").returncode != 0
    assert bare(sim_node, "mccli", "client", "backup-dataset", "--name=bad name").stdout.startswith("1,")
    assert bare(sim_node, "avtar", "--restore").returncode != 0
