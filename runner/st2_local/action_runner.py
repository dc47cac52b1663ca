"""The pack's Python actions run the way st2's python runner runs them: one subprocess each.

Parent side of ``st2_local.action_wrapper``. As st2's ``PythonRunner``:

* the child's environment is ours plus ``ST2_ACTION_PACK_NAME``, ``ST2_ACTION_EXECUTION_ID``,
  ``ST2_ACTION_API_URL``, ``ST2_ACTION_DEBUG`` and ``ST2_ACTION_AUTH_TOKEN`` (a token of the
  execution's user), and the runner parameter ``env``;
* the import path is the action's folder and ``actions/lib``; the pack's ``lib/`` only with
  ``common_libs=True`` (st2.conf ``[packs] enable_common_libs``, off by default), so the pack
  must find its library itself as it must under st2;
* the result is ``{"stdout", "stderr", "exit_code", "result"}``; the status is the action's
  ``(bool, result)`` when it returned one, else by exit code; a process that printed no result
  (an exception, a crash, a kill) gives ``result`` = the STRING ``"None"``; a run longer than
  the runner parameter ``timeout`` is killed: status ``timeout``, ``exit_code`` -9 and
  ``error`` "Action failed to complete in N seconds".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

from st2_local.action_wrapper import ACTION_OUTPUT_RESULT_DELIMITER, FAULT_ENV
from st2_local.pack_loader import ActionMeta, Pack

SUCCEEDED = "succeeded"
FAILED = "failed"
TIMEOUT = "timeout"
TIMEOUT_EXIT_CODE = -9
RUNNER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class ActionOutcome:
    """Status (succeeded|failed|timeout) and the execution result as st2 stores it."""

    status: str
    result: Dict[str, Any]


def _ensure_standins() -> None:
    """Install the StackStorm stand-ins when st2 itself is not importable (in-process users)."""
    try:
        import st2common.runners.base_action  # noqa: F401
    except ImportError:
        from st2_standins import install

        install()


def output_values(exit_code: int, stdout: str, stderr: str, timed_out: bool, timeout: int) -> ActionOutcome:
    """st2's ``PythonRunner._get_output_values`` and ``_get_final_status``."""
    action_result: Any = None
    if ACTION_OUTPUT_RESULT_DELIMITER in stdout:
        before, payload, after = (stdout.split(ACTION_OUTPUT_RESULT_DELIMITER) + ["", ""])[:3]
        stdout = before + after
        try:
            action_result = json.loads(payload.strip())
        except ValueError:
            action_result = payload.strip()
    status_flag = None
    if action_result:
        if isinstance(action_result, dict):
            result, status_flag = action_result.get("result"), action_result.get("status")
        else:
            result = action_result
    else:
        result = "None"
    output: Dict[str, Any] = {"stdout": stdout, "stderr": stderr, "exit_code": exit_code, "result": result}
    if timed_out:
        output["error"] = f"Action failed to complete in {timeout} seconds"
        return ActionOutcome(TIMEOUT, output)
    if status_flag is not None:
        ok = exit_code == 0 and status_flag is True
    else:
        ok = exit_code == 0
    return ActionOutcome(SUCCEEDED if ok else FAILED, output)


class ActionRunner:
    """Python-runner actions of one pack; the datastore is a JSON file shared by all actions."""

    def __init__(
        self, pack: Pack, config: Mapping[str, Any], common_libs: bool = False, workdir: Optional[str] = None
    ) -> None:
        self.pack = pack
        self.config = dict(config)
        self.common_libs = common_libs
        self._own_workdir = workdir is None
        self._workdir = workdir or tempfile.mkdtemp(prefix="st2-local-")
        self.datastore_file = os.path.join(self._workdir, "datastore.json")

    def close(self) -> None:
        """Remove the datastore file's folder (when this runner made it)."""
        if self._own_workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def _pythonpath(self) -> str:
        pack_lib = os.path.realpath(os.path.join(self.pack.root, "lib"))
        inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        if not self.common_libs:
            inherited = [p for p in inherited if os.path.realpath(p) != pack_lib]
        else:
            inherited.insert(0, pack_lib)
        return os.pathsep.join([RUNNER_DIR] + inherited)

    def _datastore(self) -> Dict[str, Any]:
        if not os.path.exists(self.datastore_file):
            return {}
        with open(self.datastore_file, encoding="utf-8") as fh:
            return json.load(fh)

    def run(
        self,
        meta: ActionMeta,
        parameters: Mapping[str, Any],
        runner_parameters: Mapping[str, Any],
        st2_env: Mapping[str, str],
        fault: Optional[str] = None,
    ) -> ActionOutcome:
        """Run one action in its own process; never raises for a failure of the action itself."""
        timeout = int(runner_parameters.get("timeout") or 600)
        env = dict(os.environ)
        env.pop(FAULT_ENV, None)
        env["PYTHONPATH"] = self._pythonpath()
        env.update({str(k): str(v) for k, v in (runner_parameters.get("env") or {}).items()})
        env.update(st2_env)
        env["ST2_LOCAL_DATASTORE_FILE"] = self.datastore_file
        if fault:
            env[FAULT_ENV] = fault
        request = {
            "pack": self.pack.ref,
            "file_path": meta.entry_point_path,
            "parameters": dict(parameters),
            "config": self.config,
            "datastore": self._datastore(),
        }
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            [sys.executable, "-u", "-m", "st2_local.action_wrapper"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=self.pack.root,
            text=True,
        )
        try:
            stdout, stderr = proc.communicate(json.dumps(request, default=str), timeout=timeout)
            return output_values(proc.returncode, stdout, stderr, False, timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
            return output_values(TIMEOUT_EXIT_CODE, stdout or "", stderr or "", True, timeout)


def python_runner_result(result: Optional[Dict[str, Any]]) -> Any:
    """The action's own return value inside an execution result (``result().result``)."""
    return (result or {}).get("result")
