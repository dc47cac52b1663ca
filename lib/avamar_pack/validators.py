"""Whole numbers and booleans given as action or workflow parameters, checked the one way.

StackStorm casts a parameter to its metadata type before the action sees it; a caller outside st2
(a test, ``python -c``, a future edit of the metadata) may still hand over text such as ``"60"``
or ``"true"``. Both are accepted here, anything else is refused with ``ValidationError``. Names,
hosts and serials have their own checks in ``avamar_pack.config``.
"""

from __future__ import annotations

from typing import Any

from avamar_pack.errors import ValidationError


def whole_number(value: Any, what: str, *, minimum: int = 1, maximum: int = 10**9) -> int:
    """An int (or a string of ASCII digits) in ``minimum..maximum``; a boolean is refused."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{what} must be an integer, got {str(value)[:40]!r}")
    if not minimum <= value <= maximum:
        raise ValidationError(f"{what} {value} is outside {minimum}..{maximum}")
    return value


def boolean(value: Any, what: str) -> bool:
    """A bool, or the text ``true``/``false`` (any case, surrounding blanks ignored)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValidationError(f"{what} must be a boolean, got {str(value)[:40]!r}")
