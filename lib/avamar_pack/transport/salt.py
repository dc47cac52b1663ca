"""Commands through salt-api (``rest_cherrypy``/``rest_tornado``) on one Salt minion.

Like the StackStorm Exchange ``salt`` pack: ``POST /login`` with the configured eauth,
then every call carries ``X-Auth-Token``; the token is reused for the whole action run
and fetched again once when salt-api answers 401 (expired or revoked token).

Commands run with ``cmd.run_all`` and ``python_shell: False``, the argv list handed over
as a list, so the minion executes it without any shell. Salt's JSON carries text only:
file content crosses it base64-encoded (see ``remote.ShellNodeTransport``).

``runas`` (``servers.<name>.runas``) makes the minion run every command, file read and atomic
write as that user (salt's ``runas``), so files the pack creates on the node (the node lock)
belong to the same user as over SSH, e.g. ``admin``, instead of root.

Note for operators: salt keeps a job's arguments in the master's job cache; never pass a
secret in argv, stdin or env through this transport unless that cache is protected.
"""

from __future__ import annotations

import re
import time
from typing import Any, Dict, List, Optional, Sequence

import requests

from avamar_pack.config import SaltApiSettings, ServerSettings
from avamar_pack.errors import CommandTimeout, TransportError
from avamar_pack.transport.base import RawResult
from avamar_pack.transport.redact import format_argv
from avamar_pack.transport.remote import ShellNodeTransport

# What cmd.run_all reports (retcode 1) when its own timeout killed the command.
_SALT_TIMEOUT_RE = re.compile(r"Timed out after [0-9.]+ seconds\s*$")
# Extra seconds salt-api waits for the minion beyond the command's own timeout.
_RETURN_GRACE_S = 15.0
# cmd.run_all's answer when the program could not be started at all.
_NOT_RUNNABLE_RE = re.compile(r"^ERROR: Unable to run command .*\[Errno (2|13)\]")


class SaltTransport(ShellNodeTransport):
    name = "salt"
    file_encoding = "base64"

    def __init__(
        self,
        settings: ServerSettings,
        api: SaltApiSettings,
        *,
        connect_timeout: float = 10.0,
        session: Optional[requests.Session] = None,
        runas: Optional[str] = None,
    ) -> None:
        super().__init__(settings)
        if not settings.salt_target:
            raise ValueError("the salt transport needs servers.<name>.salt_target")
        self.api = api
        self.target = settings.salt_target
        self.runas = runas
        self.connect_timeout = connect_timeout
        self.logins = 0  # how many times this instance logged in (token reuse is observable)
        self._session = session or requests.Session()
        self._token: Optional[str] = None
        self._minion: Optional[str] = None if "*" in self.target else self.target

    # -- salt-api -----------------------------------------------------------------------
    def _post(self, what: str, path: str, body: Any, read_timeout: float, token: Optional[str]) -> requests.Response:
        headers = {"Accept": "application/json"}
        if token:
            headers["X-Auth-Token"] = token
        url = self.api.api_url + path
        try:
            return self._session.post(
                url,
                json=body,
                headers=headers,
                timeout=(self.connect_timeout, read_timeout),
                verify=self.api.verify_ssl,
            )
        except requests.exceptions.SSLError as exc:
            raise TransportError(self.host, what, f"TLS verification of {url} failed: {type(exc).__name__}")
        except requests.exceptions.Timeout:
            raise TransportError(self.host, what, f"salt-api at {url} did not answer within {read_timeout:g}s")
        except requests.exceptions.RequestException as exc:
            raise TransportError(self.host, what, f"cannot reach salt-api at {url}: {type(exc).__name__}")

    def login(self) -> str:
        what = f"salt-api login as {self.api.username} (eauth {self.api.eauth})"
        body = {"username": self.api.username, "password": self.api.password, "eauth": self.api.eauth}
        response = self._post(what, "/login", body, self.connect_timeout + 20, None)
        if response.status_code in (401, 403):
            raise TransportError(self.host, what, f"refused (HTTP {response.status_code}): check the salt credentials")
        token = _json_return(response, self.host, what).get("token") if response.ok else None
        if not response.ok or not isinstance(token, str) or not token:
            raise TransportError(self.host, what, f"unexpected answer (HTTP {response.status_code})")
        self._token = token
        self.logins += 1
        return token

    def _call(self, what: str, lowstate: Dict[str, Any], read_timeout: float) -> Any:
        """One lowstate chunk; logs in when needed and once more on 401."""
        for attempt in (1, 2):
            token = self._token or self.login()
            response = self._post(what, "/", [lowstate], read_timeout, token)
            if response.status_code == 401 and attempt == 1:
                self._token = None  # expired or revoked: log in again, once
                continue
            if response.status_code in (401, 403):
                raise TransportError(self.host, what, f"salt-api refused the call (HTTP {response.status_code})")
            if not response.ok:
                raise TransportError(self.host, what, f"salt-api answered HTTP {response.status_code}")
            return _json_return(response, self.host, what)
        raise AssertionError("unreachable")  # pragma: no cover

    def _resolve_minion(self, what: str) -> str:
        """A glob target must match exactly one minion; it is resolved once per run."""
        if self._minion is None:
            answer = self._call(
                what, {"client": "local", "tgt": self.target, "tgt_type": "glob", "fun": "test.ping"}, 60
            )
            alive = sorted(k for k, v in (answer or {}).items() if v is True)
            if len(alive) != 1:
                raise TransportError(
                    self.host, what, f"salt_target {self.target!r} must match exactly one minion, matched {alive}"
                )
            self._minion = alive[0]
        return self._minion

    def close(self) -> None:
        # The token is left to expire: logging out would only cost a request per run.
        self._session.close()

    # -- one command --------------------------------------------------------------------
    def _exec(self, argv: Sequence[str], *, timeout: float, stdin: Optional[bytes], env: Dict[str, str]) -> RawResult:
        what = f"`{format_argv(argv)}`"
        minion = self._resolve_minion(what)
        text_stdin: Optional[str] = None
        if stdin is not None:
            try:
                text_stdin = stdin.decode("utf-8")
            except UnicodeDecodeError:
                raise TransportError(self.host, what, "stdin is not UTF-8 text; salt carries text only")
        kwarg: Dict[str, Any] = {
            "python_shell": False,
            "env": dict(env),
            # Only `env` reaches the command: never the minion's own environment (as ssh and local).
            "clean_env": True,
            "timeout": timeout,
            "rstrip": False,  # keep output byte-for-byte (salt strips trailing newlines by default)
            "output_loglevel": "quiet",  # keep the command and its output out of the minion log
            "ignore_retcode": True,
            "stdin_raw_newlines": True,  # salt would otherwise turn a literal "\n" into a newline
        }
        if text_stdin is not None:
            kwarg["stdin"] = text_stdin
        if self.runas:
            kwarg["runas"] = self.runas
        lowstate = {
            "client": "local",
            "tgt": minion,
            "tgt_type": "list",
            "fun": "cmd.run_all",
            "arg": [list(argv)],
            "kwarg": kwarg,
            "timeout": int(timeout + _RETURN_GRACE_S),
        }
        started = time.monotonic()
        answer = self._call(what, lowstate, timeout + _RETURN_GRACE_S + 15)
        return self._parse_return(argv, minion, answer, timeout, time.monotonic() - started)

    def _parse_return(self, argv: Sequence[str], minion: str, answer: Any, timeout: float, elapsed: float) -> RawResult:
        """cmd.run_all's answer -> (exit code, stdout, stderr), or the error it stands for."""
        what = f"`{format_argv(argv)}`"
        ret = answer.get(minion) if isinstance(answer, dict) else None
        if ret is None or ret is False:
            raise TransportError(
                self.host, what, f"no return from minion {minion!r} (is it running and its key accepted?)"
            )
        if isinstance(ret, str) and _NOT_RUNNABLE_RE.search(ret):
            # Same answer as a shell gives on the other transports.
            code, reason = (127, "command not found") if "Errno 2]" in ret else (126, "permission denied")
            return code, b"", f"{argv[0]}: {reason}\n".encode()
        if not isinstance(ret, dict) or "retcode" not in ret:
            # Salt's message repeats the raw command; show the redacted one instead.
            message = str(ret).replace(repr(list(argv)), format_argv(argv))
            raise TransportError(self.host, what, f"salt error: {message[:300]}")
        code = ret.get("retcode")
        stdout = str(ret.get("stdout") or "")
        stderr = str(ret.get("stderr") or "")
        if code == 1 and not stderr and _SALT_TIMEOUT_RE.search(stdout) and elapsed >= timeout * 0.9:
            raise CommandTimeout(self.host, what, f"no exit after {timeout:g}s; killed by the salt minion")
        if not isinstance(code, int):
            raise TransportError(self.host, what, f"salt returned no exit code ({code!r})")
        return code, stdout.encode("utf-8"), stderr.encode("utf-8")


def _json_return(response: requests.Response, host: str, what: str) -> Any:
    """The first element of salt-api's ``{"return": [...]}`` envelope."""
    try:
        body = response.json()
        items: List[Any] = body["return"]
        return items[0]
    except (ValueError, KeyError, IndexError, TypeError):
        raise TransportError(host, what, f"salt-api sent an unexpected body (HTTP {response.status_code})")
