"""The pack config as st2's own loader hands it to actions and sensors.

st2 registers ``/opt/stackstorm/configs/avamar.yaml`` (``ConfigsRegistrar``, validated against
``config.schema.yaml``) and every action and sensor receives
``ContentPackConfigLoader("avamar").get_config()``: schema defaults filled, missing objects made
``{}`` and filled, missing arrays made ``[]`` (``_assign_default_values``), st2kv references
rendered. The pack's own ``fill_like_st2`` (for the local runner and the tests) must give the
same, and the pack's settings must make sense of what st2 really gives.
"""

from __future__ import annotations

import os
from typing import Any, Dict

import pytest
import yaml
from avamar_pack.config import remediation_settings, server_settings
from avamar_pack.schema_defaults import fill_like_st2
from st2boot import REPO_ROOT

MINIMAL = {"servers": {"ava01": {"transport": "local"}}}
MINIMAL_SSH = {"servers": {"ava01": {"transport": "ssh", "host": "ava01.example.com", "username": "admin"}}}


def example_config() -> Dict[str, Any]:
    with open(os.path.join(REPO_ROOT, "avamar.yaml.example"), encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def st2_loaded(st2: Any, values: Dict[str, Any]) -> Dict[str, Any]:
    """Register ``values`` with st2's config registrar, then load them as st2 gives them to actions."""
    from st2common.constants.keyvalue import FULL_SYSTEM_SCOPE
    from st2common.models.api.keyvalue import KeyValuePairAPI
    from st2common.persistence.keyvalue import KeyValuePair
    from st2common.util.config_loader import ContentPackConfigLoader

    # the example config reads two secrets from st2kv (`st2 key set NAME VALUE --encrypt`)
    for name in ("avamar_ava01_key", "salt_api_password"):
        if not KeyValuePair.query(name=name):
            api = KeyValuePairAPI(name=name, value=f"<{name}>", secret=True, scope=FULL_SYSTEM_SCOPE)
            KeyValuePair.add_or_update(KeyValuePairAPI.to_model(api))
    st2.use_config(values)
    return ContentPackConfigLoader(pack_name="avamar", user="admin").get_config()


@pytest.mark.parametrize("name, values", [("example", None), ("minimal", MINIMAL), ("minimal_ssh", MINIMAL_SSH)])
def test_fill_like_st2_gives_what_st2s_config_loader_gives(st2: Any, name: str, values: Any) -> None:
    values = example_config() if values is None else values
    loaded = st2_loaded(st2, values)
    ours = fill_like_st2(values)
    # st2 renders st2kv references; the pack's filler leaves templates alone
    if name == "example":
        loaded["servers"]["ava01"]["private_key"] = values["servers"]["ava01"]["private_key"]
        loaded["salt"]["password"] = values["salt"]["password"]
    assert ours == loaded


@pytest.mark.parametrize("values", [MINIMAL, MINIMAL_SSH], ids=["local", "ssh"])
def test_a_minimal_config_arrives_with_empty_arrays_and_the_pack_still_finds_the_avamar_commands(
    st2: Any, values: Dict[str, Any]
) -> None:
    loaded = st2_loaded(st2, values)
    server = loaded["servers"]["ava01"]
    assert server["command_path"] == [] and server["hostnames"] == []  # what st2 really hands over
    assert server["port"] == 22
    settings = server_settings(loaded, "ava01")
    assert settings.command_path, "an empty command_path from st2 must mean the default search path"
    assert any(path.rstrip("/").endswith("/usr/local/avamar/bin") for path in settings.command_path)


def test_the_example_config_loads_and_gives_the_documented_settings(st2: Any) -> None:
    loaded = st2_loaded(st2, example_config())
    assert set(loaded["servers"]) == {"ava01", "ava02"}
    remediation = remediation_settings(loaded)
    assert remediation.serial_margin == 10000 and remediation.max_publickey_attempts == 6
    assert server_settings(loaded, "ava01").hostnames
    assert server_settings(loaded, "ava02").command_path


def test_st2_refuses_a_config_that_breaks_the_schema(st2: Any) -> None:
    with pytest.raises(Exception, match="(?i)valid|schema|type"):
        st2.use_config({"servers": {"ava01": {"transport": "telnet"}}})
