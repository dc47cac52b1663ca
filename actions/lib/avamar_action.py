"""Base class of the pack's Python actions: config -> validated settings -> node -> result.

In the style of the Exchange packs' ``actions/lib`` (e.g. stackstorm-jira's base action): the
action classes are thin. Each one validates its parameters, names the library function that
does the work, and lets this class handle the rest the same way for every action:

* ``server`` and every parameter are validated BEFORE any transport is opened, so hostile
  input (an unknown server, shell metacharacters, a non-integer serial) runs nothing;
* the library function returns its report (``avamar_pack.remediation.report``): success is
  ``(True, {"server": ..., **report.as_result()})``;
* a failure is ``StepFailed`` carrying the report as far as it got: ``(False, result)`` holds
  those fields plus ``error: {step, reason, state_left}``; never a traceback, never a secret.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from avamar_pack.config import RemediationSettings, ServerSettings, remediation_settings, server_settings
from avamar_pack.errors import AvamarPackError, StepFailed, ValidationError
from avamar_pack.node.lock import DEFAULT_TTL_S, validate_lock_owner
from avamar_pack.node.node import AvamarNode
from avamar_pack.node.paths import NodePaths
from avamar_pack.remediation.acquire_node_lock import Liveness, st2_liveness
from avamar_pack.remediation.report import StepReport
from avamar_pack.st2api import St2Api
from avamar_pack.transport import open_transport
from avamar_pack.transport.redact import configured_secrets, mask_secrets
from avamar_pack.validators import whole_number
from st2common.runners.base_action import Action

# A remediation function: the node and the validated parameters in, its report out.
Work = Callable[..., StepReport]
ActionResult = Tuple[bool, Dict[str, Any]]

MAX_TIMEOUT_S = 24 * 3600
DEFAULT_COMMAND_TIMEOUT = 120


class AvamarAction(Action):
    """Shared plumbing of every ``avamar.*`` Python action."""

    def __init__(self, config: Optional[Mapping[str, Any]] = None, action_service: Any = None) -> None:
        super().__init__(config=config, action_service=action_service)

    # How the actions reach st2's API (tests replace it): St2Api.from_env raises outside st2.
    st2_api_factory: Callable[[], Any] = staticmethod(St2Api.from_env)

    def lock_owner_liveness(self) -> Tuple[Optional[Liveness], Optional[str]]:
        """Whether a lock's owning execution is live, per st2's API, and that API's URL.

        (None, None) outside StackStorm: locks are then judged by their age only."""
        try:
            api = self.st2_api_factory()
        except AvamarPackError:
            return None, None
        return st2_liveness(api), getattr(api, "api_url", None)

    # -- parameter helpers (raise ValidationError) ----------------------------------------------
    def remediation_settings(self) -> RemediationSettings:
        """``remediation.*`` of the pack config, schema defaults for what is not set (ConfigError)."""
        return remediation_settings(dict(self.config or {}))

    def remediation_setting(self, key: str, value: Any, *, minimum: int = 1, maximum: int = 10**9) -> int:
        """``value`` (an action parameter) if given, else ``remediation.<key>`` of the pack config."""
        if value is None:
            value = getattr(self.remediation_settings(), key)
        return whole_number(value, key, minimum=minimum, maximum=maximum)

    # -- the one way an action runs -----------------------------------------------------------
    def execute(
        self,
        server: Any,
        validate: Callable[[ServerSettings], Dict[str, Any]],
        work: Work,
        *,
        command_timeout: Any = None,
        lock_ttl_s: float = DEFAULT_TTL_S,
    ) -> ActionResult:
        """Validate (``server`` then the rest), open the node, return what ``work(node, **params)`` reports."""
        result: Dict[str, Any] = {}
        try:
            settings = server_settings(dict(self.config), server)
            params = validate(settings)
            timeout_s = whole_number(
                DEFAULT_COMMAND_TIMEOUT if command_timeout is None else command_timeout, "command_timeout", maximum=3600
            )
        except ValidationError as exc:  # ConfigError is a ValidationError
            return self._failed(result, StepFailed("validate", str(exc), "nothing was run"))
        result["server"] = settings.name
        try:
            transport = open_transport(settings, dict(self.config))
        except (AvamarPackError, ValueError) as exc:
            return self._failed(result, StepFailed("connect", str(exc), "nothing was run"))
        try:
            with transport:
                node = AvamarNode(
                    transport,
                    NodePaths(settings.avamar_root),
                    lock_ttl_s=lock_ttl_s,
                    command_timeout_s=float(timeout_s),
                )
                report = work(node, **params)
        except StepFailed as exc:
            result.update(exc.partial_result())
            return self._failed(result, exc)
        except AvamarPackError as exc:  # a transport error outside a named step (e.g. connecting)
            return self._failed(result, StepFailed("connect", str(exc), "unknown: the node could not be reached"))
        except Exception as exc:  # noqa: BLE001 - a bug: report it plainly, with no traceback in the result
            self.logger.exception("unexpected error in %s", type(self).__name__)
            return self._failed(
                result, StepFailed("internal", f"{type(exc).__name__}: {str(exc)[:300]}", "unknown: see the action log")
            )
        result.update(report.as_result())
        return True, result

    def _failed(self, result: Dict[str, Any], exc: StepFailed) -> ActionResult:
        # A last line of defence: no configured secret leaves the action, whatever a message quoted.
        secrets = configured_secrets(dict(self.config or {}))
        reason = mask_secrets(str(exc.reason), secrets)
        state_left = mask_secrets(exc.state_left, secrets) if isinstance(exc.state_left, str) else exc.state_left
        self.logger.log(logging.WARNING, "%s: %s failed: %s", type(self).__name__, exc.step, reason)
        result["error"] = {"step": exc.step, "reason": reason, "state_left": state_left}
        return False, result


def wait_limit(wait_seconds: Any, timeout: Any, default: int) -> int:
    """How long an action waits (validated): ``wait_seconds``, else ``timeout`` where a caller hands it over.

    Under StackStorm ``timeout`` is a python-runner parameter (the kill limit): st2 keeps it and
    never passes it to ``run()``, so a wait the action must honour has its own name.
    """
    if wait_seconds is not None:
        value = wait_seconds
    else:
        value = default if timeout is None else timeout
    return whole_number(value, "wait_seconds", maximum=MAX_TIMEOUT_S)


def required_lock_owner(value: Any) -> str:
    """``lock_owner`` for the actions that exist to take or give back the lock: never empty."""
    owner = validate_lock_owner(value)
    if owner is None:
        raise ValidationError("lock_owner is required")
    return owner
