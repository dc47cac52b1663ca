"""Wake the sensor as soon as a watched directory changes: inotify, waited on with select().

StackStorm's sensor container calls ``eventlet.monkey_patch()`` before it imports a sensor:
``os``, ``select``, ``socket``, ``thread`` and ``time`` become green, and ``select.poll`` is
removed. So this module:

* talks to inotify through ``ctypes`` (``inotify_init1``/``inotify_add_watch``), not through
  ``inotify_simple``, which does ``from select import poll`` at import and fails once patched;
* waits with ``select.select([fd], [], [], timeout)`` - green under eventlet, so other green
  threads (the salt-api reader) run while the sensor waits - and reads the fd only when select
  said it is readable (the fd is also non-blocking), so no call ever blocks the hub.

The events themselves are drained and ignored: any change means "look again", and the
follower re-stats the files. Where inotify is missing (not Linux, or too many watches), the
wait degrades to a plain timeout, i.e. polling every ``timeout`` seconds.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import select
from typing import Dict, Iterable, Optional

IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = getattr(os, "O_CLOEXEC", 0o2000000)

WATCH_MASK = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
)

_libc = None


def _load_libc():
    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c") or "libc.so.6"
        _libc = ctypes.CDLL(name, use_errno=True)
    return _libc


class Wakeup:
    """``wait(timeout)`` returns True when a watched directory changed, False on timeout."""

    def __init__(self) -> None:
        self.fd: Optional[int] = None
        self.watches: Dict[str, int] = {}
        self.reason = ""
        # A self-pipe: another thread (the salt-api reader) wakes the waiter with notify().
        self._pipe_r, self._pipe_w = os.pipe()
        os.set_blocking(self._pipe_r, False)
        os.set_blocking(self._pipe_w, False)
        try:
            libc = _load_libc()
            fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        except (OSError, AttributeError) as exc:
            self.reason = f"inotify unavailable ({exc}); polling"
            return
        if fd < 0:
            self.reason = f"inotify_init1 failed ({os.strerror(ctypes.get_errno())}); polling"
            return
        self.fd = fd

    @property
    def active(self) -> bool:
        return self.fd is not None

    def watch(self, directories: Iterable[str]) -> None:
        """Add watches for directories not watched yet (called on every pass: dirs may appear later)."""
        if self.fd is None:
            return
        libc = _load_libc()
        for directory in directories:
            # Re-adding an existing watch is a no-op returning the same descriptor; doing it on
            # every pass re-arms a directory that was removed and created again.
            wd = libc.inotify_add_watch(self.fd, os.fsencode(directory), WATCH_MASK)
            if wd < 0:
                err = ctypes.get_errno()
                if err not in (errno.ENOENT, errno.ENOTDIR):
                    self.reason = f"inotify_add_watch({directory}) failed: {os.strerror(err)}"
                continue
            self.watches[directory] = wd

    def notify(self) -> None:
        """Wake a ``wait()`` in progress (safe from another thread)."""
        try:
            os.write(self._pipe_w, b"!")
        except OSError:
            pass  # the pipe is full (a wake-up is pending anyway) or closed
        except RuntimeError:
            pass  # called from eventlet's hub (a signal handler): the waiter's timeout covers it

    def wait(self, timeout: float) -> bool:
        fds = [self._pipe_r] + ([self.fd] if self.fd is not None else [])
        readable, _, _ = select.select(fds, [], [], max(0.0, timeout))  # green under eventlet
        for fd in readable:
            self._drain(fd)
        return bool(readable)

    @staticmethod
    def _drain(fd: int) -> None:
        # ONE read per wake-up, only after select() said readable: eventlet's green os.read
        # waits for more data on EAGAIN instead of raising, so a "read until empty" loop would
        # block the green thread. Events left over make the next select() return at once.
        try:
            os.read(fd, 64 * 1024)
        except OSError:
            pass

    def close(self) -> None:
        for fd in (self._pipe_r, self._pipe_w, self.fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.fd = None
        self.watches.clear()
