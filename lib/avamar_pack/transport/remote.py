"""Shared behaviour of the transports that reach the node through a remote shell (ssh, salt).

They differ only in how one command travels (``_exec``, run by ``Transport.run``); reading and
atomically writing a file are the same constant scripts (``node_scripts``) for both.
"""

from __future__ import annotations

import base64
import binascii

from avamar_pack.errors import TransportError
from avamar_pack.transport import node_scripts
from avamar_pack.transport.base import Transport, decode


class ShellNodeTransport(Transport):
    """A transport whose commands run under a POSIX shell on the node."""

    # How file content crosses the wire: "raw" bytes (ssh) or "base64" text (salt's JSON).
    file_encoding = "raw"

    def _read_file(self, path: str, limit: int, timeout: float) -> bytes:
        argv = ["sh", "-c", node_scripts.READ_FILE, "sh", path, str(limit), self.file_encoding]
        code, out, err = self._exec(argv, timeout=timeout, stdin=None, env={"PATH": node_scripts.SYSTEM_PATH})
        if code != 0 or err.strip():
            raise TransportError(self.host, f"read {path}", _cause(code, err))
        return _decode_content(out, self.file_encoding, self.host, path)

    def _write_file_atomic(self, path: str, data: bytes, backup_path: str, timeout: float) -> None:
        payload = base64.b64encode(data) + b"\n" if self.file_encoding == "base64" else data
        argv = ["sh", "-c", node_scripts.WRITE_FILE_ATOMIC, "sh", path, backup_path, self.file_encoding]
        code, _out, err = self._exec(argv, timeout=timeout, stdin=payload, env={"PATH": node_scripts.SYSTEM_PATH})
        if code != 0:
            raise TransportError(self.host, f"atomic write of {path}", _cause(code, err))


def _cause(code: int, err: bytes) -> str:
    lines = [line.strip() for line in decode(err).splitlines() if line.strip()]
    detail = "; ".join(lines[-3:])[:500] if lines else "no error output"
    return f"exit {code}: {detail}"


def _decode_content(out: bytes, encoding: str, host: str, path: str) -> bytes:
    if encoding != "base64":
        return out
    try:
        return base64.b64decode(b"".join(out.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise TransportError(host, f"read {path}", f"the node sent malformed base64 ({exc})")
