"""Watch every process's command line during a test, to prove a secret never enters argv.

One OS thread reads ``/proc/*/cmdline`` every ~2 ms. Under a real StackStorm, importing
``st2tests`` monkey-patches the process with eventlet; a patched ``threading.Thread`` would be
a green thread that only runs when the code under test yields, and would miss short-lived
processes such as keytool. So the sampler takes the unpatched threading and time modules.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Optional, Set

try:
    from eventlet.patcher import original as _original

    _threading, _time = _original("threading"), _original("time")
except ImportError:  # no eventlet: nothing is patched
    _threading, _time = threading, time


class CmdlineSampler:
    """Context manager; ``seen`` holds every command line (spaces for NULs), ``hits`` the raw
    ones containing ``secret``, ``seen_commands`` every argv[0], ``sweeps`` the passes made."""

    def __init__(self, secret: Optional[bytes] = None, interval_s: float = 0.002) -> None:
        self.secret = secret
        self.interval_s = interval_s
        self.hits: Set[bytes] = set()
        self.seen: Set[str] = set()
        self.seen_commands: Set[bytes] = set()
        self.sweeps = 0
        self._stop = _threading.Event()
        self._thread = _threading.Thread(target=self._loop, daemon=True, name="cmdline-sampler")

    def _loop(self) -> None:
        while not self._stop.is_set():
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as handle:
                        cmdline = handle.read()
                except OSError:
                    continue
                if not cmdline:
                    continue
                if self.secret and self.secret in cmdline:
                    self.hits.add(cmdline)
                self.seen_commands.add(cmdline.split(b"\0", 1)[0])
                self.seen.add(cmdline.replace(b"\0", b" ").decode("utf-8", "replace"))
            self.sweeps += 1
            _time.sleep(self.interval_s)

    def start(self) -> CmdlineSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def __enter__(self) -> CmdlineSampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
