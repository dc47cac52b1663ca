"""The sensor's durable state, kept in the StackStorm datastore through the sensor service.

ONE key (sensor-local, ``local=True``) holds everything: the position of every followed file
(device, inode, byte offset, records to skip in the line at that offset) AND the folding state.
Writing both in one ``set_value`` makes them consistent with each other, which is what the
"none lost, none twice" argument needs (see ``engine``):

* a file's position is the start of the first record NOT yet fully accounted for: the first
  record of the avtar run still open (its lines may continue), or the line after the last one
  processed. Every run before it is reflected in the folding state saved with it;
* ``counted`` marks that the open run at that position was already counted (a snapshot taken at
  end of file), so a replay after a restart does not count it a second time.

``patterns`` are the globs followed when the state was saved: after a restart, a file that
no saved position names is read from its start only if one of those globs matches it (it
appeared while the sensor was down); a file matched only by a glob added since is new to the
sensor, not new on disk, and is followed from its end, like every file at the very first start.

The value is JSON; a missing, unreadable or foreign-version value means "no state" (the sensor
then starts at the end of files that exist, as ``tail -F`` does) and the reason is logged.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import Any, Dict, Iterable, Optional

STATE_KEY = "detection_state"
STATE_VERSION = 1

log = logging.getLogger(__name__)


@dataclass
class FilePosition:
    path: str
    kind: str  # "avtar" | "gsan"
    dev: int
    inode: int
    offset: int  # byte offset of a line start
    skip: int = 0  # records of the line at ``offset`` already accounted for
    counted: bool = False  # the open run starting at (offset, skip) was already counted
    # Hash of up to ``follower.SIG_BYTES`` bytes just before ``offset`` (their length is implied by
    # ``offset``): detects a truncation or inode reuse while we were down, and identifies the
    # copytruncate copy that holds the unread tail. "" in states saved without it: then only a
    # file shorter than ``offset`` shows a truncation, and no copy can be proven to match.
    sig: str = ""

    @classmethod
    def from_dict(cls, raw: Any) -> Optional[FilePosition]:
        try:
            pos = cls(
                path=str(raw["path"]),
                kind=str(raw["kind"]),
                dev=int(raw["dev"]),
                inode=int(raw["inode"]),
                offset=int(raw["offset"]),
                skip=int(raw.get("skip", 0)),
                counted=bool(raw.get("counted", False)),
                sig=str(raw.get("sig", "")),
            )
        except (KeyError, TypeError, ValueError):
            return None
        if pos.offset < 0 or pos.skip < 0 or pos.kind not in ("avtar", "gsan"):
            return None
        return pos


class StateStore:
    """Load/save the detection state through ``sensor_service.get_value/set_value(local=True)``."""

    def __init__(self, sensor_service: Any, key: str = STATE_KEY) -> None:
        self.service = sensor_service
        self.key = key
        self.writes = 0

    def load(self) -> Dict[str, Any]:
        raw = self.service.get_value(self.key, local=True)
        if raw is None:
            return {}
        try:
            state = json.loads(raw)
        except (TypeError, ValueError) as exc:
            log.warning("detection state %r unreadable, starting without it: %s", self.key, exc)
            return {}
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            log.warning("detection state %r has an unknown version, starting without it", self.key)
            return {}
        return state

    def save(
        self,
        files: Dict[str, FilePosition],
        folding: Dict[str, Any],
        warnings: Dict[str, Any],
        patterns: Iterable[str] = (),
    ) -> None:
        state = {
            "patterns": sorted(set(patterns)),
            "version": STATE_VERSION,
            "files": {key: asdict(pos) for key, pos in sorted(files.items())},
            "folding": folding,
            "warnings": warnings,
        }
        self.service.set_value(self.key, json.dumps(state, sort_keys=True, separators=(",", ":")), local=True)
        self.writes += 1
