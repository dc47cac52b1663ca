"""Turn any pack error inside a step into ``StepFailed(step, reason, state_left)``."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from avamar_pack.errors import AvamarPackError, CommandTimeout, StepFailed

NOTHING_CHANGED = "nothing was changed on the node"


@contextmanager
def step(name: str, state_left: str = NOTHING_CHANGED, *, on_timeout: str = "") -> Iterator[None]:
    """Run a block as step ``name``; ``on_timeout`` overrides ``state_left`` when a command
    timed out (the command may have finished on the node after we stopped waiting)."""
    try:
        yield
    except StepFailed:
        raise
    except CommandTimeout as exc:
        raise StepFailed(name, str(exc), on_timeout or state_left, cause=exc)
    except AvamarPackError as exc:
        raise StepFailed(name, str(exc), state_left, cause=exc)
