import lib  # noqa: F401 - first: puts the pack's lib/ on sys.path (actions/lib/__init__.py)

# isort: split
from avamar_pack.errors import ValidationError
from avamar_pack.node.lock import validate_lock_owner
from avamar_pack.remediation.release_node_lock import release_node_lock
from lib.avamar_action import AvamarAction


class ReleaseNodeLock(AvamarAction):
    """Release the remediation lock on the node held by `lock_owner` (idempotent)."""

    def run(self, server, lock_owner, command_timeout=None):
        def validate(settings):
            owner = validate_lock_owner(lock_owner)
            if owner is None:
                raise ValidationError("lock_owner is required")
            return {"lock_owner": owner}

        return self.execute(
            server,
            validate,
            lambda node, result, **p: release_node_lock(node, result=result, **p),
            command_timeout=command_timeout,
        )
