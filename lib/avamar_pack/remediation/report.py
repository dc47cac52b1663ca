"""What one remediation action reports: a typed record of its result fields, and how a failure carries it.

Each remediation function builds its own report (a dataclass derived from ``StepReport``, defined
beside the function), fills it as its steps run and returns it; the action returns
``report.as_result()``, one dict with exactly the keys the workflow and the operator read. No
dict is handed in and mutated by callers: the report belongs to the function that fills it.

A failure is ``StepFailed`` with the report attached (``StepFailed.report``), so the action
shell turns it into ``(False, {partial fields..., "error": {...}})`` from the exception alone.
The attaching is done where the failure happens, by the report's own step context:

* ``with report.step(name, state_left):`` is ``steps.step`` (pack errors -> ``StepFailed``) and
  attaches the report to any ``StepFailed`` leaving the block;
* ``raise report.failed(step, reason, state_left)`` for a check that fails outside a command.

Why at the step, not one wrapper around each whole function: the line that can fail names the
report the caller will get back, a helper that fails on the function's behalf takes that report
as an argument (so it cannot fail with nothing attached), and the function bodies keep their
shape. The report is attached by reference and read only when the shell builds the result, so
what a ``finally`` records after the failure (``lock_scope.held`` giving the lock back) is in it.
An enclosing report's step re-attaches itself: the action always gets the report of the
function it called.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import Any, Dict, Iterator, Optional

from avamar_pack.errors import StepFailed
from avamar_pack.remediation import steps
from avamar_pack.remediation.steps import NOTHING_CHANGED, StateLeft

_OMIT_WHEN_NONE = "omit_when_none"


def optional() -> Any:
    """A result key present only once it is set (``as_result`` leaves it out while it is None)."""
    return field(default=None, metadata={_OMIT_WHEN_NONE: True})


@dataclass
class StepReport:
    """Base of every action's report: the fields, in order, are the keys of the action's result."""

    def as_result(self) -> Dict[str, Any]:
        """The action result: every field (typed values such as ``LockStatus`` as their dicts),
        except ``optional()`` ones not set."""
        result: Dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is None and item.metadata.get(_OMIT_WHEN_NONE):
                continue
            result[item.name] = _plain(value)
        return result

    @contextmanager
    def step(self, name: str, state_left: StateLeft = NOTHING_CHANGED, *, on_timeout: StateLeft = "") -> Iterator[None]:
        """``steps.step`` whose failure carries this report (the partial result)."""
        try:
            with steps.step(name, state_left, on_timeout=on_timeout):
                yield
        except StepFailed as exc:
            exc.report = self
            raise

    def failed(self, step: str, reason: str, state_left: str, cause: Optional[BaseException] = None) -> StepFailed:
        """A ``StepFailed`` carrying this report, for a check that fails outside a command."""
        return StepFailed(step, reason, state_left, cause=cause, report=self)


def _plain(value: Any) -> Any:
    """JSON-ready: a typed value through its ``as_dict``, containers copied (the result is the caller's)."""
    if hasattr(value, "as_dict"):
        return value.as_dict()
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value
