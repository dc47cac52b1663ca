"""The child process of the local Python runner: st2's ``python_action_wrapper``, our version.

Run as ``python -m st2_local.action_wrapper`` with ONE JSON document on stdin
(``{"pack", "file_path", "parameters", "config", "datastore"}``): st2 passes parameters and the
pack config in argv, we keep them out of argv so that no configured secret shows in ``ps``.
Like st2's wrapper it loads the one ``Action`` subclass of the entry point (the action's folder
and ``actions/lib`` on ``sys.path``), constructs it with the config and an action service,
calls ``run(**parameters)`` and prints ``{"result": ..., "status": ...}`` between st2's
delimiters on stdout. An exception is printed as a traceback on stderr and the process exits 1:
the parent then finds no result and reports the string ``"None"``, exactly as st2 does.

``ST2_LOCAL_FAULT`` (set only by the runner's test hooks, st2_local.faults) makes this process
die (``exit``), raise (``exception``) or hang (``hang``) instead of running the action.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
import traceback
from typing import Any, Dict

ACTION_OUTPUT_RESULT_DELIMITER = "%%%%%~=~=~=************=~=~=~%%%%"
FAULT_ENV = "ST2_LOCAL_FAULT"


def _load_action_class(path: str) -> type:
    from st2common.runners.base_action import Action

    folder = os.path.dirname(path)
    for entry in (os.path.join(folder, "lib"), folder):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    module_name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    classes = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, Action) and obj.__module__ == module_name
    ]
    if len(classes) != 1:
        raise ImportError(f"{path}: expected one Action subclass, found {len(classes)}")
    return classes[0]


def _action_service(pack: str, class_name: str, datastore: Dict[str, Any]) -> Any:
    """st2tests' MockActionService (st2's own when importable, else the stand-in) holding the
    runner's datastore: every action of a runner sees what an earlier one stored."""
    from st2tests.mocks.action import MockActionService, MockActionWrapper

    service = MockActionService(MockActionWrapper(pack=pack, class_name=class_name))
    for full_name, item in datastore.items():  # stored under the full key name, as set_value does
        service.set_value(full_name, item["value"], local=False, encrypt=bool(item.get("secret")))
    return service


def _dump_datastore(service: Any) -> Dict[str, Any]:
    items = service._datastore_service._datastore_items
    return {name: {"value": kvp.value, "secret": bool(getattr(kvp, "secret", False))} for name, kvp in items.items()}


def _fault() -> None:
    fault = os.environ.get(FAULT_ENV, "")
    if fault == "exit":
        sys.stderr.write("st2_local test hook: the action process dies (os._exit(1))\n")
        sys.stderr.flush()
        os._exit(1)
    if fault == "exception":
        raise RuntimeError("st2_local test hook: the action raised")
    if fault == "hang":
        while True:  # killed by the runner's timeout
            time.sleep(1)


def main() -> int:
    from st2_standins import install

    install()  # a no-op when StackStorm itself is importable
    request = json.loads(sys.stdin.read())
    _fault()
    cls = _load_action_class(request["file_path"])
    service = _action_service(request["pack"], cls.__name__, request.get("datastore") or {})
    from st2common.runners.utils import get_action_class_instance

    action = get_action_class_instance(cls, config=request.get("config") or {}, action_service=service)
    output = action.run(**(request.get("parameters") or {}))
    status = None
    if isinstance(output, tuple) and len(output) == 2:
        status, output = output
    if status is not None and not isinstance(status, bool):
        sys.stderr.write(f"Status returned from the action run() method must either be True or False, got: {status}\n")
        return 220  # st2's PYTHON_RUNNER_INVALID_ACTION_STATUS_EXIT_CODE
    try:
        text = json.dumps({"result": output, "status": status})
    except (TypeError, ValueError):
        text = json.dumps({"result": str(output), "status": status})
    sys.stdout.flush()
    sys.stdout.write(ACTION_OUTPUT_RESULT_DELIMITER + text + "\n" + ACTION_OUTPUT_RESULT_DELIMITER)
    sys.stdout.flush()
    datastore_path = os.environ.get("ST2_LOCAL_DATASTORE_FILE")
    if datastore_path:
        tmp = datastore_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(_dump_datastore(service), fh)
        os.replace(tmp, datastore_path)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:  # as st2's wrapper: the traceback on stderr, exit 1, no result
        traceback.print_exc()
        sys.exit(1)
