import lib  # noqa: F401 - first: puts the pack's lib/ on sys.path (actions/lib/__init__.py)

# isort: split
from avamar_pack.errors import ValidationError
from avamar_pack.node.lock import validate_lock_owner
from avamar_pack.remediation.acquire_node_lock import acquire_node_lock
from lib.avamar_action import AvamarAction


class AcquireNodeLock(AvamarAction):
    """Take the node lock for lock_owner (taking over a lock whose st2 execution ended), then re-check."""

    def run(self, server, lock_owner, command_timeout=None):
        def validate(settings):
            owner = validate_lock_owner(lock_owner)
            if owner is None:
                raise ValidationError("lock_owner is required")
            liveness, api_url = self.lock_owner_liveness()
            return {"lock_owner": owner, "liveness": liveness, "st2_api": api_url}

        return self.execute(
            server,
            validate,
            lambda node, result, **p: acquire_node_lock(node, result=result, **p),
            command_timeout=command_timeout,
        )
