"""Untrusted input for the parsers that read whole command outputs or files: bytes, bounded."""

from __future__ import annotations

from typing import Union

from avamar_pack.errors import ParseError


def bounded_bytes(data: Union[bytes, bytearray, str], what: str, max_bytes: int) -> bytes:
    """``data`` as bytes (text is UTF-8 encoded); ParseError when it is neither, or longer than ``max_bytes``."""
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    if not isinstance(data, (bytes, bytearray)):
        raise ParseError(f"{what}: expected bytes or str, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise ParseError(f"{what}: {len(data)} bytes, more than the {max_bytes} accepted")
    return data
