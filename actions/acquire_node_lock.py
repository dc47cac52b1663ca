import lib  # noqa: F401 - first: puts the pack's lib/ on sys.path (actions/lib/__init__.py)

# isort: split
from avamar_pack.remediation.acquire_node_lock import acquire_node_lock
from lib.avamar_action import AvamarAction, required_lock_owner


class AcquireNodeLock(AvamarAction):
    """Take the node lock for lock_owner (taking over a lock whose st2 execution ended), then re-check."""

    def run(self, server, lock_owner, command_timeout=None):
        def validate(settings):
            liveness, api_url = self.lock_owner_liveness()
            return {"lock_owner": required_lock_owner(lock_owner), "liveness": liveness, "st2_api": api_url}

        return self.execute(server, validate, acquire_node_lock, command_timeout=command_timeout)
