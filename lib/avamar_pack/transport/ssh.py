"""Commands over SSH (paramiko), one connection reused for every command of an action run.

Host keys are checked against a known_hosts file and an unknown host is refused, unless the
server is configured with ``host_key_policy: accept-new`` (then its key is recorded on first
contact and a *changed* key is still refused, as OpenSSH's ``StrictHostKeyChecking=accept-new``).

SSH runs a command line, not an argv. The line is always the constant wrapper
``node_scripts.EXEC_WITH_ENV`` followed by the argv, every element passed through
``shlex.quote``; environment values travel on stdin, so they never appear in a command line.

Credentials: ``username`` is required (the pack never logs in as root by default); the private
key is read and checked when the transport is created (``keys.load_private_key``: accepted
forms, and refusals that never echo the key); the password is only ever handed to paramiko.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import time
from typing import Dict, Optional, Sequence, Tuple

import paramiko
from paramiko.ssh_exception import NoValidConnectionsError

from avamar_pack.config import ServerSettings
from avamar_pack.errors import CommandTimeout, ConfigError, TransportError
from avamar_pack.transport import node_scripts
from avamar_pack.transport.base import RawResult
from avamar_pack.transport.keys import check_secret_string, load_private_key
from avamar_pack.transport.redact import format_argv
from avamar_pack.transport.remote import ShellNodeTransport

_CHUNK = 65536
_PID_LINE_RE = re.compile(rb"^avamar-pack-pid=([0-9]+)\n")


class SshTransport(ShellNodeTransport):
    name = "ssh"
    file_encoding = "raw"

    def __init__(self, settings: ServerSettings, *, connect_timeout: float = 15.0) -> None:
        super().__init__(settings)
        prefix = f"servers.{settings.name}"
        if not settings.username:
            raise ConfigError(
                f"{prefix}.username is required for the ssh transport (the pack never logs in as root by default;"
                " use the node's admin user, or root explicitly)"
            )
        self.port = settings.port or 22
        self.username = settings.username
        self._password = check_secret_string(settings.password, f"{prefix}.password")
        # Loaded now, so a bad key fails before any command, with the config key named.
        self._pkey: Optional[paramiko.PKey] = (
            load_private_key(settings.private_key, f"{prefix}.private_key") if settings.private_key else None
        )
        if self._pkey is None and self._password is None:
            raise ConfigError(f"{prefix} has neither private_key nor password: the ssh transport needs one")
        self.connect_timeout = connect_timeout
        self.connections_opened = 0  # how many SSH connections this instance made
        self._client: Optional[paramiko.SSHClient] = None

    # -- connection ---------------------------------------------------------------------
    def _known_hosts_path(self) -> str:
        return self.settings.known_hosts_file or os.path.expanduser("~/.ssh/known_hosts")

    def _connect(self, argv: Sequence[str]) -> paramiko.Transport:
        if self._client is not None:
            live = self._client.get_transport()
            if live is not None and live.is_active():
                return live
            self.close()
        target = f"{self.username}@{self.host}:{self.port}"

        def fail(cause: str) -> TransportError:
            return TransportError(self.host, f"`{format_argv(argv)}`", f"ssh connection to {target} failed: {cause}")

        known_hosts = self._known_hosts_path()
        client = paramiko.SSHClient()
        if os.path.exists(known_hosts):
            try:
                client.load_host_keys(known_hosts)
            except (OSError, paramiko.SSHException) as exc:
                raise fail(f"cannot read known_hosts file {known_hosts}: {exc}")
        elif self.settings.host_key_policy != "accept-new":
            raise fail(f"known_hosts file {known_hosts} does not exist and host_key_policy is 'reject'")
        if self.settings.host_key_policy == "accept-new":
            client.set_missing_host_key_policy(_AcceptNewPolicy(known_hosts))
        else:
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(
                self.host,
                port=self.port,
                username=self.username,
                pkey=self._pkey,
                password=self._password,
                timeout=self.connect_timeout,
                banner_timeout=self.connect_timeout,
                auth_timeout=self.connect_timeout,
                allow_agent=False,
                look_for_keys=False,
            )
        except paramiko.BadHostKeyException:
            client.close()
            raise fail(f"host key does not match the one in {known_hosts} (possible man-in-the-middle); refused")
        except paramiko.AuthenticationException:
            client.close()
            raise fail("authentication refused (wrong key or password for this user)")
        except paramiko.SSHException as exc:
            client.close()
            if "known_hosts" in str(exc):
                raise fail(
                    f"host key unknown: not in {known_hosts}; add it (ssh-keyscan) or set host_key_policy: accept-new"
                )
            raise fail(f"SSH error: {exc}")
        except NoValidConnectionsError as exc:
            client.close()
            # os.strerror: eventlet's green socket puts the errno name ("ECONNREFUSED") in strerror.
            causes = sorted({os.strerror(e.errno) if e.errno else str(e) for e in exc.errors.values()})
            raise fail("; ".join(causes) or str(exc))
        except (socket.timeout, TimeoutError):
            client.close()
            raise fail(f"no answer within {self.connect_timeout:g}s")
        except OSError as exc:
            client.close()
            raise fail(exc.strerror or str(exc))
        self._client = client
        self.connections_opened += 1
        live = client.get_transport()
        if live is None:  # pragma: no cover - paramiko always sets it after connect()
            raise fail("no transport after connect")
        live.set_keepalive(30)
        return live

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            transport = client.get_transport()
            client.close()
            if transport is not None:
                # Under eventlet (st2's sensor container, st2tests) paramiko's reader is a green
                # thread: wait for it to end so it does not keep listening on a reused fd number.
                transport.join(5)

    # -- one command --------------------------------------------------------------------
    def _exec(self, argv: Sequence[str], *, timeout: float, stdin: Optional[bytes], env: Dict[str, str]) -> RawResult:
        live = self._connect(argv)
        words = ["sh", "-c", node_scripts.EXEC_WITH_ENV, "sh", str(len(env)), *argv]
        command = " ".join(shlex.quote(w) for w in words)
        preamble = "".join(f"{k}={v}\n" for k, v in env.items()).encode()
        deadline = time.monotonic() + timeout
        out, err = bytearray(), bytearray()
        try:
            chan = live.open_session(timeout=min(self.connect_timeout, max(timeout, 1.0)))
        except (paramiko.SSHException, OSError, EOFError) as exc:
            self.close()
            raise self._error(argv, f"cannot open an SSH channel: {exc}")
        try:
            chan.exec_command(command)
            chan.settimeout(max(deadline - time.monotonic(), 0.001))
            chan.sendall(preamble + (stdin or b""))
            chan.shutdown_write()
            pause = 0.002
            while True:
                busy = False
                while chan.recv_ready():
                    out += chan.recv(_CHUNK)
                    busy = True
                while chan.recv_stderr_ready():
                    err += chan.recv_stderr(_CHUNK)
                    busy = True
                if not busy and chan.exit_status_ready() and (chan.eof_received or chan.closed):
                    break
                if time.monotonic() >= deadline:
                    raise socket.timeout()
                if not busy:
                    time.sleep(pause)
                    pause = min(pause * 2, 0.01)
            return chan.recv_exit_status(), bytes(out), _strip_pid(bytes(err))[1]
        except socket.timeout:
            chan.close()
            killed = self._kill_remote(_strip_pid(bytes(err))[0])
            raise self._error(argv, f"no exit after {timeout:g}s; SSH channel closed{killed}", CommandTimeout)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            self.close()
            raise self._error(argv, f"SSH connection lost: {exc}")
        finally:
            chan.close()

    def _kill_remote(self, pid: Optional[int]) -> str:
        """Best effort: closing a channel does not stop a command on the node, so kill it."""
        if pid is None or self._client is None:
            return ""
        try:
            live = self._connect(["kill", str(pid)])
            chan = live.open_session(timeout=self.connect_timeout)
            try:
                chan.settimeout(self.connect_timeout)
                words = ["sh", "-c", node_scripts.KILL_GROUP, "sh", str(pid)]
                chan.exec_command(" ".join(shlex.quote(w) for w in words))
                if chan.recv_exit_status() != 0:
                    return f"; kill of pid {pid} on the node failed"
            finally:
                chan.close()
        except (TransportError, paramiko.SSHException, OSError, EOFError):
            return f"; could not kill pid {pid} on the node"
        return f"; process group {pid} killed on the node"


def _strip_pid(err: bytes) -> Tuple[Optional[int], bytes]:
    """Split the wrapper's first stderr line (``avamar-pack-pid=N``) from the command's stderr."""
    match = _PID_LINE_RE.match(err)
    if not match:
        return None, err
    return int(match.group(1)), err[match.end() :]


class _AcceptNewPolicy(paramiko.MissingHostKeyPolicy):
    """Trust an unknown host on first contact and append its key to known_hosts.

    paramiko itself refuses a host whose recorded key differs (BadHostKeyException), so a
    changed key is never accepted here."""

    def __init__(self, path: str) -> None:
        self.path = path

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        client.get_host_keys().add(hostname, key.get_name(), key)
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="ascii") as handle:
            handle.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
