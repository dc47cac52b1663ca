"""The library under the actions, tested directly: the node lock and the key export over LocalTransport."""

from __future__ import annotations

import os
import shutil

import pytest
from avamar_pack.config import server_settings
from avamar_pack.errors import CommandFailed, LockHeld, TransportError, ValidationError
from avamar_pack.node import commands
from avamar_pack.node.keystore import KeyExportPlan, export_public_key, remove_temp_dir
from avamar_pack.node.lock import NodeLock, validate_lock_owner
from avamar_pack.node.node import AvamarNode
from avamar_pack.node.paths import NodePaths
from avamar_pack.transport.local import LocalTransport
from st2_local.sim_pack_config import SERVER, sim_pack_config


@pytest.fixture
def node(sim_node):
    config = sim_pack_config(sim_node.root, test_client=None, remediation=None)
    settings = server_settings(config, SERVER)
    with LocalTransport(settings) as transport:
        yield AvamarNode(transport, NodePaths(sim_node.root), command_timeout_s=30)


def test_lock_is_exclusive_reentrant_and_released_only_by_its_owner(node):
    clock = [10_000.0]
    lock = NodeLock(node.transport, node.paths, ttl_s=60, clock=lambda: clock[0])
    assert lock.holder() is None and lock.status().free
    taken = lock.acquire("wf-A")
    assert taken.acquired and taken.held_by_caller and taken.took_over is None
    again = lock.acquire("wf-A")
    assert again.reentrant and not again.acquired and again.held_by_caller
    info = lock.holder()
    assert info.owner == "wf-A" and info.stale is False and info.host
    with pytest.raises(LockHeld, match="held by wf-A"):
        lock.acquire("wf-B")
    with pytest.raises(LockHeld, match="wf-A"):
        lock.release("wf-B")
    clock[0] += 61  # past the TTL: stale, taken over
    taken = lock.acquire("wf-B")
    assert taken.acquired and taken.took_over.previous.owner == "wf-A" and taken.took_over.reason == "stale"
    assert lock.release("wf-B").released is True
    assert lock.release("wf-B").released is False
    assert not os.path.exists(node.paths.lock_dir)


def test_every_lock_answer_has_one_shape(node):
    lock = NodeLock(node.transport, node.paths, ttl_s=60)
    shapes = [
        lock.status("wf-A").as_dict(),
        lock.acquire("wf-A").as_dict(),
        lock.acquire("wf-A").as_dict(),
        lock.status("wf-B").as_dict(),
        lock.release("wf-A").as_dict(),
        lock.release("wf-A").as_dict(),
    ]
    assert len({tuple(sorted(shape)) for shape in shapes}) == 1, shapes
    assert set(shapes[0]) == {
        "owner",
        "held_by_caller",
        "holder",
        "acquired",
        "reentrant",
        "released",
        "took_over",
        "scope",
    }
    assert shapes[3]["holder"]["owner"] == "wf-A" and shapes[3]["held_by_caller"] is False
    assert shapes[4]["released"] is True and shapes[4]["holder"] is None


def test_a_judge_frees_a_young_lock_only_when_it_says_the_owner_is_gone(node):
    lock = NodeLock(node.transport, node.paths, ttl_s=3600)
    lock.acquire("wf-dead", st2_api="https://st2.example/api/v1")
    assert lock.holder().st2_api == "https://st2.example/api/v1"
    for verdict in (None, lambda info: None, lambda info: 1 / 0):  # no judge, "live", "cannot tell"
        with pytest.raises(LockHeld):
            lock.acquire("wf-new", judge=verdict)
    taken = lock.acquire("wf-new", judge=lambda info: ("owner_not_live", "canceled"))
    assert taken.acquired and taken.took_over.reason == "owner_not_live"
    assert taken.took_over.previous_status == "canceled" and taken.took_over.previous.owner == "wf-dead"
    assert lock.holder().owner == "wf-new"


def test_lock_owner_validation():
    assert validate_lock_owner(None) is None
    assert validate_lock_owner("st2:5f2a.wf-1") == "st2:5f2a.wf-1"
    for bad in ("a b", "x;y", "$(id)", "a" * 129, 7):
        with pytest.raises(ValidationError):
            validate_lock_owner(bad)


def test_key_export_takes_paths_as_data_never_as_code(node, sim_node, tmp_path):
    weird = tmp_path / "key store;touch pwned;$(touch pwned2)"
    shutil.copy(sim_node.keystore_path, weird)
    plan = KeyExportPlan.new(str(weird))
    keyfile = export_public_key(node, plan)
    assert oct(os.stat(plan.temp_dir).st_mode & 0o777) == "0o700"
    with open(keyfile) as handle:
        assert handle.read().strip() == sim_node.public_key_pem().strip()
    assert not list(tmp_path.glob("pwned*")) and not os.path.exists("pwned") and not os.path.exists("pwned2")
    assert remove_temp_dir(node, plan) is True and not os.path.exists(plan.temp_dir)


def test_key_export_failure_names_the_stage_and_private_dir_is_not_reused(node, tmp_path):
    plan = KeyExportPlan.new(str(tmp_path / "no-such-keystore"))
    with pytest.raises(TransportError, match="keytool could not read"):
        export_public_key(node, plan)
    with pytest.raises(CommandFailed, match="mkdir"):  # mkdir refuses an existing entry: never reuses a directory
        export_public_key(node, plan)
    assert remove_temp_dir(node, plan) is True


def test_commands_are_argument_lists_built_from_validated_values():
    assert commands.publickey("/tmp/d/mcecroot.pub", 38000) == [
        "avmaint",
        "publickey",
        "--keyfile=/tmp/d/mcecroot.pub",
        "--serial=38000",
        "--ava",
    ]
    with pytest.raises(TypeError):
        commands.publickey("/tmp/k", "38000; reboot")
    with pytest.raises(ValueError):
        commands.mccli_activity_show("1; reboot")
    assert commands.mccli_backup("/clients/linux-test01", "/Default Dataset") == [
        "mccli",
        "client",
        "backup-dataset",
        "--domain=/clients",
        "--name=linux-test01",
        "--dataset=/Default Dataset",
    ]
    # The passphrase is handed to keytool through its environment only.
    assert "-storepass:env PW" in commands.EXPORT_KEY_SCRIPT and "export PW" not in commands.EXPORT_KEY_SCRIPT
