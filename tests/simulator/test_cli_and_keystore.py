"""The control CLI, and the keystore: real keytool PKCS12, random passphrase per node, cache optional."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from avamar_sim import SimNode
from avamar_sim.keystore import spki_fingerprint

SIM_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "simulator")


def cli(*args: str, env_extra=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=SIM_DIR, **(env_extra or {}))
    return subprocess.run(
        [sys.executable, "-m", "avamar_sim", *args], capture_output=True, text=True, env=env, timeout=120
    )


def keystore_public_key(node: SimNode) -> bytes:
    """Read the keystore with the real keytool, passphrase through -storepass:env (never argv)."""
    env = dict(os.environ, KS_PASS=node.passphrase())
    cert = subprocess.run(
        [
            "keytool",
            "-exportcert",
            "-rfc",
            "-keystore",
            node.keystore_path,
            "-storepass:env",
            "KS_PASS",
            "-alias",
            "mcecroot",
        ],
        capture_output=True,
        env=env,
        timeout=60,
        check=True,
    )
    return subprocess.run(
        ["openssl", "x509", "-pubkey", "-noout"], input=cert.stdout, capture_output=True, timeout=60, check=True
    ).stdout


def test_cli_drives_a_node(tmp_path):
    root = str(tmp_path / "node")
    created = cli("create", "--root", root, "--scenario", "mcs_restored_old_flush", "--knob", "restart_seconds=0")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["bin"] == os.path.join(root, "usr/local/avamar/bin")
    failed = cli("backup", "--root", root, "client01")
    assert failed.returncode == 1 and json.loads(failed.stdout)["reason"] == "used"
    assert cli("knobs", "--root", root, "threshold_extra=5").returncode == 0
    assert cli("fault", "--root", root, "dpnctl", "error", "--exit-code", "3").returncode == 0
    state = json.loads(cli("state", "--root", root).stdout)
    assert state["knobs"]["threshold_extra"] == 5 and state["faults"]["dpnctl"]["exit_code"] == 3
    assert state["gsan_threshold"] == 28465
    node = SimNode.open(root)
    assert node.run(["dpnctl", "status"]).returncode == 3
    assert cli("clear-faults", "--root", root).returncode == 0
    assert node.run(["dpnctl", "status"]).returncode == 0
    assert cli("scenario", "--root", root, "healthy").returncode == 0
    ok = cli("backup", "client01", env_extra={"AVAMAR_SIM_ROOT": root})
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True
    assert cli("fault", "--root", root, "srl_write", "readonly").returncode == 0
    assert cli("clear-faults", "--root", root).returncode == 0
    assert cli("scenario", "--root", root, "nope").returncode == 2
    assert cli("state", "--root", str(tmp_path / "missing")).returncode == 2


def test_keystore_is_real_and_passphrase_differs_per_node(make_sim_node):
    first, second = make_sim_node(), make_sim_node()
    assert first.passphrase() != second.passphrase()
    pem = keystore_public_key(first)
    assert pem.decode() == first.public_key_pem()
    assert spki_fingerprint(pem) is not None
    assert b"MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE" in pem  # EC P-384 SubjectPublicKeyInfo
    state = open(os.path.join(first.root, ".sim/state.json")).read()
    assert first.passphrase() not in state
    for name in os.listdir(first.bin_dir):
        assert first.passphrase() not in open(os.path.join(first.bin_dir, name)).read()


def test_node_creation_works_without_a_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AVAMAR_SIM_CACHE", "")
    node = SimNode.create(tmp_path / "nocache")
    assert keystore_public_key(node).decode() == node.public_key_pem()
    assert node.run_backup("c1")["ok"]


def test_cache_is_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("AVAMAR_SIM_CACHE", str(tmp_path / "cache"))
    a = SimNode.create(tmp_path / "a")
    b = SimNode.create(tmp_path / "b")
    assert sorted(os.listdir(tmp_path / "cache")) == [".lock", "keystore-v1-a"]
    assert a.public_key_pem() == b.public_key_pem() and a.passphrase() != b.passphrase()
    assert keystore_public_key(b).decode() == b.public_key_pem()
