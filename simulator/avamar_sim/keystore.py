"""The node's real PKCS12 keystore: an EC P-384 key pair under alias ``mcecroot``, made by keytool.

keytool starts a JVM (about a second), so one template keystore is made per cache directory and
copied; each node still gets its own random passphrase (the copy is re-encrypted in-process with
``cryptography`` when it is installed, else by ``keytool -storepasswd``). Without a usable cache
directory the keystore is generated directly. Passphrases only ever reach keytool through
``-storepass:file``, never argv.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import os
import re
import secrets
import shutil
import subprocess
import tempfile
from typing import Optional, Tuple

ALIAS = "mcecroot"
TEMPLATE_VERSION = "v1"
_PEM_RE = re.compile(rb"-----BEGIN PUBLIC KEY-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END PUBLIC KEY-----")


class KeystoreError(RuntimeError):
    """keytool/openssl missing or failing (the message never holds the passphrase)."""


def new_passphrase() -> str:
    return secrets.token_urlsafe(18)


def cache_dir() -> Optional[str]:
    """Where templates live: $AVAMAR_SIM_CACHE, else $XDG_CACHE_HOME or ~/.cache, /avamar-sim."""
    explicit = os.environ.get("AVAMAR_SIM_CACHE")
    if explicit is not None:
        return explicit or None  # empty string disables the cache
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "avamar-sim")


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise KeystoreError(f"{name} is not installed; the simulator needs the real {name} (apt: openjdk/openssl)")
    return found


def _secret_file(directory: str, secret: str) -> str:
    fd, name = tempfile.mkstemp(dir=directory, prefix=".pw-")
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return name


def _run(argv: list, what: str) -> bytes:
    proc = subprocess.run(argv, capture_output=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise KeystoreError(f"{what} failed (exit {proc.returncode}): {proc.stderr.decode(errors='replace')[-400:]}")
    return proc.stdout


def generate(keystore: str, passphrase: str) -> str:
    """Run keytool -genkeypair into `keystore`; return the public key PEM (SPKI)."""
    workdir = os.path.dirname(os.path.abspath(keystore))
    pw_file = _secret_file(workdir, passphrase)
    try:
        _run(
            [
                _tool("keytool"),
                "-genkeypair",
                "-keyalg",
                "EC",
                "-groupname",
                "secp384r1",
                "-alias",
                ALIAS,
                "-storetype",
                "PKCS12",
                "-keystore",
                keystore,
                "-storepass:file",
                pw_file,
                "-dname",
                "CN=mcecroot, OU=MCS, O=Avamar Simulator",
                "-validity",
                "7300",
            ],
            "keytool -genkeypair",
        )
        cert = _run(
            [
                _tool("keytool"),
                "-exportcert",
                "-rfc",
                "-keystore",
                keystore,
                "-storepass:file",
                pw_file,
                "-alias",
                ALIAS,
            ],
            "keytool -exportcert",
        )
    finally:
        os.unlink(pw_file)
    proc = subprocess.run(
        [_tool("openssl"), "x509", "-pubkey", "-noout"], input=cert, capture_output=True, timeout=60, check=False
    )
    if proc.returncode != 0:
        raise KeystoreError(f"openssl x509 -pubkey failed: {proc.stderr.decode(errors='replace')[-400:]}")
    return proc.stdout.decode()


def _repassword(keystore: str, old: str, new: str) -> None:
    try:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.serialization import PrivateFormat, pkcs12
    except ImportError:
        workdir = os.path.dirname(os.path.abspath(keystore))
        old_file, new_file = _secret_file(workdir, old), _secret_file(workdir, new)
        try:
            _run(
                [
                    _tool("keytool"),
                    "-storepasswd",
                    "-keystore",
                    keystore,
                    "-storepass:file",
                    old_file,
                    "-new:file",
                    new_file,
                ],
                "keytool -storepasswd",
            )
        finally:
            os.unlink(old_file)
            os.unlink(new_file)
        return
    with open(keystore, "rb") as handle:
        key, cert, _ = pkcs12.load_key_and_certificates(handle.read(), old.encode())
    encryption = (
        PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(10000)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(new.encode())
    )
    data = pkcs12.serialize_key_and_certificates(ALIAS.encode(), key, cert, None, encryption)
    with open(keystore, "wb") as handle:
        handle.write(data)


def _template(directory: str, variant: str) -> Tuple[str, str, str]:
    """(keystore path, passphrase, public PEM) of the cached template; made once under a lock."""
    tdir = os.path.join(directory, f"keystore-{TEMPLATE_VERSION}-{variant}")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    lock_fd = os.open(os.path.join(directory, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        if not os.path.isfile(os.path.join(tdir, "pub.pem")):
            staging = tempfile.mkdtemp(dir=directory, prefix=".new-")
            passphrase = new_passphrase()
            pem = generate(os.path.join(staging, "avamar_keystore"), passphrase)
            with open(os.path.join(staging, "passphrase"), "w") as handle:
                handle.write(passphrase)
            with open(os.path.join(staging, "pub.pem"), "w") as handle:
                handle.write(pem)
            shutil.rmtree(tdir, ignore_errors=True)
            os.rename(staging, tdir)
    finally:
        os.close(lock_fd)
    with open(os.path.join(tdir, "passphrase")) as handle:
        passphrase = handle.read()
    with open(os.path.join(tdir, "pub.pem")) as handle:
        pem = handle.read()
    return os.path.join(tdir, "avamar_keystore"), passphrase, pem


def create(keystore: str, passphrase: str, variant: str = "a") -> str:
    """Put a keystore protected by `passphrase` at `keystore`; return its public key PEM."""
    directory = cache_dir()
    template = None
    if directory:
        with contextlib.suppress(OSError):
            template = _template(directory, variant)
    if template is None:
        return generate(keystore, passphrase)
    source, template_pass, pem = template
    shutil.copyfile(source, keystore)
    os.chmod(keystore, 0o600)
    _repassword(keystore, template_pass, passphrase)
    return pem


def spki_fingerprint(pem: bytes) -> Optional[str]:
    """sha256 hex of the DER SubjectPublicKeyInfo in a PEM ``PUBLIC KEY`` block, None if absent."""
    match = _PEM_RE.search(pem)
    if not match:
        return None
    try:
        der = base64.b64decode(b"".join(match.group(1).split()), validate=True)
    except ValueError:
        return None
    return hashlib.sha256(der).hexdigest()
