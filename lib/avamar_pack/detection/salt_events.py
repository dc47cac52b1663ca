"""Read Salt's event bus through salt-api's ``/events`` stream (server-sent events).

Two kinds of events carry avtar lines to the sensor (see ``contrib/salt/``):

* a ``log`` beacon on a client watching its avtar logs. Salt fires one event per matched line,
  tag ``salt/beacon/<minion>/log/<beacon tag>``, data ``{"raw": "<the line>", "id": <minion>, ...}``;
* ``salt-call event.send avamar/avtar/failure data='{"lines": [...], "log_file": "..."}'``: a whole
  excerpt, acted on at once; ``avamar/avtar/line`` with ``{"lines": [one line]}`` (what the
  contrib reactor forwards from a beacon) settles like a beacon line. On the master bus a
  minion's ``event.send`` payload sits under ``data``.

Only tags starting with one of the configured prefixes are kept. The client logs in with
``POST /login`` (the configured eauth), sends the token as ``X-Auth-Token``, logs in again when
the API answers 401 (expired token), and reconnects with exponential backoff capped at
``backoff_max`` seconds; the backoff resets once a stream delivered something. ``requests`` is
green under eventlet, so the reader runs as a (green) thread beside the file follower.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import requests

from avamar_pack.config import SaltApiSettings

MAX_EVENT_BYTES = 1 << 20
MAX_LINES_PER_EVENT = 1000
DEFAULT_PREFIXES = ("salt/beacon/", "avamar/")

log = logging.getLogger(__name__)


def _as_lines(value: Any) -> List[str]:
    if isinstance(value, str):
        return value.splitlines()[:MAX_LINES_PER_EVENT]
    if isinstance(value, (list, tuple)):
        out: List[str] = []
        for item in value[:MAX_LINES_PER_EVENT]:
            if isinstance(item, str):
                out.extend(item.splitlines())
        return out[:MAX_LINES_PER_EVENT]
    return []


def event_lines(tag: str, data: Any) -> Tuple[str, str, List[str], bool]:
    """(minion id, log file label, avtar/GSAN lines, whether the event is a complete excerpt)."""
    if not isinstance(data, dict):
        return "", "", [], False
    inner = data.get("data") if isinstance(data.get("data"), dict) else {}
    minion = data.get("id") or inner.get("id") or ""
    if tag.startswith("salt/beacon/"):
        parts = tag.split("/")
        minion = minion or (parts[2] if len(parts) > 2 else "")
        lines = _as_lines(data.get("raw") if "raw" in data else inner.get("raw"))
        complete = False  # one line per event: the run settles like a file's
    else:
        source = inner or data
        lines = _as_lines(source.get("lines") if "lines" in source else source.get("line"))
        # avamar/avtar/line: one line forwarded by a reactor (settles like a beacon's);
        # any other avamar/... tag (avamar/avtar/failure): a whole excerpt, acted on at once.
        complete = not tag.startswith("avamar/avtar/line")
    minion = str(minion)[:255]
    log_file = ""
    for where in (inner, data):
        if isinstance(where.get("log_file"), str):
            log_file = where["log_file"][:1024]
            break
    label = f"salt://{minion}/{log_file.lstrip('/')}" if log_file else f"salt://{minion}"
    return minion, label, lines, complete


def parse_sse(lines: Iterable[str]) -> Iterable[Tuple[str, Dict[str, Any]]]:
    """(tag, data) of each server-sent event whose ``data:`` is salt-api's ``{"tag", "data"}`` JSON."""
    buf: List[str] = []
    size = 0
    oversized = False
    for raw in lines:
        line = raw.rstrip("\r")
        if line == "":  # end of one event
            if buf and not oversized:
                try:
                    event = json.loads("\n".join(buf))
                except ValueError:
                    event = None
                    log.info("salt-api sent an event that is not JSON; skipped")
                if isinstance(event, dict) and isinstance(event.get("tag"), str):
                    data = event.get("data")
                    yield event["tag"], data if isinstance(data, dict) else {}
            buf, size, oversized = [], 0, False
            continue
        if line.startswith("data:") and not oversized:
            piece = line[5:].lstrip(" ")
            size += len(piece)
            if size > MAX_EVENT_BYTES:
                log.info("salt-api event larger than %s bytes skipped", MAX_EVENT_BYTES)
                buf, oversized = [], True
            else:
                buf.append(piece)


class AuthExpired(Exception):
    """salt-api answered 401: the token expired or was revoked."""


class SaltEventClient:
    """A salt-api ``/events`` reader feeding ``on_event(tag, data)`` for the configured tag prefixes."""

    def __init__(
        self,
        settings: SaltApiSettings,
        on_event: Callable[[str, Dict[str, Any]], None],
        prefixes: Sequence[str] = DEFAULT_PREFIXES,
        *,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        read_timeout: float = 300.0,
        session: Optional[requests.Session] = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.on_event = on_event
        self.prefixes = tuple(prefixes) or DEFAULT_PREFIXES
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.read_timeout = read_timeout
        self.session = session or requests.Session()
        self.sleep = sleep
        self.token: Optional[str] = None
        self.stop_event = threading.Event()
        self.logins = 0
        self.connects = 0
        self.events = 0
        self.chunked: Optional[bool] = None  # how the last stream was framed (for tests and logs)
        self.connected = threading.Event()  # set while a stream is open (tests wait on it)

    def login(self) -> str:
        response = self.session.post(
            self.settings.api_url + "/login",
            json={"username": self.settings.username, "password": self.settings.password,
                  "eauth": self.settings.eauth},
            headers={"Accept": "application/json"},
            timeout=30,
            verify=self.settings.verify_ssl,
        )
        if response.status_code in (401, 403):
            raise AuthExpired(f"salt-api refused the login of {self.settings.username!r} (HTTP {response.status_code})")
        response.raise_for_status()
        self.token = response.json()["return"][0]["token"]
        self.logins += 1
        return self.token

    def stream_once(self) -> int:
        """Open ``/events`` and read it until it ends; returns the number of events handed on."""
        if self.token is None:
            self.login()
        response = self.session.get(
            self.settings.api_url + "/events",
            headers={"X-Auth-Token": self.token or "", "Accept": "text/event-stream"},
            stream=True,
            timeout=(30, self.read_timeout),
            verify=self.settings.verify_ssl,
        )
        try:
            if response.status_code == 401:
                self.token = None
                raise AuthExpired("salt-api answered 401 on /events")
            response.raise_for_status()
            self.connects += 1
            self.connected.set()
            handed = 0
            # salt-api (CherryPy) sends each event as one HTTP chunk, and urllib3 hands a chunk over
            # as soon as it is complete: big reads cost no latency. A response without chunked
            # encoding would make a big read wait for the buffer to fill, so it is read bytewise.
            chunked = "chunked" in response.headers.get("Transfer-Encoding", "").lower()
            lines = response.iter_lines(chunk_size=8192 if chunked else 1, decode_unicode=True)
            self.chunked = chunked
            for tag, data in parse_sse(lines):
                if self.stop_event.is_set():
                    break
                if tag.startswith(self.prefixes):
                    self.events += 1
                    handed += 1
                    self.on_event(tag, data)
            return handed
        finally:
            self.connected.clear()
            response.close()

    def run_forever(self) -> None:
        """Read until ``stop()``: re-login on 401, reconnect with bounded exponential backoff."""
        delay = self.backoff_initial
        relogin_now = True  # the first 401 in a row re-logs in at once; repeated ones back off
        while not self.stop_event.is_set():
            wait = delay
            try:
                if self.stream_once():
                    delay, wait = self.backoff_initial, 0.0
                relogin_now = True
            except AuthExpired as exc:
                log.warning("%s; logging in again", exc)
                self.token = None
                if relogin_now:
                    wait, relogin_now = 0.0, False
            except (requests.RequestException, ValueError, KeyError, IndexError, TypeError) as exc:
                log.warning("salt-api event stream: %s; reconnecting in %.1f s", type(exc).__name__, delay)
            if self.stop_event.is_set():
                break
            if wait > 0:
                self.sleep(wait) if self.sleep is not time.sleep else self.stop_event.wait(wait)
                delay = min(self.backoff_max, delay * 2)

    def stop(self) -> None:
        self.stop_event.set()
        self.session.close()
