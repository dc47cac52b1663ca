"""Parse maintenance activity status: ``avmaint cpstatus``, ``gcstatus``, ``hfscheckstatus``.

Each prints one XML element with a ``status`` attribute, for example::

    <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
    <cpstatus generation-time="1764068400" tag="cp.20261125100000" status="completed" .../>
    <gcstatus status="idle" .../>
    <hfscheckstatus ... status="completed"/>

These shapes are [I]: nothing public shows the exact attributes. Only the element name and the
``status`` attribute are used. ``running`` is True when the status (lowercased, whitespace
collapsed) is one of ``RUNNING_STATUSES`` ([I] too); everything else (``completed``, ``idle``,
``error`` ...) is not running. Parsed with the hardened XML reader in ``_xml.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Union

from avamar_pack.errors import ParseError
from avamar_pack.parsing._xml import first_element

KINDS = {"cpstatus": "checkpoint", "gcstatus": "garbage_collection", "hfscheckstatus": "hfscheck"}
RUNNING_STATUSES = frozenset({"running", "in progress", "processing", "waiting"})


@dataclass(frozen=True)
class MaintenanceStatus:
    kind: str  # the element name: cpstatus | gcstatus | hfscheckstatus
    status: str  # lowercased, whitespace collapsed
    running: bool
    attributes: Dict[str, str] = field(default_factory=dict)

    @property
    def activity(self) -> str:
        """Readable name: checkpoint, garbage_collection or hfscheck."""
        return KINDS.get(self.kind, self.kind)


def parse_activity_status(text: Union[str, bytes]) -> MaintenanceStatus:
    """Status of one maintenance activity; ParseError if the element is unknown or has no status."""
    tag, attributes = first_element(text, "maintenance status")
    if tag not in KINDS:
        raise ParseError(f"maintenance status: unexpected element <{tag[:64]}> (expected one of {sorted(KINDS)})")
    raw = attributes.get("status")
    if raw is None or not raw.strip():
        raise ParseError(f"maintenance status: <{tag}> has no status attribute")
    status = " ".join(raw.split()).lower()[:64]
    return MaintenanceStatus(kind=tag, status=status, running=status in RUNNING_STATUSES, attributes=attributes)
