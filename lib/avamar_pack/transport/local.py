"""Commands and files on this machine: for a pack running on the utility node itself, and
for the simulator. No shell anywhere: argv goes to ``subprocess`` as a list.

Commands get a minimal environment, as over SSH and Salt: ``node_env`` (PATH from
``command_path``, LANG/LC_ALL=C, the caller's ``env``) plus HOME, USER and LOGNAME of the
user the action runs as. The action's own environment is not inherited: under StackStorm it
holds ``ST2_ACTION_AUTH_TOKEN``, an st2 API token no node command has any use for."""

from __future__ import annotations

import os
import pwd
import signal
import stat
import subprocess
import tempfile
from typing import Dict, Mapping, Optional, Sequence

from avamar_pack.errors import CommandTimeout, TransportError
from avamar_pack.transport.base import RawResult, Transport, node_env


class LocalTransport(Transport):
    name = "local"

    def _command_env(self, env: Optional[Mapping[str, str]]) -> Dict[str, str]:
        variables = login_env()
        variables.update(node_env(self.settings, env))
        return variables

    def _exec(self, argv: Sequence[str], *, timeout: float, stdin: Optional[bytes], env: Dict[str, str]) -> RawResult:
        args = list(argv)
        try:
            # A new session makes the command the leader of its own process group, so a
            # timeout can stop it together with everything it started.
            proc = subprocess.Popen(
                args,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                start_new_session=True,
                close_fds=True,
            )
        except FileNotFoundError:
            # Same answer as a shell on the remote transports: exit 127, "not found".
            return 127, b"", f"{args[0]}: command not found\n".encode()
        except OSError as exc:
            raise self._error(args, f"cannot start: {exc.strerror or exc}")
        try:
            out, err = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise self._error(args, f"no exit after {timeout:g}s; process group killed", CommandTimeout)
        except BaseException:
            _kill_group(proc)
            raise
        return proc.returncode, out, err

    def _read_file(self, path: str, limit: int, timeout: float) -> bytes:
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                raise TransportError(self.host, f"read {path}", "not a regular file")
            with open(path, "rb") as handle:
                return handle.read(limit)
        except OSError as exc:
            raise TransportError(self.host, f"read {path}", exc.strerror or str(exc))

    def _write_file_atomic(self, path: str, data: bytes, backup_path: str, timeout: float) -> None:
        what = f"atomic write of {path}"
        try:
            old = os.lstat(path)
        except OSError as exc:
            raise TransportError(self.host, what, exc.strerror or str(exc))
        if stat.S_ISLNK(old.st_mode):
            raise TransportError(self.host, what, "is a symbolic link; refusing to replace it")
        if not stat.S_ISREG(old.st_mode):
            raise TransportError(self.host, what, "not a regular file")
        directory = os.path.dirname(path)
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(prefix=".avamar-pack-", dir=directory)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                _copy_owner(handle.fileno(), old)
                os.fchmod(handle.fileno(), stat.S_IMODE(old.st_mode))
                os.fsync(handle.fileno())
            _keep_backup(path, backup_path, old)
            os.replace(tmp, path)
            tmp = None
            _fsync_dir(directory)
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            raise TransportError(self.host, what, f"{exc.strerror or exc}{where}")
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass


def login_env() -> Dict[str, str]:
    """HOME, USER and LOGNAME of the user this process runs as (what a login on the node sets)."""
    try:
        entry = pwd.getpwuid(os.getuid())
        home, user = entry.pw_dir, entry.pw_name
    except KeyError:  # a uid without a passwd entry (some containers)
        home, user = os.environ.get("HOME", "/"), str(os.getuid())
    return {"HOME": home, "USER": user, "LOGNAME": user}


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:  # a child left the group and holds the pipes open
        for stream in (proc.stdout, proc.stderr, proc.stdin):
            if stream is not None:
                stream.close()
        proc.wait(timeout=5)


def _copy_owner(fd: int, old: os.stat_result) -> None:
    try:
        os.fchown(fd, old.st_uid, old.st_gid)
    except PermissionError:
        # Not root: fine only if the temp file already has the old owner and group.
        now = os.fstat(fd)
        if (now.st_uid, now.st_gid) != (old.st_uid, old.st_gid):
            raise


def _keep_backup(path: str, backup_path: str, old: os.stat_result) -> None:
    """Put the current file at ``backup_path`` (hard link, or a copy across file systems),
    replacing any earlier backup atomically."""
    backup_dir = os.path.dirname(backup_path)
    fd, staging = tempfile.mkstemp(prefix=".avamar-pack-bak-", dir=backup_dir)
    os.close(fd)
    try:
        os.unlink(staging)
        try:
            os.link(path, staging)
        except OSError:
            with open(path, "rb") as src, open(staging, "wb") as dst:
                dst.write(src.read())
                dst.flush()
                _copy_owner(dst.fileno(), old)
                os.fchmod(dst.fileno(), stat.S_IMODE(old.st_mode))
                os.fsync(dst.fileno())
        os.replace(staging, backup_path)
        staging = None
        _fsync_dir(backup_dir)
    finally:
        if staging is not None:
            try:
                os.unlink(staging)
            except OSError:
                pass


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
