"""The simulator never builds a node where it could overwrite a real Avamar tree (security item 4)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from avamar_sim import SimNode
from avamar_sim.rootguard import UnsafeRoot

SIMULATOR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "simulator")


def test_refuses_the_file_system_root(tmp_path):
    for root in ("/", "//", "/./", "/usr/.."):
        with pytest.raises(UnsafeRoot, match="file system root"):
            SimNode.create(root)
    link = tmp_path / "to-root"
    link.symlink_to("/")
    with pytest.raises(UnsafeRoot):
        SimNode.create(link)


def test_refuses_a_non_empty_root_without_the_marker(tmp_path):
    (tmp_path / "etc").mkdir()
    with pytest.raises(UnsafeRoot, match="not empty"):
        SimNode.create(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["etc"]  # nothing written


def test_refuses_a_real_looking_avamar_tree_even_next_to_a_marker(tmp_path):
    node = SimNode.create(tmp_path / "node")
    os.unlink(os.path.join(node.root, "usr/local/avamar/.avamar-sim-tree"))
    with pytest.raises(UnsafeRoot, match="not made by the simulator"):
        SimNode.create(node.root)


def test_a_file_is_not_a_root(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(UnsafeRoot, match="not a directory"):
        SimNode.create(tmp_path / "f")


def test_recreating_its_own_node_and_new_or_empty_roots_work(tmp_path):
    node = SimNode.create(tmp_path / "new" / "node")
    again = SimNode.create(node.root, "keystore_rebuilt")
    assert again.state()["scenario"] == "keystore_rebuilt"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert SimNode.create(empty).state()["scenario"] == "healthy"


def test_cli_and_env_root_are_refused(tmp_path):
    env = dict(os.environ, PYTHONPATH=SIMULATOR, AVAMAR_SIM_ROOT="/")
    proc = subprocess.run(
        [sys.executable, "-m", "avamar_sim", "create"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 2 and "refusing to create a simulated node at '/'" in proc.stderr
    assert not os.path.exists("/.sim/avamar-sim-node")
