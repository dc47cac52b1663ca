"""A tiny st2 API on 127.0.0.1 (http.server in a thread) holding Inquiries and RBAC role assignments.

It records every request, so a test can assert that a refused approver caused no PUT at all,
and sets ``answered`` once a PUT answered an Inquiry. Used by the workflow and reliability tests.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qs, urlparse

TOKEN = "test-token-0123456789"


class FakeSt2Api:
    def __init__(self) -> None:
        self.inquiries: Dict[str, Dict[str, Any]] = {}
        self.roles: Dict[str, List[str]] = {}
        self.rbac_enabled = True
        self.requests: List[Dict[str, Any]] = []
        self.answered = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _send(self, code: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                url = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                api.requests.append({"method": method, "path": url.path, "query": parse_qs(url.query), "body": body,
                                     "token": self.headers.get("X-Auth-Token")})
                if self.headers.get("X-Auth-Token") != TOKEN:
                    return self._send(401, {"faultstring": "Unauthorized"})
                parts = url.path.strip("/").split("/")
                if parts[:2] == ["v1", "inquiries"] and len(parts) == 3:
                    inquiry = api.inquiries.get(parts[2])
                    if inquiry is None or inquiry.get("response"):
                        return self._send(404, {"faultstring": f"Inquiry {parts[2]} not found"})
                    if method == "GET":
                        return self._send(200, {"id": parts[2], **inquiry})
                    inquiry["response"] = body["response"]
                    api.answered.set()
                    return self._send(200, {"id": parts[2], "response": body["response"]})
                if url.path == "/v1/rbac/role_assignments" and method == "GET":
                    if not api.rbac_enabled:
                        return self._send(501, {"faultstring": "RBAC is not enabled"})
                    user = parse_qs(url.query).get("user", [""])[0]
                    return self._send(200, [{"user": user, "role": r} for r in api.roles.get(user, [])])
                return self._send(404, {"faultstring": "no such endpoint"})

            def do_GET(self) -> None:
                self._handle("GET")

            def do_PUT(self) -> None:
                self._handle("PUT")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def add_inquiry(self, inquiry_id: str, users: Optional[List[str]] = None,
                    roles: Optional[List[str]] = None) -> None:
        self.inquiries[inquiry_id] = {"users": users or [], "roles": roles or [], "route": "avamar", "ttl": 60,
                                      "schema": {"type": "object"}, "response": {}}

    def puts(self) -> List[Dict[str, Any]]:
        return [r for r in self.requests if r["method"] == "PUT"]

    def __enter__(self) -> FakeSt2Api:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
