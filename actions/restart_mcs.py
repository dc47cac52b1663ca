import lib  # noqa: F401 - first: puts the pack's lib/ on sys.path (actions/lib/__init__.py)

# isort: split
from avamar_pack.node.lock import validate_lock_owner
from avamar_pack.remediation.restart_mcs import restart_mcs
from avamar_pack.remediation.waiting import Wait
from lib.avamar_action import AvamarAction, wait_limit

# Under StackStorm `timeout` is the python runner's kill limit: st2 keeps it and never passes it to run(),
# so the wait is `wait_seconds`, by default a little under the default kill limit.
DEFAULT_WAIT_S = 840


class RestartMcs(AvamarAction):
    """`mcserver.sh --restart`, then wait until `dpnctl status mcs` says `MCS status: up.`."""

    def run(self, server, timeout=None, lock_owner=None, command_timeout=None, wait_seconds=None):
        def validate(settings):
            return {
                "wait": Wait(wait_limit(wait_seconds, timeout, DEFAULT_WAIT_S)),
                "lock_owner": validate_lock_owner(lock_owner),
            }

        return self.execute(server, validate, restart_mcs, command_timeout=command_timeout)
