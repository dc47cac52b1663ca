"""Read and write MCS's ``sessionticket.srl``: a bare decimal serial.

The KB writes it with ``echo -n "38000" > .../sessionticket.srl`` [C]: digits, no newline.
``parse_srl`` tolerates ONE trailing ``\\n`` (someone used ``echo`` without ``-n``) and says so
through ``parse_srl_detail(...).trailing_newline``; ``parse_srl_strict`` refuses it. Anything
else (empty, spaces, signs, letters, ``\\r``, a value above 2^63-1) is a ParseError.
``format_srl`` writes what ``echo -n`` writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from avamar_pack.errors import ParseError, ValidationError
from avamar_pack.parsing._input import bounded_bytes

MAX_SERIAL = 2**63 - 1
MAX_BYTES = 64  # 19 digits fit easily; anything longer is not a serial file
_DIGITS_RE = re.compile(rb"[0-9]{1,19}")


@dataclass(frozen=True)
class SrlValue:
    serial: int
    trailing_newline: bool


def parse_srl_detail(data: Union[bytes, str]) -> SrlValue:
    """The serial and whether the file ended with a (tolerated) newline."""
    data = bounded_bytes(data, "sessionticket.srl", MAX_BYTES)
    body = data[:-1] if data.endswith(b"\n") else data
    if not body:
        raise ParseError("sessionticket.srl is empty")
    if not _DIGITS_RE.fullmatch(body):
        raise ParseError(f"sessionticket.srl is not a bare decimal number: {data[:40]!r}")
    serial = int(body)
    if serial > MAX_SERIAL:
        raise ParseError(f"sessionticket.srl holds {serial}, larger than 2^63-1")
    return SrlValue(serial=serial, trailing_newline=len(body) != len(data))


def parse_srl(data: Union[bytes, str]) -> int:
    """The serial in ``sessionticket.srl``; one trailing newline tolerated."""
    return parse_srl_detail(data).serial


def parse_srl_strict(data: Union[bytes, str]) -> int:
    """Like ``parse_srl`` but refuses a trailing newline (exactly what ``echo -n`` writes)."""
    value = parse_srl_detail(data)
    if value.trailing_newline:
        raise ParseError("sessionticket.srl ends with a newline (expected `echo -n` output)")
    return value.serial


def format_srl(n: int) -> bytes:
    """Bytes to write to ``sessionticket.srl`` for serial ``n`` (no newline)."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValidationError(f"serial must be an integer, got {type(n).__name__}")
    if n < 0 or n > MAX_SERIAL:
        raise ValidationError(f"serial {n} is outside 0..2^63-1")
    return str(n).encode("ascii")
