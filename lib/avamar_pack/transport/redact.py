"""Masking of secrets in command lines before they reach a result, a log line or an error.

Callers should never put a secret in argv at all (the keystore passphrase travels on stdin or
in the environment). This is the second line of defence: whatever the argv holds, the copy
that leaves the transport has the values of password-like options replaced by ``***``.
"""

from __future__ import annotations

import re
from typing import List, Sequence

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
    r"^(?P<key>--?(?:[a-z]*pass(?:word|phrase)?|secret|token)[a-z_-]*)=(?P<value>.*)$", re.IGNORECASE
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
            mask_next = False
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
