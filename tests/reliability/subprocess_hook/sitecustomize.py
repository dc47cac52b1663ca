"""Reliability-suite hook for the pack's actions running in their OWN processes (the local runner
runs every python action in a subprocess, as st2's python runner does).

Only active when RELKIT_RECORD names a file: then every transport an action opens records each
``run`` / ``read_file`` / ``write_file_atomic`` call there as one JSON line, and a
``sessionticket.srl`` write is checked, as it happens, against GSAN's state in the simulator
(RELKIT_NODE_ROOT). relkit.Recorder reads the file back. Nothing here runs outside the tests.
"""

import os

if os.environ.get("RELKIT_RECORD"):
    import json
    import signal
    import subprocess
    import sys

    for _extra in (os.environ.get("RELKIT_PACK_LIB"), os.environ.get("RELKIT_SIM_DIR")):
        if _extra and _extra not in sys.path:
            sys.path.append(_extra)

    def _record(entry):
        with open(os.environ["RELKIT_RECORD"], "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")

    def _check_srl_write(path, data):
        if os.path.basename(path) != "sessionticket.srl":
            return
        entry = {"kind": "srl_write", "serial": int(data.strip() or b"0")}
        root = os.environ.get("RELKIT_NODE_ROOT")
        if root:
            from avamar_sim import SimNode

            state = SimNode.open(root).state()
            entry.update(gsan=state["gsan_minimal_serial"], key_matches=state["gsan_key_matches"])
        _record(entry)
        sshd = os.environ.get("RELKIT_DROP_SSHD_PID")
        armed = os.environ.get("RELKIT_DROP_FLAG")
        if sshd and armed and os.path.exists(armed):
            out = subprocess.run(["ps", "-o", "pid=", "--ppid", sshd], capture_output=True, text=True).stdout
            for pid in out.split():
                os.kill(int(pid), signal.SIGKILL)

    class _Recording:
        def __init__(self, inner):
            self._inner = inner
            self.name = inner.name
            self.host = inner.host

        def run(self, argv, **kwargs):
            _record({"kind": "run", "argv": [str(a) for a in argv]})
            return self._inner.run(argv, **kwargs)

        def read_file(self, path, **kwargs):
            _record({"kind": "read_file", "argv": [path]})
            return self._inner.read_file(path, **kwargs)

        def write_file_atomic(self, path, data, **kwargs):
            _record({"kind": "write_file_atomic", "argv": [path], "data": data.decode("latin-1")})
            _check_srl_write(path, data)
            return self._inner.write_file_atomic(path, data, **kwargs)

        def __getattr__(self, name):
            return getattr(self._inner, name)

        def close(self):
            self._inner.close()

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.close()

    try:
        import avamar_pack.transport as _transport

        _real_open = _transport.open_transport

        def _open_transport(settings, config):
            return _Recording(_real_open(settings, config))

        _transport.open_transport = _open_transport
        if os.environ.get("RELKIT_KEY_TEMP_PARENT"):  # the publickey x disk_full cell's full tmpfs
            import avamar_pack.node.keystore as _keystore

            _keystore.TEMP_PARENT = os.environ["RELKIT_KEY_TEMP_PARENT"]
    except Exception as _exc:  # noqa: BLE001 - say so in the record: the test then fails loudly
        _record({"kind": "hook_error", "error": f"{type(_exc).__name__}: {_exc}"})
