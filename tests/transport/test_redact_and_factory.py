"""Redaction of secrets in argv, and the open_transport factory."""

from __future__ import annotations

import pytest
from avamar_pack.config import server_settings
from avamar_pack.errors import ConfigError
from avamar_pack.transport import open_transport, redact
from avamar_pack.transport.local import LocalTransport
from avamar_pack.transport.redact import configured_secrets, format_argv, mask_secrets
from avamar_pack.transport.salt import SaltTransport
from avamar_pack.transport.ssh import SshTransport


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["keytool", "-list", "-storepass", "p1", "-keypass", "p2"],
            ["keytool", "-list", "-storepass", "***", "-keypass", "***"],
        ),
        (
            ["openssl", "pkcs12", "-passin", "pass:p3", "-passout", "env:X"],
            ["openssl", "pkcs12", "-passin", "***", "-passout", "***"],
        ),
        (["tool", "pass:p4"], ["tool", "pass:***"]),
        (["mccli", "--password=p5", "--admin-password", "p6"], ["mccli", "--password=***", "--admin-password", "***"]),
        (["keytool", "-storepass:env", "AVAMAR_PW"], ["keytool", "-storepass:env", "AVAMAR_PW"]),
        (["avmaint", "publickey", "--serial=12", "/tmp/k.pem"], ["avmaint", "publickey", "--serial=12", "/tmp/k.pem"]),
        (["x", "--password"], ["x", "--password"]),
    ],
)
def test_redact(argv, expected):
    assert redact(argv) == expected
    assert redact(argv) is not argv


def test_format_argv_is_bounded_and_redacted():
    text = format_argv(["keytool", "-storepass", "secret"] + ["x" * 50] * 20)
    assert "secret" not in text and len(text) <= 300 and text.endswith("...")


def test_open_transport_picks_the_configured_kind():
    config = {
        "servers": {
            "l": {"transport": "local"},
            "s": {"transport": "ssh", "host": "node.example.com", "username": "admin", "password": "pw"},
            "t": {"transport": "salt", "host": "node.example.com", "salt_target": "avamar01"},
        },
        "salt": {"api_url": "https://salt.example.com:8000", "username": "st2", "password": "pw"},
    }
    kinds = {name: type(open_transport(server_settings(config, name), config)) for name in ("l", "s", "t")}
    assert kinds == {"l": LocalTransport, "s": SshTransport, "t": SaltTransport}
    del config["salt"]
    with pytest.raises(ConfigError, match="salt.api_url"):
        open_transport(server_settings(config, "t"), config)


def test_configured_secrets_are_masked_in_text():
    key = (
        "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAE\n"
        "bm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
        "-----END OPENSSH PRIVATE KEY-----\n"
    )
    config = {
        "servers": {
            "a": {"transport": "ssh", "password": "ssh-pw-1234", "private_key": key},
            "b": {"transport": "ssh", "private_key": "/etc/keys/b_ed25519"},
        },
        "salt": {"password": "salt-pw-5678"},
    }
    secrets = configured_secrets(config)
    assert "/etc/keys/b_ed25519" not in secrets
    text = f"login ssh-pw-1234 / salt-pw-5678 failed; key {key}; a line: bm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
    masked = mask_secrets(text, secrets)
    assert "ssh-pw-1234" not in masked and "salt-pw-5678" not in masked and "bm9uZQAAAAAAAAAB" not in masked
    assert masked.count("***") == 4 and "login" in masked
    assert mask_secrets("nothing secret", secrets) == "nothing secret"
