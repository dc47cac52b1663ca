import lib  # noqa: F401 - first: puts the pack's lib/ on sys.path (actions/lib/__init__.py)

# isort: split
from avamar_pack.config import validate_serial
from avamar_pack.node.lock import validate_lock_owner
from avamar_pack.remediation.write_mcs_serial import write_mcs_serial
from avamar_pack.validators import boolean
from lib.avamar_action import AvamarAction


class WriteMcsSerial(AvamarAction):
    """Write the serial GSAN holds into MCS's sessionticket.srl (atomic, old file kept, verified)."""

    def run(self, server, serial, dry_run=False, lock_owner=None, command_timeout=None):
        def validate(settings):
            return {
                "serial": validate_serial(serial),
                "dry_run": boolean(dry_run, "dry_run"),
                "lock_owner": validate_lock_owner(lock_owner),
                "backups_kept": self.remediation_settings().srl_backups_kept,
            }

        return self.execute(server, validate, write_mcs_serial, command_timeout=command_timeout)
