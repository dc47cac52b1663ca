"""Backups that stop responding: ``Running`` in MCS with progress that does not grow.

The KB says backups may "stop responding" (hang with no progress for hours) instead of failing
[C]; that shows as ``Running`` with ``Progress Bytes`` that stay the same [I]. Per backup the
tracker remembers the progress last seen and since when it has not changed:

* first seen with 0 bytes: it has made no progress since it started, so "since" is its start
  (now minus ``Elapsed``): a backup already hung for two hours when the sensor starts is
  reported on the first poll;
* first seen with some bytes, or its progress changed: "since" is now;
* no change for ``stall_seconds``: reported ONCE (one ``backup_stalled`` per stall, not per
  poll); if it moves again and stalls again, that is a new stall.

Pure: time comes in as ``now``; the state is JSON-able and saved by the caller.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from avamar_pack.parsing.mccli import Activity
from avamar_pack.serverwatch import activity_facts as facts

MAX_TRACKED = 2000


class StallTracker:
    def __init__(self, stall_seconds: float, state: Optional[Dict[str, Any]] = None) -> None:
        self.stall_seconds = max(1.0, float(stall_seconds))
        self.watch: Dict[str, Dict[str, Any]] = {}
        for key, entry in (state or {}).items():
            if isinstance(entry, dict) and isinstance(entry.get("since"), (int, float)):
                self.watch[str(key)] = {
                    "progress": str(entry.get("progress", "")),
                    "since": float(entry["since"]),
                    "reported": bool(entry.get("reported")),
                }

    def update(self, activities: Sequence[Activity], now: float) -> List[Dict[str, Any]]:
        """Newly stalled backups: ``[{id, client, started, minutes}]`` (each reported once)."""
        running = {}
        for act in activities:
            act_id = facts.activity_id(act)
            if act_id and facts.is_backup(act) and facts.is_running(act):
                running[act_id] = act
        for gone in [key for key in self.watch if key not in running]:
            del self.watch[gone]  # finished, failed or dropped from the list: its stall is over
        stalled: List[Dict[str, Any]] = []
        for act_id, act in sorted(running.items()):
            progress = (act.progress_bytes or "").strip()
            entry = self.watch.get(act_id)
            if entry is None or entry["progress"] != progress:
                since = now
                if entry is None and facts.progress_bytes(act) == 0:
                    elapsed = facts.elapsed_seconds(act)
                    since = now - elapsed if elapsed is not None else now
                if len(self.watch) >= MAX_TRACKED and entry is None:
                    continue
                entry = self.watch[act_id] = {"progress": progress, "since": since, "reported": False}
            quiet = now - entry["since"]
            if not entry["reported"] and quiet >= self.stall_seconds:
                entry["reported"] = True
                stalled.append(
                    {
                        "id": act_id,
                        "client": facts.client_name(act) or "unknown",
                        "started": facts.started_iso(act),
                        "minutes": int(quiet // 60),
                    }
                )
        return stalled

    def state(self) -> Dict[str, Any]:
        return {key: dict(entry) for key, entry in sorted(self.watch.items())}
