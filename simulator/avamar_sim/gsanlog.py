"""GSAN's logs on the node: `/data01/cur/gsan.log` grows and is rotated to `gsan.log.00N`.

Callers hold the node lock (:func:`avamar_sim.state.locked`), so an append and a rotation never
interleave. Rotation is by rename ([I], see ``inferred.GSAN_LOG_*``): the live file is renamed
to ``gsan.log.001`` (older ones shift up, the oldest beyond the kept count is deleted) and a new,
empty ``gsan.log`` is created, as logrotate's default does.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Iterable, List

from . import inferred, texts
from . import state as st
from .state import State


def max_bytes(state: State) -> int:
    return int(state["knobs"].get("gsan_log_max_bytes") or inferred.GSAN_LOG_MAX_BYTES)


def rotated_path(root: str, n: int) -> str:
    return st.path(root, os.path.join(st.GSAN_DIR, inferred.GSAN_LOG_ROTATED_NAME.format(n=n)))


def rotate(root: str) -> List[str]:
    """Rename gsan.log to gsan.log.001 (shifting the older ones); returns the rotated files, newest first."""
    keep = inferred.GSAN_LOG_ROTATED_KEEP
    oldest = rotated_path(root, keep)
    if os.path.exists(oldest):
        os.unlink(oldest)
    for n in range(keep - 1, 0, -1):
        if os.path.exists(rotated_path(root, n)):
            os.replace(rotated_path(root, n), rotated_path(root, n + 1))
    live = st.path(root, st.GSAN_LOG)
    if os.path.exists(live):
        os.replace(live, rotated_path(root, 1))
    open(live, "a").close()
    return [rotated_path(root, n) for n in range(1, keep + 1) if os.path.exists(rotated_path(root, n))]


def append(root: str, state: State, lines: Iterable[str], *, err_log: bool = False) -> None:
    """Append complete lines to gsan.log (and err.log for warnings), rotating first when full."""
    data = "".join(line + "\n" for line in lines)
    if not data:
        return
    limit = max_bytes(state)
    live = st.path(root, st.GSAN_LOG)
    if limit > 0:
        try:
            size = os.path.getsize(live)
        except OSError:
            size = 0
        if size and size + len(data) > limit:
            rotate(root)
    targets = (st.GSAN_LOG, st.GSAN_ERR_LOG) if err_log else (st.GSAN_LOG,)
    for rel in targets:
        with open(st.path(root, rel), "a", encoding="utf-8") as handle:
            handle.write(data)


def stamped(now: float, thread: str, text: str) -> str:
    return texts.gsan_line(dt.datetime.fromtimestamp(now, tz=dt.timezone.utc), thread, text)


def noise(root: str, state: State, now: float, count: int) -> int:
    """Append `count` housekeeping lines (no session-ticket warning among them); returns bytes added."""
    lines = []
    for i in range(count):
        body = inferred.GSAN_NOISE_LINES[i % len(inferred.GSAN_NOISE_LINES)]
        lines.append(f"{texts.gsan_stamp(dt.datetime.fromtimestamp(now, tz=dt.timezone.utc))} {{0.1}} {body}")
    append(root, state, lines)
    return sum(len(line) + 1 for line in lines)
