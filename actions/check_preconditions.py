from avamar_pack.node.lock import validate_lock_owner
from avamar_pack.remediation.preconditions import check_preconditions
from lib.avamar_action import AvamarAction


class CheckPreconditions(AvamarAction):
    """Is it safe to remediate now? GSAN up, no maintenance running, node lock free (MCS down is a note)."""

    def run(self, server, lock_owner=None, command_timeout=None):
        def validate(settings):
            return {"lock_owner": validate_lock_owner(lock_owner)}

        return self.execute(server, validate, lambda node, result, **p: check_preconditions(node, result=result, **p),
                            command_timeout=command_timeout)
