import lib  # noqa: F401 - first: puts the pack's lib/ on sys.path (actions/lib/__init__.py)

# isort: split
from avamar_pack.errors import ValidationError
from avamar_pack.remediation_request import prepare, route_for_report
from st2common.runners.base_action import Action

NOTHING_TOUCHED = "nothing was read from or written to the node"


class PrepareRemediation(Action):
    """Check every input of remediate_session_tickets and resolve the rest from the pack config.

    Opens no transport: a refusal here leaves the node exactly as it was."""

    def run(
        self,
        server,
        dry_run=False,
        serial_margin=None,
        max_publickey_attempts=None,
        test_backup=True,
        detection=None,
        notify_route=None,
        mcs_restart_timeout=None,
        test_backup_timeout=None,
    ):
        params = {
            "server": server,
            "dry_run": dry_run,
            "serial_margin": serial_margin,
            "max_publickey_attempts": max_publickey_attempts,
            "test_backup": test_backup,
            "detection": detection,
            "notify_route": notify_route,
            "mcs_restart_timeout": mcs_restart_timeout,
            "test_backup_timeout": test_backup_timeout,
        }
        config = dict(self.config or {})
        try:
            return True, prepare(config, params)
        except ValidationError as exc:  # ConfigError is a ValidationError
            self.logger.warning("prepare_remediation refused the run: %s", exc)
            return False, {
                "route": route_for_report(config, params),
                "error": {"step": "validate_inputs", "reason": str(exc)[:500], "state_left": NOTHING_TOUCHED},
            }
