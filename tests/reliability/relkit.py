"""Shared tools of the reliability suite: run the real workflow on a simulated node and watch it.

* ``RecordingTransport`` wraps the transport an action opens and records every ``run``,
  ``read_file`` and ``write_file_atomic`` call, so a test can assert "zero commands" (refused
  input) or "no mutating command" (hostile node output), and check each ``.srl`` write against
  GSAN's state at the moment it happens.
* ``SerialWatcher`` samples the ``.srl`` and GSAN's minimal serial every few milliseconds in a
  thread while a workflow runs: a lowered serial shows up even if it is put back later.
* ``node_snapshot`` hashes every file of a node, so "writes no file" is a dict comparison.
* ``workflow_runner`` / ``run_remediation``: the local runner (real orquesta conductor) on a
  pack config whose server ``ava01`` is the simulator node.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import avtar_text
from avamar_sim import SimNode
from st2_local.sim_pack_config import SERVER, sim_pack_config
from watch_config import watch_config

WORKFLOW = "avamar.remediate_session_tickets"
HOSTILE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "hostile")

# Commands that change something on a node (the KB's write steps and what starts a backup).
MUTATING_WORDS = ("publickey", "--restart", "--stop", "--start", "--flush", "backup-dataset", "--backup")


def is_mutating(argv: Sequence[str]) -> bool:
    return any(word in str(arg) for arg in argv for word in MUTATING_WORDS)


# -- the pack config ------------------------------------------------------------------------
def sim_config(node: SimNode, **extra: Any) -> Dict[str, Any]:
    """A pack config whose server ``ava01`` is ``node`` through the local transport; ``extra``
    replaces top-level sections (``approval`` included)."""
    return sim_pack_config(
        node.root, **{"approval": {"users": ["alice", "bob"], "ttl_minutes": 60, "route": "avamar"}, **extra}
    )


# -- recording every call an action makes on the node ---------------------------------------
@dataclasses.dataclass
class Call:
    kind: str  # run | read_file | write_file_atomic
    argv: Tuple[str, ...]
    data: Optional[bytes] = None


class RecordingTransport:
    """Delegates to a real transport; records each call in ``calls`` (shared between actions)."""

    def __init__(self, inner: Any, calls: List[Call], on_write: Optional[Callable[[str, bytes], None]] = None):
        self._inner = inner
        self._calls = calls
        self._on_write = on_write
        self.name = inner.name
        self.host = inner.host

    def run(self, argv: Sequence[str], **kwargs: Any) -> Any:
        self._calls.append(Call("run", tuple(str(a) for a in argv)))
        return self._inner.run(argv, **kwargs)

    def read_file(self, path: str, **kwargs: Any) -> bytes:
        self._calls.append(Call("read_file", (path,)))
        return self._inner.read_file(path, **kwargs)

    def write_file_atomic(self, path: str, data: bytes, **kwargs: Any) -> None:
        self._calls.append(Call("write_file_atomic", (path,), data))
        if self._on_write is not None:
            self._on_write(path, data)
        return self._inner.write_file_atomic(path, data, **kwargs)

    def close(self) -> None:
        self._inner.close()

    def __enter__(self) -> RecordingTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Recorder:
    """Records every transport call the actions make, in this process and in the actions' own.

    In-process callers (action tests) are caught by patching the actions' ``open_transport``.
    The local runner runs each python action in its own process (as st2 does): for those, the
    hook in ``subprocess_hook/sitecustomize.py`` is put on PYTHONPATH and writes each call to a
    file that ``calls`` reads back. ``node`` (a SimNode) makes every ``.srl`` write record GSAN's
    state at that moment (see GsanFirstCheck.collect); ``on_write`` sees in-process writes only.
    """

    def __init__(
        self,
        monkeypatch: Any,
        on_write: Optional[Callable[[str, bytes], None]] = None,
        node: Optional[SimNode] = None,
        drop_sshd_pid: Optional[int] = None,
    ) -> None:
        import tempfile

        import lib.avamar_action as avamar_action  # the pack's actions/lib, as the actions import it

        self._calls: List[Call] = []
        self.opened = 0
        real = avamar_action.open_transport

        def opener(settings: Any, config: Mapping[str, Any]) -> RecordingTransport:
            self.opened += 1
            return RecordingTransport(real(settings, config), self._calls, on_write)

        monkeypatch.setattr(avamar_action, "open_transport", opener)
        handle, self.record_file = tempfile.mkstemp(prefix="relkit-calls-", suffix=".jsonl")
        os.close(handle)
        self.drop_flag = self.record_file + ".drop"
        here = os.path.dirname(os.path.abspath(__file__))
        root = os.path.dirname(os.path.dirname(here))
        monkeypatch.setenv("RELKIT_RECORD", self.record_file)
        monkeypatch.setenv("RELKIT_PACK_LIB", os.path.join(root, "lib"))
        monkeypatch.setenv("RELKIT_SIM_DIR", os.path.join(root, "simulator"))
        inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join([os.path.join(here, "subprocess_hook")] + inherited))
        if node is not None:
            monkeypatch.setenv("RELKIT_NODE_ROOT", str(node.root))
        if drop_sshd_pid is not None:
            monkeypatch.setenv("RELKIT_DROP_SSHD_PID", str(drop_sshd_pid))
            monkeypatch.setenv("RELKIT_DROP_FLAG", self.drop_flag)
            open(self.drop_flag, "w").close()

    def disarm_drop(self) -> None:
        if os.path.exists(self.drop_flag):
            os.unlink(self.drop_flag)

    def records(self) -> List[Dict[str, Any]]:
        import json

        with open(self.record_file, encoding="utf-8") as handle:
            entries = [json.loads(line) for line in handle if line.strip()]
        errors = [e for e in entries if e.get("kind") == "hook_error"]
        if errors:
            raise AssertionError(f"the subprocess recording hook failed: {errors[0]['error']}")
        return entries

    @property
    def calls(self) -> List[Call]:
        out = list(self._calls)
        for entry in self.records():
            if entry["kind"] in ("run", "read_file", "write_file_atomic"):
                data = entry["data"].encode("latin-1") if entry.get("data") is not None else None
                out.append(Call(entry["kind"], tuple(entry["argv"]), data))
        return out

    def commands(self) -> List[Tuple[str, ...]]:
        return [c.argv for c in self.calls if c.kind == "run"]

    def mutating(self) -> List[Tuple[str, ...]]:
        return [
            c.argv for c in self.calls if (c.kind == "run" and is_mutating(c.argv)) or c.kind == "write_file_atomic"
        ]


# -- files on the node ----------------------------------------------------------------------
def node_snapshot(root: str, skip: Sequence[str] = (".sim",)) -> Dict[str, Tuple[str, int]]:
    """relative path -> (sha256, mode) of every regular file under ``root``, minus ``skip`` dirs."""
    out: Dict[str, Tuple[str, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        dirnames[:] = [d for d in dirnames if os.path.normpath(os.path.join(rel_dir, d)) not in skip]
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
                with open(path, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
            except OSError:
                continue
            out[os.path.relpath(path, root)] = (digest, st.st_mode)
    return out


def read_srl(node: SimNode) -> Optional[int]:
    try:
        with open(node.srl_path, "rb") as handle:
            text = handle.read().strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None


def serial_state(node: SimNode) -> Dict[str, Any]:
    """What a remediation may change: GSAN's minimal serial, the .srl, MCS status, keys."""
    state = node.state()
    return {
        "gsan_minimal_serial": state["gsan_minimal_serial"],
        "srl": read_srl(node),
        "mcs_status": state["mcs_status"],
        "gsan_key_matches": state["gsan_key_matches"],
    }


class SerialWatcher:
    """Samples the .srl and GSAN's minimal serial in a thread; records every distinct value."""

    def __init__(self, node: SimNode, interval_s: float = 0.005) -> None:
        self.node = node
        self.interval_s = interval_s
        self.srl: List[int] = []
        self.gsan: List[int] = []
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="serial-watcher", daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            time.sleep(self.interval_s)

    def sample(self) -> None:
        srl = read_srl(self.node)
        try:
            gsan = int(self.node.state()["gsan_minimal_serial"])
        except Exception:  # noqa: BLE001 - the state file is being rewritten: next sample
            gsan = None
        for seen, value in ((self.srl, srl), (self.gsan, gsan)):
            if value is not None and (not seen or seen[-1] != value):
                seen.append(value)
        self.samples += 1

    def __enter__(self) -> SerialWatcher:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.sample()

    def lowered(self) -> List[str]:
        """Every place a serial went down (empty when none did)."""
        out = []
        for name, seq in (("sessionticket.srl", self.srl), ("GSAN minimal serial", self.gsan)):
            out += [f"{name} went from {a} to {b}" for a, b in zip(seq, seq[1:]) if b < a]
        return out


class GsanFirstCheck:
    """``on_write`` hook: a .srl write must carry exactly the serial GSAN holds right now.

    For actions in their own processes, ``collect(recorder)`` adds the writes the subprocess hook
    checked against the simulator as they happened (Recorder(..., node=node))."""

    def collect(self, recorder: Recorder) -> None:
        for entry in recorder.records():
            if entry["kind"] != "srl_write":
                continue
            serial = entry["serial"]
            self.writes.append(serial)
            if "gsan" not in entry:
                self.violations.append(f".srl write of {serial}: GSAN's state was not read (no node given)")
            elif entry["gsan"] != serial or not entry["key_matches"]:
                self.violations.append(
                    f".srl write of {serial} while GSAN's minimal serial is {entry['gsan']} "
                    f"(key registered: {entry['key_matches']})"
                )

    def __init__(self, node: SimNode) -> None:
        self.node = node
        self.violations: List[str] = []
        self.writes: List[int] = []

    def __call__(self, path: str, data: bytes) -> None:
        if os.path.basename(path) != "sessionticket.srl":
            return
        serial = int(data.strip())
        self.writes.append(serial)
        state = self.node.state()
        if state["gsan_minimal_serial"] != serial or not state["gsan_key_matches"]:
            self.violations.append(
                f".srl write of {serial} while GSAN's minimal serial is {state['gsan_minimal_serial']} "
                f"(key registered: {state['gsan_key_matches']})"
            )


# -- the local runner -----------------------------------------------------------------------
_PACK = None


def pack(command_timeout: Optional[int] = None) -> Any:
    """The pack's metadata; ``command_timeout`` overrides every action's default (as an operator
    would in the action metadata) so that a hung command is given up on in seconds, not minutes."""
    global _PACK
    from st2_local.pack_loader import load_pack

    if _PACK is None:
        _PACK = load_pack()
    if command_timeout is None:
        return _PACK
    changed = dataclasses.replace(_PACK, actions=dict(_PACK.actions))
    for ref, meta in _PACK.actions.items():
        if "command_timeout" in meta.parameters:
            params = dict(meta.parameters)
            params["command_timeout"] = dict(params["command_timeout"], default=command_timeout)
            changed.actions[ref] = dataclasses.replace(meta, parameters=params)
    return changed


def workflow_runner(
    config: Mapping[str, Any], answerer: Any = None, *, command_timeout: Optional[int] = None, progress: Any = None
) -> Any:
    from st2_local.chat_transcript import ChatTranscript
    from st2_local.workflow_runner import WorkflowRunner

    return WorkflowRunner(
        pack(command_timeout), config, answerer=answerer, transcript=ChatTranscript(quiet=True), progress=progress
    )


def approve(approver: str = "alice") -> Any:
    from st2_local.inquiries import fixed_answer

    return fixed_answer("yes", approver)


def run_remediation(
    config: Mapping[str, Any], answerer: Any = None, *, command_timeout: Optional[int] = None, **params: Any
) -> Tuple[Any, Any]:
    """(WorkflowRun, WorkflowRunner) of one remediation of ``ava01``; approved by alice by default."""
    runner = workflow_runner(config, answerer or approve(), command_timeout=command_timeout)
    run = runner.run(WORKFLOW, dict({"server": SERVER}, **params))
    return run, runner


# -- avtar log text -------------------------------------------------------------------------
def failing_run(
    client: str = "client01",
    host: str = "avamar.example.com",
    serial: int = 1,
    when: str = "2026-01-05 03:00:00",
    log_path: Optional[str] = None,
    end: bool = True,
) -> List[str]:
    """One avtar run failing with the KB's 5704 sequence (tests/avtar_text.py), for this suite's server."""
    return avtar_text.failing_run(client, host=host, when=when, end_banner=end, serial=serial, log_path=log_path)


def sensor_config(tmp: str, window: int = 0, **sensor: Any) -> Dict[str, Any]:
    """A sensor config watching ``tmp/clientlogs/*.log`` and ``tmp/gsan/{gsan,err}.log``."""
    return watch_config(tmp, {SERVER: {"transport": "local", "host": "avamar.example.com"}}, window, **sensor)
