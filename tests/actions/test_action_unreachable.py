"""Connection failures over ssh and salt: a clear failure naming host and cause, nothing changed."""

from __future__ import annotations

import socket

from actions_testkit import SERVER, NodeCase
from check_preconditions import CheckPreconditions
from set_gsan_minserial import SetGsanMinserial
from st2tests.base import BaseActionTestCase


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the socket is: nothing listens there


class FailureChecks(NodeCase):
    action_cls = SetGsanMinserial

    def assert_clean_failure(self, res, *needles):
        assert res["error"]["step"] in ("read_serials", "connect"), res
        text = res["error"]["reason"]
        for needle in needles:
            assert needle in text, text
        assert "Traceback" not in text
        assert self.sim.state()["gsan_minimal_serial"] == 28000


class TestSshFailures(FailureChecks, BaseActionTestCase):
    transport = "ssh"

    def test_unreachable_host(self):
        self.config["servers"][SERVER]["port"] = closed_port()
        ok, res = self.run_action(server=SERVER, serial=40000)
        assert not ok
        self.assert_clean_failure(res, "127.0.0.1")

    def test_bad_key(self):
        sshd = self.request.getfixturevalue("sshd_service")
        self.config["servers"][SERVER]["private_key"] = sshd.other_key_pem
        ok, res = self.run_action(server=SERVER, serial=40000)
        assert not ok
        self.assert_clean_failure(res, "127.0.0.1")
        assert sshd.other_key_pem.splitlines()[1] not in str(res)

    def test_unknown_host_key_is_rejected_by_default(self):
        empty = self.sim.path("/known_hosts_empty")
        open(empty, "w").close()
        self.config["servers"][SERVER]["known_hosts_file"] = empty
        ok, res = self.run_action(server=SERVER, serial=40000)
        assert not ok
        self.assert_clean_failure(res, "127.0.0.1")

    def test_preconditions_answer_unsafe_when_unreachable(self):
        self.action_cls = CheckPreconditions
        self.config["servers"][SERVER]["port"] = closed_port()
        ok, res = self.run_action(server=SERVER)
        assert ok and res["safe"] is False and len(res["reasons"]) >= 2


class TestSaltFailures(FailureChecks, BaseActionTestCase):
    transport = "salt"

    def test_unreachable_salt_api(self):
        self.config["salt"]["api_url"] = f"http://127.0.0.1:{closed_port()}"
        ok, res = self.run_action(server=SERVER, serial=40000)
        assert not ok
        self.assert_clean_failure(res)

    def test_bad_salt_password(self):
        self.config["salt"]["password"] = "not-the-password"
        ok, res = self.run_action(server=SERVER, serial=40000)
        assert not ok
        self.assert_clean_failure(res)
        assert "not-the-password" not in str(res)
