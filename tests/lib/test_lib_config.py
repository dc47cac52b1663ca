"""The pack config as StackStorm's loader hands it over (issue 15.1), and its one home for defaults.

st2 fills every missing array with ``[]`` and every missing object that has properties with
``{}`` plus defaults. The example config and a MINIMAL one (no command_path, no hostnames, no
test_backup) must give working settings after that filling. Where StackStorm is importable its
own ``_assign_default_values`` fills the config; elsewhere ``schema_defaults.fill_like_st2``
does (and the expected shapes below are spelled out, so both are held to the same answer).
"""

from __future__ import annotations

import copy
import os

import pytest
import yaml
from avamar_pack import schema_defaults, serials
from avamar_pack.config import (
    AVAMAR_COMMAND_DIRS,
    SYSTEM_COMMAND_DIRS,
    RemediationSettings,
    remediation_settings,
    salt_api_settings,
    server_settings,
)
from avamar_pack.errors import ConfigError
from avamar_pack.schema_defaults import default, fill_like_st2, schema_of

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MINIMAL = {"servers": {"node1": {"avamar_root": "/srv/avamar-node1"}}}


def _example() -> dict:
    with open(os.path.join(ROOT, "avamar.yaml.example"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def st2_filled(config: dict) -> dict:
    """The config as st2 3.9's loader would hand it to an action (its own code when importable)."""
    try:
        from st2common.util.config_loader import ContentPackConfigLoader
    except ImportError:  # the stand-ins have no config loader: the pack's filler, held to st2's below
        return fill_like_st2(config)
    loader = object.__new__(ContentPackConfigLoader)  # _assign_default_values needs no DB
    return loader._assign_default_values(schema=schema_defaults.load_schema(), config=copy.deepcopy(config))


def test_schema_file_is_the_one_beside_lib():
    assert schema_defaults.SCHEMA_PATH == os.path.join(ROOT, "config.schema.yaml")
    assert os.path.isfile(schema_defaults.SCHEMA_PATH)


def test_minimal_config_is_filled_like_st2():
    filled = st2_filled(MINIMAL)
    node = filled["servers"]["node1"]
    # What st2 3.9 hands over (checked against its _assign_default_values): [] for arrays, {} + defaults.
    expected = {
        "avamar_root": "/srv/avamar-node1",
        "transport": "local",
        "port": 22,
        "command_path": [],
        "host_key_policy": "reject",
        "hostnames": [],
        "test_backup": {"dataset": "/Default Dataset"},
    }
    assert {key: node[key] for key in expected} == expected
    arrays = [key for key, item in schema_of("servers.*")["properties"].items() if item.get("type") == "array"]
    assert arrays and all(node[key] == [] or node[key] == default(f"servers.*.{key}") for key in arrays)
    assert filled["remediation"] == {
        "serial_margin": 10000,
        "max_publickey_attempts": 6,
        "flush_mcs": True,
        "srl_backups_kept": 5,
    }
    assert filled["salt"]["eauth"] == "pam" and filled["salt"]["verify_ssl"] is True
    assert fill_like_st2(MINIMAL) == filled


@pytest.mark.parametrize(
    "config",
    [
        MINIMAL,
        {},
        {"servers": {"a": {"test_backup": None, "hostnames": None}}},
        {"servers": {"a": {"command_path": ["/opt/x"]}}, "remediation": {}},
    ],
)
def test_filler_agrees_with_st2(config):
    assert fill_like_st2(config) == st2_filled(config)
    assert config == copy.deepcopy(config)  # the input is not changed


def test_minimal_config_after_st2_filling_gives_working_settings():
    for config in (MINIMAL, st2_filled(MINIMAL)):
        settings = server_settings(config, "node1")
        assert settings.transport == "local" and settings.host == "localhost" and settings.port == 22
        # The empty list st2 hands over is "not set": the node's Avamar dirs, then the system dirs.
        avamar = tuple("/srv/avamar-node1" + d for d in AVAMAR_COMMAND_DIRS)
        assert settings.command_path == avamar + SYSTEM_COMMAND_DIRS
        assert settings.hostnames == ()
        assert settings.test_backup is None  # {"dataset": ...} without a client: not configured
        assert settings.host_key_policy == "reject"
    assert (
        remediation_settings(MINIMAL)
        == remediation_settings(st2_filled(MINIMAL))
        == RemediationSettings(serial_margin=10000, max_publickey_attempts=6, flush_mcs=True, srl_backups_kept=5)
    )


def test_example_config_after_st2_filling():
    config = st2_filled(_example())
    ava01 = server_settings(config, "ava01")
    assert ava01.transport == "ssh" and ava01.host == "ava01.example.com" and ava01.port == 22
    assert ava01.hostnames == ("ava01", "avamar.com")
    assert ava01.test_backup is not None and ava01.test_backup.client == "/clients/linux-test01"
    assert ava01.command_path == AVAMAR_COMMAND_DIRS + SYSTEM_COMMAND_DIRS
    ava02 = server_settings(config, "ava02")
    assert ava02.transport == "salt" and ava02.salt_target == "ava02-util"
    assert ava02.test_backup is not None and ava02.test_backup.dataset == "/Default Dataset"
    assert ava02.hostnames == ()
    assert salt_api_settings(config).eauth == "pam"
    assert remediation_settings(config) == RemediationSettings(10000, 6, True, 5)


def test_explicit_values_win_over_defaults():
    config = {
        "servers": {"n": {"command_path": ["/opt/avamar/bin"], "port": 2222, "hostnames": ["n.example"]}},
        "remediation": {"serial_margin": 500, "max_publickey_attempts": 3, "flush_mcs": False, "srl_backups_kept": 1},
    }
    settings = server_settings(st2_filled(config), "n")
    assert settings.command_path == ("/opt/avamar/bin",) and settings.port == 2222
    assert settings.hostnames == ("n.example",)
    assert remediation_settings(config) == RemediationSettings(500, 3, False, 1)


@pytest.mark.parametrize(
    "remediation",
    [
        {"serial_margin": 0},
        {"serial_margin": True},
        {"serial_margin": "1000"},
        {"max_publickey_attempts": 21},
        {"flush_mcs": "yes"},
        {"flush_mcs": 1},
        {"srl_backups_kept": 0},
        {"srl_backups_kept": 1001},
    ],
)
def test_bad_remediation_settings_are_refused(remediation):
    with pytest.raises(ConfigError):
        remediation_settings({"remediation": remediation})


def test_test_backup_with_a_client_and_no_dataset_takes_the_schema_default():
    config = {"servers": {"n": {"test_backup": {"client": "/clients/c1"}}}}
    for cfg in (config, st2_filled(config)):
        backup = server_settings(cfg, "n").test_backup
        assert backup is not None and backup.dataset == default("servers.*.test_backup.dataset")


def test_defaults_the_code_reads_exist_in_the_schema():
    assert default("remediation.serial_margin") == serials.DEFAULT_MARGIN == 10000
    assert default("servers.*.port") == 22 and default("servers.*.transport") == "local"
    assert default("servers.*.avamar_root") == "/" and default("salt.verify_ssl") is True
    assert schema_of("servers.*.command_path")["type"] == "array"
    with pytest.raises(ConfigError):
        default("servers.*.command_path")  # no schema default: the path depends on avamar_root
    with pytest.raises(ConfigError):
        schema_of("remediation.no_such_key")


def test_schema_copies_cannot_change_the_cache():
    schema = schema_defaults.load_schema()
    schema["remediation"]["properties"]["serial_margin"]["default"] = 1
    assert default("remediation.serial_margin") == 10000
