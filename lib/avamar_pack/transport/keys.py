"""The SSH private key and passwords from the config: accepted forms, and refusals that never echo them.

``servers.<name>.private_key`` is accepted in exactly two forms:

* key text: one ``-----BEGIN <label>-----`` ... ``-----END <label>-----`` block whose label is
  ``OPENSSH PRIVATE KEY``, ``RSA PRIVATE KEY``, ``EC PRIVATE KEY`` or ``PRIVATE KEY`` (PKCS#8),
  unencrypted. A key whose line breaks were lost on the way into st2kv (spaces instead of
  newlines, one long line, literal ``\\n``) is accepted: the body is re-wrapped, nothing else
  is guessed;
* the absolute path (``~/`` allowed) of a regular file on the st2 host holding such text.

Everything else is refused: PuTTY ``.ppk`` keys, base64 blobs (an encoded PEM file, or a key
body without its BEGIN/END lines), public keys, encrypted keys, DSA keys, relative paths and
paths to nothing. The refusal names the config key and what the value looks like, never the
value: a malformed key is still a key. A path is shown only once it is known to exist, because
until then a "path" may be a key body that happens to start with ``/`` (a base64 character).
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import re
import stat
from typing import List, Optional, Tuple

import paramiko

from avamar_pack.errors import ConfigError

KEY_LABELS = ("OPENSSH PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY")
MAX_KEY_FILE_BYTES = 64 * 1024
MAX_PATH_CHARS = 4096

_BEGIN_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]{1,40})-----")
_BASE64_BODY_RE = re.compile(r"^[A-Za-z0-9+/]+={0,2}\Z")
_PUBLIC_KEY_RE = re.compile(r"^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+) +[A-Za-z0-9+/=]{16,}")
_OPENSSH_MAGIC = b"openssh-key-v1\x00"
_SUPPORTED = "an unencrypted Ed25519, ECDSA or RSA key in OpenSSH or PEM format"


def check_secret_string(value: object, key: str) -> Optional[str]:
    """A configured password/token: None, or a non-empty string without NUL; the refusal never shows it."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a string (value not shown: it is a secret)")
    if not value:
        raise ConfigError(f"{key} is empty")
    if "\x00" in value:
        raise ConfigError(f"{key} contains a NUL character (value not shown: it is a secret)")
    return value


def load_private_key(value: object, key: str) -> paramiko.PKey:
    """The paramiko key for the configured ``value``; ConfigError naming ``key`` otherwise."""
    label, text = private_key_text(value, key)
    where = f"{key}"
    if label == "PRIVATE KEY":
        text = _pkcs8_to_openssh(text, where)
    classes = [getattr(paramiko, n) for n in ("Ed25519Key", "ECDSAKey", "RSAKey") if hasattr(paramiko, n)]
    for cls in classes:
        try:
            return cls.from_private_key(io.StringIO(text))
        except paramiko.PasswordRequiredException:
            raise _encrypted(where) from None
        except (paramiko.SSHException, ValueError, TypeError, IndexError, AssertionError):
            continue
    raise ConfigError(
        f"{where} has BEGIN/END lines but its content is not a valid private key ({_SUPPORTED} is needed)"
    ) from None


def private_key_text(value: object, key: str) -> Tuple[str, str]:
    """(label, canonical PEM text) of the configured key, read from the file when it is a path."""
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a string (value not shown: it is a secret)")
    if not value.strip():
        raise ConfigError(f"{key} is empty")
    if "-----BEGIN" in value:
        return _parse_pem(value, key)
    if _looks_like_path(value):
        path, text = _read_key_file(value.strip(), key)
        if "-----BEGIN" not in text:
            raise ConfigError(f"{key} names the file {path}, which holds no key text: it looks like {describe(text)}")
        return _parse_pem(text, f"{key} (file {path})")
    raise ConfigError(
        f"{key} is neither private key text (-----BEGIN ... PRIVATE KEY-----) nor the absolute path of a key file:"
        f" it looks like {describe(value)} (value not shown: it is a secret)"
    )


def describe(value: str) -> str:
    """What a value that is not an accepted key looks like, in words that reveal none of it."""
    text = value.strip()
    if text.startswith("PuTTY-User-Key-File-"):
        return "a PuTTY .ppk key; convert it with `puttygen key.ppk -O private-openssh -o key.pem`"
    if text.startswith("---- BEGIN SSH2"):
        return "an RFC 4716 (SSH2) key; export it in OpenSSH format"
    if _PUBLIC_KEY_RE.match(text):
        return "an OpenSSH public key, not the private key"
    compact = re.sub(r"\s+|\\n|\\r", "", text)
    if len(compact) >= 32 and _BASE64_BODY_RE.match(compact):
        decoded = _b64decode(compact)
        if decoded is None:
            return "base64-like text that does not decode"
        if decoded.lstrip().startswith(b"-----BEGIN"):
            return "base64-encoded key text; store the decoded text (base64 -d) instead"
        if decoded.startswith(_OPENSSH_MAGIC):
            return "the body of an OpenSSH key without its -----BEGIN/-----END lines"
        if decoded[:1] == b"\x30":
            return "the DER body of a PEM key without its -----BEGIN/-----END lines"
        return "base64 text without -----BEGIN/-----END lines"
    if "\n" in text or len(text) > MAX_PATH_CHARS:
        return "multi-line text that is not a key"
    return "a relative path or a word, not an absolute path"


# -- helpers ---------------------------------------------------------------------------------
def _looks_like_path(value: str) -> bool:
    text = value.strip()
    return (
        (text.startswith("/") or text.startswith("~/"))
        and len(text) <= MAX_PATH_CHARS
        and not any(c in text for c in "\x00\n\r")
    )


def _read_key_file(value: str, key: str) -> Tuple[str, str]:
    path = os.path.expanduser(value)
    try:
        info = os.stat(path)
    except OSError:
        # Not shown: an unknown "path" may be a key body starting with "/" (a base64 character).
        shape = describe(value)
        hint = f"; it also looks like {shape}" if "base64" in shape or "body" in shape else ""
        raise ConfigError(
            f"{key} looks like a path but no file exists there{hint} (value not shown: it could be a mangled key)"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{key} names {path}, which is not a regular file")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{key}: cannot read the key file {path}: {exc.strerror or type(exc).__name__}") from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise ConfigError(f"{key} names {path}, which is larger than a key file ({MAX_KEY_FILE_BYTES} bytes)")
    try:
        return path, data.decode("ascii")
    except UnicodeDecodeError:
        raise ConfigError(f"{key} names {path}, which is not a text key file (binary content)") from None


def _parse_pem(value: str, key: str) -> Tuple[str, str]:
    # Keys pasted through a form or st2kv often arrive with literal "\n" for the line breaks.
    text = value.replace("\\r\\n", "\n").replace("\\n", "\n").replace("\r\n", "\n")
    blocks = _BEGIN_RE.findall(text)
    if len(blocks) != 1:
        raise ConfigError(f"{key} holds {len(blocks)} BEGIN blocks; exactly one private key is needed")
    label = blocks[0]
    if label == "ENCRYPTED PRIVATE KEY":
        raise _encrypted(key)
    if "PUBLIC KEY" in label or label == "CERTIFICATE":
        raise ConfigError(f"{key} is a {label.lower()} block, not a private key")
    if label == "DSA PRIVATE KEY":
        raise ConfigError(f"{key} is a DSA key, which OpenSSH no longer accepts; use {_SUPPORTED}")
    if label not in KEY_LABELS:
        raise ConfigError(f"{key} is a '{label}' block; {_SUPPORTED} is needed")
    begin, end = f"-----BEGIN {label}-----", f"-----END {label}-----"
    start = text.index(begin) + len(begin)
    stop = text.find(end, start)
    if stop < 0:
        raise ConfigError(f"{key} is truncated: it has no '{end}' line")
    body = text[start:stop]
    if ":" in body:
        # Legacy PEM headers (Proc-Type: 4,ENCRYPTED / DEK-Info) mean an encrypted key.
        if "ENCRYPTED" in body:
            raise _encrypted(key)
        raise ConfigError(f"{key} has PEM header lines; {_SUPPORTED} is needed")
    compact = re.sub(r"\s+", "", body)
    if not compact or not _BASE64_BODY_RE.match(compact):
        raise ConfigError(f"{key}: the lines between BEGIN and END are not base64")
    decoded = _b64decode(compact)
    if decoded is None:
        raise ConfigError(f"{key}: the lines between BEGIN and END are not valid base64")
    if label == "OPENSSH PRIVATE KEY" and not decoded.startswith(_OPENSSH_MAGIC):
        raise ConfigError(f"{key} is not an OpenSSH private key inside its BEGIN/END lines")
    lines: List[str] = [compact[i : i + 64] for i in range(0, len(compact), 64)]
    return label, "\n".join([begin, *lines, end]) + "\n"


def _b64decode(compact: str) -> Optional[bytes]:
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _pkcs8_to_openssh(text: str, where: str) -> str:
    """paramiko reads no PKCS#8; cryptography (paramiko's own dependency) converts it."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - only for PKCS#8 keys

    try:
        key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
    except TypeError:
        raise _encrypted(where) from None
    except (ValueError, binascii.Error):
        raise ConfigError(f"{where} is a PKCS#8 block that does not hold a readable private key") from None
    try:
        out = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
    except (ValueError, TypeError):
        raise ConfigError(f"{where} is a PKCS#8 key of a type SSH cannot use; {_SUPPORTED} is needed") from None
    return out.decode("ascii")


def _encrypted(where: str) -> ConfigError:
    return ConfigError(
        f"{where} is encrypted with a passphrase; configure an unencrypted key (st2 keeps it encrypted at rest in"
        " st2kv with `st2 key set --encrypt`)"
    )
