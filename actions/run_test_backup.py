import lib  # noqa: F401 - first: puts the pack's lib/ on sys.path (actions/lib/__init__.py)

# isort: split
from avamar_pack.config import validate_client_name
from avamar_pack.errors import ValidationError
from avamar_pack.node.lock import validate_lock_owner
from avamar_pack.remediation.run_test_backup import run_test_backup
from avamar_pack.remediation.waiting import Wait
from lib.avamar_action import AvamarAction, wait_limit

DEFAULT_WAIT_S = 3300  # under the metadata's runner timeout (see restart_mcs.py)


def _dataset(value):
    bad = not isinstance(value, str) or not value.startswith("/") or len(value) > 255
    if bad or any(c in value for c in "\x00\r\n"):
        raise ValidationError(f"dataset {str(value)[:60]!r} must be an MCS path such as '/Default Dataset'")
    return value


class RunTestBackup(AvamarAction):
    """Back up the configured test client and wait; succeeds only when the activity Completed."""

    def run(
        self, server, client=None, dataset=None, timeout=None, lock_owner=None, command_timeout=None, wait_seconds=None
    ):
        def validate(settings):
            configured = settings.test_backup
            name = client or (configured.client if configured else None)
            if not name:
                raise ValidationError(f"no client given and servers.{settings.name}.test_backup is not configured")
            return {
                "client": validate_client_name(name),
                "dataset": _dataset(dataset or (configured.dataset if configured else "/Default Dataset")),
                "wait": Wait(wait_limit(wait_seconds, timeout, DEFAULT_WAIT_S)),
                "lock_owner": validate_lock_owner(lock_owner),
            }

        return self.execute(server, validate, run_test_backup, command_timeout=command_timeout)
