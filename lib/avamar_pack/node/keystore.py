"""Export the mcecroot public key to a private temporary directory on the node (KB step 3).

The directory is created with mode 700 under ``/tmp`` with an unguessable name chosen here
(``mkdir`` refuses an existing entry, so it cannot be pre-created or symlinked by someone
else), the key is written inside by the constant script ``commands.EXPORT_KEY_SCRIPT`` (the
keystore passphrase stays inside that shell on the node), and the directory is removed
afterwards whatever happened.
"""

from __future__ import annotations

import logging
import posixpath
import secrets
from dataclasses import dataclass
from typing import List

from avamar_pack.errors import TransportError
from avamar_pack.node import commands
from avamar_pack.node.node import AvamarNode

LOG = logging.getLogger(__name__)

TEMP_PARENT = "/tmp"
KEYFILE_NAME = "mcecroot.pub"


@dataclass(frozen=True)
class KeyExportPlan:
    """Where the key goes for one run. The name is random per run."""

    keystore: str
    temp_dir: str

    @property
    def keyfile(self) -> str:
        return posixpath.join(self.temp_dir, KEYFILE_NAME)

    @classmethod
    def new(cls, keystore: str) -> KeyExportPlan:
        return cls(keystore=keystore, temp_dir=posixpath.join(TEMP_PARENT, f"avamar-pubkey.{secrets.token_hex(8)}"))

    def create_commands(self) -> List[List[str]]:
        return [commands.make_private_dir(self.temp_dir), commands.export_public_key(self.keystore, self.keyfile)]

    def cleanup_command(self) -> List[str]:
        return commands.remove_tree(self.temp_dir)


def export_public_key(node: AvamarNode, plan: KeyExportPlan) -> str:
    """Create the private directory and write the public key into it; returns the key file path.

    Raises TransportError naming the stage that failed (never with the script's output, which
    could only ever contain keytool's complaints; the passphrase is not printed by design).
    """
    mkdir_argv, export_argv = plan.create_commands()
    node.run(mkdir_argv, check=True)
    res = node.run(export_argv)
    if res.exit_code != 0:
        stage = commands.EXPORT_KEY_EXIT.get(res.exit_code, f"the export script exited {res.exit_code}")
        raise TransportError(node.host, "export the mcecroot public key", stage)
    return plan.keyfile


def remove_temp_dir(node: AvamarNode, plan: KeyExportPlan) -> bool:
    """Remove the temp directory; True when it is gone. Never raises (called from ``finally``)."""
    try:
        res = node.run(plan.cleanup_command())
        return res.exit_code == 0
    except Exception as exc:  # noqa: BLE001 - cleanup must not hide the real error
        LOG.warning("could not remove %s on %s: %s", plan.temp_dir, node.host, exc)
        return False
