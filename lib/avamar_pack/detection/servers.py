"""Which configured Avamar server a failure or a warning belongs to, and which logs to follow.

Client failures (an avtar run), in order:

1. the run NAMES a host (``Connecting to Avamar Server (host)``): the server whose ``host`` or
   ``hostnames`` equals it; a named host that matches no server is NOT mapped (a client of
   another Avamar, a DR target): the run is skipped with a warning, even with one server;
2. the run names no host: the server whose ``servers.<name>.client_log_paths`` glob matched
   the file; else a server whose ``avamar_root`` (when not ``/``) prefixes the log path; else
   the only configured server; else none (skipped, with the reason).

A Salt-sourced run belongs to the server its minion is mapped to (``sensor.salt_minions``); a
host it names must be that server's (else skipped). GSAN warnings: the server whose
``gsan_log_paths`` glob matched the file, else ``avamar_root`` prefix, else the only server.
With one server the global ``sensor.client_log_paths``/``gsan_log_paths`` keep working as
before; with two or more, per-server paths say which GSAN log is whose.
"""

from __future__ import annotations

import logging
import posixpath
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from avamar_pack.config import ServerSettings, section, server_settings, validate_server_name
from avamar_pack.errors import ValidationError

DEFAULT_CLIENT_GLOBS = ["/usr/local/avamar/var/clientlogs/*.log"]
DEFAULT_GSAN_GLOBS = ["/data01/cur/gsan.log", "/data01/cur/err.log"]

log = logging.getLogger(__name__)

Mapped = Tuple[Optional[str], str]  # (server name or None, how it was chosen or why none was)


def _globs(raw: Any, where: str) -> List[str]:
    if raw is None:
        return []
    if not isinstance(raw, (list, tuple)) or not all(isinstance(p, str) and p for p in raw):
        log.warning("%s ignored by the sensor: it must be a list of glob patterns", where)
        return []
    return list(raw)


class ServerMap:
    """Maps what a log says (the host avtar connected to, the glob, the path, the minion) to a server."""

    def __init__(
        self,
        servers: Sequence[ServerSettings],
        client_globs: Optional[Mapping[str, List[str]]] = None,
        gsan_globs: Optional[Mapping[str, List[str]]] = None,
        minions: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.servers = list(servers)
        self.client_globs = {name: list(globs) for name, globs in (client_globs or {}).items()}
        self.gsan_globs = {name: list(globs) for name, globs in (gsan_globs or {}).items()}
        self.minions = dict(minions or {})

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ServerMap:
        servers, client_globs, gsan_globs = [], {}, {}
        raw_servers = (config or {}).get("servers") or {}
        for name in sorted(raw_servers):
            try:
                settings = server_settings(config, name)
            except ValidationError as exc:  # one bad entry must not blind the sensor for the others
                log.warning("servers.%s ignored by the sensor: %s", name, exc)
                continue
            servers.append(settings)
            raw = raw_servers.get(name) or {}
            client_globs[name] = _globs(raw.get("client_log_paths"), f"servers.{name}.client_log_paths")
            gsan_globs[name] = _globs(raw.get("gsan_log_paths"), f"servers.{name}.gsan_log_paths")
        names = {s.name for s in servers}
        minions: Dict[str, str] = {}
        raw_minions = section(config, "sensor").get("salt_minions") or {}
        if isinstance(raw_minions, Mapping):
            for minion, server in raw_minions.items():
                try:
                    validate_server_name(server)
                except ValidationError:
                    server = None
                if not isinstance(minion, str) or server not in names:
                    log.warning("sensor.salt_minions.%s ignored: %r is not a configured server", minion, server)
                    continue
                minions[minion] = server
        else:
            log.warning("sensor.salt_minions ignored: it must map minion ids to server names")
        return cls(servers, client_globs, gsan_globs, minions)

    # -- what to follow ----------------------------------------------------------------------

    def log_globs(self, sensor_cfg: Mapping[str, Any]) -> Dict[str, List[str]]:
        """kind -> patterns: each server's own paths first (so its glob is the one recorded), then the global ones.

        GSAN first: its paths are exact names, so a broad client glob cannot claim them.
        """
        out: Dict[str, List[str]] = {"gsan": [], "avtar": []}
        for kind, per_server, key, default in (
            ("gsan", self.gsan_globs, "gsan_log_paths", DEFAULT_GSAN_GLOBS),
            ("avtar", self.client_globs, "client_log_paths", DEFAULT_CLIENT_GLOBS),
        ):
            for name in sorted(per_server):
                out[kind].extend(p for p in per_server[name] if p not in out[kind])
            explicit = _globs(sensor_cfg.get(key), f"sensor.{key}")
            # The built-in default only when nothing at all names this kind of log.
            fallback = default if not out[kind] else []
            out[kind].extend(p for p in (explicit or fallback) if p not in out[kind])
        return out

    # -- mapping -----------------------------------------------------------------------------

    def _by_glob(self, globs: Mapping[str, List[str]], pattern: str) -> Optional[str]:
        owners = [name for name, patterns in globs.items() if pattern and pattern in patterns]
        return owners[0] if len(owners) == 1 else None

    def _by_root(self, log_path: Optional[str]) -> Optional[str]:
        if not log_path:
            return None
        path = posixpath.normpath(log_path)
        best: Optional[Tuple[int, str]] = None
        for server in self.servers:
            root = server.avamar_root
            if root != "/" and (path == root or path.startswith(root.rstrip("/") + "/")):
                if best is None or len(root) > best[0]:
                    best = (len(root), server.name)
        return best[1] if best else None

    def _by_path(self, globs: Mapping[str, List[str]], key: str, pattern: str, log_path: Optional[str]) -> Mapped:
        """A log read from a file: the server whose ``servers.<name>.<key>`` glob matched it, else the one
        whose ``avamar_root`` holds it, else the only configured server; each tried only if the one before
        found none (this runs for every line that holds a warning)."""
        server = self._by_glob(globs, pattern)
        if server:
            return server, f"servers.<name>.{key}"
        server = self._by_root(log_path)
        if server:
            return server, "avamar_root prefix"
        server = self._only()
        return (server, "only configured server") if server else (None, "")

    def _only(self) -> Optional[str]:
        return self.servers[0].name if len(self.servers) == 1 else None

    def by_host(self, host: str) -> Optional[str]:
        wanted = host.lower()
        for server in self.servers:
            if any(n.lower() == wanted for n in (server.host, *server.hostnames) if n):
                return server.name
        return None

    def for_client(self, host: Optional[str], log_path: Optional[str], pattern: str = "") -> Mapped:
        """The server of an avtar run read from a file (see the module docstring)."""
        if host:
            named = self.by_host(host)
            if named:
                return named, f"host {host}"
            return None, (
                f"names Avamar server {host!r}, which is no configured server's host or hostnames "
                f"(add it to servers.<name>.hostnames if it is one of ours)"
            )
        server, how = self._by_path(self.client_globs, "client_log_paths", pattern, log_path)
        if server:
            return server, how
        if not self.servers:
            return None, "no server is configured"
        return None, f"names no Avamar server and no per-server client_log_paths or avamar_root maps {log_path!r}"

    def for_minion(self, minion: str, host: Optional[str]) -> Mapped:
        """The server of a Salt-sourced run: the minion's (``sensor.salt_minions``)."""
        server = self.minions.get(minion)
        if server is None:
            return None, f"minion {minion!r} is not in sensor.salt_minions"
        if host and self.by_host(host) != server:
            return None, f"minion {minion!r} is mapped to {server} but its run names Avamar server {host!r}"
        return server, f"minion {minion}"

    def for_gsan(self, log_path: Optional[str], pattern: str = "", minion: str = "") -> Mapped:
        if minion:
            server = self.minions.get(minion)
            return (server, f"minion {minion}") if server else (None, f"minion {minion!r} is not mapped")
        server, how = self._by_path(self.gsan_globs, "gsan_log_paths", pattern, log_path)
        if server:
            return server, how
        return None, (
            f"no servers.<name>.gsan_log_paths glob or avamar_root maps {log_path!r} and "
            f"{len(self.servers)} servers are configured"
        )
