"""The Salt source: avtar/GSAN lines from salt-api's event stream, from trusted minions only.

Which minion sent an event (salt 3006+, ``salt/daemons/masterapi.py:_minion_event``):

* the SINGLE form (``salt-call event.send <tag> data=...``, a minion's ``_fire_master`` with a
  tag and data): the master puts the whole request on the bus, so the event's data is
  ``{"id": ..., "cmd": "_minion_event", "tag": ..., "data": {<what the minion sent>}, ...}``.
  That top-level ``id`` is the one the master's request server checked against the minion's
  authenticated session (``payload["id"] == load["id"]``); it is the ``verified`` sender.
  The id inside the inner ``data`` and the one in the tag are the minion's own words: ignored;
* the BATCHED form (``events: [...]``, what beacons use): the master forwards each inner
  event's data as it is. Nothing in it was checked; its ``id`` is a claim. The same form lets a
  minion write an event that LOOKS like another minion's single-form event: the bus cannot
  prove the sender of a batched event, so only the shape below is accepted, and the residual
  risk (a minion able to send raw batched loads impersonating another mapped minion) is
  written in ``contrib/salt/README.md``.

Accepted: events whose sender (the verified id, or for a beacon the id its data and its tag
both name) is a key of ``sensor.salt_minions``; anything else is dropped with ONE warning per
minion id. The server of an accepted event comes from that mapping (``Stream.origin`` carries
the sender to the engine), never from the event's text.

Event shapes carrying lines (see ``contrib/salt/``): a ``log`` beacon (tag
``salt/beacon/<minion>/...``, data ``{"raw": <line>, "id": <minion>}``, one line per event,
settles like a file); ``avamar/avtar/line`` (one line, settles); any other ``avamar/...`` tag:
a whole excerpt ``{"lines": [...], "log_file": ...}``, acted on at once (``StreamEnded``).
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Any, Deque, Dict, Iterator, List, Mapping, Optional, Set, Tuple

from avamar_pack.detection.positions import FilePosition
from avamar_pack.detection.sources import Item, Line, Note, Stream, StreamEnded

MAX_LINES_PER_EVENT = 1000
MAX_QUEUE = 10000
MAX_MINION_ID = 255

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SaltEvent:
    """What one bus event says, with who sent it and how sure that is."""

    sender: str
    verified: bool  # the master checked ``sender`` (single form); False: the minion's claim
    log_file: str  # "salt://<minion>[/<path>]"
    lines: List[str]
    complete: bool  # a whole excerpt: act at once


def _as_lines(value: Any) -> List[str]:
    if isinstance(value, str):
        return value.splitlines()[:MAX_LINES_PER_EVENT]
    if isinstance(value, (list, tuple)):
        out: List[str] = []
        for item in value[:MAX_LINES_PER_EVENT]:
            if isinstance(item, str):
                out.extend(item.splitlines())
        return out[:MAX_LINES_PER_EVENT]
    return []


def _sender(tag: str, data: Mapping[str, Any]) -> Tuple[str, bool, Mapping[str, Any]]:
    """(sender, verified, the minion's own payload) of a bus event; sender "" when it names none."""
    inner = data.get("data")
    sender = data.get("id")
    if not isinstance(sender, str):
        return "", False, {}
    if data.get("cmd") == "_minion_event" and data.get("tag") == tag and isinstance(inner, dict):
        return sender, True, inner  # single form: the master's request, id checked
    if tag.startswith("salt/beacon/"):
        parts = tag.split("/")
        named = parts[2] if len(parts) > 2 else ""
        # batched form: both names are the minion's words; they must at least agree
        return (sender, False, data) if named == sender else ("", False, {})
    return "", False, {}


def parse_event(tag: str, data: Any) -> Optional[SaltEvent]:
    """The lines of one bus event and its sender; None when it carries no lines or names no sender."""
    if not isinstance(data, dict):
        return None
    sender, verified, payload = _sender(tag, data)
    if not sender:
        return None
    sender = sender[:MAX_MINION_ID]
    if tag.startswith("salt/beacon/"):
        lines = _as_lines(payload.get("raw"))
        complete = False
    else:
        lines = _as_lines(payload.get("lines") if "lines" in payload else payload.get("line"))
        complete = not tag.startswith("avamar/avtar/line")
    path = payload.get("log_file")
    path = path[:1024] if isinstance(path, str) else ""
    label = f"salt://{sender}/{path.lstrip('/')}" if path else f"salt://{sender}"
    return SaltEvent(sender=sender, verified=verified, log_file=label, lines=lines, complete=complete)


class SaltSource:
    """Queued salt-api events (``push`` from the reader thread) as ``Line`` items, trusted minions only."""

    def __init__(self, minions: Mapping[str, str], logger: Optional[Any] = None) -> None:
        self.minions = dict(minions)  # minion id -> server name (sensor.salt_minions)
        self.log = logger or log
        self.queue: Deque[Tuple[str, Dict[str, Any]]] = deque(maxlen=MAX_QUEUE)
        self.streams: Dict[str, Stream] = {}
        self.warned: Set[str] = set()
        self.dropped = 0
        self._seq = 0

    @property
    def backlog(self) -> bool:
        return False

    @property
    def resumable(self) -> bool:
        return False

    def push(self, tag: str, data: Dict[str, Any]) -> None:
        """Queue one event (thread-safe: deque append)."""
        self.queue.append((tag, data))

    def pull(self, max_bytes: Optional[int] = None) -> Iterator[Item]:
        while self.queue:
            tag, data = self.queue.popleft()
            event = parse_event(tag, data)
            if event is None or not event.lines:
                continue
            if event.sender not in self.minions:
                self.dropped += 1
                if event.sender not in self.warned:
                    self.warned.add(event.sender)
                    how = "master-verified" if event.verified else "claimed (beacon)"
                    self.log.warning(
                        "salt event from minion %r (%s id) dropped: not in sensor.salt_minions; "
                        "further events from it are dropped silently",
                        event.sender,
                        how,
                    )
                yield Note(f"salt event from unmapped minion {event.sender!r} dropped")
                continue
            key = f"salt:{event.sender}|{event.log_file}"
            stream = self.streams.get(key)
            if stream is None:
                stream = self.streams[key] = Stream(
                    key=key, kind="mixed", label=event.log_file, source="salt", origin=event.sender
                )
            for text in event.lines:
                self._seq += 1
                yield Line(stream, self._seq - 1, self._seq, text)
            if event.complete:
                yield StreamEnded(stream)
                self.streams.pop(key, None)

    def forget(self, stream: Stream) -> None:
        """The consumer dropped a quiet stream's run state; a later event opens it afresh."""
        self.streams.pop(stream.key, None)

    def checkpoint(self, stream: Stream, offset: int, skip: int, counted: bool) -> Optional[FilePosition]:
        return None  # salt-api's event stream cannot be replayed

    def close(self) -> None:
        self.queue.clear()
        self.streams.clear()
