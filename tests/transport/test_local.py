"""Local transport specifics."""

from __future__ import annotations

import os
import pwd
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


def test_commands_get_a_minimal_environment_without_the_st2_token(monkeypatch):
    """Like ssh and salt: PATH from command_path, the C locale, HOME/USER/LOGNAME, the caller's env; nothing
    of the action's own environment (StackStorm puts the action's API token there)."""
    monkeypatch.setenv("ST2_ACTION_AUTH_TOKEN", "st2-token-canary-0f3b")
    monkeypatch.setenv("ST2_ACTION_API_URL", "http://127.0.0.1:9101/v1")
    monkeypatch.setenv("AVAMAR_INHERITED", "yes")
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    with _local() as transport:
        out = transport.run(["env", "-0"], timeout=10, env={"AVAMAR_EXTRA": "given"}).stdout
    env = dict(item.split("=", 1) for item in out.split("\0") if item)
    assert sorted(env) == ["AVAMAR_EXTRA", "HOME", "LANG", "LC_ALL", "LOGNAME", "PATH", "USER"], env
    assert env["PATH"].split(":")[:2] == ["/usr/local/avamar/bin", "/usr/local/avamar/lib"]
    assert env["LANG"] == env["LC_ALL"] == "C" and env["AVAMAR_EXTRA"] == "given"
    assert env["HOME"] == pwd.getpwuid(os.getuid()).pw_dir and env["USER"] == pwd.getpwuid(os.getuid()).pw_name
    assert "st2-token-canary-0f3b" not in out
