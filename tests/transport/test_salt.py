"""Salt specifics against the real salt-master, salt-minion and salt-api."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile

import pytest
import requests
from avamar_pack.config import server_settings
from avamar_pack.errors import ConfigError, TransportError
from avamar_pack.transport import open_transport
from avamar_pack.transport.salt import SaltTransport
from fixtures.servicekit.procs import free_port

pytestmark = pytest.mark.salt


def _open(salt_service, entry=None, **salt_overrides) -> SaltTransport:
    config = {
        "servers": {"node1": entry or salt_service.server_entry()},
        "salt": salt_service.salt_config(**dict({"allow_insecure_http": True}, **salt_overrides)),
    }
    transport = open_transport(server_settings(config, "node1"), config)
    assert isinstance(transport, SaltTransport)
    return transport


def test_the_token_is_reused_across_commands(salt_service):
    with _open(salt_service) as transport:
        for i in range(3):
            assert transport.run(["echo", str(i)], timeout=30).stdout == f"{i}\n"
        assert transport.logins == 1


def test_a_revoked_token_is_refreshed_once(salt_service):
    with _open(salt_service) as transport:
        transport.run(["true"], timeout=30, check=True)
        token = transport._token
        response = requests.post(salt_service.api_url + "/logout", headers={"X-Auth-Token": token}, timeout=30)
        assert response.ok
        assert transport.run(["echo", "after logout"], timeout=30).stdout == "after logout\n"
        assert transport.logins == 2 and transport._token != token
        transport._token = "not-a-token"
        assert transport.run(["echo", "after bad token"], timeout=30).stdout == "after bad token\n"
        assert transport.logins == 3


def test_a_wrong_password_is_refused_and_never_shown(salt_service):
    with _open(salt_service, password="Wr0ng-Secret") as transport:
        with pytest.raises(TransportError, match="refused") as info:
            transport.run(["true"], timeout=30)
    assert "Wr0ng-Secret" not in str(info.value) and salt_service.password not in str(info.value)


def test_a_minion_that_does_not_answer(salt_service):
    entry = salt_service.server_entry(salt_target="no-such-minion")
    with _open(salt_service, entry) as transport:
        with pytest.raises(TransportError, match="no return from minion 'no-such-minion'"):
            transport.run(["true"], timeout=5)


def test_a_glob_target_must_match_exactly_one_minion(salt_service):
    with _open(salt_service, salt_service.server_entry(salt_target="avamar-*")) as transport:
        assert transport.run(["echo", "via glob"], timeout=30).stdout == "via glob\n"
    with _open(salt_service, salt_service.server_entry(salt_target="nothing-*")) as transport:
        with pytest.raises(TransportError, match="exactly one minion"):
            transport.run(["true"], timeout=30)


def test_unreachable_salt_api(salt_service):
    with _open(salt_service, api_url=f"http://127.0.0.1:{free_port()}") as transport:
        with pytest.raises(TransportError, match="cannot reach salt-api") as info:
            transport.run(["avmaint", "ping"], timeout=30)
    assert "`avmaint ping`" in str(info.value) or "login" in str(info.value)


def test_a_salt_level_error_is_a_transport_error(salt_service):
    # A real error answer: cmd.run_all refuses a cwd that does not exist, before running anything.
    lowstate = {
        "client": "local",
        "tgt": salt_service.minion_id,
        "fun": "cmd.run_all",
        "arg": [["true", "-storepass", "s3cret"]],
        "kwarg": {"cwd": "/nonexistent", "python_shell": False},
    }
    answer = salt_service.call(lowstate)
    assert isinstance(answer[salt_service.minion_id], str)
    with _open(salt_service) as transport:
        with pytest.raises(TransportError, match="salt error: .*cwd") as info:
            transport._parse_return(["true", "-storepass", "s3cret"], salt_service.minion_id, answer, 5, 0.1)
    assert "s3cret" not in str(info.value)


def test_a_program_salt_cannot_start_exits_127_with_a_redacted_message(salt_service):
    with _open(salt_service) as transport:
        result = transport.run(["avamar-nope", "-storepass", "s3cret"], timeout=30)
    assert result.exit_code == 127 and "s3cret" not in result.stderr + result.stdout


def test_the_fixture_exposes_the_event_bus_through_salt_api(salt_service):
    """What the sensor relies on: an event fired on the minion shows up on salt-api's /events."""
    assert salt_service.master_sock_dir and os.path.isdir(salt_service.master_sock_dir)
    tag = "avamar/test/transport-fixture"
    with requests.get(
        salt_service.api_url + "/events", headers={"X-Auth-Token": salt_service.token()}, stream=True, timeout=(10, 30)
    ) as stream:
        assert stream.ok
        assert salt_service.send_event(tag, {"answer": 42}) == {salt_service.minion_id: True}
        lines = stream.iter_lines(decode_unicode=True)
        for line in lines:
            if line == f"tag: {tag}":
                data = next(lines)
                break
        else:
            raise AssertionError(f"event {tag} never reached /events")
    assert data.startswith("data: ") and '"answer": 42' in data


def test_runas_runs_commands_and_file_writes_as_that_user(salt_service):
    """A lock created over Salt with runas belongs to that user (as over SSH as admin), not root."""
    user = pwd.getpwnam("nobody")
    shared = tempfile.mkdtemp(prefix="avamar-runas-", dir="/tmp")
    os.chmod(shared, 0o1777)  # noqa: S103 - a sticky scratch dir the unprivileged user can write in
    try:
        with _open(salt_service, salt_service.server_entry(runas="nobody")) as transport:
            assert transport.runas == "nobody"
            assert transport.run(["id", "-un"], timeout=30).stdout == "nobody\n"
            lock = os.path.join(shared, "avamar-pack.lock")
            transport.run(["sh", "-c", 'echo owner > "$1"', "sh", lock], timeout=30, check=True)
            assert os.stat(lock).st_uid == user.pw_uid
            transport.write_file_atomic(lock, b"new owner line\n", backup_path=lock + ".bak")
            assert os.stat(lock).st_uid == user.pw_uid
            assert transport.read_file(lock) == b"new owner line\n"
        with _open(salt_service) as transport:  # without runas: the minion's user
            assert transport.run(["id", "-u"], timeout=30).stdout == f"{os.geteuid()}\n"
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_salt_api_over_http_is_refused_without_the_explicit_flag(salt_service):
    config = {"servers": {"node1": salt_service.server_entry()}, "salt": salt_service.salt_config()}
    config["salt"].pop("allow_insecure_http", None)
    with pytest.raises(ConfigError, match="allow_insecure_http") as info:
        open_transport(server_settings(config, "node1"), config)
    assert salt_service.password not in str(info.value)
