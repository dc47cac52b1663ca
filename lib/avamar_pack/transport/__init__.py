"""How the pack reaches an Avamar utility node: ``local``, ``ssh`` (paramiko) or ``salt``
(salt-api). All three implement ``Transport``; pick one with ``open_transport``.

paramiko and requests are imported only when their transport is used. Opening a transport
applies the security rules of ``transport.policy`` and ``transport.keys`` (credentials checked,
salt-api over https only unless allowed) and raises ConfigError before anything runs.
"""

from __future__ import annotations

from typing import Any, Mapping

from avamar_pack.config import ServerSettings
from avamar_pack.transport.base import CommandResult, Transport
from avamar_pack.transport.redact import redact

__all__ = ["CommandResult", "Transport", "open_transport", "redact"]


def open_transport(settings: ServerSettings, config: Mapping[str, Any]) -> Transport:
    """A new transport for ``settings`` (connections are made on first use and reused)."""
    if settings.transport == "local":
        from avamar_pack.transport.local import LocalTransport

        return LocalTransport(settings)
    if settings.transport == "ssh":
        from avamar_pack.transport.ssh import SshTransport

        return SshTransport(settings)
    if settings.transport == "salt":
        from avamar_pack.transport.policy import salt_api, salt_runas
        from avamar_pack.transport.salt import SaltTransport

        return SaltTransport(settings, salt_api(config), runas=salt_runas(settings, config))
    raise ValueError(f"unknown transport {settings.transport!r}")
