"""Helpers for the sensor tests: avtar/GSAN lines as Avamar writes them, a settable clock."""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional

from avtar_text import failing_run  # noqa: F401 - re-exported: the sensor tests import it from here
from watch_config import watch_config

# The KB's log lines, carried by the repository (tests/data/parsing), verbatim from the KB.
DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "parsing")


def seed_lines() -> List[str]:
    """The KB's physical lines, verbatim (records run together on one line, the cut timestamp)."""
    lines = []
    for name in ("avtar_kb_seed.txt", "gsan_kb_seed.txt"):
        with open(os.path.join(DATA, name), encoding="utf-8") as handle:
            lines.append(handle.read().splitlines(keepends=True))
    avtar = [line for line in lines[0] if line.startswith(("2019-12-31 07:35:23 avtar", "9-12-31 07:35:23 avtar"))]
    gsan = [line for line in lines[1] if "sessionkeytable::" in line]
    assert len(avtar) == 2 and len(gsan) == 2, (avtar, gsan)
    return avtar + gsan


class Clock:
    """A clock the test moves; the engine reads it for windows and settling."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def good_run(client: str, when: str = "2026-01-05 03:00:00") -> List[str]:
    lines = [
        f"{when} avtar Info <8474>: - Log file path: /usr/local/avamar/var/clientlogs/{client}.log",
        f"{when} avtar Info <5552>: Connecting to Avamar Server (avamar.com)",
        f"{when} avtar Info <5314>: Command completed (1 warning, exit code 0: success)",
        f"----- END avtar log {when} UTC  (1 warning, 0 errors, 0 fatal errors)",
    ]
    return [line + "\n" for line in lines]


def append(path: str, lines: List[str]) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.writelines(lines)
        handle.flush()


def config(tmp: str, window: int = 0, servers: Optional[Dict[str, dict]] = None, **sensor) -> dict:
    """A sensor config watching ``tmp``'s logs (tests/watch_config.py) for ``servers`` (default ``ava1``)."""
    return watch_config(tmp, servers or {"ava1": {"transport": "local", "host": "avamar.com"}}, window, **sensor)


def minion_event(tag: str, minion: str, data: dict) -> dict:
    """The bus data of ``salt-call event.send <tag>`` on ``minion`` as salt-api shows it (salt 3006+).

    The master fires the minion's whole request: ``id`` (checked by the master against the minion's
    authenticated session), ``cmd``, ``tag`` and, under ``data``, what the minion sent.
    """
    return {
        "id": minion,
        "cmd": "_minion_event",
        "tag": tag,
        "data": data,
        "pretag": None,
        "_stamp": "2026-01-05T03:00:00.000000",
    }


def beacon_event(minion: str, line: str, beacon: str = "avamar_avtar_log/avtar") -> tuple:
    """(tag, data) of one ``log`` beacon match as salt-api shows it (the batched form: no checked id)."""
    return f"salt/beacon/{minion}/{beacon}", {
        "id": minion,
        "raw": line,
        "tag": "avtar",
        "match": "yes",
        "_stamp": "2026-01-05T03:00:00.000000",
    }


def auth_payloads(dispatched) -> List[dict]:
    return [d["payload"] for d in dispatched if d["trigger"] == "avamar.backup_auth_failure"]


def warning_payloads(dispatched) -> List[dict]:
    return [d["payload"] for d in dispatched if d["trigger"] == "avamar.session_ticket_warning"]


class FakeSaltApi:
    """/login and /events; tokens expire on demand; scripted events."""

    def __init__(self) -> None:
        self.logins = 0
        self.valid = set()
        self.events = []
        self.requests = []
        self.fail_logins = 0
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                api.requests.append(("POST", self.path, body))
                if api.fail_logins:
                    api.fail_logins -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                api.logins += 1
                token = f"t{api.logins}"
                api.valid.add(token)
                data = json.dumps({"return": [{"token": token, "expire": time.time() + 60}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                token = self.headers.get("X-Auth-Token")
                api.requests.append(("GET", self.path, token))
                if token not in api.valid:
                    self.send_response(401)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                self.wfile.write(b"retry: 400\n\n")
                for tag, data in api.events:
                    self.wfile.write(f"tag: {tag}\ndata: {json.dumps({'tag': tag, 'data': data})}\n\n".encode())
                    self.wfile.flush()
                api.events = []
                api.valid.discard(token)  # the token "expires" after one stream

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
