"""``prepare_remediation``: every input of the remediation workflow checked before the node is touched.

The workflow's metadata already carries JSON-schema bounds (StackStorm refuses a bad value when
it schedules the run). This module checks them again - a caller outside st2 (or a future edit of
the metadata) must not be able to skip them - and checks what a schema cannot express:

* the server is configured and its settings are valid (transport, paths);
* ``test_backup=true`` needs ``servers.<name>.test_backup.client``;
* the approval policy of the config can be satisfied (``ApprovalPolicy.problem()``);
* the timeouts are long enough for what they wait for (an MCS restart takes minutes);
* the chat route starts with ``avamar`` (else the approval request is never posted);
* ``detection`` (an untrusted trigger payload) is an object about this server; only its known
  fields are kept, strings are shortened, and ``{{``/``{%`` are broken up so that nothing from a
  log line can become a Jinja template when StackStorm renders the next task's input.

Why up front: every later step that refused an input would do so after earlier steps changed
the node (GSAN moved, MCS not restarted). Nothing here opens a transport.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from avamar_pack import chat
from avamar_pack.approval import ROUTE_RE, ApprovalPolicy
from avamar_pack.config import remediation_settings, server_settings, validate_server_name
from avamar_pack.errors import ValidationError
from avamar_pack.node.paths import NodePaths
from avamar_pack.validators import boolean, whole_number

# Bounds shared with actions/remediate_session_tickets.yaml (a test checks they agree).
BOUNDS: Dict[str, tuple] = {
    "serial_margin": (1, 1_000_000_000),
    "max_publickey_attempts": (1, 20),
    # An MCS restart takes minutes on a real utility node; below a minute the wait would give up on
    # a restart that is still running and leave MCS in an unknown state after GSAN moved.
    "mcs_restart_timeout": (60, 24 * 3600),
    "test_backup_timeout": (60, 24 * 3600),
}
DEFAULTS = {"mcs_restart_timeout": 900, "test_backup_timeout": 3600}

# Fields of the three triggers that can start the workflow (sensors/*.yaml payload schemas).
_TEXT_FIELDS = (
    "server",
    "client",
    "message",
    "log_file",
    "first_seen",
    "last_seen",
    "source",
    "kind",
    "line",
    "seen_at",
    "trigger",
)
_INT_FIELDS = ("count", "code", "serial", "minserial")
_MAX_TEXT = 500
_MAX_ITEMS = 100


def defuse(text: str) -> str:
    """Untrusted text made inert for StackStorm's parameter rendering and shortened."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text[: _MAX_TEXT * 2])
    while "{{" in cleaned or "{%" in cleaned:
        cleaned = cleaned.replace("{{", "{ {").replace("{%", "{ %")
    return cleaned[:_MAX_TEXT]


def _small_int(value: Any) -> Optional[int]:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value < 2**63 else None


def clean_detection(detection: Any, server: str) -> Dict[str, Any]:
    """The known fields of a trigger payload, typed and defused; ValidationError if it is not one."""
    if detection is None or detection == "":
        return {}
    if not isinstance(detection, Mapping):
        raise ValidationError(f"detection must be an object (a trigger payload), got {type(detection).__name__}")
    named = detection.get("server")
    if named is not None and named != server:
        raise ValidationError(f"detection is about server {str(named)[:63]!r}, not {server!r}")
    out: Dict[str, Any] = {}
    for key in _TEXT_FIELDS:
        if isinstance(detection.get(key), str):
            out[key] = defuse(detection[key])
    for key in _INT_FIELDS:
        number = _small_int(detection.get(key))
        if number is not None:
            out[key] = number
    codes = detection.get("codes")
    if isinstance(codes, list):
        out["codes"] = [c for c in (_small_int(c) for c in codes[:_MAX_ITEMS]) if c is not None]
    clients = detection.get("clients")
    if isinstance(clients, list):
        out["clients"] = [defuse(c) for c in clients[:_MAX_ITEMS] if isinstance(c, str)]
    ticket = detection.get("ticket")
    if isinstance(ticket, Mapping):
        out["ticket"] = {
            defuse(str(k))[:40]: (_small_int(v) if not isinstance(v, str) else defuse(v))
            for k, v in list(ticket.items())[:20]
        }
    activities = detection.get("activities")
    if isinstance(activities, list):
        out["activities"] = [_clean_activity(a) for a in activities[:_MAX_ITEMS] if isinstance(a, Mapping)]
    return out


def _clean_activity(activity: Mapping[str, Any]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for key in ("id", "client", "started", "status", "type"):
        value = activity.get(key)
        if isinstance(value, str):
            out[key] = defuse(value)[:120]
        elif key == "id" and _small_int(value) is not None:
            out[key] = str(value)
    minutes = activity.get("minutes")
    if isinstance(minutes, (int, float)) and not isinstance(minutes, bool) and 0 <= minutes < 10**7:
        out["minutes"] = minutes
    return out


def failures_of(detection: Mapping[str, Any]) -> Dict[str, Any]:
    """How many failures and which clients a detection stands for (for folding into a pending run)."""
    clients: List[str] = list(detection.get("clients") or [])
    if detection.get("client") and detection["client"] not in clients:
        clients.insert(0, detection["client"])
    for activity in detection.get("activities") or []:
        if activity.get("client") and activity["client"] not in clients:
            clients.append(activity["client"])
    count = detection.get("count")
    if not isinstance(count, int) or count < 1:
        count = len(detection.get("activities") or []) or (1 if detection else 0)
    return {"count": count, "clients": clients[:_MAX_ITEMS]}


def prepare(config: Mapping[str, Any], params: Mapping[str, Any]) -> Dict[str, Any]:
    """Validated, resolved settings of one remediation run; raises ValidationError (ConfigError)."""
    server = validate_server_name(params.get("server"))
    settings = server_settings(config, server)
    policy = ApprovalPolicy.from_config(config)
    remediation = remediation_settings(config)
    dry_run = boolean(params.get("dry_run", False), "dry_run")
    test_backup = boolean(params.get("test_backup", True), "test_backup")
    resolved: Dict[str, Any] = {"server": server, "dry_run": dry_run, "test_backup": test_backup}
    from_config = {
        "serial_margin": remediation.serial_margin,
        "max_publickey_attempts": remediation.max_publickey_attempts,
    }
    for name, (low, high) in BOUNDS.items():
        value = params.get(name)
        if value is None:
            value = from_config.get(name, DEFAULTS.get(name))
        # st2 casts "60" to 60 before the action sees it; a caller outside st2 may still pass text.
        resolved[name] = whole_number(value, name, minimum=low, maximum=high)
    route = params.get("notify_route")
    route = policy.route if route in (None, "") else route
    if not isinstance(route, str) or not ROUTE_RE.match(route):
        raise ValidationError(
            f"notify_route {str(route)[:40]!r} must start with 'avamar' (letters, digits, - and _): "
            "rules/notify_approval_request.yaml posts approval requests only for such routes"
        )
    resolved["route"] = route
    if test_backup and settings.test_backup is None:
        raise ValidationError(
            f"test_backup is true but servers.{server}.test_backup.client is not configured: "
            "configure the test client, or run with test_backup=false"
        )
    problem = policy.problem()
    if problem and not dry_run:
        raise ValidationError(f"approval policy: {problem}")
    resolved["policy"] = policy.as_dict()
    resolved["approval_required"] = policy.required
    resolved["flush_mcs"] = remediation.flush_mcs
    resolved["test_client"] = settings.test_backup.client if settings.test_backup else None
    resolved["srl_path"] = NodePaths(settings.avamar_root).srl
    resolved["detection"] = clean_detection(params.get("detection"), server)
    resolved["failures"] = failures_of(resolved["detection"])
    resolved["chat_colours"] = dict(chat.OUTCOME_COLOURS)  # the report's Slack attachment colour
    return resolved


def route_for_report(config: Mapping[str, Any], params: Mapping[str, Any]) -> str:
    """Where to post a refusal: the caller's route if it is one, else the config's, else ``avamar``."""
    route = params.get("notify_route")
    if isinstance(route, str) and ROUTE_RE.match(route):
        return route
    try:
        return ApprovalPolicy.from_config(config).route
    except ValidationError:
        return "avamar"
