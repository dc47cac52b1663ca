"""Waiting on the node: look again until the answer is final, or fail once the wait limit is reached.

``restart_mcs`` waits for ``MCS status: up.``, ``run_test_backup`` for the backup activity to
end. Each gets a ``Wait`` (the limit from its action's ``wait_seconds``, and the clock and sleep,
which a test replaces to run a long wait without waiting), starts a ``Poll`` when the wait
begins and looks about 30 times over the limit: no more often than every 0.1 s, no less often
than its ``longest_interval_s``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, TypeVar

from avamar_pack.errors import StepFailed

T = TypeVar("T")

Clock = Callable[[], float]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Wait:
    """At most ``timeout`` seconds, measured with ``clock``, pausing with ``sleep``."""

    timeout: float
    clock: Clock = time.monotonic
    sleep: Sleep = time.sleep

    def start(self, longest_interval_s: float) -> Poll:
        """The wait, starting now."""
        interval = max(0.1, min(longest_interval_s, self.timeout / 30.0))
        return Poll(self, interval, self.clock())


@dataclass(frozen=True)
class Poll:
    """A wait that started at ``started`` and looks every ``interval_s``."""

    wait: Wait
    interval_s: float
    started: float

    def elapsed_s(self) -> float:
        return round(self.wait.clock() - self.started, 3)

    def until(self, read: Callable[[], T], final: Callable[[T], bool], too_long: Callable[[T], StepFailed]) -> T:
        """``read()`` until ``final`` says its answer is; ``too_long(last answer)`` is raised at the limit."""
        while True:
            answer = read()
            if final(answer):
                return answer
            if self.wait.clock() - self.started >= self.wait.timeout:
                raise too_long(answer)
            self.wait.sleep(self.interval_s)
