"""The node's hidden state: one JSON file guarded by an fcntl lock.

Every command is its own process and several may run at once (a backup during a restart), so
each read-modify-write holds an exclusive ``flock`` on ``.sim/state.lock`` and replaces
``.sim/state.json`` atomically.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from typing import Any, Dict, Iterator

# Paths of a node relative to its root (the pack's avamar_root).
BIN = "usr/local/avamar/bin"
LIB = "usr/local/avamar/lib"
KEYSTORE = "usr/local/avamar/lib/avamar_keystore"
PREFS = "usr/local/avamar/var/mc/server_data/prefs"
SRL = "usr/local/avamar/var/mc/server_data/prefs/sessionticket.srl"
CLIENT_LOGS = "usr/local/avamar/var/clientlogs"
GSAN_DIR = "data01/cur"
GSAN_LOG = "data01/cur/gsan.log"
GSAN_ERR_LOG = "data01/cur/err.log"
SIM_DIR = ".sim"
STATE_FILE = ".sim/state.json"
LOCK_FILE = ".sim/state.lock"
PASSPHRASE_FILE = ".sim/keystore_passphrase"  # noqa: S105 (a path, not a secret)
PUBKEY_FILE = ".sim/mcecroot.pub"

State = Dict[str, Any]


def path(root: str, rel: str) -> str:
    return os.path.join(root, rel)


def write_atomic(target: str, data: bytes, mode: int = 0o644) -> None:
    """Write via a temp file in the same directory, fsync, rename."""
    tmp = f"{target}.tmp.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_state(root: str) -> State:
    """A snapshot of the state without taking the lock (the file is replaced atomically)."""
    with open(path(root, STATE_FILE), encoding="utf-8") as handle:
        return json.load(handle)


def save_state(root: str, state: State) -> None:
    write_atomic(path(root, STATE_FILE), json.dumps(state, indent=1, sort_keys=True).encode(), 0o600)


@contextlib.contextmanager
def locked(root: str) -> Iterator[State]:
    """Hold the node lock, yield the state, save it when the block ends without an exception."""
    lock_fd = os.open(path(root, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        state = read_state(root)
        yield state
        save_state(root, state)
    finally:
        os.close(lock_fd)  # closing releases the flock
