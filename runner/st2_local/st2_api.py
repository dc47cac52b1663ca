"""A small st2 API on 127.0.0.1 (http.server in a thread): executions, Inquiries, tokens, RBAC roles.

One stand-in for the local runner (the demo, ``python -m st2_local``) and the tests. It copies
StackStorm v3.9.0's semantics wherever the pack depends on them (st2api's controllers and
``st2common.services.inquiry``; ``tests/st2_real`` runs the same cases through st2's real code):

* the requester is the st2 user of the token (``X-Auth-Token``), never a value in the body;
  tokens are minted per user (``token_for``) and an action gets a token of its execution's
  ``context.user``, as st2's runner container does;
* ``PUT /v1/inquiries/<id>``: 404 unknown id; 400 not an Inquiry / already answered / timed out
  (``check_inquiry``); 403 unless the requester passes ``check_permission`` (users AND roles;
  an empty list passes; with ``rbac_enabled`` False every user holds every role, like st2's
  noop RBAC backend); 400 unless the response validates against the Inquiry schema (draft 4,
  ``required: true`` on properties); then, like ``inquiry.respond``: a paused parent workflow
  gets ``context.resumed_by`` = the requester and goes ``resuming``; the Inquiry ``succeeded``
  with ``result.response``;
* ``GET /v1/executions/<id>``, ``GET /v1/executions?action=&status=&limit=`` (one status value,
  no comma lists; limit above 100 refused for non-admins, as st2's page-size check does);
* :meth:`schedule_execution` and :meth:`alias_execution` build an execution's context exactly
  as st2api's executions and alias-execution controllers do (including the ``st2-context``
  header that st2 merges AFTER setting ``user``, and ``context.rbac`` when RBAC is enabled).

Every HTTP request is recorded (``requests``, ``puts()``), so a test can assert that a refused
approver caused no PUT at all. Not here: pagination, secrets masking, anything the pack does
not call. The executions live in ``st2_executions``, tokens and roles in ``st2_users``, the
HTTP plumbing in ``st2_http``; this module is the API: st2's answers and semantics.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

import jsonschema

from st2_local.st2_executions import PAUSE_STATES, PENDING, RESUMING, RUNNING, SUCCEEDED, TIMEOUT, ExecutionStore
from st2_local.st2_http import JsonHttpServer
from st2_local.st2_users import St2Users

MAX_PAGE_SIZE = 100


class ApiAnswer(Exception):
    """An HTTP error answer: ``code`` and st2's ``faultstring``."""

    def __init__(self, code: int, faultstring: str) -> None:
        super().__init__(f"{code}: {faultstring}")
        self.code = code
        self.faultstring = faultstring


def validate_inquiry_response(schema: Mapping[str, Any], response: Any) -> None:
    """st2's ``inquiry.validate_response``: draft 4, plus draft-3 ``required: true`` on properties
    (st2's CustomValidator); raises ValueError with st2's wording."""
    schema = dict(schema or {})
    if not isinstance(response, Mapping):
        raise ValueError("did not pass schema validation. response is not an object")
    props = schema.get("properties") or {}
    missing = [
        name
        for name, spec in props.items()
        if isinstance(spec, Mapping) and spec.get("required") is True and name not in response
    ]
    if missing:
        raise ValueError(f"did not pass schema validation. {missing[0]!r} is a required property")
    plain = {
        k: {kk: vv for kk, vv in v.items() if kk != "required"} if isinstance(v, Mapping) else v
        for k, v in props.items()
    }
    draft4 = {k: v for k, v in schema.items() if not (k == "required" and isinstance(v, bool))}
    draft4["properties"] = plain
    try:
        jsonschema.Draft4Validator(draft4).validate(dict(response))
    except jsonschema.ValidationError as e:
        raise ValueError(f"did not pass schema validation. {e.message}") from None


class FakeSt2Api(ExecutionStore, St2Users):
    """The st2 API the pack talks to, in memory. Thread-safe; use as a context manager or start()/close()."""

    def __init__(self, rbac_enabled: bool = False) -> None:
        ExecutionStore.__init__(self)
        St2Users.__init__(self, rbac_enabled)
        self.requests: List[Dict[str, Any]] = []
        # Called (outside the lock, in the answering thread) after a PUT was accepted:
        # on_response(inquiry_id, response, requester). The local runner resumes the run there.
        self.on_response: Optional[Callable[[str, Dict[str, Any], str], None]] = None
        self.http = JsonHttpServer(self.handle)

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> FakeSt2Api:
        self.http.start()
        return self

    def close(self) -> None:
        self.http.close()

    stop = close

    def __enter__(self) -> FakeSt2Api:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def url(self) -> str:
        """What st2 gives actions as ST2_ACTION_API_URL."""
        return f"http://127.0.0.1:{self.http.port}/v1"

    # -- executions as st2api's controllers create them -----------------------------------------
    def schedule_execution(
        self,
        action: str,
        parameters: Optional[Mapping[str, Any]],
        requester: str,
        user: Optional[str] = None,
        context_header: Optional[Mapping[str, Any]] = None,
        runner: str = "python-script",
        status: str = RUNNING,
    ) -> str:
        """``POST /v1/executions`` (``st2 run``) as st2api 3.9 builds the context: ``user`` (the
        requester, or ``user`` given by an admin), ``pack``, then the ``st2-context`` header merged
        over it (yes: it can override ``user``), then ``rbac`` {user, roles} when RBAC is enabled."""
        user = user or requester
        if user != requester and self.rbac_enabled and not self.is_admin(requester):
            raise ApiAnswer(403, f'"user" attribute can only be provided by admins (requester {requester})')
        context: Dict[str, Any] = {"user": user, "pack": action.split(".", 1)[0]}
        if context_header:
            context.update(copy.deepcopy(dict(context_header)))
        if self.rbac_enabled:
            context["rbac"] = {"user": user, "roles": self.roles_of(user)}
        return self.add_execution(action, status=status, context=context, parameters=parameters, runner=runner)

    def alias_execution(
        self,
        action: str,
        parameters: Optional[Mapping[str, Any]],
        requester: str,
        api_user: Optional[str],
        alias: str = "avamar.approve",
        source_channel: str = "avamar",
    ) -> str:
        """``POST /v1/aliasexecution`` (a chat command): the context st2api's alias controller gives:
        ``action_alias_ref``, ``api_user`` (the chat user hubot names), ``user`` (the requester:
        the bot's st2 user), ``source_channel``; no ``rbac`` key on this path."""
        context = {
            "action_alias_ref": {"ref": alias},
            "api_user": api_user,
            "user": requester,
            "source_channel": source_channel,
        }
        return self.add_execution(action, status=RUNNING, context=context, parameters=parameters)

    def action_env(self, execution_id: str) -> Dict[str, str]:
        """The environment st2's Python runner gives the action of this execution."""
        with self.lock:
            user = self.executions[execution_id]["context"].get("user") or "stanley"
        return {
            "ST2_ACTION_API_URL": self.url,
            "ST2_ACTION_AUTH_TOKEN": self.token_for(user),
            "ST2_ACTION_EXECUTION_ID": execution_id,
        }

    # -- inquiries ----------------------------------------------------------------------------
    def add_inquiry(
        self,
        parent: Optional[str] = None,
        users: Iterable[str] = (),
        roles: Iterable[str] = (),
        schema: Optional[Mapping[str, Any]] = None,
        route: str = "avamar",
        ttl: int = 60,
        inquiry_id: Optional[str] = None,
    ) -> str:
        """A core.ask execution (runner ``inquirer``, status ``pending``) under ``parent``."""
        result = {
            "schema": copy.deepcopy(dict(schema or {"type": "object"})),
            "users": list(users),
            "roles": list(roles),
            "route": route,
            "ttl": ttl,
            "response": {},
        }
        context: Dict[str, Any] = {"user": "stanley"}
        if parent:
            with self.lock:
                context = {
                    "user": self.executions[parent]["context"].get("user", "stanley"),
                    "parent": {"execution_id": parent},
                }
        return self.add_execution(
            "core.ask",
            status=PENDING,
            context=context,
            parent=parent,
            runner="inquirer",
            execution_id=inquiry_id,
            result=result,
        )

    def get_inquiry(self, inquiry_id: str) -> Dict[str, Any]:
        """``GET /v1/inquiries/<id>``: InquiryResponseAPI {id, route, ttl, users, roles, schema}."""
        with self.lock:
            inquiry = self._pending_inquiry(inquiry_id)
            body = {"id": inquiry_id}
            body.update(
                {k: copy.deepcopy(inquiry["result"].get(k)) for k in ("route", "ttl", "users", "roles", "schema")}
            )
            return body

    def respond(self, inquiry_id: str, response: Any, requester: str) -> Dict[str, Any]:
        """``PUT /v1/inquiries/<id>`` by st2 user ``requester``; raises ApiAnswer as st2api answers."""
        answer = self._respond(inquiry_id, response, requester)
        if self.on_response is not None:
            self.on_response(inquiry_id, copy.deepcopy(answer["response"]), requester)
        return answer

    def _respond(self, inquiry_id: str, response: Any, requester: str) -> Dict[str, Any]:
        with self.changed:
            inquiry = self._pending_inquiry(inquiry_id)
            self.check_permission(inquiry, requester)
            try:
                validate_inquiry_response(inquiry["result"]["schema"], response)
            except ValueError as e:
                raise ApiAnswer(400, f'Response for inquiry "{inquiry_id}" {e}') from None
            parent = self.executions.get(inquiry.get("parent") or "")
            if parent is not None and parent["status"] in PAUSE_STATES:
                parent["context"]["resumed_by"] = requester  # st2's action_service.request_resume
                self._set_status(parent, RESUMING)
            inquiry["result"]["response"] = copy.deepcopy(dict(response))
            self._set_status(inquiry, SUCCEEDED)
            self.changed.notify_all()
            return {"id": inquiry_id, "response": copy.deepcopy(dict(response))}

    def check_permission(self, inquiry: Mapping[str, Any], requester: str) -> None:
        """st2's ``inquiry.check_permission``: roles (any one; none = pass) AND users (none = pass)."""
        roles = inquiry["result"].get("roles") or []
        users = inquiry["result"].get("users") or []
        roles_passed = not roles or any(self.user_has_role(requester, role) for role in roles)
        users_passed = not users or requester in users
        if not (roles_passed and users_passed):
            raise ApiAnswer(
                403, f'User "{requester}" does not have permission to respond to inquiry "{inquiry["id"]}".'
            )

    def expire(self, inquiry_id: str) -> None:
        """What st2's garbage collector does after ``ttl`` (with purge_inquiries on): timeout."""
        with self.changed:
            inquiry = self.executions[inquiry_id]
            if inquiry["status"] == PENDING:
                self._set_status(inquiry, TIMEOUT)
            self.changed.notify_all()

    expire_inquiry = expire

    def wait_for_answer(self, inquiry_id: str, timeout_s: float) -> Optional[Dict[str, Any]]:
        """Block until the Inquiry is answered (its response) or expired / still pending after
        ``timeout_s`` (None). For runners and tests: the answer is only what the API accepted."""
        with self.changed:
            self.changed.wait_for(lambda: self.executions[inquiry_id]["status"] != PENDING, timeout=timeout_s)
            inquiry = self.executions[inquiry_id]
            if inquiry["status"] != SUCCEEDED:
                return None
            return copy.deepcopy(inquiry["result"]["response"])

    def wait_for_inquiry(self, timeout_s: float, parent: Optional[str] = None) -> Optional[str]:
        """The id of the first pending Inquiry (of ``parent``), waiting up to ``timeout_s``."""

        def pending() -> Optional[str]:
            for e in self.executions.values():
                if (
                    e["runner"]["name"] == "inquirer"
                    and e["status"] == PENDING
                    and (not parent or e["parent"] == parent)
                ):
                    return e["id"]
            return None

        with self.changed:
            self.changed.wait_for(lambda: pending() is not None, timeout=timeout_s)
            return pending()

    def inquiries(self, status: Optional[str] = None) -> List[str]:
        with self.lock:
            return [
                e["id"]
                for e in self.executions.values()
                if e["runner"]["name"] == "inquirer" and (status is None or e["status"] == status)
            ]

    def _pending_inquiry(self, inquiry_id: str) -> Dict[str, Any]:
        inquiry = self.executions.get(inquiry_id)
        if inquiry is None:
            raise ApiAnswer(404, f'Resource with a ID "{inquiry_id}" not found')
        if inquiry["runner"]["name"] != "inquirer":
            raise ApiAnswer(400, f'Action execution "{inquiry_id}" is not an inquiry.')
        if inquiry["status"] == TIMEOUT:
            raise ApiAnswer(400, f'Inquiry "{inquiry_id}" timed out and cannot be responded to.')
        if inquiry["status"] != PENDING:
            raise ApiAnswer(400, f'Inquiry "{inquiry_id}" has already been responded to.')
        return inquiry

    # -- the recorded HTTP traffic --------------------------------------------------------------
    def puts(self) -> List[Dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["method"] == "PUT"]

    # -- HTTP dispatch -------------------------------------------------------------------------
    def handle(
        self, method: str, path: str, query: Mapping[str, List[str]], body: Any, token: Optional[str]
    ) -> Tuple[int, Any]:
        requester = self.user_of(token)
        with self.lock:
            self.requests.append(
                {"method": method, "path": path, "query": dict(query), "body": body, "user": requester}
            )
        if requester is None:
            return 401, {"faultstring": "Unauthorized - One of Token or API key required."}
        parts = path.strip("/").split("/")
        try:
            if parts[:2] == ["v1", "executions"] and len(parts) == 3 and method == "GET":
                with self.lock:
                    if parts[2] not in self.executions:
                        raise ApiAnswer(404, f'Resource with a ID "{parts[2]}" not found')
                    return 200, self.execution(parts[2])
            if parts == ["v1", "executions"] and method == "GET":
                return 200, self._list(query, requester)
            if parts[:2] == ["v1", "inquiries"] and len(parts) == 3 and method == "GET":
                return 200, self.get_inquiry(parts[2])
            if parts[:2] == ["v1", "inquiries"] and len(parts) == 3 and method == "PUT":
                if not isinstance(body, Mapping) or not isinstance(body.get("response"), Mapping):
                    raise ApiAnswer(400, "'response' is a required property")
                return 200, self.respond(parts[2], body["response"], requester)
        except ApiAnswer as e:
            return e.code, {"faultstring": e.faultstring}
        return 404, {"faultstring": f"The resource could not be found: {method} {path}"}

    def _list(self, query: Mapping[str, List[str]], requester: str) -> List[Dict[str, Any]]:
        first = {k: v[0] for k, v in query.items() if v}
        limit = int(first.get("limit", 50))
        if limit > MAX_PAGE_SIZE and not self.is_admin(requester):
            raise ApiAnswer(
                403, f'Limit "{limit}" specified exceeds max page size of {MAX_PAGE_SIZE}; only admins can request more'
            )
        found = self.list_executions(first.get("action"), first.get("status"), limit)
        if "result" in (first.get("exclude_attributes") or "").split(","):
            for item in found:
                item.pop("result", None)
        return found
