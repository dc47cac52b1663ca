"""Masking of secrets in command lines before they reach a result, a log line or an error.

Callers should never put a secret in argv at all (the keystore passphrase travels on stdin or
in the environment). This is the second line of defence: whatever the argv holds, the copy
that leaves the transport has the values of password-like options replaced by ``***``.
"""

from __future__ import annotations

import re
from typing import Any, List, Mapping, Sequence

MASK = "***"

# Options whose *next* argument is a secret (keytool, openssl, mccli, generic CLIs).
_SECRET_OPTIONS = frozenset(
    {
        "-storepass",
        "-keypass",
        "-srcstorepass",
        "-deststorepass",
        "-srckeypass",
        "-destkeypass",
        "-new",
        "-pass",
        "--pass",
        "-password",
        "--password",
        "-passphrase",
        "--passphrase",
        "-passin",
        "-passout",
        "--secret",
        "--token",
        "-token",
    }
)

# `--password=xyz`, `-storepass=xyz` and openssl's `pass:xyz` forms.
_INLINE_RE = re.compile(
    # DOTALL and \Z: a value with a newline in it is redacted whole, like any other.
    r"^(?P<key>--?(?:[a-z]*pass(?:word|phrase)?|secret|token)[a-z_-]*)=(?P<value>.*)\Z",
    re.IGNORECASE | re.DOTALL,
)
_OPENSSL_PASS_RE = re.compile(r"^pass:", re.IGNORECASE)


def _is_secret_option(arg: str) -> bool:
    lowered = arg.lower()
    if lowered in _SECRET_OPTIONS:
        return True
    # mccli style `--password` variants such as `--admin-password`; keytool `-storepass:env` is
    # NOT a secret (it names a variable), so it is excluded here.
    return lowered.startswith("--") and lowered.endswith(("password", "passphrase"))


def redact(argv: Sequence[str]) -> List[str]:
    """A copy of ``argv`` with the values of password-like options masked."""
    out: List[str] = []
    mask_next = False
    for arg in argv:
        arg = str(arg)
        if mask_next:
            out.append(MASK)
            # A value that is itself a secret option (`-passout -storepass x`): mask its value too.
            mask_next = _is_secret_option(arg)
            continue
        match = _INLINE_RE.match(arg)
        if match:
            out.append(f"{match.group('key')}={MASK}")
        elif _OPENSSL_PASS_RE.match(arg):
            out.append(f"pass:{MASK}")
        else:
            out.append(arg)
            mask_next = _is_secret_option(arg)
    return out


def format_argv(argv: Sequence[str], limit: int = 300) -> str:
    """The redacted command as one readable line for messages (not for execution)."""
    text = " ".join(redact(argv))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def configured_secrets(config: Mapping[str, Any]) -> List[str]:
    """Every secret value of a pack config (servers' passwords and key texts, the salt password).

    For ``mask_secrets``: a last line of defence for text about to leave an action. A key given
    as a file path is not itself a secret, so it is left out; a key given as text contributes
    its whole value and each line of its body.
    """
    found: List[str] = []
    servers = (config or {}).get("servers") or {}
    for entry in servers.values() if isinstance(servers, Mapping) else ():
        if not isinstance(entry, Mapping):
            continue
        for key in ("password", "private_key"):
            value = entry.get(key)
            if isinstance(value, str) and value.strip() and not value.strip().startswith(("/", "~/")):
                found.append(value)
                found.extend(line.strip() for line in value.splitlines() if len(line.strip()) >= 8)
    salt = (config or {}).get("salt") or {}
    if isinstance(salt, Mapping) and isinstance(salt.get("password"), str) and salt["password"]:
        found.append(salt["password"])
    # Longest first, so a whole key is masked before one of its lines would split it.
    return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


def mask_secrets(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every occurrence of each secret replaced by ``***``."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return text
