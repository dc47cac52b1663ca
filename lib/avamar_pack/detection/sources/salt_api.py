"""salt-api's ``/events`` stream (server-sent events): login, re-login on 401, bounded backoff.

Only the transport: ``SaltEventClient`` hands each ``(tag, data)`` whose tag starts with one of
the configured prefixes to ``on_event``; what an event means and whom to trust is ``salt.py``'s.
The client logs in with ``POST /login`` (the configured eauth), sends the token as
``X-Auth-Token``, logs in again when the API answers 401 (expired token), and reconnects with
exponential backoff capped at ``backoff_max`` seconds; the backoff resets once a stream
delivered something. ``requests`` is green under eventlet, so the reader runs as a (green)
thread beside the file source.
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
DEFAULT_PREFIXES = ("salt/beacon/", "avamar/")

log = logging.getLogger(__name__)


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
            json={"username": self.settings.username, "password": self.settings.password, "eauth": self.settings.eauth},
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
