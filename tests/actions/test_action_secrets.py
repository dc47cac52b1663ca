"""No configured secret leaks from any action, whatever shape it has and however the run ends.

Every Python action of the pack (discovered from ``actions/*.yaml``, so a new action is covered
the day it lands) is run the StackStorm way (``BaseActionTestCase.get_action_instance(config)``
then ``run(**parameters)``, the metadata defaults filled in as st2 does) against the simulator,
once per scenario:

* local transport, the success path (the keystore passphrase is read through avlockbox.sh);
* ssh with the authorized key (PEM text) and a password, the success path;
* ssh with a key the server does not know (authentication refused, the password tried too);
* ssh with the authorized key mangled into shapes the pack refuses: PuTTY .ppk, base64 of the
  PEM file (one line and wrapped), the body without BEGIN/END (one line and wrapped);
* ssh to a host where nothing listens;
* salt with the right password (success path; the token salt-api issued is a secret too),
  a wrong password, and an unreachable salt-api.

Every config also carries secrets the action has no use for (a second server's password and
key, the salt password) and the action's environment carries an st2 API token, as under st2.
After each run these are searched for (the value, each line, every 12-character window):
the result (every string in it, chat ``message`` texts included), a raised exception with its
traceback, every record of the action's logger and of the root logger at DEBUG, stdout and
stderr, every ``/proc/*/cmdline`` sampled during the run, the node's files (success paths) and
the sshd log (ssh).

The passphrase-specific checks of ``set_gsan_minserial`` (keytool really ran and never had the
passphrase in argv; a truncated or missing passphrase fails without showing it) follow below.
"""

from __future__ import annotations

import base64
import importlib
import inspect
import json
import logging
import os
import socket
import subprocess
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pytest
from actions_testkit import SERVER, TEST_CLIENT, NodeCase
from avamar_pack.transport.salt import SaltTransport
from avamar_pack.transport.ssh import SshTransport
from packkit import python_action_entries
from proc_sampler import CmdlineSampler
from secret_scan import LogCapture, Secret, common_windows, exception_text, find_leaks, flatten
from set_gsan_minserial import SetGsanMinserial
from st2common.runners.base_action import Action
from st2tests.base import BaseActionTestCase

PACK = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIO = "mcs_restored_old_flush"  # GSAN 28000, MCS's .srl behind it: every action has work to do
DECOY_SERVER = "ava09"
ST2_TOKEN = "st2-action-token-canary-7Hq2xLw9"
SSH_PASSWORD = "ssh-Passw0rd-canary-Zr81k"
DECOY_PASSWORD = "decoy-Passw0rd-canary-Pq47"
SALT_CANARY = "salt-Passw0rd-canary-Mv52n"

# Values for required parameters that get an action past its validation (by name); others by type.
KNOWN_PARAMETERS: Dict[str, Any] = {
    "server": SERVER,
    "serial": 28500,
    "verify_serial": 28500,
    "lock_owner": "secrets-test.1",
    "client": TEST_CLIENT,
    "dataset": "/Default Dataset",
    "inquiry_id": "5f0c3a9e1b2c3d4e5f607182",
    "approved": True,
    "approver": "alice",
    "workflow_execution_id": "5f0c3a9e1b2c3d4e5f607183",
    "execution_id": "5f0c3a9e1b2c3d4e5f607184",
    "response": {"approved": True, "reason": "secrets test"},
}
# Per action: values that make the success path succeed on the drifted node (GSAN holds 28000).
ACTION_PARAMETERS: Dict[str, Dict[str, Any]] = {
    "write_mcs_serial": {"serial": 28000},
    "record_remediation": {"serial": 28000},
    "flush_mcs": {"serial": 28000},
}
# Optional parameters st2 would fill from the metadata, kept short here (a hung backup ends the test sooner).
SHORT_TIMEOUTS: Dict[str, Any] = {
    "timeout": 30,
    "mcs_restart_timeout": 60,
    "test_backup_timeout": 60,
    "command_timeout": 30,
}
BY_TYPE: Dict[str, Any] = {"string": "x", "integer": 1, "number": 1, "boolean": False, "object": {}, "array": []}


def python_actions() -> List[Tuple[str, type, Dict[str, Any]]]:
    """(name, class, metadata) of every python-script action of the pack."""
    found = []
    for _entry, meta in python_action_entries(PACK):
        module = importlib.import_module(meta["entry_point"][: -len(".py")])
        classes = [
            c
            for c in vars(module).values()
            if inspect.isclass(c) and issubclass(c, Action) and c.__module__ == module.__name__
        ]
        assert len(classes) == 1, f"{meta['entry_point']} must define exactly one action class, has {classes}"
        found.append((meta["name"], classes[0], meta))
    assert len(found) >= 8, found
    return found


def parameters_for(cls: type, meta: Dict[str, Any]) -> Dict[str, Any]:
    """What st2 would pass: the given values plus the metadata defaults."""
    params: Dict[str, Any] = {}
    for name, spec in (meta.get("parameters") or {}).items():
        if spec.get("required"):
            params[name] = KNOWN_PARAMETERS.get(name, BY_TYPE.get(spec.get("type"), "x"))
        elif name in SHORT_TIMEOUTS:
            params[name] = SHORT_TIMEOUTS[name]
        elif "default" in spec:
            params[name] = spec["default"]
    declared = meta.get("parameters") or {}
    params.update({k: v for k, v in ACTION_PARAMETERS.get(meta["name"], {}).items() if k in declared})
    # The class may still take an argument the metadata dropped: fill it rather than crash here.
    for name, arg in inspect.signature(cls.run).parameters.items():
        if name != "self" and arg.default is inspect.Parameter.empty and name not in params:
            params[name] = KNOWN_PARAMETERS.get(name, "x")
    return params


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _keygen(path: str, kind: str, *extra: str) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "ref", "-f", path, *extra], check=True)
    with open(path, encoding="ascii") as handle:
        return handle.read()


@pytest.fixture(scope="module")
def reference_keys(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, str]:
    d = str(tmp_path_factory.mktemp("refkeys"))
    return {
        "ed25519": [_keygen(f"{d}/ed{i}", "ed25519") for i in range(3)],
        "rsa": [_keygen(f"{d}/rsa{i}", "rsa", "-b", "2048", "-m", "PEM") for i in range(3)],
    }


def malformed_shapes(pem: str) -> Dict[str, str]:
    """The authorized key in shapes operators really paste; the pack must refuse every one."""
    lines = pem.strip().splitlines()
    body = "".join(lines[1:-1])
    encoded = base64.b64encode(pem.encode()).decode()
    ppk_lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    ppk = (
        "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: ava01\nPublic-Lines: 2\n"
        f"{ppk_lines[0]}\n{ppk_lines[1]}\nPrivate-Lines: {len(ppk_lines) - 2}\n"
        + "\n".join(ppk_lines[2:])
        + "\nPrivate-MAC: 6d1f0a9c5b\n"
    )
    return {
        "putty-ppk": ppk,
        "base64-one-line": encoded,
        "base64-wrapped": "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76)) + "\n",
        "headerless-one-line": body,
        "headerless-wrapped": "\n".join(lines[1:-1]) + "\n",
    }


class SecretMatrix:
    """Mixin for one action (``action_cls``, ``meta``): one test per scenario."""

    action_cls: Optional[type] = None
    meta: Dict[str, Any] = {}

    @pytest.fixture(autouse=True)
    def _world(
        self,
        request: pytest.FixtureRequest,
        make_sim_node: Any,
        monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture,
        reference_keys: Dict[str, Any],
        tmp_path: Any,
    ) -> None:
        self.request, self.make_sim_node, self.capfd, self.tmp_path = request, make_sim_node, capfd, tmp_path
        self.common = common_windows(*reference_keys["ed25519"]) | common_windows(*reference_keys["rsa"])
        self.sim = None
        # What st2 gives a python action: its API, its execution id, and an auth token.
        monkeypatch.setenv("ST2_ACTION_API_URL", f"http://127.0.0.1:{closed_port()}/v1")
        monkeypatch.setenv("ST2_ACTION_AUTH_TOKEN", ST2_TOKEN)
        monkeypatch.setenv("ST2_ACTION_EXECUTION_ID", "5f0c3a9e1b2c3d4e5f607185")
        self.salt_tokens: List[str] = []
        real_login = SaltTransport.login

        def recording_login(transport: SaltTransport) -> str:
            token = real_login(transport)
            self.salt_tokens.append(token)
            return token

        monkeypatch.setattr(SaltTransport, "login", recording_login)
        self.ssh_opened = 0  # SshTransport instances the action tried to create
        real_init = SshTransport.__init__

        def counting_init(transport: SshTransport, *args: Any, **kwargs: Any) -> None:
            self.ssh_opened += 1
            real_init(transport, *args, **kwargs)

        monkeypatch.setattr(SshTransport, "__init__", counting_init)
        self.salt_opened = 0
        real_salt_init = SaltTransport.__init__

        def counting_salt_init(transport: SaltTransport, *args: Any, **kwargs: Any) -> None:
            self.salt_opened += 1
            real_salt_init(transport, *args, **kwargs)

        monkeypatch.setattr(SaltTransport, "__init__", counting_salt_init)

    # -- configs ------------------------------------------------------------------------------
    def node_root(self, live: bool) -> str:
        """A simulated node for runs that reach it; an empty folder for runs that must not."""
        if not live:
            root = self.tmp_path / "unreached-node"
            root.mkdir(exist_ok=True)
            return str(root)
        self.sim = self.make_sim_node(SCENARIO, restart_seconds=0)
        for i in range(2):
            self.sim.run_backup(f"client{i:02d}")  # the MSG_ERR_AUTH_FAIL evidence
        return self.sim.root

    def config(self, entry: Dict[str, Any], salt: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        decoy_key = self.request.getfixturevalue("reference_keys")["rsa"][0]
        servers = {
            SERVER: dict(entry, test_backup={"client": TEST_CLIENT}),
            # Never used by the run: anything that dumps the config would show these.
            DECOY_SERVER: {
                "transport": "ssh",
                "host": "ava09.example.com",
                "username": "admin",
                "password": DECOY_PASSWORD,
                "private_key": decoy_key,
            },
        }
        salt_section = salt or {
            "api_url": "https://salt.example.com:8000",
            "username": "st2",
            "password": SALT_CANARY,
            "eauth": "pam",
        }
        return {
            "servers": servers,
            "salt": salt_section,
            "approval": {"users": ["alice"]},
            "remediation": {"serial_margin": 1000, "max_publickey_attempts": 6},
        }

    def base_secrets(self) -> List[Secret]:
        decoy_key = self.request.getfixturevalue("reference_keys")["rsa"][0]
        secrets = [
            Secret("st2 token", ST2_TOKEN),
            Secret("decoy ssh password", DECOY_PASSWORD),
            Secret("decoy private key", decoy_key, self.common),
            Secret("salt password canary", SALT_CANARY),
        ]
        if self.sim is not None:
            secrets.append(Secret("keystore passphrase", self.sim.passphrase().strip()))
        return secrets

    # -- one watched run ----------------------------------------------------------------------
    def run_watched(self, config: Dict[str, Any], secrets: Sequence[Secret], extra_texts: Any = None) -> Any:
        params = parameters_for(self.action_cls, self.meta)
        action = self.get_action_instance(config=config)  # type: ignore[attr-defined]
        self.capfd.readouterr()
        raised: Optional[BaseException] = None
        out: Any = None
        with LogCapture([action.logger, logging.getLogger()]) as logs, CmdlineSampler() as sampler:
            wait_for_sweeps(sampler, 1)  # sampling before the action starts ...
            try:
                out = action.run(**params)
            except Exception as exc:  # noqa: BLE001 - st2 would put the traceback in the result: scan it
                raised = exc
            wait_for_sweeps(sampler, sampler.sweeps + 1)  # ... and one whole sweep after it ended
        stdout, stderr = self.capfd.readouterr()
        texts = {
            "result": "\n".join(flatten(out)),
            "result as JSON": json.dumps(out, default=str),
            "exception": exception_text(raised),
            "log records": logs.text,
            "stdout/stderr": stdout + stderr,
            "process command lines": "\n".join(sampler.seen),
        }
        if self.sim is not None:
            texts.update(node_files(self.sim.root))
        texts.update(extra_texts() if extra_texts else {})
        every_secret = list(secrets) + self.base_secrets() + [Secret("salt token", t) for t in self.salt_tokens]
        leaks = find_leaks(every_secret, texts)
        assert leaks == {}, f"{self.meta['name']}: secrets leaked: {leaks}"
        return out, raised

    def sshd(self) -> Any:
        return self.request.getfixturevalue("sshd_service")

    def ssh_entry(self, live: bool, **overrides: Any) -> Dict[str, Any]:
        entry = self.sshd().server_entry(avamar_root=self.node_root(live), password=SSH_PASSWORD)
        entry.update(overrides)
        return entry

    def ssh_texts(self) -> Any:
        return lambda: {"sshd log": self.sshd().log_text()}

    def salt(self) -> Any:
        return self.request.getfixturevalue("salt_service")

    def salt_config(self, live: bool, **overrides: Any) -> Dict[str, Any]:
        salt = self.salt()
        section = salt.salt_config(allow_insecure_http=True)  # the test salt-api: http on 127.0.0.1
        section.update(overrides)
        return self.config(salt.server_entry(avamar_root=self.node_root(live)), section)

    def assert_really_ran(self, out: Any) -> None:
        """The success paths are success paths: the GSAN write (which reads the passphrase) succeeded."""
        if self.action_cls is SetGsanMinserial:
            assert out[0] is True and out[1]["verified"] is True, out

    # -- scenarios -------------------------------------------------------------------------------
    def test_local_success_path(self):
        config = self.config({"transport": "local", "avamar_root": self.node_root(True)})
        out, _ = self.run_watched(config, [])
        self.assert_really_ran(out)

    @pytest.mark.ssh
    def test_ssh_authorized_key_and_password(self):
        sshd = self.sshd()
        config = self.config(self.ssh_entry(True, private_key=sshd.key_pem))
        out, _ = self.run_watched(
            config,
            [Secret("ssh private key", sshd.key_pem, self.common), Secret("ssh password", SSH_PASSWORD)],
            self.ssh_texts(),
        )
        self.assert_really_ran(out)
        if out and "server" in (self.meta.get("parameters") or {}):
            assert "authentication refused" not in "\n".join(flatten(out)), out

    @pytest.mark.ssh
    def test_ssh_key_the_server_does_not_know(self):
        sshd = self.sshd()
        config = self.config(self.ssh_entry(False, private_key=sshd.other_key_pem))
        self.run_watched(
            config,
            [Secret("unauthorized private key", sshd.other_key_pem, self.common), Secret("ssh password", SSH_PASSWORD)],
            self.ssh_texts(),
        )

    @pytest.mark.ssh
    def test_ssh_malformed_keys_are_refused_without_a_trace(self):
        with open(self.sshd().key_path, encoding="ascii") as handle:
            authorized = handle.read()
        for shape, value in malformed_shapes(authorized).items():
            config = self.config(self.ssh_entry(False, private_key=value))
            out, _ = self.run_watched(
                config,
                [
                    Secret(f"private key as {shape}", value, self.common),
                    Secret("the key it came from", authorized, self.common),
                    Secret("ssh password", SSH_PASSWORD),
                ],
            )
            if self.ssh_opened:  # the action reaches the node (not every one does): the refusal names the key
                text = "\n".join(flatten(out))
                assert "servers.ava01.private_key" in text, f"{shape}: the refusal does not name the key: {out}"
                self.ssh_opened = 0

    @pytest.mark.ssh
    def test_ssh_unreachable_host(self):
        sshd = self.sshd()
        config = self.config(self.ssh_entry(False, private_key=sshd.key_pem, port=closed_port()))
        self.run_watched(
            config, [Secret("ssh private key", sshd.key_pem, self.common), Secret("ssh password", SSH_PASSWORD)]
        )

    @pytest.mark.salt
    def test_salt_success_path(self):
        config = self.salt_config(True)
        out, _ = self.run_watched(config, [Secret("salt password", self.salt().password)])
        self.assert_really_ran(out)
        if self.salt_opened:  # the action reaches the node (not every one does): the token is a secret too
            assert self.salt_tokens, "the action opened a salt transport but never logged in to salt-api"

    @pytest.mark.salt
    def test_salt_wrong_password(self):
        wrong = "salt-Wr0ng-canary-Hk33p"
        config = self.salt_config(False, password=wrong)
        self.run_watched(config, [Secret("wrong salt password", wrong), Secret("salt password", self.salt().password)])

    @pytest.mark.salt
    def test_salt_api_unreachable(self):
        config = self.salt_config(False, api_url=f"http://127.0.0.1:{closed_port()}")
        self.run_watched(config, [Secret("salt password", self.salt().password)])


def wait_for_sweeps(sampler: CmdlineSampler, count: int) -> None:
    deadline = time.monotonic() + 30
    while sampler.sweeps < count:
        assert time.monotonic() < deadline, "the command-line sampler is not sampling"
        time.sleep(0.005)


def node_files(root: str) -> Dict[str, str]:
    """Every file of the node except the keystore and the simulator's own secret store."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".sim"]
        for name in filenames:
            if name.startswith("avamar_keystore"):
                continue
            path = os.path.join(dirpath, name)
            with open(path, "rb") as handle:
                out[f"node file {path}"] = handle.read().decode("utf-8", "replace")
    return out


# One BaseActionTestCase class per action, named after it: `pytest -k SetGsanMinserial`.
for _name, _cls, _meta in python_actions():
    _test_class = type(
        f"TestNoSecretFrom{_cls.__name__}",
        (SecretMatrix, BaseActionTestCase),
        {"action_cls": _cls, "meta": _meta, "__module__": __name__},
    )
    globals()[_test_class.__name__] = _test_class
del _name, _cls, _meta, _test_class


def test_the_scan_finds_a_secret_rewrapped_escaped_or_cut(tmp_path):
    """The search itself: a key re-wrapped, JSON-escaped, cut in half, or one line of it, is found."""
    pem = _keygen(str(tmp_path / "k"), "ed25519")
    secret = Secret("key", pem)
    body = "".join(pem.strip().splitlines()[1:-1])
    shown = {
        "json": json.dumps({"reason": pem}),
        "rewrapped": "\n".join(body[i : i + 50] for i in range(0, len(body), 50)),
        "half": body[len(body) // 2 :],
        "one line": pem.splitlines()[2],
        "base64 window": f"error near {body[100:115]}!",  # any 15 consecutive characters are found
    }
    assert sorted(find_leaks([secret], shown)) == sorted(f"key in {where}" for where in shown)
    assert find_leaks([secret, Secret("pw", "a-Passw0rd-1")], {"clean": "nothing to see; pw=***"}) == {}
    assert find_leaks([Secret("pw", "a-Passw0rd-1")], {"log": "login with a-Passw0rd-1 failed"}) == {
        "pw in log": ["a-Passw0rd-1"]
    }


# -- the keystore passphrase in set_gsan_minserial, on each transport --------------------------
class PassphraseCases(NodeCase):
    action_cls = SetGsanMinserial

    @pytest.fixture(autouse=True)
    def _insecure_http_ok(self, _node: None) -> None:
        if "salt" in self.config:
            self.config["salt"]["allow_insecure_http"] = True  # the test salt-api: http on 127.0.0.1

    def _run_watched(self, caplog, **params):
        caplog.set_level(logging.DEBUG)
        with CmdlineSampler() as sampler:
            ok, res = self.run_action(server=SERVER, **params)
        return ok, res, sampler

    def _assert_secret_absent(self, secret, res, sampler, caplog):
        assert len(secret) >= 8
        assert sampler.sweeps > 10
        assert not [c for c in sampler.seen if secret in c]
        assert secret not in "\n".join(flatten(res))
        for record in caplog.records:
            assert secret not in record.getMessage()
            assert secret not in str(record.exc_info or "")

    def test_passphrase_in_no_argv_log_or_result(self):
        caplog = self.request.getfixturevalue("caplog")
        secret = self.sim.passphrase().strip()
        ok, res, sampler = self._run_watched(caplog, serial=28500)
        assert ok and res["verified"] is True, res
        assert any("keytool" in c for c in sampler.seen), "the sampler never saw keytool run"
        assert any("-storepass:env PW" in c for c in sampler.seen)
        self._assert_secret_absent(secret, res, sampler, caplog)

    def test_passphrase_absent_from_failures(self):
        caplog = self.request.getfixturevalue("caplog")
        secret = self.sim.passphrase().strip()
        # A truncated passphrase makes keytool fail: the error names the stage, shows no output.
        self.sim.inject_fault("avlockbox.sh", "partial", exit_code=0)
        ok, res, sampler = self._run_watched(caplog, serial=40000)
        assert not ok and res["error"]["step"] == "export_public_key", res
        assert "keytool" in res["error"]["reason"]
        self._assert_secret_absent(secret, res, sampler, caplog)
        self._assert_secret_absent(secret[: len(secret) // 2], res, sampler, caplog)
        self.sim.clear_faults()
        self.sim.inject_fault("avlockbox.sh", "error", message="avlockbox.sh: lockbox is locked")
        ok, res, sampler = self._run_watched(caplog, serial=40000)
        assert not ok and "avlockbox.sh did not return" in res["error"]["reason"]
        self._assert_secret_absent(secret, res, sampler, caplog)
        assert self.sim.state()["gsan_minimal_serial"] == 28000


class TestPassphraseLocal(PassphraseCases, BaseActionTestCase):
    transport = "local"


@pytest.mark.ssh
class TestPassphraseSsh(PassphraseCases, BaseActionTestCase):
    transport = "ssh"


@pytest.mark.salt
class TestPassphraseSalt(PassphraseCases, BaseActionTestCase):
    transport = "salt"
