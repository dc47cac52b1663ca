"""``run_test_backup``: KB step 8. Start an on-demand backup with ``mccli``, wait for its activity
to reach a final status, succeed only on ``Completed``. On failure the client log's tail and the
avtar error codes are returned (avtar logs hold no secrets)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from avamar_pack.errors import ParseError, TransportError
from avamar_pack.node import commands
from avamar_pack.node.lock import LockStatus
from avamar_pack.node.node import AvamarNode
from avamar_pack.parsing import avtar
from avamar_pack.parsing.mccli import Activity, parse_activities, parse_backup_started, parse_response
from avamar_pack.remediation import lock_scope
from avamar_pack.remediation.report import StepReport, optional
from avamar_pack.remediation.waiting import Wait

SUCCESS_STATUS = "completed"  # "Completed w/Exception(s)" is not a clean test: reported as failed
LOG_TAIL_LINES = 40
LONGEST_POLL_S = 10.0
MAYBE_STARTED = "a test backup may have started; check `mccli activity show`"


@dataclass
class TestBackupReport(StepReport):
    """``succeeded`` only on ``Completed``; ``codes``: the activity's error code and the avtar
    error codes of its log; ``client_log_tail``: that log's last lines, when it did not succeed."""

    __test__ = False  # a result type, not a pytest test class

    client: str = ""
    dataset: str = ""
    succeeded: bool = False
    activity_id: Optional[str] = None
    codes: List[int] = field(default_factory=list)
    duration_s: Optional[float] = None
    status: Optional[str] = None
    lock: Optional[LockStatus] = optional()
    client_log_tail: Optional[List[str]] = optional()


def run_test_backup(
    node: AvamarNode, client: str, dataset: str, wait: Wait, *, lock_owner: Optional[str]
) -> TestBackupReport:
    """Back up ``client`` and wait (at most ``wait.timeout`` s) for the activity's final status."""
    report = TestBackupReport(client=client, dataset=dataset)
    timeout = wait.timeout
    with lock_scope.held(node, lock_owner, "run_test_backup", report):
        poll = wait.start(LONGEST_POLL_S)
        with report.step("start_backup", "no backup was started"):
            try:
                res = node.run(commands.mccli_backup(client, dataset), timeout=min(timeout, 300.0))
            except TransportError as exc:
                # A timeout or a connection lost mid-command proves nothing: mccli may have
                # started the backup after we stopped waiting for its answer.
                raise report.failed("start_backup", str(exc), MAYBE_STARTED, cause=exc)
            try:
                activity_id = parse_backup_started(parse_response(res.stdout))
            except ParseError as exc:
                raise report.failed("start_backup", f"mccli did not start the backup: {exc}", "no backup was started")
        report.activity_id = activity_id
        running = f"backup activity {activity_id} may still be running (see `mccli activity show`)"

        def read_activity() -> Optional[Activity]:
            with report.step("wait_for_backup", running):
                res = node.run(commands.mccli_activity_show(activity_id), timeout=min(timeout, 300.0), check=True)
                found = next((a for a in parse_activities(res.stdout) if a.id == activity_id), None)
            report.duration_s = poll.elapsed_s()
            return found

        activity: Activity = poll.until(  # type: ignore[assignment] - final() accepts only a listed activity
            read_activity,
            lambda found: found is not None and bool(found.status) and not found.active,
            lambda found: report.failed(
                "wait_for_backup",
                f"backup {activity_id} not finished after {timeout:g}s ({found.status if found else 'not listed'})",
                running,
            ),
        )
        report.status = activity.status
        codes: List[int] = [activity.error_code] if activity.error_code else []
        report.succeeded = (activity.status or "").lower() == SUCCESS_STATUS
        if not report.succeeded:
            with report.step("read_client_log", f"backup {activity_id} finished as {activity.status}"):
                tail = _client_log_tail(node, client, activity_id)
            report.client_log_tail = tail
            for line in tail:
                for record in avtar.scan_line(line).records:
                    if record.is_failure and record.code not in codes:
                        codes.append(record.code)
        report.codes = codes
    return report


def _client_log_tail(node: AvamarNode, client: str, activity_id: str) -> List[str]:
    """Last lines of this activity's avtar log (by name), else of the newest log of the client."""
    name = client.rsplit("/", 1)[-1]
    files = node.list_files(node.paths.client_log_dir, (f"*{activity_id}*.log", f"{name}*.log"), 1)
    return next(iter(node.tail_files(files, LOG_TAIL_LINES).values()), [])
