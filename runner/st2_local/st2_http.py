"""The wire under the local st2 API: JSON over HTTP on 127.0.0.1, served from a thread.

Knows nothing of st2: every request becomes one call of ``handle(method, path, query, body,
token)`` (the body parsed from JSON, the token from ``X-Auth-Token``), which returns the status
code and the JSON body of the answer. ``st2_api.FakeSt2Api`` is the ``handle`` of the runner.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, List, Mapping, Optional, Tuple
from urllib.parse import parse_qs, urlparse

Handle = Callable[[str, str, Mapping[str, List[str]], Any, Optional[str]], Tuple[int, Any]]


class JsonHttpServer:
    """``handle`` served on an ephemeral port of 127.0.0.1 until :meth:`close`."""

    def __init__(self, handle: Handle, name: str = "fake-st2-api") -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(handle))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True, name=name)
        self._started = False

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        if not self._started:
            self.thread.start()
            self._started = True

    def close(self) -> None:
        if self._started:
            self.server.shutdown()
            self._started = False
        self.server.server_close()


def send_json(handler: BaseHTTPRequestHandler, code: int, body: Any) -> None:
    """Answer the request ``handler`` serves with ``body`` as JSON and status ``code``."""
    data = json.dumps(body).encode()
    handler.send_response(code)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _handler(handle: Handle) -> type:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test and demo output clean
            pass

        def _send(self, code: int, body: Any) -> None:
            send_json(self, code, body)

        def _handle(self, method: str) -> None:
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                return self._send(400, {"faultstring": "request body is not JSON"})
            code, answer = handle(method, url.path, parse_qs(url.query), body, self.headers.get("X-Auth-Token"))
            return self._send(code, answer)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_PUT(self) -> None:
            self._handle("PUT")

        def do_POST(self) -> None:
            self._handle("POST")

    return Handler
