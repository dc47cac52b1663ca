"""The trigger payload (``detection``) turned into diagnosis evidence. The payload is UNTRUSTED.

A workflow started by a rule passes the trigger's payload through; anyone who can run the
action can pass anything. So every field is validated against what the pack's own sensors
emit (``sensors/*.yaml`` payload_schema and the checks below); a field that does not validate
is ignored (and named in ``ignored``), never guessed at, never interpolated into a command,
and text is quoted only after re-parsing it as the log line it claims to be.

Shapes (told apart by their fields; an explicit ``trigger`` key may name the type):

* ``backup_auth_failure``: ``server, client, clients, codes, message, ticket, log_file,
  first_seen, last_seen, count, source`` -> one ``auth_failure`` evidence item worth ``count``
  failed backups. This is what lets a node whose client logs live on the clients (scenario
  ``gsan_rolled_back``) be diagnosed: MCS ahead of GSAN plus failing backups = GSAN is behind.
* ``session_ticket_warning``: ``server, code, kind, serial, minserial, line, seen_at, source``
  -> the GSAN warning, read from ``line`` when it parses, else from the fields.
* ``backup_stalled``: ``server, activities [{id, client, started, minutes}], source`` -> cited
  in the findings only (a hung backup alone does not prove session-ticket drift).

Times in payloads are the log's own (no zone): ``2026-11-25T10:00:03``; a zone, if given, is
converted to UTC and dropped, like the node's.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, List, Mapping, Optional

from avamar_pack.config import CLIENT_NAME_RE, SERVER_NAME_RE
from avamar_pack.diagnosis import Evidence
from avamar_pack.parsing import avtar, gsan
from avamar_pack.parsing.avtar_runs import format_record

MAX_TEXT = 1000
MAX_PAYLOAD_CHARS = 256 * 1024
MAX_COUNT = 10**6
MAX_LISTED = 20
MAX_SERIAL = 2**63 - 1
SOURCES = ("file", "salt", "mcs")
_ACTIVITY_ID_RE = re.compile(r"^[0-9]{1,32}\Z")
_ISO_RE = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?\Z"
)


@dataclass
class TriggerEvidence:
    """What a payload contributes: evidence for the rules, findings citing it, what was ignored."""

    trigger: Optional[str] = None
    evidence: List[Evidence] = field(default_factory=list)
    findings: List[str] = field(default_factory=list)
    ignored: List[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"trigger": self.trigger, "evidence_items": len(self.evidence), "ignored": list(self.ignored)}


def from_payload(payload: Any, server: str) -> TriggerEvidence:
    """Validate ``payload`` for ``server``; never raises on any input."""
    out = TriggerEvidence()
    if payload is None or payload == {} or payload == "":
        return out
    if isinstance(payload, str):
        payload = _decode(payload, out)
        if payload is None:
            return out
    elif not _small(payload):
        out.ignored.append(f"detection is larger than {MAX_PAYLOAD_CHARS} characters: ignored")
        return out
    if not isinstance(payload, Mapping):
        out.ignored.append(f"detection is not an object ({type(payload).__name__}): ignored")
        return out
    named = payload.get("server")
    if not isinstance(named, str) or not SERVER_NAME_RE.match(named):
        out.ignored.append("detection.server is missing or not a server name: the payload was ignored")
        return out
    if named != server:
        out.ignored.append(f"detection names server {named!r}, not {server!r}: the payload was ignored")
        return out
    kind = _trigger_type(payload)
    out.trigger = kind
    source = payload.get("source")
    if source not in SOURCES:
        out.ignored.append("detection.source")
        source = None
    if kind == "backup_auth_failure":
        _auth_failure(payload, source, out)
    elif kind == "session_ticket_warning":
        _ticket_warning(payload, source, out)
    elif kind == "backup_stalled":
        _stalled(payload, out)
    else:
        out.ignored.append("detection has the fields of no known trigger: the payload was ignored")
    return out


def _decode(text: str, out: TriggerEvidence) -> Any:
    """A payload that arrived as text (a rule rendering ``{{ trigger }}``): JSON or a Python literal."""
    if len(text) > MAX_PAYLOAD_CHARS:
        out.ignored.append(f"detection is larger than {MAX_PAYLOAD_CHARS} characters: ignored")
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)  # literals only: never evaluates code
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        out.ignored.append("detection is text that is neither JSON nor a literal: ignored")
        return None


def _small(payload: Any) -> bool:
    try:
        return len(json.dumps(payload, default=str)) <= MAX_PAYLOAD_CHARS
    except (TypeError, ValueError, RecursionError):
        return False


def _trigger_type(payload: Mapping[str, Any]) -> Optional[str]:
    named = payload.get("trigger")
    if isinstance(named, str):
        named = named.rsplit(".", 1)[-1]
        if named in ("backup_auth_failure", "session_ticket_warning", "backup_stalled"):
            return named
    if "activities" in payload:
        return "backup_stalled"
    if "code" in payload and "kind" in payload:
        return "session_ticket_warning"
    if "count" in payload or "codes" in payload or "message" in payload:
        return "backup_auth_failure"
    return None


def _auth_failure(payload: Mapping[str, Any], source: Optional[str], out: TriggerEvidence) -> None:
    count = _int(payload.get("count"), 1, MAX_COUNT)
    if count is None:
        out.ignored.append("detection.count")
        count = 1
    codes = payload.get("codes")
    valid_codes = [c for c in codes if _int(c, 1, 99999) is not None][:MAX_LISTED] if isinstance(codes, list) else []
    if not isinstance(codes, list) or len(valid_codes) != len(codes[:MAX_LISTED]):
        out.ignored.append("detection.codes (some or all)")
    record = _auth_record(payload.get("message"))
    if avtar.CODE_AUTH_FAIL not in valid_codes and record is None:
        # Neither the codes nor the message say MSG_ERR_AUTH_FAIL: not evidence of this outage.
        out.ignored.append("detection has no 5704 code and no FATAL <5704> message: not counted")
        return
    if record is None:
        out.ignored.append("detection.message (not an avtar 5704 line)")
    clients = _clients(payload, out)
    first = _time(payload.get("first_seen"))
    last = _time(payload.get("last_seen"))
    for name, value in (("first_seen", first), ("last_seen", last)):
        if value is None and payload.get(name) is not None:
            out.ignored.append(f"detection.{name}")
    when = last or first
    line = format_record(record)[:MAX_TEXT] if record else "avtar FATAL <5704> (MSG_ERR_AUTH_FAIL), from the trigger"
    out.evidence.append(Evidence("trigger", "auth_failure", None, None, when, f"trigger: {line}", count=count))
    where = (
        f" on {', '.join(clients[:5])}" + (f" and {len(clients) - 5} more" if len(clients) > 5 else "")
        if clients
        else ""
    )
    span = f" between {first.isoformat(sep=' ')} and {last.isoformat(sep=' ')}" if first and last else ""
    via = f" (seen by the sensor's {source} source)" if source else ""
    out.findings.append(
        f"The trigger reports {count} failed backup(s) with MSG_ERR_AUTH_FAIL (avtar 5704){where}{span}{via}."
    )


def _auth_record(message: Any) -> Optional[avtar.AvtarRecord]:
    if not isinstance(message, str) or len(message) > avtar.MAX_LINE:
        return None
    for record in avtar.scan_line(message).records:
        if record.code == avtar.CODE_AUTH_FAIL and record.is_failure:
            return record
    return None


def _ticket_warning(payload: Mapping[str, Any], source: Optional[str], out: TriggerEvidence) -> None:
    code = _int(payload.get("code"), 0, 99999)
    if code not in gsan.KIND_BY_CODE:
        out.ignored.append("detection.code is not 1479, 1418 or 1426: the payload was ignored")
        return
    kind = gsan.KIND_BY_CODE[code]
    if payload.get("kind") != kind:
        out.ignored.append("detection.kind (does not match the code; the code's kind is used)")
    line = payload.get("line")
    parsed = [w for w in gsan.scan_line(line) if w.code == code] if isinstance(line, str) else []
    seen_at = _time(payload.get("seen_at"))
    if parsed:
        warning = parsed[0]
        serial, minserial = warning.serial, warning.minserial
        when = warning.timestamp or seen_at
        text = warning.text[:MAX_TEXT]
    else:
        out.ignored.append("detection.line (not a GSAN sessionkeytable line)")
        serial = _int(payload.get("serial"), 0, MAX_SERIAL)
        minserial = _int(payload.get("minserial"), 0, MAX_SERIAL)
        when = seen_at
        text = f"GSAN <{code}> {kind.replace('_', ' ')}, from the trigger"
    out.evidence.append(Evidence("trigger", kind, serial, minserial, when, f"trigger: {text}"))
    via = f" (seen by the sensor's {source} source)" if source else ""
    detail = f" serial {serial}" if serial is not None else ""
    out.findings.append(f"The trigger reports GSAN warning {code} ({kind.replace('_', ' ')}){detail}{via}.")


def _stalled(payload: Mapping[str, Any], out: TriggerEvidence) -> None:
    items = payload.get("activities")
    if not isinstance(items, list):
        out.ignored.append("detection.activities")
        return
    good = []
    for item in items[:MAX_LISTED]:
        if not isinstance(item, Mapping):
            continue
        act_id = item.get("id")
        client = item.get("client")
        minutes = _int(item.get("minutes"), 0, 10**7)
        if not (isinstance(act_id, str) and _ACTIVITY_ID_RE.match(act_id)):
            continue
        client_text = client if isinstance(client, str) and CLIENT_NAME_RE.match(client) else "unknown client"
        good.append(f"{act_id} ({client_text}{f', {minutes} min' if minutes is not None else ''})")
    if len(good) != len(items[:MAX_LISTED]):
        out.ignored.append("detection.activities (some entries)")
    if good:
        out.findings.append(
            f"The trigger reports {len(items)} backup(s) running with no progress: "
            f"{', '.join(good[:5])}{' ...' if len(good) > 5 else ''} (backups may stop "
            "responding while session tickets are refused)."
        )


def _clients(payload: Mapping[str, Any], out: TriggerEvidence) -> List[str]:
    raw = payload.get("clients")
    names = raw if isinstance(raw, list) else []
    if isinstance(payload.get("client"), str):
        names = [payload["client"]] + list(names)
    good: List[str] = []
    for name in names[:100]:
        if isinstance(name, str) and CLIENT_NAME_RE.match(name) and name not in good:
            good.append(name)
    if raw is not None and (
        not isinstance(raw, list) or any(not (isinstance(n, str) and CLIENT_NAME_RE.match(n)) for n in raw[:100])
    ):
        out.ignored.append("detection.clients (some or all)")
    return good[:MAX_LISTED]


def _int(value: Any, low: int, high: int) -> Optional[int]:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def _time(value: Any) -> Optional[datetime]:
    if not isinstance(value, str) or not _ISO_RE.match(value):
        return None
    text = value.replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    if re.search(r"[+-][0-9]{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed
