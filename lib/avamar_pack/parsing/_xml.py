"""The one hardened way this pack reads XML printed by ``avmaint``.

lxml with entities, DTD loading and network access off, no huge trees, and any DOCTYPE refused
outright (a DOCTYPE is the only place entities can be declared, so refusing it closes
billion-laughs and external-entity tricks even if a parser option regressed). Input is bounded.

``avmaint`` answers with ONE element whose attributes carry the data (``<keytable
minimalserial="38000">`` [C], ``<gcstatus status="idle"/>`` [I]). The KB quotes that output cut
after the start tag, so ``first_element`` reads start events only and accepts a document that
breaks off (or carries trailing junk) once the first element's start tag is complete.
"""

from __future__ import annotations

import re
from typing import Dict, Tuple, Union

from lxml import etree

from avamar_pack.errors import ParseError
from avamar_pack.parsing._input import bounded_bytes

MAX_BYTES = 1 << 20

_DOCTYPE_RE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_XML_DECL = b"<?xml"


def _new_parser() -> etree.XMLPullParser:
    return etree.XMLPullParser(
        events=("start",),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
        remove_comments=True,
    )


def first_element(data: Union[bytes, str], what: str) -> Tuple[str, Dict[str, str]]:
    """Tag and attributes of the first element of ``data``; ParseError if there is none.

    Text before ``<?xml`` (a shell prompt, the command echoed) is dropped. Any DOCTYPE is refused.
    """
    raw = bounded_bytes(data, what, MAX_BYTES)
    if b"\x00" in raw:  # UTF-16/32 would hide a DOCTYPE from the check below; avmaint writes UTF-8
        raise ParseError(f"{what}: NUL bytes in the XML (only UTF-8 is accepted)")
    if _DOCTYPE_RE.search(raw):
        raise ParseError(f"{what}: refusing XML with a DOCTYPE or ENTITY declaration")
    start = raw.find(_XML_DECL)
    if start < 0:
        start = raw.find(b"<")
        if start < 0:
            raise ParseError(f"{what}: no XML in the output")
    raw = raw[start:].lstrip()
    parser = _new_parser()
    error = None
    try:
        parser.feed(raw)
        parser.close()
    except etree.XMLSyntaxError as exc:  # keep the events read before the break
        error = exc
    for _event, element in parser.read_events():
        tag = element.tag if isinstance(element.tag, str) else ""
        if "}" in tag:
            tag = tag.split("}", 1)[1]
        attributes = {str(k): str(v) for k, v in element.attrib.items()}
        return tag, attributes
    detail = f" ({str(error)[:200]})" if error is not None else ""
    raise ParseError(f"{what}: no complete XML element found{detail}")
