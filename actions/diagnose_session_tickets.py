import lib  # noqa: F401 - first: puts the pack's lib/ on sys.path (actions/lib/__init__.py)

# isort: split
from avamar_pack.config import validate_serial
from avamar_pack.remediation.diagnose_session_tickets import diagnose_session_tickets
from lib.avamar_action import AvamarAction


class DiagnoseSessionTickets(AvamarAction):
    """Compare GSAN's and MCS's session-ticket serials and read the log and trigger evidence (read-only)."""

    def run(self, server, margin=None, detection=None, verify_serial=None, command_timeout=None):
        def validate(settings):
            return {
                "server": settings.name,
                "margin": self.remediation_setting("serial_margin", margin),
                # Untrusted: validated field by field (and ignored where invalid) by trigger_evidence.
                "detection": detection,
                "verify_serial": None if verify_serial is None else validate_serial(verify_serial, "verify_serial"),
            }

        return self.execute(server, validate, diagnose_session_tickets, command_timeout=command_timeout)
