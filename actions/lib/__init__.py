"""Helpers shared by this pack's Python actions; importing this package finds the pack's library.

The library is the pack's top-level ``lib/avamar_pack``. StackStorm puts that folder on an
action's import path only when st2.conf has ``[packs] enable_common_libs = True`` (off by
default). What st2's python runner always puts there is the action's own folder (``actions/``,
so this package imports as ``lib``) and ``actions/lib``. So this file adds ``<pack>/lib`` itself
when it is missing: every action's first import is ``import lib`` and the pack works with the
option off or on (when on, the folder is already there and nothing is added).
"""

import os
import sys

PACK_LIB_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "lib")


def _on_path(folder: str) -> bool:
    real = os.path.realpath(folder)
    return any(os.path.realpath(entry or os.curdir) == real for entry in sys.path)


if os.path.isdir(os.path.join(PACK_LIB_DIR, "avamar_pack")) and not _on_path(PACK_LIB_DIR):
    # In front: this pack's own library, whatever else the interpreter can see.
    sys.path.insert(0, PACK_LIB_DIR)
