"""Refuse to build a simulated node anywhere it could overwrite a real Avamar tree.

`SimNode.create` writes `usr/local/avamar/bin/avmaint`, `mcserver.sh`, the keystore and the
`.srl` under its root. Pointed at `/` on a utility node (`--root /`, `AVAMAR_SIM_ROOT=/`) it
would replace the real ones. So a root must be a directory that is either empty (or missing),
or a node this simulator made (its marker present); and a `usr/local/avamar` below it must be the
simulator's own (tree marker present). `/` is refused whatever it holds.
"""

from __future__ import annotations

import json
import os

from . import inferred


class UnsafeRoot(ValueError):
    """The root could hold something that is not a simulated node."""


def check(root: str) -> str:
    """The resolved root if it is safe to create a node in; UnsafeRoot otherwise."""
    real = os.path.realpath(root)
    if os.path.dirname(real) == real:
        raise UnsafeRoot(
            f"refusing to create a simulated node at {real!r}: the file system root "
            "holds (or will hold) a real Avamar installation"
        )
    if not os.path.lexists(real):
        return real
    if not os.path.isdir(real):
        raise UnsafeRoot(f"refusing to create a simulated node at {real!r}: not a directory")
    marked = os.path.isfile(os.path.join(real, inferred.SIM_MARKER))
    if os.listdir(real) and not marked:
        raise UnsafeRoot(
            f"refusing to create a simulated node at {real!r}: the directory is not empty and "
            f"holds no simulator marker ({inferred.SIM_MARKER}); use an empty directory"
        )
    avamar = os.path.join(real, "usr", "local", "avamar")
    if os.path.lexists(avamar) and not os.path.isfile(os.path.join(real, inferred.TREE_MARKER)):
        raise UnsafeRoot(
            f"refusing to create a simulated node at {real!r}: {avamar} exists and was not "
            "made by the simulator (a real Avamar tree?)"
        )
    return real


def mark(root: str) -> None:
    """Write both markers (after the directories exist, before any Avamar file is written)."""
    record = json.dumps({"avamar_sim": 1, "root": root}).encode()
    for rel in (inferred.SIM_MARKER, inferred.TREE_MARKER):
        target = os.path.join(root, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as handle:
            handle.write(record)
