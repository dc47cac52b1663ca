"""The node's commands (`avmaint`, `mcserver.sh`, `dpnctl`, `mccli`, `avtar`, `avlockbox.sh`).

Run as ``python -m avamar_sim.commands <name> <args...>`` by the wrappers in the node's bin dir,
with ``AVAMAR_SIM_ROOT`` naming the node. Each handler returns (exit code, stdout, stderr) so the
injected faults (error, hang, partial output) apply the same way to every command.
"""

from __future__ import annotations

import os
import re
import sys
import time
from typing import Callable, Dict, List, Optional, Tuple

from . import activities, engine, inferred, texts
from . import state as st

Result = Tuple[int, str, str]
_SERIAL_RE = re.compile(r"^\d{1,18}$")
_CLIENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def _opts(args: List[str]) -> Dict[str, str]:
    """--key=value and bare --flag options (value '')."""
    found: Dict[str, str] = {}
    for arg in args:
        if arg.startswith("--"):
            key, _, value = arg[2:].partition("=")
            found[key] = value
    return found


def _lines(*lines: str) -> str:
    return "".join(line + "\n" for line in lines)


# --- avmaint ---------------------------------------------------------------------------------


def avmaint(root: str, args: List[str], fault: Dict) -> Result:
    what = args[0] if args else ""
    err = inferred.AVMAINT_ERROR_EXIT
    if what == "cat" and args[1:2] == ["/sysinfo/security/keytable"]:
        return 0, st_snapshot(root, engine.keytable_xml), ""
    if what == "publickey":
        opts = _opts(args[1:])
        keyfile, serial = opts.get("keyfile", ""), opts.get("serial", "")
        if not keyfile or not _SERIAL_RE.match(serial) or "ava" not in opts:
            return err, "", texts.AVMAINT_INVALID_PARAMETERS + "\n"
        try:
            with open(keyfile, "rb") as handle:  # relative to the caller's cwd, as on a real node
                pem: Optional[bytes] = handle.read(65536)
        except OSError:
            return err, "", inferred.KEYFILE_UNREADABLE.format(path=keyfile) + "\n"
        with st.locked(root) as state:
            error = engine.publickey(root, state, pem, int(serial), time.time())
        return (0, "", "") if error is None else (err, "", error + "\n")
    if what in ("cpstatus", "gcstatus", "hfscheckstatus"):
        with st.locked(root) as state:
            maint = state["maintenance"]
        if what == "cpstatus":
            return 0, _lines(inferred.CPSTATUS_XML.format(tag=maint["cp_tag"], status=maint["cp"])), ""
        if what == "gcstatus":
            return 0, _lines(inferred.GCSTATUS_XML.format(status=maint["gc"])), ""
        return 0, _lines(inferred.HFSCHECKSTATUS_XML.format(status=maint["hfscheck"])), ""
    return err, "", inferred.AVMAINT_UNKNOWN.format(what=" ".join(args)[:80]) + "\n"


def st_snapshot(root: str, render: Callable[[st.State], str]) -> str:
    with st.locked(root) as state:
        return render(state)


# --- mcserver.sh -----------------------------------------------------------------------------


def _start(root: str, fault: Dict) -> Result:
    """Schedule MCS to come up after the restart duration, wait for it, report."""
    with st.locked(root) as state:
        if fault.get("kind") == "no_restart":
            activities.interrupt_running(state, time.time())
            state["mcs"].update(status="down", up_at=None, start_error="injected: MCS does not come back")
            return (
                inferred.MCSERVER_FAILURE_EXIT,
                _lines(inferred.MCSERVER_START_LINES[0]),
                _lines(inferred.MCSERVER_START_FAILED),
            )
        if state["mcs"]["status"] == "up":
            return 0, _lines(inferred.MCSERVER_RUNNING), ""
        seconds = float(state["knobs"].get("restart_seconds", inferred.DEFAULT_RESTART_SECONDS))
        state["mcs"].update(status="starting", up_at=time.time() + seconds)
    engine.wait_seconds(seconds)
    with st.locked(root) as state:
        engine.settle(root, state, time.time())
        up = engine.mcs_up(state)
    if up:
        return 0, _lines(*inferred.MCSERVER_START_LINES), ""
    failed = inferred.MCSERVER_FAILURE_EXIT
    return failed, _lines(inferred.MCSERVER_START_LINES[0]), _lines(inferred.MCSERVER_START_FAILED)


def _stop(root: str) -> str:
    with st.locked(root) as state:
        now = time.time()
        engine.settle(root, state, now)
        activities.interrupt_running(state, now)  # [I] status: inferred.ACTIVITY_INTERRUPTED_STATUS
        state["mcs"].update(status="down", up_at=None)
    return _lines(*inferred.MCSERVER_STOP_LINES)


def mcserver(root: str, args: List[str], fault: Dict) -> Result:
    opts = _opts(args)
    if "restart" in opts:
        stopped = _stop(root)
        code, out, err = _start(root, fault)
        return code, stopped + out, err
    if "stop" in opts:
        return 0, _stop(root), ""
    if "start" in opts:
        return _start(root, fault)
    if "test" in opts:
        with st.locked(root) as state:
            engine.settle(root, state, time.time())
            up = engine.mcs_up(state)
        return (
            (0, _lines(inferred.MCSERVER_RUNNING), "")
            if up
            else (inferred.MCSERVER_FAILURE_EXIT, _lines(inferred.MCSERVER_NOT_RUNNING), "")
        )
    if "flush" in opts:
        with st.locked(root) as state:
            engine.settle(root, state, time.time())
            if not engine.mcs_up(state):
                return inferred.MCSERVER_FAILURE_EXIT, "", _lines(inferred.MCSERVER_NOT_RUNNING)
            try:
                engine.write_srl(root, int(state["mcs"]["next_serial"]), fault.get("kind") == "disk_full")
            except OSError as exc:
                return inferred.MCSERVER_FAILURE_EXIT, "", _lines(f"mcserver.sh: cannot write {st.SRL}: {exc.strerror}")
            state["mcs"]["srl_written"] = int(state["mcs"]["next_serial"])
            engine.record_flush(state, time.time())
        return 0, _lines(inferred.MCSERVER_FLUSH_DONE), ""
    if "version" in opts:
        return 0, _lines(inferred.MCSERVER_VERSION), ""
    return 2, "", _lines("usage: mcserver.sh --start|--stop|--restart|--test|--flush|--version")


# --- dpnctl ----------------------------------------------------------------------------------


def dpnctl(root: str, args: List[str], fault: Dict) -> Result:
    if not args or args[0] != "status" or len(args) > 2:
        return 2, "", _lines("usage: dpnctl status [mcs|gsan|maint|sched]")
    with st.locked(root) as state:
        engine.settle(root, state, time.time())
        mcs = "up" if engine.mcs_up(state) else "down"
        gsan = state["gsan"]["status"]
        sched = state["maintenance"]["sched"] if mcs == "up" else "down"
        windows = state["maintenance"]["windows"]
    lines = {
        "gsan": [texts.DPNCTL_GSAN.format(state=gsan)],
        "mcs": [texts.DPNCTL_MCS.format(state=mcs)],
        "sched": [texts.DPNCTL_SCHED.format(state=sched)],
        "maint": [texts.DPNCTL_MAINT.format(state=windows)],
    }
    which = args[1] if len(args) == 2 else None
    if which is not None and which not in lines:
        return 2, "", _lines(f"dpnctl: ERROR: unknown service: {which[:40]}")
    chosen = (
        lines[which] if which else (lines["gsan"] + lines["mcs"] + [texts.DPNCTL_EMT] + lines["sched"] + lines["maint"])
    )
    return inferred.DPNCTL_EXIT, _lines(*(inferred.DPNCTL_PREFIX + line for line in chosen)), ""


# --- mccli -----------------------------------------------------------------------------------


def _first(rc_event_message: Tuple[int, int, str]) -> str:
    rc, event, message = rc_event_message
    return f"{rc},{event},{message}"


def mccli(root: str, args: List[str], fault: Dict) -> Result:
    def answer(first: Tuple[int, int, str], *body: str) -> Result:
        return (first[0] if inferred.MCCLI_EXIT_IS_RC else 0), _lines(_first(first), *body), ""

    words = [a for a in args if not a.startswith("--")]
    opts = _opts(args)
    with st.locked(root) as state:
        now = time.time()
        engine.settle(root, state, now)
        if not engine.mcs_up(state):
            return answer(inferred.MCCLI_MCS_DOWN)
        if words[:2] == ["activity", "show"]:
            only = opts.get(inferred.MCCLI_ACTIVITY_ID_OPTION) or None
            return answer(inferred.MCCLI_OK, *engine.activity_table(state, now, only))
        if words[:1] == ["client"] and words[1:2] in (["backup-dataset"], ["backup"]):
            client = opts.get("name", "")
            if not _CLIENT_RE.match(client):
                return answer(inferred.MCCLI_BAD_CLIENT)
            domain = opts.get("domain") or inferred.ACTIVITY_DOMAIN
            result = engine.run_backup(
                root, state, client, now, disk_full=fault.get("kind") == "disk_full", domain=domain[:64]
            )
            width = len(result["activity_id"])
            return answer(
                (0, 22305, inferred.BACKUP_STARTED_MESSAGE),
                "Attribute   Value",
                "----------- " + "-" * width,
                f"activity-id {result['activity_id']}",
            )
    return answer(inferred.MCCLI_USAGE)


# --- avtar -----------------------------------------------------------------------------------


def avtar(root: str, args: List[str], fault: Dict) -> Result:
    opts = _opts(args)
    if not ({"backup", "create"} & set(opts) or "-c" in args):
        return 2, "", _lines("avtar: only backups (--backup / -c) are simulated")
    account = opts.get("account", "") or opts.get("client", "") or "localhost"
    client = account.rstrip("/").rsplit("/", 1)[-1]
    if not _CLIENT_RE.match(client):
        return 2, "", _lines("avtar: invalid client name")
    with st.locked(root) as state:
        now = time.time()
        engine.settle(root, state, now)
        result = engine.run_backup(root, state, client, now, disk_full=fault.get("kind") == "disk_full")
    code = 0 if result["ok"] else inferred.AVTAR_HUNG_EXIT if result["hung"] else inferred.AVTAR_FAILURE_EXIT
    return code, _lines(*result["lines"]), ""


# --- avlockbox.sh ----------------------------------------------------------------------------


def avlockbox(root: str, args: List[str], fault: Dict) -> Result:
    if args == ["-r", "keystore_passphrase"]:
        with open(st.path(root, st.PASSPHRASE_FILE), encoding="utf-8") as handle:
            return 0, handle.read() + "\n", ""
    key = args[1] if len(args) > 1 else ""
    return inferred.AVLOCKBOX_ERROR_EXIT, "", _lines(inferred.AVLOCKBOX_UNKNOWN.format(key=key[:40]))


def _avmaint(root: str, args: List[str], fault: Dict) -> Result:
    code, out, err = avmaint(root, args, fault)
    return (code, out, err) if inferred.AVMAINT_ERRORS_ON_STDERR else (code, out + err, "")


HANDLERS: Dict[str, Callable[[str, List[str], Dict], Result]] = {
    "avmaint": _avmaint,
    "mcserver.sh": mcserver,
    "dpnctl": dpnctl,
    "mccli": mccli,
    "avtar": avtar,
    "avlockbox.sh": avlockbox,
}


def _take_fault(root: str, name: str, args: List[str]) -> Dict:
    """The fault for this call (consumes one of its `times`), or {}."""
    with st.locked(root) as state:
        fault = state["faults"].get(name)
        if not fault or (fault.get("match") and fault["match"] not in " ".join(args)):
            return {}
        if fault.get("times") is not None:
            fault["times"] -= 1
            if fault["times"] <= 0:
                del state["faults"][name]
        return dict(fault)


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    root = os.environ.get("AVAMAR_SIM_ROOT", "")
    if not argv or argv[0] not in HANDLERS or not os.path.isfile(st.path(root, st.STATE_FILE)):
        sys.stderr.write("avamar_sim.commands: needs AVAMAR_SIM_ROOT=<node> and a command name\n")
        return 2
    name, args = argv[0], argv[1:]
    fault = _take_fault(root, name, args)
    kind = fault.get("kind")
    if kind == "hang":
        time.sleep(float(fault.get("seconds") or 3600))
    if kind == "error":
        sys.stderr.write((fault.get("message") or f"{name}: simulated failure") + "\n")
        return 1 if fault.get("exit_code") is None else int(fault["exit_code"])
    code, out, err = HANDLERS[name](root, args, fault)
    if kind == "partial":
        out = out[: len(out) // 2]
        code = code if fault.get("exit_code") is None else int(fault["exit_code"])
    sys.stdout.write(out)
    sys.stderr.write(err)
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
