"""``set_gsan_minserial``: KB steps 3-5. Register the mcecroot public key with GSAN at a new
serial, searching upward on ``MSG_ERR_INVALID_PARAMETERS``, then verify with the keytable.

Safety: the serial must be above GSAN's minimal serial and MCS's serial (``check_new_serial``);
a re-run after success (GSAN already holds exactly ``serial``) converges without writing; the
public key lives in a private temp dir that is removed in every case; the keystore passphrase
never leaves the node (see ``node.commands.EXPORT_KEY_SCRIPT``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from avamar_pack import serials
from avamar_pack.errors import AvamarPackError
from avamar_pack.node import commands, records
from avamar_pack.node.keystore import KeyExportPlan, export_public_key, remove_temp_dir
from avamar_pack.node.lock import LockStatus
from avamar_pack.node.node import AvamarNode
from avamar_pack.parsing.avmaint import is_invalid_parameters, parse_avmaint_error
from avamar_pack.remediation import lock_scope
from avamar_pack.remediation.report import StepReport, optional


@dataclass
class GsanSerialReport(StepReport):
    """The result of ``set_gsan_minserial``; ``optional()`` keys appear on the paths that set them.

    ``attempts``: one ``{serial, accepted, error}`` per ``avmaint publickey`` run; ``before``: the
    serials read first; ``noop``: GSAN already held the serial; ``planned_commands``/``note``: a
    dry run; ``gsan_minserial``: read back after the registration."""

    dry_run: bool = False
    accepted_serial: Optional[int] = None
    attempts: List[Dict[str, Any]] = field(default_factory=list)
    verified: bool = False
    before: Optional[Dict[str, int]] = optional()
    noop: Optional[bool] = optional()
    temp_dir: Optional[str] = optional()
    planned_commands: Optional[List[List[str]]] = optional()
    note: Optional[str] = optional()
    lock: Optional[LockStatus] = optional()
    temp_dir_removed: Optional[bool] = optional()
    gsan_minserial: Optional[int] = optional()
    registration_recorded: Optional[bool] = optional()
    registration_record_error: Optional[str] = optional()
    registered_at_node_time: Optional[str] = optional()


def set_gsan_minserial(
    node: AvamarNode,
    serial: int,
    *,
    max_attempts: int,
    margin: int,
    dry_run: bool,
    lock_owner: Optional[str],
) -> GsanSerialReport:
    report = GsanSerialReport(dry_run=dry_run)

    with report.step("read_serials"):
        gsan_before = node.keytable().minimal_serial
        mcs = node.read_srl()
    report.before = {"gsan_minserial": gsan_before, "mcs_serial": mcs}
    if gsan_before == serial:
        # A re-run after success: GSAN already holds exactly this serial. Nothing to do.
        report.accepted_serial, report.verified, report.noop = serial, True, True
        return report
    with report.step("check_serial"):
        serials.check_new_serial(serial, gsan_before, mcs)

    plan = KeyExportPlan.new(node.paths.keystore)
    report.temp_dir = plan.temp_dir
    if dry_run:
        report.planned_commands = plan.create_commands() + [
            commands.publickey(plan.keyfile, serial),
            commands.KEYTABLE,
            plan.cleanup_command(),
        ]
        report.note = (
            f"dry run: nothing was run that writes; on MSG_ERR_INVALID_PARAMETERS up to "
            f"{max_attempts - 1} higher serials would be tried"
        )
        return report

    def unchanged() -> str:  # read back when a step fails: says what GSAN holds NOW
        return gsan_left(node, gsan_before, mcs)

    with lock_scope.held(node, lock_owner, "set_gsan_minserial", report):
        try:
            with report.step("export_public_key", unchanged):
                keyfile = export_public_key(node, plan)
            accepted = _register(node, report, keyfile, serial, max_attempts, margin, unchanged)
        finally:
            report.temp_dir_removed = remove_temp_dir(node, plan)
        report.accepted_serial = accepted
        with report.step(
            "verify", f"GSAN accepted serial {accepted} but it could not be read back; MCS unchanged at {mcs}"
        ):
            after = node.keytable().minimal_serial
        report.gsan_minserial = after
        if after != accepted:
            raise report.failed(
                "verify",
                f"GSAN's minimal serial reads {after} after serial {accepted} was accepted",
                f"GSAN minimal serial {after}; MCS unchanged at {mcs}: do not write MCS",
            )
        report.verified = True
        report.registration_recorded = _record_registration(node, accepted, lock_owner, report)
    return report


def _record_registration(node: AvamarNode, serial: int, owner: Optional[str], report: GsanSerialReport) -> bool:
    """When GSAN took ``serial`` (node clock): evidence before it is stale for the verification.

    Not fatal: GSAN holds the serial either way; without the record the verification judges the
    logs by their serials only (``diagnosis``)."""
    try:
        record = records.write_record(node, records.REGISTRATION, serial, owner=owner, gsan_minserial=serial)
    except (AvamarPackError, ValueError) as exc:
        report.registration_record_error = str(exc)[:300]
        return False
    report.registered_at_node_time = record.as_dict()["node_time"]
    return True


def gsan_left(node: AvamarNode, before: int, mcs: int) -> str:
    """GSAN's minimal serial read back after a failure, against what it was (never raises)."""
    try:
        now = node.keytable().minimal_serial
    except Exception as exc:  # noqa: BLE001 - describing the state must never hide the failure
        return (
            f"GSAN's minimal serial could not be read back ({type(exc).__name__}; it was {before}); "
            f"MCS unchanged at {mcs}: re-read the keytable (diagnose_session_tickets) before retrying"
        )
    if now == before:
        return f"GSAN minimal serial unchanged at {before} (read back); MCS unchanged at {mcs}"
    return (
        f"GSAN minimal serial now {now} (was {before}); MCS unchanged at {mcs}: GSAN moved, MCS was not "
        f"written; re-run set_gsan_minserial with serial {now} to verify it, then write_mcs_serial"
    )


def _register(
    node: AvamarNode,
    report: GsanSerialReport,
    keyfile: str,
    serial: int,
    max_attempts: int,
    margin: int,
    unchanged: Callable[[], str],
) -> int:
    """Try ``serial`` then higher ones, each in ``report.attempts``; the accepted serial or StepFailed."""
    attempts = report.attempts
    candidate = serial
    for attempt in range(max_attempts):
        timed_out = f"avmaint publickey --serial={candidate} timed out: GSAN may or may not hold it"
        with report.step("register_public_key", unchanged, on_timeout=lambda msg=timed_out: f"{msg}; {unchanged()}"):
            res = node.register_public_key(keyfile, candidate)
        err = parse_avmaint_error(res.output)
        if res.exit_code == 0 and err is None:
            attempts.append({"serial": candidate, "accepted": True, "error": None})
            return candidate
        reason = err.line if err else (res.output.strip().splitlines() or [f"exit {res.exit_code}"])[-1][:300]
        attempts.append({"serial": candidate, "accepted": False, "error": reason})
        if not is_invalid_parameters(err):
            raise report.failed(
                "register_public_key", f"avmaint publickey --serial={candidate} failed: {reason}", unchanged()
            )
        if attempt + 1 < max_attempts:
            with report.step("plan_next_serial", unchanged):
                candidate = serials.next_attempt(candidate, attempt + 1, margin)
    tried = ", ".join(str(a["serial"]) for a in attempts)
    raise report.failed(
        "register_public_key", f"GSAN refused every serial tried ({tried}) with MSG_ERR_INVALID_PARAMETERS", unchanged()
    )
