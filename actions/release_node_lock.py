import lib  # noqa: F401 - first: puts the pack's lib/ on sys.path (actions/lib/__init__.py)

# isort: split
from avamar_pack.remediation.release_node_lock import release_node_lock
from lib.avamar_action import AvamarAction, required_lock_owner


class ReleaseNodeLock(AvamarAction):
    """Release the remediation lock on the node held by `lock_owner` (idempotent)."""

    def run(self, server, lock_owner, command_timeout=None):
        def validate(settings):
            return {"lock_owner": required_lock_owner(lock_owner)}

        return self.execute(server, validate, release_node_lock, command_timeout=command_timeout)
