"""The few StackStorm REST API calls this pack makes, with ``requests``.

Why not st2client: it cannot be installed next to the pack's other dependencies everywhere
(its jsonpath-rw dependency fails to build), and the pack needs five calls only. The URL and
token are the ones st2's Python runner gives every action: ``ST2_ACTION_API_URL`` (ends in
``/v1``) and ``ST2_ACTION_AUTH_TOKEN`` (a token of the st2 user the execution runs as); the
execution's own id is ``ST2_ACTION_EXECUTION_ID``.

Errors never carry the token, and an unreachable API says so in a way callers can tell apart
from a refusal (``St2ApiError.unreachable``): the approval code fails closed on both, the lock
code treats "cannot tell" differently from "not live".
"""

from __future__ import annotations

import os
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence

import requests

from avamar_pack.errors import AvamarPackError

ST2_ID_RE = re.compile(r"^[0-9a-f]{24}\Z")  # a MongoDB ObjectId: execution and Inquiry ids
DEFAULT_TIMEOUT_S = 15.0
# st2's executions API caps ``limit`` at 100 for users who are not admins.
MAX_LIST_LIMIT = 100

# Execution statuses in which an execution still holds what it took (st2common.constants.action):
# everything but the completed states succeeded, failed, timeout, abandoned, canceled.
LIVE_STATUSES = (
    "requested",
    "scheduled",
    "delayed",
    "running",
    "pending",
    "pausing",
    "paused",
    "resuming",
    "canceling",
)


class St2ApiError(AvamarPackError):
    """A call to the st2 API failed. ``status`` is the HTTP code (None: no answer at all)."""

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def unreachable(self) -> bool:
        return self.status is None

    @property
    def not_found(self) -> bool:
        return self.status == 404


def validate_st2_id(value: Any, what: str = "id") -> str:
    """A 24-hex-digit st2 id, lower-cased; anything else (a path, a command) is refused."""
    text = value.strip().lower() if isinstance(value, str) else ""
    if not ST2_ID_RE.match(text):
        raise St2ApiError(f"{what} {str(value)[:40]!r} is not an st2 id (24 hex digits)", status=400)
    return text


class St2Api:
    """Executions and Inquiries over the st2 REST API, as the st2 user behind the token."""

    def __init__(
        self,
        api_url: str,
        auth_token: Optional[str] = None,
        api_key: Optional[str] = None,
        verify: bool = True,
        timeout: float = DEFAULT_TIMEOUT_S,
        session: Optional[requests.Session] = None,
    ) -> None:
        if not api_url:
            raise St2ApiError("no st2 API URL (ST2_ACTION_API_URL is not set: run inside StackStorm)")
        if not auth_token and not api_key:
            raise St2ApiError("no st2 credentials (ST2_ACTION_AUTH_TOKEN is not set: run inside StackStorm)")
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.verify = verify
        self.session = session or requests.Session()
        self.session.headers["Content-Type"] = "application/json"
        if auth_token:
            self.session.headers["X-Auth-Token"] = auth_token
        else:
            self.session.headers["St2-Api-Key"] = str(api_key)

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> St2Api:
        """Client from the environment StackStorm's Python runner sets for every action."""
        env = os.environ if env is None else env
        return cls(
            api_url=env.get("ST2_ACTION_API_URL", ""),
            auth_token=env.get("ST2_ACTION_AUTH_TOKEN"),
            api_key=env.get("ST2_API_KEY"),
        )

    @staticmethod
    def current_execution_id(env: Optional[Mapping[str, str]] = None) -> Optional[str]:
        """The id of the execution this code runs in (None outside StackStorm)."""
        value = (os.environ if env is None else env).get("ST2_ACTION_EXECUTION_ID", "").strip()
        return value or None

    # -- the calls ------------------------------------------------------------------------
    def get_execution(self, execution_id: str) -> Dict[str, Any]:
        execution_id = validate_st2_id(execution_id, "execution id")
        body = self._request("GET", f"executions/{execution_id}", f"reading execution {execution_id}")
        return _mapping(body, f"execution {execution_id}")

    def list_executions(
        self, action: str, statuses: Sequence[str], limit: int = MAX_LIST_LIMIT
    ) -> List[Dict[str, Any]]:
        """Executions of ``action`` in any of ``statuses``, newest first.

        st2's ``status`` filter takes one value (no comma lists), so this asks once per status."""
        limit = max(1, min(int(limit), MAX_LIST_LIMIT))
        found: Dict[str, Dict[str, Any]] = {}
        for status in statuses:
            body = self._request(
                "GET",
                "executions",
                f"listing {status} executions of {action}",
                params={"action": action, "status": status, "limit": limit, "exclude_attributes": "result"},
            )
            for item in body if isinstance(body, list) else []:
                if isinstance(item, Mapping) and item.get("id"):
                    found[str(item["id"])] = dict(item)
        return sorted(found.values(), key=lambda e: str(e.get("start_timestamp") or ""), reverse=True)

    def get_inquiry(self, inquiry_id: str) -> Dict[str, Any]:
        inquiry_id = validate_st2_id(inquiry_id, "inquiry id")
        body = self._request("GET", f"inquiries/{inquiry_id}", f"reading Inquiry {inquiry_id}")
        return _mapping(body, f"Inquiry {inquiry_id}")

    def respond_inquiry(self, inquiry_id: str, response: Mapping[str, Any]) -> Dict[str, Any]:
        inquiry_id = validate_st2_id(inquiry_id, "inquiry id")
        body = self._request(
            "PUT",
            f"inquiries/{inquiry_id}",
            f"answering Inquiry {inquiry_id}",
            json={"id": inquiry_id, "response": dict(response)},
        )
        return dict(body) if isinstance(body, Mapping) else {"id": inquiry_id, "response": dict(response)}

    # -- plumbing -------------------------------------------------------------------------
    def _request(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        url = f"{self.api_url}/{path}"
        try:
            response = self.session.request(method, url, timeout=self.timeout, verify=self.verify, **kwargs)
        except requests.RequestException as e:
            raise St2ApiError(f"{what}: st2 API unreachable at {self.api_url}: {type(e).__name__}") from None
        if response.status_code == 404:
            raise St2ApiError(f"{what}: not found", status=404)
        if response.status_code >= 400:
            raise St2ApiError(
                f"{what}: st2 answered {response.status_code}: {_api_message(response)}", status=response.status_code
            )
        try:
            return response.json()
        except ValueError:
            return None


def execution_is_live(api: St2Api, execution_id: str) -> Optional[bool]:
    """True/False when st2 says whether the execution is still live; None when it cannot tell.

    An execution st2 does not know (404) is not live: st2 never forgets a live one."""
    try:
        execution = api.get_execution(execution_id)
    except St2ApiError as e:
        if e.not_found:
            return False
        return None
    return str(execution.get("status") or "") in LIVE_STATUSES


def _mapping(body: Any, what: str) -> Dict[str, Any]:
    if not isinstance(body, Mapping):
        raise St2ApiError(f"{what}: st2 answered something that is not an object", status=502)
    return dict(body)


def _api_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, Mapping):
        return str(body.get("faultstring") or body.get("message") or body)[:200]
    return str(body)[:200]
