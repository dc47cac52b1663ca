"""Absolute paths on an Avamar utility node (AVAMAR_FACTS.md), under a configurable root.

A real node uses ``avamar_root: /``; the simulator roots a node in a folder.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

SESSIONTICKET_SRL = "/usr/local/avamar/var/mc/server_data/prefs/sessionticket.srl"
KEYSTORE = "/usr/local/avamar/lib/avamar_keystore"
KEYSTORE_ALIAS = "mcecroot"
GSAN_LOG = "/data01/cur/gsan.log"
GSAN_ERR_LOG = "/data01/cur/err.log"
GSAN_LOG_GLOB = "/data01/cur/gsan.log*"
CLIENT_LOG_DIR = "/usr/local/avamar/var/clientlogs"
AVAMAR_BIN = "/usr/local/avamar/bin"
# Where the pack keeps its own files on the node (lock, backups of the .srl are kept beside it).
PACK_STATE_DIR = "/usr/local/avamar/var/st2-avamar"


@dataclass(frozen=True)
class NodePaths:
    root: str = "/"

    def _p(self, absolute: str) -> str:
        return posixpath.join(self.root, absolute.lstrip("/"))

    @property
    def srl(self) -> str:
        return self._p(SESSIONTICKET_SRL)

    @property
    def keystore(self) -> str:
        return self._p(KEYSTORE)

    @property
    def gsan_log(self) -> str:
        return self._p(GSAN_LOG)

    @property
    def gsan_err_log(self) -> str:
        return self._p(GSAN_ERR_LOG)

    @property
    def client_log_dir(self) -> str:
        return self._p(CLIENT_LOG_DIR)

    @property
    def pack_state_dir(self) -> str:
        return self._p(PACK_STATE_DIR)

    @property
    def lock_dir(self) -> str:
        return posixpath.join(self.pack_state_dir, "remediation.lock")

    @property
    def srl_dir(self) -> str:
        """MCS's prefs directory: the ``.srl`` and the pack's ``.srl`` backups beside it."""
        return posixpath.dirname(self.srl)

    def record(self, name: str) -> str:
        """A record the pack keeps on the node (``node.records``): ``<pack state dir>/<name>.json``."""
        return posixpath.join(self.pack_state_dir, f"{name}.json")
