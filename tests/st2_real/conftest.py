"""The st2 tier: the pack's st2-facing behaviour through StackStorm v3.9.0's own code.

Run with ``make test-st2`` (st2's Python from the st2 reference tree, ``ST2_REF``). Not part of
``make test`` nor of ``st2-run-pack-tests`` (``norecursedirs`` in pyproject.toml): it needs st2's
whole code base (st2api, st2actions, st2reactor, the runners) and mongomock, which a pack's test
virtualenv does not have. Without them it stops with an error, never a skip.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Dict, Iterator

import pytest


def _require_real_st2() -> None:
    try:
        import mongomock  # noqa: F401
        import st2api  # noqa: F401
        import st2common
        import st2reactor  # noqa: F401
        import st2tests  # noqa: F401
    except ImportError as exc:
        raise pytest.UsageError(
            f"tests/st2_real needs StackStorm v3.9.0's code and mongomock ({exc}); run `make test-st2` "
            "(ST2_REF=<st2 reference tree>, see docs/TESTING.md)"
        ) from None
    if "st2_standins" in getattr(st2common, "__file__", "") or not hasattr(st2common, "__version__"):
        raise pytest.UsageError("tests/st2_real found the st2 stand-ins, not StackStorm: run `make test-st2`")


_require_real_st2()

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import st2api_server  # noqa: E402
import st2boot  # noqa: E402
import st2engine  # noqa: E402
from st2_local.sim_pack_config import sim_pack_config  # noqa: E402

BOT = "chatops_bot"  # the st2 user hubot authenticates as


@pytest.fixture(scope="session")
def st2(tmp_path_factory: pytest.TempPathFactory) -> st2boot.St2:
    """st2 booted once: the pack copy registered by st2's registrars, st2api served."""
    booted = st2boot.boot(str(tmp_path_factory.mktemp("st2")))
    booted.api_url = st2api_server.start()
    return booted


@pytest.fixture(autouse=True)
def _fresh_st2(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts with no executions, no Inquiries and common libs off (st2's default)."""
    if "st2" not in request.fixturenames:
        yield
        return
    st2 = request.getfixturevalue("st2")
    st2.forget_executions()
    st2.common_libs(False)
    yield
    st2.use_config(None)


@pytest.fixture
def carrier(st2: st2boot.St2) -> st2engine.Carrier:
    return st2engine.Carrier(st2.bus)


@pytest.fixture
def api(st2: st2boot.St2) -> Callable[[str], st2api_server.Client]:
    """``api(user)``: the st2 API as that st2 user (a token st2 issued to them)."""
    return lambda user: st2api_server.Client(st2.api_url or "", user)


@pytest.fixture
def approval_config() -> Dict[str, Any]:
    """The approval section of the tests' config: alice and bob approve, the bot relays chat."""
    return {"users": ["alice", "bob"], "chatops_users": [BOT], "route": "avamar", "ttl_minutes": 30}


@pytest.fixture
def sim_config(st2: st2boot.St2, make_sim_node: Callable[..., Any], approval_config: Dict[str, Any]) -> Any:
    """``sim_config(scenario="mcs_restored_old_flush", **knobs)``: a simulated node whose clients'
    backups fail, registered as the pack config through st2's config registrar; returns the node."""

    def make(
        scenario: str = "mcs_restored_old_flush", approval: Any = None, failing_backups: int = 2, **knobs: Any
    ) -> Any:
        knobs.setdefault("restart_seconds", 0)
        knobs.setdefault("backup_seconds", 0)
        node = make_sim_node(scenario, **knobs)
        for index in range(failing_backups):  # the refused backups the diagnosis reads as evidence
            node.run_backup(f"client{index:02d}")
        st2.use_config(sim_pack_config(node.root, approval=approval or approval_config))
        return node

    return make
