"""Security rules the transports apply to their config when they open: salt-api over https
only (unless ``salt.allow_insecure_http: true``), ``salt.verify_ssl`` true/false or a CA bundle
path, and the optional Salt ``runas`` user of a server.

``config.py`` parses the config into typed settings; these rules read the raw section as well,
so they hold whichever version of the settings classes is installed (attributes are read with
``getattr`` fallbacks), and refusals name the config key, never a secret.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any, Mapping, Optional, Union

from avamar_pack.config import USER_RE, SaltApiSettings, ServerSettings, salt_api_settings
from avamar_pack.errors import ConfigError
from avamar_pack.transport.keys import check_secret_string

Verify = Union[bool, str]
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def salt_section(config: Mapping[str, Any]) -> Mapping[str, Any]:
    raw = (config or {}).get("salt") or {}
    if not isinstance(raw, Mapping):
        raise ConfigError("config key 'salt' must be a mapping")
    return raw


def allow_insecure_http(raw: Mapping[str, Any]) -> bool:
    value = raw.get("allow_insecure_http", False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ConfigError("salt.allow_insecure_http must be a boolean")
    return value


def check_api_url(url: Any, insecure_ok: bool) -> str:
    """https, or http only when explicitly allowed: the eauth password and the token cross it."""
    match = _SCHEME_RE.match(url) if isinstance(url, str) else None
    scheme = match.group(1).lower() if match else None
    if scheme == "https" or (scheme == "http" and insecure_ok):
        return url
    if scheme == "http":
        raise ConfigError(
            "salt.api_url must be an https:// URL: over http the salt password and token cross the network in"
            " clear (set salt.allow_insecure_http: true to accept that, e.g. salt-api on 127.0.0.1)"
        )
    raise ConfigError("salt.api_url must be an https:// URL such as https://salt-master:8000")


def check_verify(value: Any) -> Verify:
    """requests' ``verify``: True (system CAs), False (no check), or a CA bundle file / c_rehash'd dir."""
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    if not isinstance(value, str) or not value.startswith("/") or any(c in value for c in "\x00\n\r"):
        raise ConfigError("salt.verify_ssl must be true, false or the absolute path of a CA bundle file")
    if not (os.path.isfile(value) or os.path.isdir(value)):
        raise ConfigError(f"salt.verify_ssl names the CA bundle {value}, which does not exist on this host")
    if not os.access(value, os.R_OK):
        raise ConfigError(f"salt.verify_ssl names the CA bundle {value}, which this user cannot read")
    return value


def salt_api(config: Mapping[str, Any]) -> SaltApiSettings:
    """The salt-api settings with the rules above applied (works with or without config.py support)."""
    raw = salt_section(config)
    insecure_ok = allow_insecure_http(raw)
    verify = check_verify(raw.get("verify_ssl", True))
    # config.py may still insist on a boolean verify_ssl: give it one, then put the path back.
    parsed_config = dict(config or {})
    if isinstance(verify, str):
        parsed_config["salt"] = dict(raw, verify_ssl=True)
    api = salt_api_settings(parsed_config)
    check_api_url(api.api_url, insecure_ok)
    check_secret_string(api.password, "salt.password")
    if api.verify_ssl != verify:
        api = dataclasses.replace(api, verify_ssl=verify)
    return api


def salt_runas(settings: ServerSettings, config: Mapping[str, Any]) -> Optional[str]:
    """``servers.<name>.runas``: the node user salt runs the commands as (None: the minion's, root)."""
    value = getattr(settings, "runas", None)
    if value is None:
        servers = (config or {}).get("servers") or {}
        entry = servers.get(settings.name) if isinstance(servers, Mapping) else None
        value = entry.get("runas") if isinstance(entry, Mapping) else None
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not USER_RE.match(value):
        raise ConfigError(f"servers.{settings.name}.runas is not a valid user name")
    return value
