"""SSH specifics against the real sshd: connection reuse, host keys, keys and failures."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from avamar_pack.config import server_settings
from avamar_pack.errors import CommandTimeout, ConfigError, TransportError
from avamar_pack.transport import open_transport
from avamar_pack.transport.ssh import SshTransport
from fixtures.servicekit.procs import free_port

pytestmark = pytest.mark.ssh


def _open(entry: dict, **kwargs) -> SshTransport:
    config = {"servers": {"node1": entry}}
    transport = open_transport(server_settings(config, "node1"), config)
    assert isinstance(transport, SshTransport)
    return transport


def test_one_connection_serves_every_command(sshd_service):
    with _open(sshd_service.server_entry()) as transport:
        seen = {transport.run(["sh", "-c", "echo $SSH_CLIENT"], timeout=30, check=True).stdout for _ in range(6)}
        transport.read_file(sshd_service.known_hosts)
        assert transport.connections_opened == 1
        assert len(seen) == 1, f"commands came from several TCP connections: {seen}"


def test_key_given_as_pem_text(sshd_service):
    with _open(sshd_service.server_entry(private_key=sshd_service.key_pem)) as transport:
        assert transport.run(["id", "-un"], timeout=30).stdout.strip() == sshd_service.username


def test_unknown_host_key_is_refused_by_default(sshd_service, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with _open(sshd_service.server_entry(known_hosts_file=str(empty))) as transport:
        with pytest.raises(TransportError, match="host key unknown") as info:
            transport.run(["true"], timeout=30)
    assert info.value.host == "127.0.0.1" and "`true`" in str(info.value)
    with _open(sshd_service.server_entry(known_hosts_file=str(tmp_path / "absent"))) as transport:
        with pytest.raises(TransportError, match="does not exist"):
            transport.run(["true"], timeout=30)


def test_accept_new_records_the_key_then_reject_trusts_it(sshd_service, tmp_path):
    known = tmp_path / "ssh" / "known_hosts"
    with _open(sshd_service.server_entry(known_hosts_file=str(known), host_key_policy="accept-new")) as transport:
        assert transport.run(["echo", "ok"], timeout=30).stdout == "ok\n"
    assert known.read_text().split() == sshd_service.host_key_line.split()
    assert oct(known.stat().st_mode & 0o777) == oct(0o600)
    with _open(sshd_service.server_entry(known_hosts_file=str(known))) as transport:
        assert transport.run(["echo", "again"], timeout=30).stdout == "again\n"


def test_a_changed_host_key_is_refused_even_with_accept_new(sshd_service, tmp_path):
    other = tmp_path / "other_host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    kind, blob = (tmp_path / "other_host_key.pub").read_text().split()[:2]
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sshd_service.port} {kind} {blob}\n")
    for policy in ("reject", "accept-new"):
        entry = sshd_service.server_entry(known_hosts_file=str(known), host_key_policy=policy)
        with _open(entry) as transport:
            with pytest.raises(TransportError, match="does not match"):
                transport.run(["true"], timeout=30)
    assert blob in known.read_text() and len(known.read_text().splitlines()) == 1


def test_a_key_the_server_does_not_know_is_refused(sshd_service):
    with _open(sshd_service.server_entry(private_key=sshd_service.other_key_pem)) as transport:
        with pytest.raises(TransportError, match="authentication refused"):
            transport.run(["true"], timeout=30)


def test_garbage_key_text_fails_clearly_without_echoing_it(sshd_service):
    garbage = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWJ1dC1icm9rZW4=\n-----END OPENSSH PRIVATE KEY-----\n"
    with pytest.raises(ConfigError, match="servers.node1.private_key is not an OpenSSH private key") as info:
        _open(sshd_service.server_entry(private_key=garbage))
    assert "c2VjcmV0" not in str(info.value)
    with pytest.raises(ConfigError, match="no file exists there") as info:
        _open(sshd_service.server_entry(private_key="/nonexistent/id_ed25519"))
    assert "/nonexistent" not in str(info.value)


@pytest.mark.parametrize("mangle", ["spaces", "literal-backslash-n", "one-line", "crlf"])
def test_a_key_whose_line_breaks_were_lost_still_logs_in(sshd_service, mangle):
    """What st2kv and web forms do to pasted keys: the body is re-wrapped, nothing else guessed."""
    with open(sshd_service.key_path, encoding="ascii") as handle:
        text = handle.read()
    mangled = {
        "spaces": text.replace("\n", " "),
        "literal-backslash-n": text.replace("\n", "\\n"),
        "one-line": text.replace("\n", ""),
        "crlf": text.replace("\n", "\r\n"),
    }[mangle]
    with _open(sshd_service.server_entry(private_key=mangled)) as transport:
        assert transport.run(["id", "-un"], timeout=30).stdout.strip() == sshd_service.username


def test_a_pkcs8_key_file_logs_in(sshd_service, tmp_path):
    """`BEGIN PRIVATE KEY` (openssl's default) is converted, since paramiko reads no PKCS#8."""
    pkcs8 = tmp_path / "client_rsa.pk8"
    subprocess.run(
        ["openssl", "pkcs8", "-topk8", "-nocrypt", "-out", str(pkcs8)],
        input=sshd_service.key_pem.encode(),
        check=True,
        capture_output=True,
    )
    assert pkcs8.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    os.chmod(pkcs8, 0o600)
    with _open(sshd_service.server_entry(private_key=str(pkcs8))) as transport:
        assert transport.run(["id", "-un"], timeout=30).stdout.strip() == sshd_service.username


def test_a_missing_username_is_refused_instead_of_logging_in_as_root(sshd_service):
    entry = sshd_service.server_entry()
    entry.pop("username")
    with pytest.raises(ConfigError, match="servers.node1.username is required for the ssh transport"):
        _open(entry)


def test_a_wrong_password_is_refused_and_never_shown(sshd_service):
    entry = sshd_service.server_entry(password="Wr0ng-Passw0rd")
    entry.pop("private_key")
    with _open(entry) as transport:
        with pytest.raises(TransportError, match="authentication refused") as info:
            transport.run(["true"], timeout=30)
    assert "Wr0ng-Passw0rd" not in str(info.value)


def test_unreachable_host_fails_fast_and_names_host_and_command(sshd_service):
    with _open(sshd_service.server_entry(port=free_port())) as transport:
        started = time.monotonic()
        with pytest.raises(TransportError, match="Connection refused") as info:
            transport.run(["avmaint", "ping"], timeout=30)
    assert time.monotonic() - started < 10
    assert "127.0.0.1" in str(info.value) and "`avmaint ping`" in str(info.value)


def test_timeout_kills_the_command_on_the_node(sshd_service, tmp_path):
    marker = tmp_path / "child.pid"
    script = f"sleep 61 & echo $! > {marker}; wait"
    with _open(sshd_service.server_entry()) as transport:
        with pytest.raises(CommandTimeout, match="killed on the node"):
            transport.run(["sh", "-c", script], timeout=1.5)
        child = int(marker.read_text())
        deadline = time.monotonic() + 5
        while os.path.exists(f"/proc/{child}") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not os.path.exists(f"/proc/{child}") or _is_zombie(child), "the command's child survived"
        assert transport.connections_opened == 1


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().split(") ")[1].startswith("Z")
    except OSError:
        return True


def test_env_values_never_appear_in_a_command_line_on_the_node(sshd_service):
    secret = "pass-phrase-only-in-env"
    with _open(sshd_service.server_entry()) as transport:
        shown = transport.run(
            ["sh", "-c", 'cat /proc/$$/cmdline /proc/$PPID/cmdline | tr "\\0" " "; printf "|%s" "$AVAMAR_PW"'],
            timeout=30,
            env={"AVAMAR_PW": secret},
        ).stdout
    cmdlines, value = shown.rsplit("|", 1)
    assert value == secret
    assert secret not in cmdlines
