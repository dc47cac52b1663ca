"""Turn any pack error inside a step into ``StepFailed(step, reason, state_left)``.

``state_left`` may be a callable: it is called only when the step fails, so the report can read
the node as it is after the failure (``node_state``) instead of saying what it was before.
The remediation functions use it through their report (``report.StepReport.step``), which also
attaches the report to the ``StepFailed``.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator, Union

from avamar_pack.errors import AvamarPackError, CommandTimeout, StepFailed

if TYPE_CHECKING:
    from avamar_pack.node.node import AvamarNode

NOTHING_CHANGED = "nothing was changed on the node"

StateLeft = Union[str, Callable[[], str]]


@contextmanager
def step(name: str, state_left: StateLeft = NOTHING_CHANGED, *, on_timeout: StateLeft = "") -> Iterator[None]:
    """Run a block as step ``name``; ``on_timeout`` overrides ``state_left`` when a command
    timed out (the command may have finished on the node after we stopped waiting)."""
    try:
        yield
    except StepFailed:
        raise
    except CommandTimeout as exc:
        raise StepFailed(name, str(exc), _text(on_timeout or state_left), cause=exc)
    except AvamarPackError as exc:
        raise StepFailed(name, str(exc), _text(state_left), cause=exc)


def _text(state_left: StateLeft) -> str:
    if not callable(state_left):
        return state_left
    try:
        return state_left()
    except Exception as exc:  # noqa: BLE001 - describing the state must never hide the failure
        return f"unknown: the node's state could not be read back ({type(exc).__name__})"


def node_state(node: AvamarNode) -> str:
    """GSAN's minimal serial, the ``.srl`` and MCS's status as the node reports them now (never raises)."""
    parts = []
    for label, read in (
        ("GSAN minimal serial", lambda: node.keytable().minimal_serial),
        ("MCS .srl", node.read_srl),
        ("MCS", lambda: node.mcs_status() or "status not reported"),
    ):
        try:
            parts.append(f"{label} {read()}")
        except Exception as exc:  # noqa: BLE001 - report what could be read
            parts.append(f"{label} unreadable ({type(exc).__name__})")
    return "read back: " + ", ".join(parts)
