"""Run the pack's Python actions in-process, the way StackStorm's Python runner runs them.

What st2 does and we do too: put the action's folder and the pack's ``actions/lib`` on
``sys.path``, load the one ``Action`` subclass of the entry point, construct it with the pack
config and an action service (datastore), call ``run(**parameters)``, and shape the execution
result as ``{"result": ..., "exit_code": 0, "stdout": ..., "stderr": ...}``. ``(False, result)``
means status failed; an exception means status failed with ``error`` and ``traceback`` and no
``result``. Everything runs in one process, with one in-memory datastore shared by all actions.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
import traceback
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

from st2_local.pack_loader import ActionMeta, Pack

SUCCEEDED = "succeeded"
FAILED = "failed"


@dataclass(frozen=True)
class ActionOutcome:
    """Status (succeeded|failed) and the execution result as st2 stores it."""

    status: str
    result: Dict[str, Any]


def _ensure_standins() -> None:
    """Install the StackStorm stand-ins when st2 itself is not importable."""
    try:
        import st2common.runners.base_action  # noqa: F401
    except ImportError:
        from st2_standins import install

        install()


class ActionRunner:
    """Python-runner actions of one pack, with one shared in-memory datastore."""

    def __init__(self, pack: Pack, config: Mapping[str, Any]) -> None:
        _ensure_standins()
        self.pack = pack
        self.config = dict(config)
        # Full key name -> KeyValuePair; shared so that a value one action sets, another reads.
        self.datastore_items: Dict[str, Any] = {}
        self._classes: Dict[str, type] = {}
        for sub in ("actions/lib", "actions"):
            path = os.path.join(pack.root, sub)
            if path not in sys.path:
                sys.path.insert(0, path)

    def _action_class(self, meta: ActionMeta) -> type:
        if meta.ref in self._classes:
            return self._classes[meta.ref]
        from st2common.runners.base_action import Action

        path = meta.entry_point_path
        module_name = f"st2_local_action_{meta.name}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        classes = [
            obj for obj in vars(module).values()
            if isinstance(obj, type) and issubclass(obj, Action) and obj.__module__ == module_name
        ]
        if len(classes) != 1:
            raise ImportError(f"{path}: expected one Action subclass, found {len(classes)}")
        self._classes[meta.ref] = classes[0]
        return classes[0]

    def _action_service(self, class_name: str) -> Any:
        from st2tests.mocks.action import MockActionService, MockActionWrapper

        service = MockActionService(MockActionWrapper(pack=self.pack.ref, class_name=class_name))
        # The stand-in keeps one dict per service; point it at ours so all actions share it.
        service._datastore_service._datastore_items = self.datastore_items
        return service

    def run(self, meta: ActionMeta, parameters: Mapping[str, Any]) -> ActionOutcome:
        """Run one action; never raises for a failure of the action itself."""
        out, err = io.StringIO(), io.StringIO()
        try:
            cls = self._action_class(meta)
            instance = cls(config=self.config, action_service=self._action_service(cls.__name__))
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                returned = instance.run(**parameters)
        except Exception as e:  # st2's wrapper turns any exception into a failed execution
            return ActionOutcome(FAILED, {
                "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc(),
                "exit_code": 1, "stdout": out.getvalue(), "stderr": err.getvalue(),
            })
        status = SUCCEEDED
        if isinstance(returned, tuple) and len(returned) == 2 and isinstance(returned[0], bool):
            status = SUCCEEDED if returned[0] else FAILED
            returned = returned[1]
        return ActionOutcome(status, {
            "result": returned, "exit_code": 0, "stdout": out.getvalue(), "stderr": err.getvalue(),
        })


def python_runner_result(result: Optional[Dict[str, Any]]) -> Any:
    """The action's own return value inside an execution result (``result().result``)."""
    return (result or {}).get("result")
