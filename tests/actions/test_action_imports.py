"""The actions find the pack's library with ``enable_common_libs`` off (st2's default) and on (issue 15.3).

Each action is loaded in a fresh interpreter the way st2's python runner loads it: the import
path holds what ``python_runner`` puts there (the pack's ``actions/lib``; with
``enable_common_libs = True`` also the pack's ``lib/`` in front) and the loader then adds the
action's own folder (``st2common.util.loader.register_plugin_class``, st2's own when
importable, else the same steps written out). The pack's ``lib/`` is never on the path
otherwise, so ``import avamar_pack`` works only if the actions find it themselves.
"""

from __future__ import annotations

import ast
import os

import pytest
from packkit import ACTION_BASE, PACK_LIB, PACK_ROOT, load_in_st2_path, python_action_entries


def python_actions():
    found = []
    for entry, _meta in python_action_entries():
        with open(entry, encoding="utf-8") as handle:
            source = handle.read()
        classes = [line.split()[1].split("(")[0] for line in source.splitlines() if line.startswith("class ")]
        assert len(classes) == 1, f"{entry}: one action class per file"
        found.append((entry, classes[0]))
    assert len(found) >= 8
    return found


def load_in_fresh_interpreter(python_path, actions):
    return load_in_st2_path(python_path, actions, ACTION_BASE)


def st2_python_path(common_libs):
    """What python_runner puts on PYTHONPATH (+ the stand-ins' folder when st2 is absent)."""
    path = [os.path.join(PACK_ROOT, "actions", "lib"), os.path.join(PACK_ROOT, "runner")]
    return [PACK_LIB] + path if common_libs else path


@pytest.mark.parametrize("entry,class_name", python_actions(), ids=lambda v: os.path.basename(str(v)))
def test_action_loads_alone_with_enable_common_libs_off(entry, class_name):
    # One interpreter per action: each must find the library by itself, not thanks to another.
    report = load_in_fresh_interpreter(st2_python_path(False), [(entry, class_name)])
    assert report["loaded"] == {os.path.basename(entry): True}
    assert report["avamar_pack"] == os.path.join(PACK_LIB, "avamar_pack", "__init__.py")
    assert len(report["lib_entries"]) == 1


def test_every_action_loads_with_enable_common_libs_on():
    actions = python_actions()
    report = load_in_fresh_interpreter(st2_python_path(True), actions)
    assert report["loaded"] == {os.path.basename(p): True for p, _ in actions}
    assert report["avamar_pack"] == os.path.join(PACK_LIB, "avamar_pack", "__init__.py")
    assert len(report["lib_entries"]) == 1  # st2 already added it: not added a second time


def test_action_files_import_the_bootstrap_first():
    for entry, _ in python_actions():
        with open(entry, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
        imports = [
            node
            for node in tree.body
            if isinstance(node, (ast.Import, ast.ImportFrom))
            and not (isinstance(node, ast.ImportFrom) and node.module == "__future__")
        ]
        first = imports[0]
        assert isinstance(first, ast.Import) and [a.name for a in first.names] == ["lib"], (
            f"{entry}: the first import must be `import lib` (it puts the pack's lib/ on sys.path)"
        )
