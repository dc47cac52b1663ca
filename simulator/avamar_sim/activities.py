"""MCS's activity list: backups, restores and replications, as `mccli activity show` prints them.

An activity record in the state (all times are epoch seconds)::

    {"id", "kind": backup|restore|replication, "client", "domain", "start",
     "end": epoch | None (runs until ended), "outcome": status once over, "error_code",
     "hang": bool (Progress Bytes frozen), "frozen_bytes": int}

Whether it is still running is decided at read time from the clock, so `activity show` over
time shows a backup Running, then Completed or Failed, without anything having to tick.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional, Sequence

from . import inferred
from .state import State

KINDS = tuple(inferred.ACTIVITY_TYPES)

ACTIVITY_COLUMNS = (
    ("ID", 16),
    ("Status", 24),
    ("Error Code", 10),
    ("Start Time", 23),
    ("Elapsed", 11),
    ("End Time", 23),
    ("Type", 16),
    ("Progress Bytes", 14),
    ("New Bytes", 9),
    ("Client", 24),
    ("Domain", 8),
)


def new_id(state: State) -> str:
    state["activity_seq"] = int(state.get("activity_seq", 0)) + 1
    return str(inferred.ACTIVITY_ID_BASE + state["activity_seq"])


def add(state: State, record: Dict[str, Any]) -> Dict[str, Any]:
    """Append a record (defaults filled in), dropping the oldest past ACTIVITY_LIMIT."""
    record.setdefault("kind", "backup")
    record.setdefault("hang", False)
    record.setdefault("frozen_bytes", 0)
    state["activities"].append(record)
    del state["activities"][: max(0, len(state["activities"]) - inferred.ACTIVITY_LIMIT)]
    return record


def is_running(act: Dict[str, Any], now: float) -> bool:
    return act["end"] is None or now < float(act["end"])


def find(state: State, activity_id: str) -> Optional[Dict[str, Any]]:
    return next((act for act in state["activities"] if act["id"] == activity_id), None)


def end(act: Dict[str, Any], now: float, outcome: str, error_code: int) -> None:
    act.update(end=now, outcome=outcome, error_code=error_code, hang=False)


def interrupt_running(state: State, now: float) -> List[str]:
    """MCS stops: every activity still running ends as interrupted; returns their ids."""
    ids = []
    for act in state["activities"]:
        if is_running(act, now):
            end(act, now, inferred.ACTIVITY_INTERRUPTED_STATUS, inferred.ACTIVITY_INTERRUPTED_ERROR_CODE)
            ids.append(act["id"])
    return ids


def progress_bytes(act: Dict[str, Any], now: float) -> int:
    """What the activity has moved so far: frozen when hung, growing while running."""
    if act.get("hang"):
        return int(act.get("frozen_bytes", 0))
    if is_running(act, now):
        moved = int(max(0.0, now - float(act["start"])) * inferred.ACTIVITY_PROGRESS_BYTES_PER_S)
        return min(moved, inferred.ACTIVITY_TOTAL_BYTES) if act["end"] is not None else moved
    return inferred.ACTIVITY_TOTAL_BYTES if act["outcome"] == "Completed" else 0


def format_bytes(count: int) -> str:
    """`0 bytes`, `512.0 KB`, `1.8 MB`: the shape of the [C] example's `1.8 MB`."""
    if count <= 0:
        return "0 bytes"
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} bytes"


def _fmt_time(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _fmt_elapsed(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600:02d}h:{seconds % 3600 // 60:02d}m:{seconds % 60:02d}s"


def row(act: Dict[str, Any], now: float) -> List[str]:
    running = is_running(act, now)
    done = act["outcome"] == "Completed" and not running
    return [
        act["id"],
        "Running" if running else act["outcome"],
        "0" if running else str(act["error_code"]),
        _fmt_time(act["start"]),
        _fmt_elapsed((now if running else float(act["end"])) - float(act["start"])),
        "N/A" if running else _fmt_time(float(act["end"])),
        inferred.ACTIVITY_TYPES.get(act.get("kind", "backup"), inferred.ACTIVITY_TYPE_ON_DEMAND),
        format_bytes(progress_bytes(act, now)),
        inferred.ACTIVITY_NEW_BYTES_DONE if done else inferred.ACTIVITY_NEW_BYTES_NONE,
        act["client"],
        act["domain"],
    ]


def table(state: State, now: float, activity_id: Optional[str] = None) -> List[str]:
    """`mccli activity show` body: header, dash line, one fixed-width row per activity."""
    return format_table(
        [row(act, now) for act in state["activities"] if activity_id is None or act["id"] == activity_id]
    )


def format_table(rows: Sequence[Sequence[str]]) -> List[str]:
    """The `mccli activity show` table of ``rows`` (cells in ``ACTIVITY_COLUMNS`` order), as MCS lays it out."""
    widths = [
        max([width, len(title)] + [len(cells[i]) for cells in rows])
        for i, (title, width) in enumerate(ACTIVITY_COLUMNS)
    ]

    def fmt(cells: List[str]) -> str:
        return " ".join(cell.ljust(widths[i]) for i, cell in enumerate(cells)).rstrip()

    lines = [fmt([title for title, _ in ACTIVITY_COLUMNS]), " ".join("-" * w for w in widths)]
    lines.extend(fmt(cells) for cells in rows)
    return lines
