"""Test hooks of the local runner: make a task's action crash or time out, or cancel at a task.

Keyed by the workflow TASK id (``set_gsan_serial``), optionally by the n-th time that task
runs (``occurrence``, 1 = first) and the workflow action (``workflow``, default any). Each hook
fires once. Nothing here exists in StackStorm: these are the faults st2 produces by itself
(a python action process that dies, a runner timeout, an operator's ``st2 execution cancel``),
made reproducible.

* ``crash(task, how="exit")``: the action process dies before running (``os._exit(1)``);
  ``how="exception"``: it raises. Both give st2's crashed-action result (``"None"``).
* ``timeout(task, seconds=1)``: the action hangs and the runner kills it after ``seconds``
  (the runner parameter ``timeout`` is set to that value for this one execution).
* ``result(task, status, result)``: the action does not run; the task ends with that status
  and result (for result shapes st2 can produce that no real fault here makes, e.g. st2's
  abandoned execution: ``result(task, "abandoned", {})``, what the action runner's shutdown
  leaves, ``executions.abandon_execution_if_incomplete``).
* ``cancel(task, when="before"|"during")``: ``st2 execution cancel`` of the workflow just
  before the task is scheduled, or while its action runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple


@dataclass
class _Hook:
    kind: str  # exit | exception | hang | cancel-before | cancel-during
    task: str
    occurrence: int = 1
    workflow: Optional[str] = None
    seconds: int = 1
    fired: bool = False
    status: str = ""
    result: Any = None


@dataclass
class Faults:
    hooks: List[_Hook] = field(default_factory=list)
    _seen: Dict[Tuple[str, str], int] = field(default_factory=dict)

    def crash(self, task: str, how: str = "exit", occurrence: int = 1, workflow: Optional[str] = None) -> Faults:
        if how not in ("exit", "exception"):
            raise ValueError("how must be exit or exception")
        self.hooks.append(_Hook(how, task, occurrence, workflow))
        return self

    def timeout(self, task: str, seconds: int = 1, occurrence: int = 1, workflow: Optional[str] = None) -> Faults:
        self.hooks.append(_Hook("hang", task, occurrence, workflow, seconds=max(1, int(seconds))))
        return self

    def cancel(self, task: str, when: str = "before", occurrence: int = 1, workflow: Optional[str] = None) -> Faults:
        if when not in ("before", "during"):
            raise ValueError("when must be before or during")
        self.hooks.append(_Hook(f"cancel-{when}", task, occurrence, workflow))
        return self

    def result(
        self, task: str, status: str, result: Any, occurrence: int = 1, workflow: Optional[str] = None
    ) -> Faults:
        """The task's action does not run; its execution ends with this status and result
        (any shape st2 can produce: ``None``, ``{}``, ``{"result": "None", ...}``)."""
        self.hooks.append(_Hook("override", task, occurrence, workflow, status=status, result=result))
        return self

    def count(self, execution_id: str, task: str) -> int:
        """Record that ``task`` is about to run in workflow execution ``execution_id``."""
        key = (execution_id, task)
        self._seen[key] = self._seen.get(key, 0) + 1
        return self._seen[key]

    def take(self, kinds: Tuple[str, ...], workflow: str, task: str, occurrence: int) -> Optional[_Hook]:
        """The first unfired hook of one of ``kinds`` for this task run; marks it fired."""
        for hook in self.hooks:
            if hook.fired or hook.kind not in kinds or hook.task != task or hook.occurrence != occurrence:
                continue
            if hook.workflow is not None and hook.workflow != workflow:
                continue
            hook.fired = True
            return hook
        return None
