"""st2's floor under the workflow figure: a no-op Python action, one process each, as st2 runs it.

``st2_noop``: through StackStorm v3.9.0's own ``python_action_wrapper.py`` (st2's interpreter and
imports, from the st2 reference tree at ``$ST2_REF``, default ``~/st2-reference``), argv as st2's
python runner builds it; ``local_noop_runner``: through the local runner's ``ActionRunner``
(lighter: the stand-ins import less than st2common). ``BytecodeCache`` gives the measured action
processes a private bytecode folder, as a st2 worker has one next to the pack.
"""

from __future__ import annotations

import os
import subprocess
import time
from typing import Any, Callable, Dict, Mapping, Optional

NOOP_ACTION = '''from st2common.runners.base_action import Action


class BenchNoop(Action):
    """st2's floor per action: the process, the wrapper, the config; no pack code."""

    def run(self):
        return True
'''


def noop_file(work: str) -> str:
    folder = os.path.join(work, "noop")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "bench_noop.py")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(NOOP_ACTION)
    return path


def st2_wrapper() -> Optional[Dict[str, str]]:
    """StackStorm v3.9.0's python_action_wrapper.py and its venv's Python, when the tree is here."""
    root = os.environ.get("ST2_REF") or os.path.expanduser("~/st2-reference")
    python = os.path.join(root, "venv", "bin", "python")
    wrapper = os.path.join(
        root, "src", "contrib", "runners", "python_runner", "python_runner", "python_action_wrapper.py"
    )
    if os.access(python, os.X_OK) and os.path.isfile(wrapper):
        return {"python": python, "wrapper": wrapper, "root": root}
    return None


def st2_noop(st2: Mapping[str, str], work: str, pack_ref: str) -> Callable[[], float]:
    """One no-op action through st2's own wrapper, argv as st2's python runner builds it."""
    argv = [
        st2["python"],
        st2["wrapper"],
        f"--pack={pack_ref}",
        f"--file-path={noop_file(work)}",
        "--user=stanley",
        "--parent-args=[]",
        "--parameters={}",
        "--config={}",
    ]
    # A clean environment: the suite's PYTHONPATH (stand-ins, the pack) must not leak into st2.
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}

    def one() -> float:
        started = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)  # noqa: S603
        spent = time.perf_counter() - started
        if proc.returncode != 0 or '"result":true' not in proc.stdout.replace(" ", ""):
            raise AssertionError(f"st2's wrapper exited {proc.returncode}: {(proc.stderr or proc.stdout)[-300:]}")
        return spent

    return one


def local_noop_runner(pack: Any, work: str, config: Mapping[str, Any]) -> Callable[[], float]:
    """One no-op action through the local runner's ActionRunner: seconds for its process."""
    from st2_local.action_runner import ActionRunner  # noqa: PLC0415
    from st2_local.pack_loader import ActionMeta  # noqa: PLC0415

    folder = os.path.dirname(noop_file(work))
    meta = ActionMeta(
        ref=f"{pack.ref}.bench_noop",
        name="bench_noop",
        runner_type="python-script",
        entry_point="bench_noop.py",
        parameters={},
        metadata_path=os.path.join(folder, "bench_noop.yaml"),
    )
    actions = ActionRunner(pack, config, workdir=os.path.join(work, "noop-state"))
    os.makedirs(os.path.join(work, "noop-state"), exist_ok=True)
    env = {"ST2_ACTION_PACK_NAME": pack.ref, "ST2_ACTION_DEBUG": "False"}

    def one() -> float:
        started = time.perf_counter()
        outcome = actions.run(meta, {}, {}, env)
        spent = time.perf_counter() - started
        if outcome.status != "succeeded":
            raise AssertionError(f"the no-op action {outcome.status}: {str(outcome.result)[:300]}")
        return spent

    return one


class BytecodeCache:
    """Action processes keep their compiled bytecode in a private folder, as a st2 worker keeps it
    next to the pack: without it every process would compile the pack's modules again (the suite
    runs with PYTHONDONTWRITEBYTECODE), a cost no st2 worker pays after its first run."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.saved: Dict[str, Optional[str]] = {}

    def __enter__(self) -> BytecodeCache:
        for name in ("PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE"):
            self.saved[name] = os.environ.get(name)
        os.environ["PYTHONPYCACHEPREFIX"] = self.folder
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        return self

    def __exit__(self, *exc: object) -> None:
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
