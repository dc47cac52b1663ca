"""Shared set-up of the action tests: a simulated node reached through one of the three transports.

A test class mixes ``NodeCase`` into a ``BaseActionTestCase`` subclass and sets ``transport``;
the autouse fixture gives it ``self.sim`` (a fresh ``SimNode``) and ``self.config`` (a pack config
whose server ``ava01`` reaches that node through ``transport``). The ssh and salt services are
the session fixtures of ``tests/fixtures/services.py``; they fail loudly when a program is missing.
"""

from __future__ import annotations

from typing import Any, Dict, Tuple

import pytest
from avamar_pack.schema_defaults import fill_like_st2
from st2_local.sim_pack_config import SERVER, TEST_CLIENT, sim_pack_config

__all__ = ["SERVER", "TEST_CLIENT", "NodeCase", "server_config"]


def server_config(request: pytest.FixtureRequest, transport: str, root: str) -> Dict[str, Any]:
    """The simulated node's pack config, its server reached through ``transport``, as st2 hands it over."""
    config = sim_pack_config(root)
    entry = config["servers"][SERVER]
    if transport == "ssh":
        entry.update(request.getfixturevalue("sshd_service").server_entry())
    elif transport == "salt":
        salt = request.getfixturevalue("salt_service")
        entry.update(salt.server_entry())
        config["salt"] = salt.salt_config()
    elif transport != "local":
        raise ValueError(transport)
    # As st2's config loader hands it over: [] for command_path/hostnames, schema defaults.
    return fill_like_st2(config)


class NodeCase:
    """Mixin: ``transport``, ``scenario``; gives ``self.sim``, ``self.config``, ``self.run_action``."""

    transport = "local"
    scenario = "mcs_restored_old_flush"

    @pytest.fixture(autouse=True)
    def _node(self, request: pytest.FixtureRequest, make_sim_node: Any) -> None:
        self.sim = make_sim_node(self.scenario)
        self.config = server_config(request, self.transport, self.sim.root)
        self.request = request

    def run_action(self, **params: Any) -> Tuple[bool, Dict[str, Any]]:
        action = self.get_action_instance(config=self.config)  # type: ignore[attr-defined]
        out = action.run(**params)
        assert isinstance(out, tuple) and len(out) == 2, f"actions return (ok, result), got {out!r}"
        ok, result = out
        assert isinstance(result, dict)
        if not ok:
            assert set(result["error"]) == {"step", "reason", "state_left"}, result
        return ok, result

    def fail_backups(self, count: int = 2) -> None:
        """Backups fail with MSG_ERR_AUTH_FAIL in the drifted scenarios: write that evidence."""
        for i in range(count):
            self.sim.run_backup(f"client{i:02d}")

    def srl(self) -> bytes:
        with open(self.sim.srl_path, "rb") as handle:
            return handle.read()
