"""Credentials and connection policy, checked where a transport opens (no sshd, no salt needed).

* ``servers.<name>.private_key``: the accepted forms load (the same key as the original file);
  every other shape is refused with a ConfigError naming the key, and no fragment of the value
  in the message;
* ``username`` is required for ssh; a password is never shown;
* salt-api: https only unless ``allow_insecure_http``; ``verify_ssl`` true/false/CA bundle path,
  proved over real TLS against a private CA; ``runas`` reaches salt's ``cmd.run_all``;
* ``tools/install-system-deps demo`` never asks for an SSH server.
"""

from __future__ import annotations

import base64
import os
import subprocess
from typing import Any, Dict, Iterator, List

import pytest
from avamar_pack.config import server_settings
from avamar_pack.errors import ConfigError, TransportError
from avamar_pack.transport import open_transport
from avamar_pack.transport.keys import describe
from avamar_pack.transport.salt import SaltTransport
from avamar_pack.transport.ssh import SshTransport
from tls_stub import MINION, start_tls_salt_stub

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEY = "servers.node1.private_key"


def _keygen(path: str, kind: str, *extra: str, passphrase: str = "") -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-C", "t", "-f", path, *extra], check=True)
    with open(path, encoding="ascii") as handle:
        return handle.read()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, str]:
    d = str(tmp_path_factory.mktemp("keys"))
    out = {
        "ed25519": _keygen(f"{d}/ed", "ed25519"),
        "rsa_pem": _keygen(f"{d}/rsa", "rsa", "-b", "2048", "-m", "PEM"),
        "rsa_pkcs8": _keygen(f"{d}/rsa8", "rsa", "-b", "2048", "-m", "PKCS8"),
        "ecdsa_pem": _keygen(f"{d}/ec", "ecdsa", "-m", "PEM"),
        "ed25519_encrypted": _keygen(f"{d}/enc", "ed25519", passphrase="correct horse"),
        "rsa_pkcs8_encrypted": _keygen(f"{d}/enc8", "rsa", "-m", "PKCS8", passphrase="correct horse"),
        "dir": d,
    }
    with open(f"{d}/ed.pub", encoding="ascii") as handle:
        out["ed25519_pub"] = handle.read()
    return out


def _ssh_config(**entry: Any) -> Dict[str, Any]:
    base = {"transport": "ssh", "host": "127.0.0.1", "username": "admin"}
    base.update(entry)
    return {"servers": {"node1": base}}


def _open(config: Dict[str, Any]) -> Any:
    return open_transport(server_settings(config, "node1"), config)


def _fragments(value: str) -> Iterator[str]:
    """Pieces of a secret that must not show: each line, and every 12-character window of its body."""
    for line in value.replace("\\n", "\n").splitlines():
        if len(line.strip()) >= 8 and not line.startswith("-----"):
            yield line.strip()
    compact = "".join(c for c in value if c.isalnum() or c in "+/=")
    for i in range(0, max(len(compact) - 12, 0), 6):
        yield compact[i : i + 12]


def _body(pem: str) -> str:
    return "".join(pem.strip().splitlines()[1:-1])


# -- accepted forms --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shape",
    [
        "path",
        "ed25519",
        "rsa_pem",
        "rsa_pkcs8",
        "ecdsa_pem",
        "spaces",
        "literal-newlines",
        "one-line",
        "crlf",
        "surrounded-by-blank-lines",
    ],
)
def test_accepted_key_forms_load_the_same_key(keys, shape):
    ed = keys["ed25519"]
    value = {
        "path": f"{keys['dir']}/ed",
        "spaces": ed.replace("\n", " "),
        "literal-newlines": ed.replace("\n", "\\n"),
        "one-line": ed.replace("\n", ""),
        "crlf": ed.replace("\n", "\r\n"),
        "surrounded-by-blank-lines": f"\n\n  {ed}\n\n",
    }.get(shape) or keys[shape]
    transport = _open(_ssh_config(private_key=value))
    assert isinstance(transport, SshTransport)
    expected_file = {"rsa_pem": "rsa", "rsa_pkcs8": "rsa8", "ecdsa_pem": "ec"}.get(shape, "ed")
    with open(f"{keys['dir']}/{expected_file}.pub", encoding="ascii") as handle:
        assert transport._pkey.get_base64() == handle.read().split()[1]


# -- refused shapes ---------------------------------------------------------------------------
def _refused_shapes(keys: Dict[str, str]) -> Dict[str, Any]:
    ed, d = keys["ed25519"], keys["dir"]
    body = _body(ed)
    with open(f"{d}/b64.txt", "w", encoding="ascii") as handle:
        handle.write(base64.b64encode(ed.encode()).decode() + "\n")
    with open(f"{d}/key.ppk", "w", encoding="ascii") as handle:
        handle.write(_ppk(body))
    return {
        "putty-ppk": (_ppk(body), "PuTTY .ppk"),
        "putty-ppk-one-line": (_ppk(body).replace("\n", " "), "PuTTY .ppk"),
        "base64-of-the-pem-file": (base64.b64encode(ed.encode()).decode(), "base64-encoded key text"),
        "base64-of-the-pem-file-wrapped": ("\n".join(_wrap(base64.b64encode(ed.encode()).decode())), "base64-encoded"),
        "headerless-body": (body, "without its -----BEGIN"),
        "headerless-body-with-newlines": ("\n".join(ed.strip().splitlines()[1:-1]) + "\n", "without its -----BEGIN"),
        "headerless-rsa-der": (_body(keys["rsa_pem"]), "DER body"),
        "headerless-starting-with-slash": ("/" + body, "no file exists there"),
        "public-key": (keys["ed25519_pub"], "public key"),
        "encrypted-openssh": (keys["ed25519_encrypted"], "encrypted with a passphrase"),
        "encrypted-pkcs8": (keys["rsa_pkcs8_encrypted"], "encrypted with a passphrase"),
        "legacy-encrypted-pem": (_legacy_encrypted(keys["rsa_pem"]), "encrypted with a passphrase"),
        "truncated": (ed[: len(ed) // 2], "no '-----END OPENSSH PRIVATE KEY-----' line"),
        "two-keys": (ed + keys["rsa_pem"], "2 BEGIN blocks"),
        "corrupted-body": (_corrupt(ed), "content is not a valid private key"),
        "begin-end-around-garbage": (
            "-----BEGIN RSA PRIVATE KEY-----\n" + "Zm9vYmFy" * 20 + "\n-----END RSA PRIVATE KEY-----",
            "content is not a valid private key",
        ),
        "relative-path": ("keys/ava01_ed25519", "relative path"),
        "missing-file": ("/etc/avamar-pack/no-such-key", "no file exists there"),
        "directory": (d, "not a regular file"),
        "file-holding-base64": (f"{d}/b64.txt", "base64-encoded key text"),
        "file-holding-ppk": (f"{d}/key.ppk", "PuTTY .ppk"),
        "empty": ("  ", "is empty"),
    }


def _ppk(body: str) -> str:
    lines = _wrap(body)
    return (
        "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: ava01\n"
        f"Public-Lines: 2\n{lines[0]}\n{lines[1]}\nPrivate-Lines: 1\n{lines[2]}\nPrivate-MAC: {lines[3]}\n"
    )


def _corrupt(pem: str) -> str:
    """The key with the line holding its private part overwritten (BEGIN/END and the magic intact)."""
    lines = pem.strip().splitlines()
    lines[-2] = "A" * len(lines[-2])
    lines[-3] = "B" * len(lines[-3])
    return "\n".join(lines) + "\n"


def _wrap(text: str) -> List[str]:
    return [text[i : i + 64] for i in range(0, len(text), 64)]


def _legacy_encrypted(pem: str) -> str:
    lines = pem.strip().splitlines()
    return (
        "\n".join(
            [
                lines[0],
                "Proc-Type: 4,ENCRYPTED",
                "DEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF",
                "",
                *lines[1:],
            ]
        )
        + "\n"
    )


REFUSED_IDS = [
    "putty-ppk",
    "putty-ppk-one-line",
    "base64-of-the-pem-file",
    "base64-of-the-pem-file-wrapped",
    "headerless-body",
    "headerless-body-with-newlines",
    "headerless-rsa-der",
    "headerless-starting-with-slash",
    "public-key",
    "encrypted-openssh",
    "encrypted-pkcs8",
    "legacy-encrypted-pem",
    "truncated",
    "two-keys",
    "corrupted-body",
    "begin-end-around-garbage",
    "relative-path",
    "missing-file",
    "directory",
    "file-holding-base64",
    "file-holding-ppk",
    "empty",
]


@pytest.mark.parametrize("shape", REFUSED_IDS)
def test_refused_key_shapes_name_the_key_and_never_echo_it(keys, shape):
    shapes = _refused_shapes(keys)
    assert sorted(shapes) == sorted(REFUSED_IDS)
    value, expected = shapes[shape]
    with pytest.raises(ConfigError) as info:
        _open(_ssh_config(private_key=value, password="pw-canary-31ad"))
    message = str(info.value)
    assert message.startswith(KEY), message
    assert expected in message, message
    assert "pw-canary-31ad" not in message
    shown_path = value if os.path.exists(value.strip()) else None  # an existing file's path is not a secret
    leaked = [f for f in _fragments(value) if f in message and (shown_path is None or f not in shown_path)]
    if shown_path and os.path.isfile(shown_path):
        with open(shown_path, encoding="ascii") as handle:
            leaked += [f for f in _fragments(handle.read()) if f in message and f not in shown_path]
    assert leaked == [], f"{shape}: the refusal shows part of the value: {leaked} in {message!r}"
    chained = info.value.__cause__ or (None if info.value.__suppress_context__ else info.value.__context__)
    assert chained is None, f"a chained exception could carry the value: {chained!r}"


def test_describe_never_returns_any_of_the_value(keys):
    for value, _ in _refused_shapes(keys).values():
        text = describe(value)
        assert not [f for f in _fragments(value) if f in text], text


# -- username and password --------------------------------------------------------------------
def test_ssh_requires_a_username():
    config = _ssh_config(password="pw-canary-77c1")
    del config["servers"]["node1"]["username"]
    with pytest.raises(ConfigError, match=r"servers\.node1\.username is required for the ssh transport") as info:
        _open(config)
    assert "pw-canary-77c1" not in str(info.value)


def test_ssh_needs_a_key_or_a_password():
    with pytest.raises(ConfigError, match="neither private_key nor password"):
        _open(_ssh_config())


def test_a_password_with_a_nul_is_refused_without_being_shown():
    with pytest.raises(ConfigError, match=r"servers\.node1\.password contains a NUL") as info:
        _open(_ssh_config(password="pw-canary\x00-tail"))
    assert "pw-canary" not in str(info.value) and "tail" not in str(info.value)


def test_the_transport_repr_shows_no_credential(keys):
    transport = _open(_ssh_config(private_key=keys["ed25519"], password="pw-canary-c0de"))
    text = repr(transport) + repr(transport.settings)
    assert "pw-canary-c0de" not in text and _body(keys["ed25519"])[:24] not in text


# -- salt-api policy --------------------------------------------------------------------------
def _salt_config(**salt: Any) -> Dict[str, Any]:
    section = {"api_url": "https://salt.example.com:8000", "username": "st2", "password": "salt-canary-5e1f"}
    section.update(salt)
    return {"servers": {"node1": {"transport": "salt", "host": "127.0.0.1", "salt_target": "m1"}}, "salt": section}


@pytest.mark.parametrize("url", ["http://salt.example.com:8000", "http://127.0.0.1:8000"])
def test_http_salt_api_is_refused_unless_explicitly_allowed(url):
    with pytest.raises(ConfigError, match=r"salt\.api_url must be an https:// URL.*allow_insecure_http") as info:
        _open(_salt_config(api_url=url))
    assert "salt-canary-5e1f" not in str(info.value)
    assert isinstance(_open(_salt_config(api_url=url, allow_insecure_http=True)), SaltTransport)


def test_https_salt_api_is_accepted_and_verify_defaults_to_true():
    transport = _open(_salt_config())
    assert transport.api.verify_ssl is True and transport.runas is None


@pytest.mark.parametrize("flag", ["yes", 1, "true"])
def test_allow_insecure_http_must_be_a_boolean(flag):
    with pytest.raises(ConfigError, match="allow_insecure_http must be a boolean"):
        _open(_salt_config(api_url="http://salt:8000", allow_insecure_http=flag))


def test_verify_ssl_takes_a_ca_bundle_path(tmp_path):
    bundle = tmp_path / "private-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    assert _open(_salt_config(verify_ssl=str(bundle))).api.verify_ssl == str(bundle)
    assert _open(_salt_config(verify_ssl=False)).api.verify_ssl is False
    with pytest.raises(ConfigError, match=f"CA bundle {tmp_path}/absent.pem, which does not exist"):
        _open(_salt_config(verify_ssl=str(tmp_path / "absent.pem")))
    for bad in ("ca.pem", 1, ["x"]):
        with pytest.raises(ConfigError, match="true, false or the absolute path of a CA bundle"):
            _open(_salt_config(verify_ssl=bad))


def test_runas_is_validated_and_handed_to_the_transport():
    config = _salt_config()
    config["servers"]["node1"]["runas"] = "admin"
    assert _open(config).runas == "admin"
    for bad in ("root;id", "-oProxy", "a b", 5):
        config["servers"]["node1"]["runas"] = bad
        with pytest.raises(ConfigError, match=r"servers\.node1\.runas is not a valid user name"):
            _open(config)


@pytest.fixture
def tls_stub(tmp_path):
    stub = start_tls_salt_stub(str(tmp_path), password="salt-canary-5e1f", token="token-canary-9a0b77")
    yield stub
    stub.stop()


def test_a_private_ca_bundle_verifies_salt_api_over_real_tls_and_runas_reaches_cmd_run(tls_stub):
    config = _salt_config(api_url=tls_stub.url, verify_ssl=tls_stub.ca_bundle)
    config["servers"]["node1"].update(salt_target=MINION, runas="admin")
    with _open(config) as transport:
        assert transport.run(["id", "-un"], timeout=10).stdout == "ran as admin\n"
    calls = [r["body"][0] for r in tls_stub.received if r["path"] == "/"]
    assert calls and all(c["kwarg"]["runas"] == "admin" for c in calls)
    assert calls[0]["kwarg"]["env"]["LANG"] == "C"


def test_the_system_cas_refuse_a_private_ca_and_the_error_shows_no_secret(tls_stub):
    config = _salt_config(api_url=tls_stub.url)
    config["servers"]["node1"]["salt_target"] = MINION
    with _open(config) as transport:
        with pytest.raises(TransportError, match="TLS verification of .* failed") as info:
            transport.run(["true"], timeout=10)
    assert "salt-canary-5e1f" not in str(info.value) and "token-canary" not in str(info.value)
    assert tls_stub.received == [], "the password was sent to a server whose certificate was not verified"


def test_a_wrong_salt_password_is_refused_and_never_shown(tls_stub):
    config = _salt_config(api_url=tls_stub.url, verify_ssl=tls_stub.ca_bundle, password="wrong-canary-3b3b")
    config["servers"]["node1"]["salt_target"] = MINION
    with _open(config) as transport:
        with pytest.raises(TransportError, match="refused") as info:
            transport.run(["true"], timeout=10)
    assert "wrong-canary-3b3b" not in str(info.value)


# -- install-system-deps ----------------------------------------------------------------------
def _deps_run(tmp_path, profile: List[str]) -> List[str]:
    """Run the script with no tool installed and a recording apt-get; return what it installed."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "apt.log"
    stubs = {
        "apt-get": f'#!/bin/sh\necho "$@" >> {record}\n',
        "id": "#!/bin/sh\necho 0\n",
        "python3": "#!/bin/sh\nexit 1\n",  # no venv module: python3-venv is needed
    }
    for name, text in stubs.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    for tool in ("bash", "env"):
        os.symlink(subprocess.check_output(["sh", "-c", f"command -v {tool}"], text=True).strip(), bin_dir / tool)
    subprocess.run(
        [os.path.join(ROOT, "tools", "install-system-deps"), *profile],
        check=True,
        env={"PATH": str(bin_dir)},
        capture_output=True,
    )
    installs = [line for line in record.read_text().splitlines() if line.startswith("install")]
    assert len(installs) == 1, installs
    return installs[0].split()


def test_the_demo_profile_installs_no_ssh_server(tmp_path):
    packages = _deps_run(tmp_path, ["demo"])
    assert {"default-jre-headless", "openssl", "python3-venv"} <= set(packages)
    assert not [p for p in packages if "openssh" in p], packages


def test_the_default_profile_still_installs_everything_the_tests_need(tmp_path):
    packages = _deps_run(tmp_path, [])
    assert {"default-jre-headless", "openssl", "python3-venv", "openssh-client"} <= set(packages)
    if not os.path.exists("/usr/sbin/sshd"):
        assert "openssh-server" in packages
