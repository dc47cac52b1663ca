from avamar_pack.remediation.diagnose import diagnose_session_tickets
from lib.avamar_action import DEFAULT_SERIAL_MARGIN, AvamarAction


class DiagnoseSessionTickets(AvamarAction):
    """Compare GSAN's and MCS's session-ticket serials and read the log evidence (read-only)."""

    def run(self, server, margin=None, command_timeout=None):
        def validate(settings):
            return {"server": settings.name,
                    "margin": self.remediation_setting("serial_margin", margin, DEFAULT_SERIAL_MARGIN)}

        def work(node, result, **params):
            return diagnose_session_tickets(node, result=result, **params)

        return self.execute(server, validate, work, command_timeout=command_timeout)
