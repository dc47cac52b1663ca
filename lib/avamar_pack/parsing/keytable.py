"""Parse ``avmaint cat /sysinfo/security/keytable``: GSAN's minimal session-ticket serial.

Output [C, partial]::

    <?xml version="1.0" encoding="UTF-8" standalone="yes"?> <keytable minimalserial="38000"> ...

Only the ``minimalserial`` attribute of the ``<keytable>`` element is used; its children are
unknown [I] and ignored. Text before ``<?xml`` is dropped, a DOCTYPE is refused, the input is
limited to 1 MiB (see ``_xml.py`` for the hardened parser).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Union

from avamar_pack.errors import ParseError
from avamar_pack.parsing._xml import MAX_BYTES, first_element

__all__ = ["MAX_BYTES", "MAX_SERIAL", "Keytable", "parse_keytable"]

MAX_SERIAL = 2**63 - 1
_SERIAL_RE = re.compile(r"[0-9]{1,25}")


@dataclass(frozen=True)
class Keytable:
    minimal_serial: int
    attributes: Dict[str, str] = field(default_factory=dict)


def parse_keytable(data: Union[bytes, str]) -> Keytable:
    """GSAN's ``minimalserial`` from the keytable XML; ParseError on anything unexpected."""
    tag, attributes = first_element(data, "keytable")
    if tag != "keytable":
        raise ParseError(f"keytable: expected a <keytable> element, found <{tag[:64]}>")
    raw = attributes.get("minimalserial")
    if raw is None:
        raise ParseError("keytable: <keytable> has no minimalserial attribute")
    value = raw.strip()
    if value.startswith("-") and _SERIAL_RE.fullmatch(value[1:]):
        raise ParseError(f"keytable: minimalserial is negative: {value[:40]!r}")
    if not _SERIAL_RE.fullmatch(value):
        raise ParseError(f"keytable: minimalserial is not a non-negative integer: {value[:40]!r}")
    serial = int(value)
    if serial > MAX_SERIAL:
        raise ParseError(f"keytable: minimalserial {value[:40]} is larger than 2^63-1")
    return Keytable(minimal_serial=serial, attributes=attributes)
