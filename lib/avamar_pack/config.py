"""The pack config (``/opt/stackstorm/configs/avamar.yaml``) turned into typed settings.

Every value that reaches a command is validated here first: server names, hosts, paths
and serials are checked against strict patterns so that nothing from a trigger payload or
a chat message can smuggle shell syntax into the node.

The config arrives as StackStorm's loader makes it (``schema_defaults`` explains how): schema
defaults filled in, ``[]`` for every array the operator left out, ``{}`` (plus defaults) for
objects left out. So an empty list means "not set" wherever the pack has a default, and a
``test_backup`` without a ``client`` means "no test backup configured". Defaults come from
``config.schema.yaml`` (``schema_defaults.setting``); the one default the schema cannot hold,
the command search path (it depends on ``avamar_root``), is computed here.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from avamar_pack.errors import ConfigError, ValidationError
from avamar_pack.schema_defaults import schema_of, setting

SERVER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}\Z")
HOST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,252}\Z")
CLIENT_NAME_RE = re.compile(r"^[A-Za-z0-9/][A-Za-z0-9_./-]{0,254}\Z")
SALT_TARGET_RE = re.compile(r"^[A-Za-z0-9_.*-]{1,128}\Z")
USER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}\Z")

# A serial is written as a bare decimal integer; Avamar keeps it in a signed 64-bit field.
MAX_SERIAL = 2**63 - 1

TRANSPORTS = ("local", "ssh", "salt")
AVAMAR_COMMAND_DIRS = ("/usr/local/avamar/bin", "/usr/local/avamar/lib")
SYSTEM_COMMAND_DIRS = ("/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin")
DEFAULT_COMMAND_PATH = AVAMAR_COMMAND_DIRS + SYSTEM_COMMAND_DIRS


def validate_server_name(value: Any) -> str:
    if not isinstance(value, str) or not SERVER_NAME_RE.match(value):
        raise ValidationError(f"server name {value!r} is not valid (letters, digits, '.', '_', '-'; at most 63)")
    return value


def validate_client_name(value: Any) -> str:
    if not isinstance(value, str) or not CLIENT_NAME_RE.match(value):
        raise ValidationError(f"client name {value!r} is not valid (letters, digits, '.', '_', '-', '/')")
    return value


def validate_serial(value: Any, what: str = "serial") -> int:
    """Accept an int (or a string of decimal digits) in 1..2^63-1; refuse the rest."""
    if isinstance(value, bool):
        raise ValidationError(f"{what} must be an integer, got a boolean")
    if isinstance(value, str):
        if not re.fullmatch(r"[0-9]{1,19}", value):
            raise ValidationError(f"{what} {value[:40]!r} is not a decimal integer")
        value = int(value)
    if not isinstance(value, int):
        raise ValidationError(f"{what} must be an integer, got {type(value).__name__}")
    if not 0 < value <= MAX_SERIAL:
        raise ValidationError(f"{what} {value} is out of range 1..{MAX_SERIAL}")
    return value


def _absolute_path(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.startswith("/") or "\x00" in value or "\n" in value:
        raise ConfigError(f"{key} must be an absolute path, got {value!r}")
    return posixpath.normpath(value)


@dataclass(frozen=True)
class TestBackup:
    client: str
    dataset: str


@dataclass(frozen=True)
class ServerSettings:
    """How to reach one Avamar utility node and where its files are."""

    name: str
    transport: str
    host: str = "localhost"
    port: Optional[int] = None
    username: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False)
    private_key: Optional[str] = field(default=None, repr=False)
    salt_target: Optional[str] = None
    avamar_root: str = "/"
    command_path: Sequence[str] = DEFAULT_COMMAND_PATH
    host_key_policy: str = "reject"  # "reject" unknown host keys, or "accept-new"
    known_hosts_file: Optional[str] = None
    test_backup: Optional[TestBackup] = None
    hostnames: Sequence[str] = ()

    def node_path(self, absolute_path: str) -> str:
        """Where an absolute Avamar path lives under this node's ``avamar_root``."""
        return posixpath.join(self.avamar_root, absolute_path.lstrip("/"))


def server_settings(config: Mapping[str, Any], name: Any) -> ServerSettings:
    """Validated settings of server ``name``; raises ValidationError/ConfigError."""
    name = validate_server_name(name)
    servers = (config or {}).get("servers") or {}
    if not isinstance(servers, Mapping):
        raise ConfigError("config key 'servers' must be a mapping of server name -> settings")
    raw = servers.get(name)
    if raw is None:
        known = ", ".join(sorted(servers)) or "none"
        raise ValidationError(f"unknown server {name!r} (configured: {known})")
    if not isinstance(raw, Mapping):
        raise ConfigError(f"servers.{name} must be a mapping")
    transport = setting(raw, "transport", "servers.*.transport")
    if transport not in TRANSPORTS:
        raise ConfigError(f"servers.{name}.transport must be one of {', '.join(TRANSPORTS)}, got {transport!r}")
    host = raw.get("host") or ("localhost" if transport == "local" else None)
    if host is None or not isinstance(host, str) or not HOST_RE.match(host):
        raise ConfigError(f"servers.{name}.host is missing or not a host name: {host!r}")
    port = setting(raw, "port", "servers.*.port")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigError(f"servers.{name}.port must be an integer 1..65535, got {port!r}")
    username = raw.get("username")
    if username is not None and (not isinstance(username, str) or not USER_RE.match(username)):
        raise ConfigError(f"servers.{name}.username is not a valid user name")
    salt_target = raw.get("salt_target")
    if transport == "salt":
        if not isinstance(salt_target, str) or not SALT_TARGET_RE.match(salt_target):
            raise ConfigError(f"servers.{name}.salt_target is required for the salt transport (a minion id or glob)")
    for secret in ("password", "private_key"):
        if raw.get(secret) is not None and not isinstance(raw.get(secret), str):
            raise ConfigError(f"servers.{name}.{secret} must be a string")
    avamar_root = _absolute_path(setting(raw, "avamar_root", "servers.*.avamar_root"), f"servers.{name}.avamar_root")
    command_path = raw.get("command_path")
    if command_path is None or (isinstance(command_path, (list, tuple)) and not command_path):
        # Not set (st2 hands a missing array over as []).
        # Avamar's own tools live under avamar_root (the simulator's too); system tools do not.
        avamar_dirs = tuple(posixpath.join(avamar_root, p.lstrip("/")) for p in AVAMAR_COMMAND_DIRS)
        command_path = avamar_dirs + SYSTEM_COMMAND_DIRS
    elif not isinstance(command_path, (list, tuple)):
        raise ConfigError(f"servers.{name}.command_path must be a list of absolute paths")
    command_path = tuple(_absolute_path(p, f"servers.{name}.command_path") for p in command_path)
    policy = setting(raw, "host_key_policy", "servers.*.host_key_policy")
    if policy not in ("reject", "accept-new"):
        raise ConfigError(f"servers.{name}.host_key_policy must be 'reject' or 'accept-new'")
    known_hosts = raw.get("known_hosts_file")
    if known_hosts is not None:
        known_hosts = _absolute_path(known_hosts, f"servers.{name}.known_hosts_file")
    test_backup = None
    tb = raw.get("test_backup")
    if tb is not None and not isinstance(tb, Mapping):
        raise ConfigError(f"servers.{name}.test_backup must be a mapping with 'client' (and 'dataset')")
    # st2 turns a test_backup the operator left out into {"dataset": <default>}: no client = not configured.
    if tb and tb.get("client") not in (None, ""):
        dataset = setting(tb, "dataset", "servers.*.test_backup.dataset")
        if not isinstance(dataset, str) or not dataset.startswith("/") or any(c in dataset for c in "\x00\n\r"):
            raise ConfigError(f"servers.{name}.test_backup.dataset must be an MCS path such as '/Default Dataset'")
        test_backup = TestBackup(client=validate_client_name(tb["client"]), dataset=dataset)
    hostnames = raw.get("hostnames") or ()
    if not isinstance(hostnames, (list, tuple)) or not all(isinstance(h, str) and HOST_RE.match(h) for h in hostnames):
        raise ConfigError(f"servers.{name}.hostnames must be a list of host names")
    return ServerSettings(
        name=name,
        transport=transport,
        host=host,
        port=port,
        username=username,
        password=raw.get("password"),
        private_key=raw.get("private_key"),
        salt_target=salt_target,
        avamar_root=avamar_root,
        command_path=command_path,
        host_key_policy=policy,
        known_hosts_file=known_hosts,
        test_backup=test_backup,
        hostnames=tuple(hostnames),
    )


@dataclass(frozen=True)
class SaltApiSettings:
    api_url: str
    username: str
    password: str = field(repr=False)
    eauth: str = "pam"
    verify_ssl: bool = True


def salt_api_settings(config: Mapping[str, Any]) -> SaltApiSettings:
    raw = (config or {}).get("salt") or {}
    if not isinstance(raw, Mapping):
        raise ConfigError("config key 'salt' must be a mapping")
    url = raw.get("api_url")
    if not isinstance(url, str) or not re.match(r"^https?://[^\s]+$", url):
        raise ConfigError("salt.api_url must be an http(s) URL")
    for key in ("username", "password"):
        if not isinstance(raw.get(key), str) or not raw.get(key):
            raise ConfigError(f"salt.{key} is required")
    verify = setting(raw, "verify_ssl", "salt.verify_ssl")
    if not isinstance(verify, bool):
        raise ConfigError("salt.verify_ssl must be a boolean")
    return SaltApiSettings(
        api_url=url.rstrip("/"),
        username=raw["username"],
        password=raw["password"],
        eauth=str(setting(raw, "eauth", "salt.eauth")),
        verify_ssl=verify,
    )


def section(config: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """A config section (``approval``, ``sensor``, ``remediation``) or an empty mapping."""
    value = (config or {}).get(key) or {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"config key {key!r} must be a mapping")
    return value


@dataclass(frozen=True)
class RemediationSettings:
    """``remediation.*``: how the new serial is chosen and what is left on the node afterwards."""

    serial_margin: int
    max_publickey_attempts: int
    flush_mcs: bool
    srl_backups_kept: int


def remediation_settings(config: Mapping[str, Any]) -> RemediationSettings:
    """``remediation.*`` validated, each key the schema default when not set; raises ConfigError."""
    raw = section(config, "remediation")
    return RemediationSettings(
        serial_margin=config_int(raw, "serial_margin", "remediation.serial_margin"),
        max_publickey_attempts=config_int(raw, "max_publickey_attempts", "remediation.max_publickey_attempts"),
        flush_mcs=config_bool(raw, "flush_mcs", "remediation.flush_mcs"),
        srl_backups_kept=config_int(raw, "srl_backups_kept", "remediation.srl_backups_kept"),
    )


def config_int(raw: Mapping[str, Any], key: str, dotted: str) -> int:
    """An integer setting within the schema's ``minimum``/``maximum`` (schema default when not set)."""
    value = setting(raw, key, dotted)
    item = schema_of(dotted)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{dotted} must be an integer, got {str(value)[:40]!r}")
    low, high = item.get("minimum"), item.get("maximum")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigError(f"{dotted} {value} is outside {low}..{high}")
    return value


def config_bool(raw: Mapping[str, Any], key: str, dotted: str) -> bool:
    value = setting(raw, key, dotted)
    if not isinstance(value, bool):
        raise ConfigError(f"{dotted} must be true or false, got {str(value)[:40]!r}")
    return value
