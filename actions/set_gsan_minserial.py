import lib  # noqa: F401 - first: puts the pack's lib/ on sys.path (actions/lib/__init__.py)

# isort: split
from avamar_pack.config import validate_serial
from avamar_pack.node.lock import validate_lock_owner
from avamar_pack.remediation.set_gsan_minserial import set_gsan_minserial
from avamar_pack.validators import boolean
from lib.avamar_action import AvamarAction


class SetGsanMinserial(AvamarAction):
    """Register the mcecroot public key with GSAN at a new serial, retrying higher, then verify."""

    def run(self, server, serial, max_attempts=None, dry_run=False, lock_owner=None, command_timeout=None):
        def validate(settings):
            return {
                "serial": validate_serial(serial),
                "max_attempts": self.remediation_setting("max_publickey_attempts", max_attempts, maximum=20),
                "margin": self.remediation_setting("serial_margin", None),
                "dry_run": boolean(dry_run, "dry_run"),
                "lock_owner": validate_lock_owner(lock_owner),
            }

        return self.execute(server, validate, set_gsan_minserial, command_timeout=command_timeout)
