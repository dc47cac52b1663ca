"""Local transport specifics."""

from __future__ import annotations

import os
import time

import pytest
from avamar_pack.config import server_settings
from avamar_pack.errors import CommandTimeout
from avamar_pack.transport import open_transport
from avamar_pack.transport.local import LocalTransport


def _local() -> LocalTransport:
    config = {"servers": {"here": {"transport": "local"}}}
    transport = open_transport(server_settings(config, "here"), config)
    assert isinstance(transport, LocalTransport)
    return transport


def test_timeout_kills_the_whole_process_group(tmp_path):
    marker = tmp_path / "child.pid"
    with _local() as transport:
        with pytest.raises(CommandTimeout, match="process group killed"):
            transport.run(["sh", "-c", f"sleep 62 & echo $! > {marker}; wait"], timeout=1)
    child = int(marker.read_text())
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/{child}") and time.monotonic() < deadline:
        with open(f"/proc/{child}/stat", encoding="ascii") as handle:
            if handle.read().split(") ")[1].startswith("Z"):
                break
        time.sleep(0.05)
    else:
        assert not os.path.exists(f"/proc/{child}"), "the background child survived the timeout"


def test_the_callers_environment_is_kept_and_path_replaced(monkeypatch):
    monkeypatch.setenv("AVAMAR_INHERITED", "yes")
    with _local() as transport:
        out = transport.run(["sh", "-c", 'printf "%s %s" "$AVAMAR_INHERITED" "$PATH"'], timeout=10).stdout
    inherited, path = out.split(" ", 1)
    assert inherited == "yes"
    assert path.split(":")[:2] == ["/usr/local/avamar/bin", "/usr/local/avamar/lib"]
