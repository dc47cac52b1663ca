"""The keystore passphrase never leaves the node's shell: no argv, no log record, no result, no error.

A background thread samples every process's ``/proc/<pid>/cmdline`` every few milliseconds while
``set_gsan_minserial`` runs (the simulator's commands, ``sh``, ``keytool`` and ``openssl`` run on
this machine for all three transports), and must see ``keytool`` at least once to prove it looked.
"""

from __future__ import annotations

import json
import logging

from actions_testkit import SERVER, NodeCase
from proc_sampler import CmdlineSampler
from set_gsan_minserial import SetGsanMinserial
from st2tests.base import BaseActionTestCase


class SecretCases(NodeCase):
    action_cls = SetGsanMinserial

    def _run_watched(self, caplog, **params):
        caplog.set_level(logging.DEBUG)
        sampler = CmdlineSampler()
        sampler.start()
        try:
            ok, res = self.run_action(server=SERVER, **params)
        finally:
            sampler.stop()
        return ok, res, sampler

    def _assert_secret_absent(self, secret, res, sampler, caplog):
        assert len(secret) >= 8
        assert sampler.sweeps > 10
        assert not [c for c in sampler.seen if secret in c]
        assert secret not in json.dumps(res, default=str)
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


class TestSecretsLocal(SecretCases, BaseActionTestCase):
    transport = "local"


class TestSecretsSsh(SecretCases, BaseActionTestCase):
    transport = "ssh"


class TestSecretsSalt(SecretCases, BaseActionTestCase):
    transport = "salt"
