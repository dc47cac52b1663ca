"""``run_test_backup``: KB step 8. Start an on-demand backup with ``mccli``, wait for its activity
to reach a final status, succeed only on ``Completed``. On failure the client log's tail and the
avtar error codes are returned (avtar logs hold no secrets)."""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional

from avamar_pack.errors import ParseError, StepFailed, TransportError
from avamar_pack.node import commands
from avamar_pack.node.node import AvamarNode
from avamar_pack.parsing import avtar
from avamar_pack.parsing.mccli import parse_activities, parse_backup_started, parse_response
from avamar_pack.remediation import lock_scope
from avamar_pack.remediation.steps import step

SUCCESS_STATUS = "completed"  # "Completed w/Exception(s)" is not a clean test: reported as failed
LOG_TAIL_LINES = 40
MAYBE_STARTED = "a test backup may have started; check `mccli activity show`"


def run_test_backup(
    node: AvamarNode,
    client: str,
    dataset: str,
    timeout: float,
    *,
    lock_owner: Optional[str],
    result: Dict[str, Any],
    clock=time.monotonic,
    sleep=time.sleep,
) -> Dict[str, Any]:
    result.update(
        succeeded=False, activity_id=None, codes=[], duration_s=None, client=client, dataset=dataset, status=None
    )
    poll_s = max(0.1, min(10.0, timeout / 30.0))
    with lock_scope.held(node, lock_owner, "run_test_backup", result):
        started = clock()
        with step("start_backup", "no backup was started"):
            try:
                res = node.run(commands.mccli_backup(client, dataset), timeout=min(timeout, 300.0))
            except TransportError as exc:
                # A timeout or a connection lost mid-command proves nothing: mccli may have
                # started the backup after we stopped waiting for its answer.
                raise StepFailed("start_backup", str(exc), MAYBE_STARTED, cause=exc)
            try:
                activity_id = parse_backup_started(parse_response(res.stdout))
            except ParseError as exc:
                raise StepFailed("start_backup", f"mccli did not start the backup: {exc}", "no backup was started")
        result["activity_id"] = activity_id
        running = f"backup activity {activity_id} may still be running (see `mccli activity show`)"
        while True:
            with step("wait_for_backup", running):
                res = node.run(commands.mccli_activity_show(activity_id), timeout=min(timeout, 300.0), check=True)
                activity = next((a for a in parse_activities(res.stdout) if a.id == activity_id), None)
            result["duration_s"] = round(clock() - started, 3)
            if activity is not None and activity.status and not activity.active:
                break
            if clock() - started >= timeout:
                status = activity.status if activity else "not listed"
                raise StepFailed(
                    "wait_for_backup", f"backup {activity_id} not finished after {timeout:g}s ({status})", running
                )
            sleep(poll_s)
        result["status"] = activity.status
        codes: List[int] = [activity.error_code] if activity.error_code else []
        result["succeeded"] = (activity.status or "").lower() == SUCCESS_STATUS
        if not result["succeeded"]:
            with step("read_client_log", f"backup {activity_id} finished as {activity.status}"):
                tail = _client_log_tail(node, client, activity_id)
            result["client_log_tail"] = tail
            for line in tail:
                for record in avtar.scan_line(line).records:
                    if record.is_failure and record.code not in codes:
                        codes.append(record.code)
        result["codes"] = codes
    return result


def _client_log_tail(node: AvamarNode, client: str, activity_id: str) -> List[str]:
    """Last lines of this activity's avtar log (by name), else of the newest log of the client."""
    name = client.rsplit("/", 1)[-1]
    files = node.list_files(node.paths.client_log_dir, (f"*{activity_id}*.log", f"{name}*.log"), 1)
    return next(iter(node.tail_files(files, LOG_TAIL_LINES).values()), [])
