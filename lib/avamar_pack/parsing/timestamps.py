"""Avamar log timestamps, parsed by slicing.

avtar writes ``YYYY-MM-DD HH:MM:SS``; avtar's internal lines and GSAN write
``YYYY/MM/DD-HH:MM:SS[.fffff]``. Callers have already checked the shape with a regex, so
slicing is safe, and it costs a tenth of ``strptime``: this runs for every record on the
sensor's hot path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Dict, Optional

_RECENT_MAX = 64  # the records of one run share a handful of stamps: keep the last few parsed
_recent: Dict[str, Optional[datetime]] = {}


def parse_timestamp(text: Optional[str]) -> Optional[datetime]:
    """The naive datetime of an already shape-checked Avamar timestamp; None if not a real date."""
    if not text or len(text) < 19:
        return None
    try:
        return _recent[text]
    except KeyError:
        pass
    value = _parse(text)
    if len(_recent) >= _RECENT_MAX:
        _recent.clear()
    _recent[text] = value
    return value


def _parse(text: str) -> Optional[datetime]:
    try:
        micro = 0
        if len(text) > 20 and text[19] == ".":
            micro = int(text[20:26].ljust(6, "0"))
        return datetime(
            int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]), int(text[14:16]), int(text[17:19]), micro
        )
    except ValueError:
        return None
