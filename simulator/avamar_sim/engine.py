"""The mechanics of the failure: MCS hands out tickets, GSAN accepts or refuses them.

All functions take the node root and the state dict the caller holds under the node lock
(:func:`avamar_sim.state.locked`) and mutate it; they also append to the node's log files.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any, Dict, List, Optional

from . import activities, gsanlog, inferred, texts
from . import state as st
from .keystore import spki_fingerprint
from .state import State


class SrlWriteError(OSError):
    """MCS could not write sessionticket.srl (an injected disk-full fault)."""


def now_dt(now: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(now, tz=dt.timezone.utc)


# --- MCS ------------------------------------------------------------------------------------


def read_srl(root: str) -> int:
    """What MCS reads at start: the bare integer in sessionticket.srl (ValueError if it is not one)."""
    with open(st.path(root, st.SRL), "rb") as handle:
        raw = handle.read(64).decode("ascii", errors="replace").strip()
    if not raw.isdigit():
        raise ValueError(f"sessionticket.srl does not hold a serial: {raw[:20]!r}")
    return int(raw)


def write_srl(root: str, serial: int, disk_full: bool = False) -> None:
    if disk_full:
        raise SrlWriteError(28, "No space left on device", st.path(root, st.SRL))
    st.write_atomic(st.path(root, st.SRL), str(serial).encode("ascii"))


def settle(root: str, state: State, now: float) -> None:
    """Finish a restart whose down time is over: MCS reloads the .srl (or fails to start)."""
    mcs = state["mcs"]
    if mcs["status"] != "starting" or now < (mcs.get("up_at") or 0):
        return
    mcs["up_at"] = None
    try:
        serial = read_srl(root)
    except (OSError, ValueError) as exc:
        mcs["status"] = "down"
        mcs["start_error"] = str(exc)
        return
    mcs.update(status="up", next_serial=serial, srl_written=serial, start_error=None)


def record_flush(state: State, now: float) -> None:
    """`mcserver.sh --flush` succeeded: MCS's latest flush now holds its next serial [I]."""
    if not inferred.FLUSH_RECORDS_SERIAL:
        return
    mcs = state["mcs"]
    mcs["flushed_serial"] = int(mcs["next_serial"])
    mcs["flushed_at"] = now
    mcs["flush_count"] = int(mcs.get("flush_count", 0)) + 1


def restore_from_flush(root: str, state: State) -> int:
    """An MCS restore from its latest flush: the .srl and MCS's serial go back to the flushed one."""
    mcs = state["mcs"]
    serial = int(mcs.get("flushed_serial", mcs["next_serial"]))
    write_srl(root, serial)
    mcs.update(next_serial=serial, srl_written=serial)
    return serial


def mcs_up(state: State) -> bool:
    return state["mcs"]["status"] == "up"


def issue_ticket(root: str, state: State, disk_full: bool = False) -> int:
    """Hand out the next serial; write it through to the .srl unless an operator changed the file."""
    mcs = state["mcs"]
    serial = int(mcs["next_serial"])
    mcs["next_serial"] = serial + 1
    if inferred.MCS_WRITES_SRL_ON_TICKET:
        try:
            on_disk: Optional[int] = read_srl(root)
        except (OSError, ValueError):
            on_disk = None
        if on_disk == mcs.get("srl_written"):
            try:
                write_srl(root, serial + 1, disk_full)
                mcs["srl_written"] = serial + 1
            except OSError as exc:  # MCS keeps running on its in-memory serial
                mcs["last_srl_error"] = str(exc)
    return serial


# --- GSAN -----------------------------------------------------------------------------------


def gsan_threshold(state: State) -> int:
    """The hidden rule: publickey needs N > max(minimal, highest used) + extra."""
    gsan = state["gsan"]
    extra = int(state["knobs"].get("threshold_extra", inferred.DEFAULT_THRESHOLD_EXTRA))
    return max(int(gsan["minimal_serial"]), int(gsan["max_used"])) + extra


def mark_used(state: State, serial: int) -> None:
    gsan = state["gsan"]
    gsan["max_used"] = max(int(gsan["max_used"]), serial)
    recent: List[int] = gsan.setdefault("recent_used", [])
    recent.append(serial)
    del recent[: max(0, len(recent) - inferred.RECENT_USED_LIMIT)]


def was_used(state: State, serial: int) -> bool:
    gsan = state["gsan"]
    if inferred.USED_MEANS_AT_OR_BELOW_MAX and serial <= int(gsan["max_used"]):
        return True
    return serial in gsan.get("recent_used", [])


def gsan_log(root: str, state: State, now: float, thread: str, text: str) -> None:
    """Append a warning to gsan.log and err.log with GSAN's time prefix (gsan.log rotates when full)."""
    gsanlog.append(root, state, [texts.gsan_line(now_dt(now), thread, text)], err_log=True)


def _log_below_minserial(root: str, state: State, serial: int, now: float) -> None:
    """GSAN's 1479 warning: ``serial`` is below its minimal serial."""
    text = texts.GSAN_1479.format(serial=serial, minserial=state["gsan"]["minimal_serial"])
    gsan_log(root, state, now, inferred.GSAN_THREAD_1479, text)


def check_ticket(root: str, state: State, serial: int, now: float) -> Optional[str]:
    """None if GSAN accepts the ticket, else the reason; logs the matching sessionkeytable warning."""
    gsan = state["gsan"]
    for check in inferred.TICKET_CHECK_ORDER:
        if check == "below_min" and serial < int(gsan["minimal_serial"]):
            _log_below_minserial(root, state, serial, now)
            return "below_min"
        if check == "used" and was_used(state, serial):
            gsan_log(root, state, now, inferred.GSAN_THREAD_1418, texts.GSAN_1418.format(serial=serial))
            return "used"
        if check == "signature" and gsan.get("key_fp") != state["mcs"]["key_fp"]:
            if gsan.get("rolled_back") and not inferred.ROLLBACK_LOGS_WARNING:
                return "rolled_back"
            gsan_log(root, state, now, inferred.GSAN_THREAD_1426, texts.GSAN_1426)
            return "signature"
    mark_used(state, serial)
    return None


def publickey(root: str, state: State, key_pem: Optional[bytes], serial: int, now: float) -> Optional[str]:
    """`avmaint publickey`: None when accepted (minimal serial := N, key registered), else the error line."""
    fingerprint = spki_fingerprint(key_pem) if key_pem is not None else None
    if fingerprint is None or fingerprint != state["mcs"]["key_fp"]:
        return inferred.WRONG_KEY_ERROR
    gsan = state["gsan"]
    if serial < int(gsan["minimal_serial"]):
        _log_below_minserial(root, state, serial, now)
    if serial <= gsan_threshold(state):
        return texts.AVMAINT_INVALID_PARAMETERS
    gsan.update(minimal_serial=serial, key_fp=fingerprint, rolled_back=False)
    return None


def keytable_xml(state: State) -> str:
    gsan = state["gsan"]
    child = inferred.KEYTABLE_CHILD.format(serial=gsan["minimal_serial"], fingerprint=gsan.get("key_fp") or "")
    return f'{texts.KEYTABLE_HEAD}\n<keytable minimalserial="{gsan["minimal_serial"]}">\n{child}\n</keytable>\n'


# --- backups --------------------------------------------------------------------------------


def refused_backup_mode(state: State) -> str:
    mode = str(state["knobs"].get("refused_backup") or "fail")
    return mode if mode in inferred.REFUSED_BACKUP_MODES else "fail"


def run_backup(
    root: str, state: State, client: str, now: float, *, disk_full: bool = False, domain: str = inferred.ACTIVITY_DOMAIN
) -> Dict[str, Any]:
    """One backup of `client`: ticket from MCS, login at GSAN, client log, activity record.

    A refused ticket fails the backup, or (knob ``refused_backup=hang``) leaves it hung: Running
    with no progress, its client log stopping after the login lines."""
    activity_id = activities.new_id(state)
    log_name = inferred.CLIENT_LOG_NAME.format(client=client, activity_id=activity_id)
    log_path = st.path(root, os.path.join(st.CLIENT_LOGS, log_name))
    shown_path = "/" + os.path.join(st.CLIENT_LOGS, log_name)
    when = now_dt(now)
    head = [texts.AVTAR_LOGIN_LINES[0].format(log_path=shown_path)]
    serial: Optional[int] = None
    hung = False
    if not mcs_up(state):
        reason: Optional[str] = "mcs_down"
        body = head + [inferred.AVTAR_NO_TICKET_LINE, texts.AVTAR_FAILED_SUMMARY]
    else:
        serial = issue_ticket(root, state, disk_full)
        reason = check_ticket(root, state, serial, now)
        login = [line.format(server=state["server"], ip=state["ip"]) for line in texts.AVTAR_LOGIN_LINES[1:]]
        if reason is None:
            gsanlog.append(
                root,
                state,
                [
                    gsanlog.stamped(
                        now,
                        inferred.GSAN_THREAD_SESSION,
                        inferred.GSAN_SESSION_LINE.format(client=client, serial=serial),
                    )
                ],
            )
            stamp = texts.avtar_stamp(when)
            middle = [
                line.format(backup_no=state["activity_seq"], label=f"{client}-{activity_id}", stamp=stamp)
                for line in inferred.AVTAR_SUCCESS_MIDDLE
            ]
            body = head + login + middle + [texts.AVTAR_SUCCESS_LINE]
        elif refused_backup_mode(state) == "hang":
            hung = True
            body = head + login
        else:
            body = head + login + list(texts.AVTAR_AUTH_FAIL_LINES)
    lines = texts.avtar_lines(when, body)
    if reason is None:
        lines.append(texts.AVTAR_END_LINE.format(stamp=texts.avtar_stamp(when)))
    with open(log_path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    ok = reason is None
    activities.add(
        state,
        {
            "id": activity_id,
            "kind": "backup",
            "client": client,
            "domain": domain,
            "start": now,
            "end": None if hung else now + float(state["knobs"].get("backup_seconds", 0)),
            "outcome": "Completed" if ok else "Failed",
            "hang": hung,
            "frozen_bytes": 0,
            "error_code": 0 if ok else inferred.ACTIVITY_FAILED_ERROR_CODE,
        },
    )
    return {
        "activity_id": activity_id,
        "ok": ok,
        "reason": reason,
        "serial": serial,
        "hung": hung,
        "log_file": log_path,
        "lines": lines,
    }


def activity_table(state: State, now: float, activity_id: Optional[str] = None) -> List[str]:
    """`mccli activity show` body (see :mod:`avamar_sim.activities`)."""
    return activities.table(state, now, activity_id)


def wait_seconds(seconds: float) -> None:
    if seconds > 0:
        time.sleep(seconds)
