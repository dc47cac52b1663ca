"""The pack config of a simulated Avamar node: one builder for the tests, the demo and the bench.

What an operator would write in ``/opt/stackstorm/configs/avamar.yaml`` for one utility node
reached with the local transport (the simulator's tree under ``avamar_root``), nothing more:
defaults are left to the schema, as in a real config. Callers that need the config as
StackStorm hands it to actions pass the result through
``avamar_pack.schema_defaults.fill_like_st2`` (st2's config loader fills the schema defaults
and ``[]`` for missing arrays).
"""

from __future__ import annotations

import copy
from typing import Any, Dict, Mapping, Optional, Sequence

SERVER = "ava01"
TEST_CLIENT = "/clients/linux-test01"
# A small margin keeps the simulated serials readable; the schema's default (10000) is the KB's.
SIM_REMEDIATION: Mapping[str, Any] = {"serial_margin": 1000, "max_publickey_attempts": 6}


def sim_pack_config(
    node_root: str,
    *,
    server: str = SERVER,
    test_client: Optional[str] = TEST_CLIENT,
    hostnames: Sequence[str] = (),
    entry: Optional[Mapping[str, Any]] = None,
    approval: Optional[Mapping[str, Any]] = None,
    remediation: Optional[Mapping[str, Any]] = SIM_REMEDIATION,
    sensor: Optional[Mapping[str, Any]] = None,
    **sections: Any,
) -> Dict[str, Any]:
    """A pack config whose server ``server`` is the simulated node at ``node_root``.

    ``entry``: more keys of the server's entry (e.g. ``command_path``). ``approval``,
    ``remediation``, ``sensor`` and any other ``sections`` (e.g. ``salt``) are the config's
    top-level sections as given (None: left out). ``test_client`` None: no test backup.
    """
    server_entry: Dict[str, Any] = {"transport": "local", "avamar_root": node_root}
    if hostnames:
        server_entry["hostnames"] = list(hostnames)
    if test_client:
        server_entry["test_backup"] = {"client": test_client}
    server_entry.update(copy.deepcopy(dict(entry or {})))
    config: Dict[str, Any] = {"servers": {server: server_entry}}
    for name, section in (("approval", approval), ("remediation", remediation), ("sensor", sensor)):
        if section is not None:
            config[name] = copy.deepcopy(dict(section))
    config.update(copy.deepcopy(sections))
    return config
