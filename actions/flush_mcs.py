import lib  # noqa: F401 - first: puts the pack's lib/ on sys.path (actions/lib/__init__.py)

# isort: split
from avamar_pack.config import validate_serial
from avamar_pack.node.lock import validate_lock_owner
from avamar_pack.remediation.flush_mcs import flush_mcs
from avamar_pack.validators import whole_number
from lib.avamar_action import AvamarAction

DEFAULT_WAIT_S = 600


class FlushMcs(AvamarAction):
    """`mcserver.sh --flush` after a verified remediation, so MCS's latest flush holds the new serial."""

    def run(self, server, serial=None, timeout=None, lock_owner=None, command_timeout=None):
        def validate(settings):
            return {
                "serial": None if serial is None else validate_serial(serial),
                "enabled": self.remediation_settings().flush_mcs,
                "timeout": whole_number(DEFAULT_WAIT_S if timeout is None else timeout, "timeout", maximum=3600),
                "lock_owner": validate_lock_owner(lock_owner),
            }

        return self.execute(server, validate, flush_mcs, command_timeout=command_timeout)
