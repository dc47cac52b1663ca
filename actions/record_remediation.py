import lib  # noqa: F401 - first: puts the pack's lib/ on sys.path (actions/lib/__init__.py)

# isort: split
from avamar_pack.config import validate_serial
from avamar_pack.node.lock import validate_lock_owner
from avamar_pack.remediation.record_remediation import record_remediation
from lib.avamar_action import AvamarAction


class RecordRemediation(AvamarAction):
    """Write the pack's "last successful remediation" record on the node (only if it holds that serial)."""

    def run(self, server, serial, lock_owner=None, command_timeout=None):
        def validate(settings):
            return {"serial": validate_serial(serial), "lock_owner": validate_lock_owner(lock_owner)}

        return self.execute(server, validate, record_remediation, command_timeout=command_timeout)
