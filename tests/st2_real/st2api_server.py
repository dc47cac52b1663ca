"""st2api itself (``st2api.app.setup_app``: router, auth, controllers) served on 127.0.0.1.

The pack's python actions call the st2 REST API with the token st2's python runner gives them
(``ST2_ACTION_API_URL`` / ``ST2_ACTION_AUTH_TOKEN``). Here that API is st2api's own WSGI app on the
same mongomock database, with ``[auth] enable = True``, so every caller is who st2 says it is:
the token st2 made for the execution's ``context.user``, and ``requester_user`` in st2's
controllers. It runs in a green thread of eventlet's WSGI server, as st2api runs standalone
(st2 has monkey-patched this process): while the engine waits for an action's subprocess, the
hub serves that action's calls.

:class:`Client` is the other side, for tests: ``st2 run``, ``st2 inquiry respond``, the chat
bot's ``POST /api/v1/aliasexecution``, each with a token of the user who does it.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Optional, Tuple

import requests

_SERVER: Optional[str] = None


def start() -> str:
    """Start st2api once for this process; returns its base URL (``http://127.0.0.1:<port>``)."""
    global _SERVER
    if _SERVER is not None:
        return _SERVER
    import eventlet
    import eventlet.wsgi
    from oslo_config import cfg

    cfg.CONF.set_override(name="enable", override=True, group="auth")
    from st2api import app

    wsgi_app = app.setup_app({})
    sock = eventlet.listen(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    quiet = logging.getLogger("st2_real.wsgi")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    eventlet.spawn(eventlet.wsgi.server, sock, wsgi_app, log=quiet, log_output=False, debug=False)
    _SERVER = f"http://127.0.0.1:{port}"
    # what st2's runners put in ST2_ACTION_API_URL (get_full_public_api_url: <api_url>/v1)
    cfg.CONF.set_override(name="api_url", override=_SERVER, group="auth")
    return _SERVER


def token_for(user: str) -> str:
    """An st2 auth token of ``user`` (st2's access service; the user is created when missing)."""
    from st2common.services import access

    return access.create_token(username=user, ttl=3600).token


class Client:
    """The st2 API as one st2 user calls it (what the st2 CLI and the chat bot do)."""

    def __init__(self, base_url: str, user: str) -> None:
        self.base_url = base_url
        self.user = user
        self.session = requests.Session()
        self.session.headers["X-Auth-Token"] = token_for(user)

    def call(self, method: str, path: str, **kwargs: Any) -> Tuple[int, Any]:
        response = self.session.request(method, f"{self.base_url}/v1/{path.lstrip('/')}", timeout=600, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = response.text
        return response.status_code, body

    # -- what users do ---------------------------------------------------------------------
    def run(self, ref: str, parameters: Dict[str, Any]) -> Tuple[int, Any]:
        """``st2 run <ref> k=v ...``: POST /v1/executions."""
        return self.call("POST", "executions", json={"action": ref, "parameters": parameters})

    def respond(self, inquiry_id: str, response: Dict[str, Any]) -> Tuple[int, Any]:
        """``st2 inquiry respond <id> -r '<json>'``: PUT /v1/inquiries/<id>."""
        return self.call("PUT", f"inquiries/{inquiry_id}", json={"id": inquiry_id, "response": response})

    def cancel(self, execution_id: str) -> Tuple[int, Any]:
        """``st2 execution cancel <id>``: DELETE /v1/executions/<id>."""
        return self.call("DELETE", f"executions/{execution_id}")

    def chat(
        self, name: str, format_str: str, command: str, chat_user: str, source_channel: str = "avamar"
    ) -> Tuple[int, Any]:
        """What hubot-stackstorm posts for a chat command: POST /v1/aliasexecution."""
        body = {
            "name": name,
            "format": format_str,
            "command": command,
            "user": chat_user,
            "source_channel": source_channel,
            "notification_route": "hubot",
        }
        return self.call("POST", "aliasexecution", json=body)
