"""One contract, three transports: the ``target`` fixture yields a way to open a transport
of each kind (local, ssh through the test sshd, salt through the test salt-api) to this
machine, with ``command_path`` pointing at a per-test bin directory."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import Any, Dict, List

import pytest
from avamar_pack.config import server_settings
from avamar_pack.transport import Transport, open_transport

HELLO = '#!/bin/sh\necho "hello from the node bin: $*"\n'


@dataclass
class Target:
    kind: str
    bin_dir: str
    entry: Dict[str, Any]
    salt: Dict[str, Any] = field(default_factory=dict)
    service: Any = None
    opened: List[Transport] = field(default_factory=list)

    @property
    def command_path(self) -> List[str]:
        return [self.bin_dir, "/usr/bin", "/bin"]

    def config(self, **overrides: Any) -> Dict[str, Any]:
        entry = dict(self.entry, command_path=self.command_path)
        entry.update(overrides)
        config: Dict[str, Any] = {"servers": {"node1": entry}}
        if self.salt:
            config["salt"] = dict(self.salt)
        return config

    def open(self, salt_overrides: Dict[str, Any] = None, **overrides: Any) -> Transport:
        config = self.config(**overrides)
        if salt_overrides:
            config["salt"].update(salt_overrides)
        transport = open_transport(server_settings(config, "node1"), config)
        self.opened.append(transport)
        return transport


def make_bin_dir(root: str) -> str:
    bin_dir = os.path.join(root, "node-bin")
    os.makedirs(bin_dir)
    script = os.path.join(bin_dir, "avamar-hello")
    with open(script, "w", encoding="ascii") as handle:
        handle.write(HELLO)
    os.chmod(script, 0o755)  # noqa: S103 - a test program every transport must execute
    os.chmod(root, os.stat(root).st_mode | stat.S_IXOTH)
    return bin_dir


@pytest.fixture(
    params=["local", pytest.param("ssh", marks=pytest.mark.ssh), pytest.param("salt", marks=pytest.mark.salt)]
)
def target(request: pytest.FixtureRequest, tmp_path) -> Target:
    bin_dir = make_bin_dir(str(tmp_path))
    kind = request.param
    if kind == "local":
        result = Target(kind, bin_dir, {"transport": "local"})
    elif kind == "ssh":
        sshd = request.getfixturevalue("sshd_service")
        result = Target(kind, bin_dir, sshd.server_entry(), service=sshd)
    else:
        salt = request.getfixturevalue("salt_service")
        # The test salt-api is http on 127.0.0.1: the one case allow_insecure_http is meant for.
        result = Target(
            kind, bin_dir, salt.server_entry(), salt=salt.salt_config(allow_insecure_http=True), service=salt
        )
    yield result
    for transport in result.opened:
        transport.close()


@pytest.fixture
def transport(target: Target) -> Transport:
    return target.open()
