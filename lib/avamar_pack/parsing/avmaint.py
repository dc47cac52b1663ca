"""Parse ``avmaint`` error lines.

A refused ``avmaint publickey --serial=N`` prints [C]::

    ERROR: avmaint: publickey: server_exception(MSG_ERR_INVALID_PARAMETERS)

The KB pastes it run together with the shell prompt, so the error is searched anywhere in the
text, not only at a line start. ``code`` is the ``MSG_...`` name inside ``server_exception(...)``,
or None when the error carries another message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

MAX_TEXT = 1 << 20
INVALID_PARAMETERS = "MSG_ERR_INVALID_PARAMETERS"

_ERROR_RE = re.compile(
    r"ERROR: avmaint: (?P<op>[A-Za-z0-9_.-]{1,64}): "
    r"(?:server_exception\((?P<code>MSG_[A-Z0-9_]{1,64})\)|(?P<msg>[^\r\n]{0,300}))"
)


@dataclass(frozen=True)
class AvmaintError:
    operation: str
    code: Optional[str]
    line: str


def parse_avmaint_error(text: str) -> Optional[AvmaintError]:
    """The first ``ERROR: avmaint: <op>: ...`` in ``text``, or None if there is none."""
    if not isinstance(text, str):
        return None
    match = _ERROR_RE.search(text[:MAX_TEXT])
    if not match:
        return None
    return AvmaintError(operation=match.group("op"), code=match.group("code"), line=match.group(0).strip())


def is_invalid_parameters(err: Optional[AvmaintError]) -> bool:
    """True for the refusal the KB answers with 'choose a larger serial'."""
    return err is not None and err.code == INVALID_PARAMETERS
