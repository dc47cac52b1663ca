import lib  # noqa: F401 - first: puts the pack's lib/ on sys.path (actions/lib/__init__.py)

# isort: split
from avamar_pack.node.lock import validate_lock_owner
from avamar_pack.remediation.check_preconditions import check_preconditions
from lib.avamar_action import AvamarAction


class CheckPreconditions(AvamarAction):
    """Is it safe to remediate now? Read-only: services, maintenance, running MCS activities, the node lock."""

    def run(self, server, lock_owner=None, command_timeout=None):
        def validate(settings):
            # lock_owner only makes the caller's own lock not count as "held by another remediation".
            return {"lock_owner": validate_lock_owner(lock_owner)}

        return self.execute(server, validate, check_preconditions, command_timeout=command_timeout)
