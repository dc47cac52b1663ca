"""The one interface every way of reaching an Avamar utility node implements.

A transport runs a command given as an argument list (never a shell string), reads a
file, and replaces a file atomically. One transport instance serves one action run and
reuses its connection for every command of that run.

The contract (``run``, ``read_file``, ``write_file_atomic``) is written once, here: it checks
the arguments, builds a command's environment (``_command_env``), times the command and turns
its answer into a ``CommandResult``. A transport implements how one command travels
(``_exec``), how a file is read (``_read_file``) and replaced (``_write_file_atomic``).
"""

from __future__ import annotations

import re
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from avamar_pack.config import ServerSettings
from avamar_pack.errors import CommandFailed, TransportError
from avamar_pack.transport.redact import format_argv, redact

ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}\Z")
DEFAULT_FILE_TIMEOUT = 60.0

# What one command gave back, before decoding: (exit code, stdout, stderr).
RawResult = Tuple[int, bytes, bytes]


@dataclass(frozen=True)
class CommandResult:
    """What a command did. ``argv`` is redacted: it never holds a secret."""

    argv: List[str]
    exit_code: int
    stdout: str
    stderr: str
    duration_s: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def check_argv(argv: Sequence[str]) -> List[str]:
    """Refuse anything but a non-empty list of plain strings (no NUL, program not empty).

    A single string is refused on purpose: it would be a shell command line, and nothing
    here ever builds one from input.
    """
    if isinstance(argv, (str, bytes)):
        raise TypeError("argv must be a list of arguments, not a string")
    args = list(argv)
    if not args:
        raise ValueError("argv is empty")
    for arg in args:
        if not isinstance(arg, str):
            raise TypeError(f"argv elements must be str, got {type(arg).__name__}")
        if "\x00" in arg:
            raise ValueError("argv elements must not contain NUL")
    if not args[0]:
        raise ValueError("program name is empty")
    return args


def check_env(env: Optional[Mapping[str, str]]) -> Dict[str, str]:
    """Validate extra environment variables (names strict, values single-line)."""
    checked: Dict[str, str] = {}
    for key, value in (env or {}).items():
        if not isinstance(key, str) or not ENV_NAME_RE.match(key):
            raise ValueError(f"environment variable name {key!r} is not valid")
        if not isinstance(value, str) or "\x00" in value or "\n" in value:
            raise ValueError(f"environment variable {key} must be a single-line string")
        checked[key] = value
    return checked


# The C locale on every transport: the parsers read English, unlocalised tool output.
LOCALE_ENV = {"LANG": "C", "LC_ALL": "C"}


def node_env(settings: ServerSettings, env: Optional[Mapping[str, str]]) -> Dict[str, str]:
    """The variables a command gets on the node: PATH from ``command_path``, the C locale, then ``env``.

    That is all the pack adds; nothing of the st2 action's own environment (``ST2_*``, the
    action's auth token, proxies) is ever passed on."""
    merged = {"PATH": ":".join(settings.command_path)}
    merged.update(LOCALE_ENV)
    merged.update(check_env(env))
    return merged


class Transport(ABC):
    """Run commands and move files on one node. Use as a context manager."""

    name: str = "abstract"

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.host = settings.host

    # -- the contract -------------------------------------------------------------------
    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        stdin: Optional[bytes] = None,
        env: Optional[Mapping[str, str]] = None,
        check: bool = False,
    ) -> CommandResult:
        """Run ``argv`` on the node. Timeout -> CommandTimeout; transport trouble -> TransportError;
        ``check=True`` and a non-zero exit -> CommandFailed."""
        args = check_argv(argv)
        variables = self._command_env(env)
        started = time.monotonic()
        code, out, err = self._exec(args, timeout=timeout, stdin=stdin, env=variables)
        return self._result(args, code, decode(out), decode(err), started, check)

    def read_file(self, path: str, *, max_bytes: int = 1 << 20, timeout: float = DEFAULT_FILE_TIMEOUT) -> bytes:
        """The whole content of a regular file; TransportError if it is larger than ``max_bytes``."""
        self._check_paths(path)
        if max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        data = self._read_file(path, max_bytes + 1, timeout)
        if len(data) > max_bytes:
            raise TransportError(self.host, f"read {path}", f"file is larger than the {max_bytes}-byte limit")
        return data

    def write_file_atomic(
        self, path: str, data: bytes, *, backup_path: str, timeout: float = DEFAULT_FILE_TIMEOUT
    ) -> None:
        """Replace the existing regular file ``path`` by ``data`` atomically.

        Temp file in the same directory, fsync, owner and mode copied from the old file, the
        old file kept at ``backup_path``, rename over ``path``, fsync of the directory. On any
        failure ``path`` is left untouched and TransportError names host, path and cause.
        """
        self._check_paths(path, backup_path)
        if not isinstance(data, bytes):
            raise TypeError("data must be bytes")
        self._write_file_atomic(path, data, backup_path, timeout)

    # -- what each transport implements (the arguments are checked by the methods above) ---------
    @abstractmethod
    def _exec(self, argv: Sequence[str], *, timeout: float, stdin: Optional[bytes], env: Dict[str, str]) -> RawResult:
        """Run ``argv`` with exactly ``env`` as the variables the pack sets; return (exit code,
        stdout, stderr). Raises TransportError / CommandTimeout."""

    @abstractmethod
    def _read_file(self, path: str, limit: int, timeout: float) -> bytes:
        """At most ``limit`` bytes of the regular file ``path``; TransportError when it cannot be read."""

    @abstractmethod
    def _write_file_atomic(self, path: str, data: bytes, backup_path: str, timeout: float) -> None:
        """The atomic replacement ``write_file_atomic`` describes."""

    def _command_env(self, env: Optional[Mapping[str, str]]) -> Dict[str, str]:
        """The variables a command gets on the node (``node_env``); the local transport adds the login's."""
        return node_env(self.settings, env)

    def close(self) -> None:  # noqa: B027 - optional hook: the local transport holds nothing
        """Release the connection (idempotent)."""

    # -- shared helpers -----------------------------------------------------------------
    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _error(self, argv: Sequence[str], cause: str, cls: type = TransportError) -> TransportError:
        return cls(self.host, f"`{format_argv(argv)}`", cause)

    def _result(
        self, argv: Sequence[str], exit_code: int, stdout: str, stderr: str, started: float, check: bool
    ) -> CommandResult:
        result = CommandResult(
            argv=redact(argv),
            exit_code=exit_code,
            stdout=stdout,
            stderr=stderr,
            duration_s=round(time.monotonic() - started, 6),
        )
        if check and exit_code != 0:
            raise CommandFailed(self.host, result.argv, exit_code, stdout + stderr)
        return result

    @staticmethod
    def _check_paths(path: str, backup_path: Optional[str] = None) -> None:
        for p in (path, backup_path):
            if p is None:
                continue
            if not isinstance(p, str) or not p.startswith("/") or "\x00" in p or "\n" in p:
                raise ValueError(f"path {p!r} must be an absolute single-line path")
        if backup_path is not None and backup_path.rstrip("/") == path.rstrip("/"):
            raise ValueError("backup_path must differ from path")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}://{self.host}>"


def decode(data: bytes) -> str:
    """Command output as text; undecodable bytes are replaced, never raised on."""
    return data.decode("utf-8", errors="replace")
