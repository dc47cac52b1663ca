import lib  # noqa: F401 - first: puts the pack's lib/ on sys.path (actions/lib/__init__.py)

# isort: split
from avamar_pack.config import validate_server_name
from avamar_pack.errors import ValidationError
from avamar_pack.pending import FOLD_TTL_S, check_pending
from avamar_pack.st2api import St2Api
from st2common.runners.base_action import Action


class CheckPendingRemediation(Action):
    """Is another remediation of this server waiting for approval? Then this run's failures fold into it."""

    def run(self, server, execution_id=None, failures=None):
        try:
            server = validate_server_name(server)
        except ValidationError as exc:
            return False, {"error": {"step": "check_pending", "reason": str(exc), "state_left": "nothing changed"}}
        failures = failures if isinstance(failures, dict) else {}
        failures = {
            "count": failures.get("count") if isinstance(failures.get("count"), int) else 1,
            "clients": [c for c in failures.get("clients") or [] if isinstance(c, str)],
        }

        def get_value(key):
            return self.action_service.get_value(key, local=True)

        def set_value(key, value):
            return self.action_service.set_value(key, value, ttl=FOLD_TTL_S, local=True)

        return True, check_pending(St2Api.from_env, server, execution_id, failures, get_value, set_value)
