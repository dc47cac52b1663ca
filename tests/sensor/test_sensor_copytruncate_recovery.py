"""copytruncate rotation while the sensor is dead: the unread tail is read from the rotated copy.

The engine is driven pass by pass (``poll_once``) on real files with a fixed clock; a "dead"
sensor is an engine dropped without saving (what kill -9 leaves: the last saved state only),
and a restart is a new engine on the same datastore. Every failing run carries its own ticket
serial, so "each dispatched exactly once" is a comparison of serial lists.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from typing import Any, Dict, List, Optional

import pytest
from avamar_pack.detection.engine import DetectionEngine
from avamar_pack.detection.sources.follower import MAX_COPY_CANDIDATES, Follower
from sensorkit import Clock, append, config, failing_run


class Service:
    """The sensor service's datastore and dispatch, remembering every saved state."""

    def __init__(self) -> None:
        self.values: Dict[str, str] = {}
        self.saves: List[str] = []
        self.dispatched: List[Dict[str, Any]] = []
        self.saves_at_dispatch: List[int] = []  # len(saves) at each dispatch: saves[n] follows it

    def get_value(self, name: str, local: bool = True) -> Optional[str]:
        return self.values.get(name)

    def set_value(self, name: str, value: str, local: bool = True) -> None:
        self.values[name] = value
        self.saves.append(value)

    def dispatch(self, trigger: str, payload: Dict[str, Any]) -> None:
        self.dispatched.append({"trigger": trigger, "payload": payload})
        self.saves_at_dispatch.append(len(self.saves))

    def serials(self) -> List[int]:
        return [
            d["payload"]["ticket"]["serial"] for d in self.dispatched if d["trigger"] == "avamar.backup_auth_failure"
        ]


class Harness:
    def __init__(self, tmp: str) -> None:
        self.tmp = tmp
        self.cfg = config(tmp)
        self.service = Service()
        self.clock = Clock()
        self.path = os.path.join(tmp, "clientlogs", "c1.log")
        self.logger = logging.getLogger("test.copytruncate")
        self.engine: Optional[DetectionEngine] = None

    def start(self) -> DetectionEngine:
        self.engine = DetectionEngine(self.cfg, self.service, self.logger, clock=self.clock)
        self.engine.poll_once()
        return self.engine

    def kill(self) -> None:
        """Drop the engine without a save (its file descriptors closed, nothing else)."""
        assert self.engine is not None
        self.engine.close()
        self.engine = None

    def poll(self) -> None:
        assert self.engine is not None
        self.engine.poll_once()


def copytruncate(path: str, copy: str) -> None:
    """What logrotate's copytruncate does: copy the file, then truncate it in place."""
    shutil.copyfile(path, copy)
    with open(path, "r+b") as handle:
        handle.truncate(0)


@pytest.fixture
def h(tmp_path) -> Harness:
    harness = Harness(str(tmp_path))
    yield harness
    if harness.engine is not None:
        harness.engine.close()


def running_with_one_dispatch(h: Harness) -> None:
    h.start()
    append(h.path, failing_run("c1", serial=1))
    h.poll()
    assert h.service.serials() == [1]


@pytest.mark.parametrize("copy_name", ["c1.log.1", "c1.log-20260105", "c1.log.3"])
def test_copy_holds_the_unread_tail_each_run_once(h: Harness, copy_name: str) -> None:
    running_with_one_dispatch(h)
    h.kill()
    append(h.path, failing_run("c1", serial=2))  # never read: only the copy will hold it
    copytruncate(h.path, os.path.join(os.path.dirname(h.path), copy_name))
    append(h.path, failing_run("c1", serial=3))
    engine = h.start()
    h.poll()
    assert h.service.serials() == [1, 2, 3]
    assert any(
        f"read {os.path.join(os.path.dirname(h.path), copy_name)} from offset" in note for note in engine.skipped
    ), engine.skipped
    # Every run came from the same log_file name, the one followed.
    assert {d["payload"]["log_file"] for d in h.service.dispatched} == {h.path}


def test_new_file_already_longer_than_the_old_offset(h: Harness) -> None:
    """The truncated file grew past the saved offset: only the signature shows the truncation."""
    running_with_one_dispatch(h)
    h.kill()
    append(h.path, failing_run("c1", serial=2))
    copytruncate(h.path, h.path + ".1")
    for serial in (3, 4, 5):
        append(h.path, failing_run("c1", serial=serial, when="2026-01-06 04:00:00"))
    assert os.path.getsize(h.path) > os.path.getsize(h.path + ".1") - len("".join(failing_run("c1", serial=2)))
    h.start()
    h.poll()
    assert h.service.serials() == [1, 2, 3, 4, 5]


def test_run_counted_before_the_kill_is_not_counted_again_from_the_copy(h: Harness) -> None:
    h.start()
    run2 = failing_run("c1", serial=2)
    append(h.path, failing_run("c1", serial=1) + run2[:9])  # run 2 has failed, not ended
    h.poll()
    assert h.service.serials() == [1, 2]
    h.kill()
    append(h.path, run2[9:] + failing_run("c1", serial=3))
    copytruncate(h.path, h.path + ".1")
    append(h.path, failing_run("c1", serial=4))
    h.start()
    h.poll()
    assert h.service.serials() == [1, 2, 3, 4]


def test_kill_while_reading_the_copy_resumes_in_the_copy(h: Harness) -> None:
    """A save made while the copy is read (after a dispatch) points into the copy, not the new file."""
    running_with_one_dispatch(h)
    h.kill()
    append(h.path, failing_run("c1", serial=2) + failing_run("c1", serial=3))
    copytruncate(h.path, h.path + ".1")
    append(h.path, failing_run("c1", serial=4) * 3)  # longer than the old offset, other content
    h.start()
    h.poll()
    assert h.service.serials() == [1, 2, 3, 4, 4, 4]  # run 4 written three times: three failures
    # Replay a kill -9 just after the save that followed dispatching serial 2 (read from the copy).
    after_2 = h.service.saves[h.service.saves_at_dispatch[1]]
    assert h.service.serials()[1] == 2
    h.kill()
    h.service.values["detection_state"] = after_2
    del h.service.dispatched[2:]
    h.start()
    h.poll()
    assert h.service.serials() == [1, 2, 3, 4, 4, 4]


def test_no_matching_copy_warns_with_the_file_and_reads_from_zero(h: Harness, caplog) -> None:
    running_with_one_dispatch(h)
    h.kill()
    append(h.path, failing_run("c1", serial=2))
    copytruncate(h.path, h.path + ".1.gz")  # compressed copies are not read (out of scope)
    with open(h.path + ".2", "w", encoding="utf-8") as other:  # a rotated name with other content
        other.write("x" * (os.path.getsize(h.path + ".1.gz") + 10))
    append(h.path, failing_run("c1", serial=3))
    with caplog.at_level(logging.WARNING, logger="test.copytruncate"):
        h.start()
        h.poll()
    assert h.service.serials() == [1, 3]  # run 2 is gone for good: warned, not invented
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and h.path in warnings[0] and "may be lost" in warnings[0], warnings


def test_position_saved_without_a_signature_still_restarts(h: Harness, caplog) -> None:
    """States saved before signatures existed: a truncation cannot be matched to a copy; read from 0."""
    running_with_one_dispatch(h)
    state = json.loads(h.service.values["detection_state"])
    for pos in state["files"].values():
        del pos["sig"]
    h.kill()
    h.service.values["detection_state"] = json.dumps(state)
    append(h.path, failing_run("c1", serial=2))
    copytruncate(h.path, h.path + ".1")
    # Without a signature only a shorter file shows the truncation: run 3 without its END banner.
    append(h.path, failing_run("c1", serial=3, end_banner=False))
    with caplog.at_level(logging.WARNING, logger="test.copytruncate"):
        h.start()
        h.poll()
    assert h.service.serials() == [1, 3]
    assert any(h.path in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_find_copy_considers_only_logrotate_names_and_a_bounded_number(tmp_path) -> None:
    directory = str(tmp_path)
    path = os.path.join(directory, "c1.log")
    content = b"".join(line.encode() for line in failing_run("c1", serial=9))
    with open(path, "wb") as handle:
        handle.write(content)
    follower = Follower({"avtar": [os.path.join(directory, "*.log")]})
    tracked = follower.open(path, "avtar", os.stat(path), len(content))
    assert tracked is not None
    sig = tracked.signature(len(content))
    # Same bytes under names logrotate never gives a copy of c1.log: ignored.
    for name in ("c1.log.bak", "c10.log.1", "c1.log.1.gz", "c1.log-2026", "old-c1.log.1"):
        with open(os.path.join(directory, name), "wb") as handle:
            handle.write(content)
    with open(path, "r+b") as handle:
        handle.truncate(0)
    assert follower.find_copy(tracked, len(content), sig) is None
    assert follower.find_copy(tracked, len(content), "") is None  # no signature: nothing provable
    # Older matching copies beyond the bound are not opened; the newest ones are.
    for i in range(1, MAX_COPY_CANDIDATES + 3):
        copy = os.path.join(directory, f"c1.log.{i}")
        with open(copy, "wb") as handle:
            handle.write(content if i == MAX_COPY_CANDIDATES + 2 else b"y" * len(content))
        os.utime(copy, (1000.0 - i, 1000.0 - i))  # .1 newest
    assert follower.find_copy(tracked, len(content), sig) is None
    os.utime(os.path.join(directory, f"c1.log.{MAX_COPY_CANDIDATES + 2}"), (2000.0, 2000.0))
    found = follower.find_copy(tracked, len(content), sig)
    assert found == os.path.join(directory, f"c1.log.{MAX_COPY_CANDIDATES + 2}")
    follower.close_all()
