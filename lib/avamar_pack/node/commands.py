"""Every command the pack runs on an Avamar utility node, as argument lists.

Commands are built here and only here, from constants and from values that were validated
before they arrive (serials are ints, paths come from ``NodePaths``, client names passed
``validate_client_name``). Nothing is ever a shell string built from input: the two shell
scripts below are CONSTANTS and receive their inputs as positional parameters (``"$1"``),
which the shell never re-parses.
"""

from __future__ import annotations

from typing import List, Sequence

from avamar_pack.node.paths import KEYSTORE_ALIAS

# -- GSAN -------------------------------------------------------------------------------
KEYTABLE = ["avmaint", "cat", "/sysinfo/security/keytable"]  # KB step 1 and step 5
MAINTENANCE_STATUS = {
    "checkpoint": ["avmaint", "cpstatus"],
    "garbage_collection": ["avmaint", "gcstatus"],
    "hfscheck": ["avmaint", "hfscheckstatus"],
}


def publickey(keyfile: str, serial: int) -> List[str]:
    """KB step 4: register the mcecroot public key with GSAN at ``serial``."""
    _require_int(serial)
    return ["avmaint", "publickey", f"--keyfile={keyfile}", f"--serial={serial}", "--ava"]


# -- services -----------------------------------------------------------------------------
DPNCTL_STATUS = ["dpnctl", "status"]
DPNCTL_STATUS_MCS = ["dpnctl", "status", "mcs"]
MCSERVER_RESTART = ["mcserver.sh", "--restart"]  # KB step 7
# MCS writes its state (the session-ticket serial included) to its flush backup [C command]; an
# MCS restored later from this flush then comes back on the new serial, not the drifted one.
MCSERVER_FLUSH = ["mcserver.sh", "--flush"]
# The node's clock as its logs write it (local time, no zone: GSAN and avtar stamps have none).
NODE_LOCAL_TIME = ["date", "+%Y-%m-%dT%H:%M:%S"]

# -- the public key export (KB step 3) ------------------------------------------------------
# The KB runs `keytool ... -storepass \`avlockbox.sh -r keystore_passphrase\``, which puts the
# keystore passphrase in keytool's argv where any `ps` on the node sees it. This script keeps
# it in a shell variable that is handed to keytool's environment only (`-storepass:env PW`):
# it never appears in an argv, never leaves the node and is never printed. Exit codes name
# the failing stage so the caller can say which one broke without seeing any output.
EXPORT_KEY_EXIT = {
    3: "avlockbox.sh did not return the keystore passphrase",
    4: "keytool could not read the mcecroot certificate from the keystore",
    5: "openssl could not extract the public key from the certificate",
    6: "the exported public key file is empty",
}
EXPORT_KEY_SCRIPT = (
    "umask 077; "
    "PW=$(avlockbox.sh -r keystore_passphrase 2>/dev/null) || exit 3; "
    '[ -n "$PW" ] || exit 3; '
    'CERT=$(PW="$PW" keytool -list -rfc -keystore "$1" -storepass:env PW -alias '
    + KEYSTORE_ALIAS
    + " 2>/dev/null) || exit 4; "
    "unset PW; "
    'printf \'%s\\n\' "$CERT" | openssl x509 -pubkey -noout > "$2" || exit 5; '
    '[ -s "$2" ] || exit 6'
)


def export_public_key(keystore: str, outfile: str) -> List[str]:
    """``sh -c EXPORT_KEY_SCRIPT sh <keystore> <outfile>``: paths as data, never as code."""
    return ["sh", "-c", EXPORT_KEY_SCRIPT, "sh", keystore, outfile]


def make_private_dir(path: str) -> List[str]:
    """Create a new directory readable by its owner only; fails if ``path`` exists.

    Equivalent to ``mktemp -d`` (mode 700, never reuses or follows an existing entry) with a
    name chosen by the caller, so a dry run can show the exact commands a real run would use.
    """
    return ["mkdir", "-m", "700", "--", path]


def remove_tree(path: str) -> List[str]:
    return ["rm", "-rf", "--", path]


# -- files and logs -----------------------------------------------------------------------
def list_files(directory: str, patterns: Sequence[str]) -> List[str]:
    """Regular files directly in ``directory`` matching any of the glob ``patterns`` (find does
    the matching, so no shell expands anything), newest first is done by the caller."""
    argv = ["find", directory, "-maxdepth", "1", "-type", "f", "("]
    for i, pattern in enumerate(patterns):
        if i:
            argv.append("-o")
        argv += ["-name", pattern]
    return argv + [")", "-printf", "%T@ %p\\n"]


# The KB's diagnostic grep (`grep -i "sessionkeytable\|minserial" /data01/cur/gsan.log.00?`),
# its output bounded by `tail` so a flood of warnings cannot exhaust memory or the transport.
GREP_TICKETS_SCRIPT = 'n=$1; shift; grep -i -h -e sessionkeytable -e minserial -- "$@" | tail -n "$n"'


def grep_ticket_warnings(files: Sequence[str], max_lines: int) -> List[str]:
    _require_int(max_lines)
    return ["sh", "-c", GREP_TICKETS_SCRIPT, "sh", str(max_lines), *files]


def tail(files: Sequence[str], lines: int) -> List[str]:
    """``tail -v``: every file's lines are preceded by a ``==> path <==`` header."""
    _require_int(lines)
    return ["tail", "-v", "-n", str(lines), "--", *files]


def stat_mtime(path: str) -> List[str]:
    return ["stat", "-c", "%Y", "--", path]


# -- the node lock --------------------------------------------------------------------------
def mkdir_parents(path: str) -> List[str]:
    return ["mkdir", "-p", "--", path]


def mkdir_exclusive(path: str) -> List[str]:
    """``mkdir`` is atomic and fails when the entry exists: the lock primitive."""
    return ["mkdir", "--", path]


# Writes $2 (lock owner record, validated text) to the new file $1; refuses to follow or
# replace an existing entry (noclobber), so it cannot be pointed at another file.
WRITE_NEW_FILE_SCRIPT = 'set -C; printf "%s\\n" "$2" > "$1"'


def write_new_file(path: str, text: str) -> List[str]:
    return ["sh", "-c", WRITE_NEW_FILE_SCRIPT, "sh", path, text]


def rename_no_clobber(src: str, dst: str) -> List[str]:
    return ["mv", "-n", "-T", "--", src, dst]


# -- mccli (test backup) ----------------------------------------------------------------------
def mccli_backup(client: str, dataset: str) -> List[str]:
    domain, _, name = client.rpartition("/")
    return [
        "mccli",
        "client",
        "backup-dataset",
        f"--domain={domain or '/'}",
        f"--name={name}",
        f"--dataset={dataset}",
    ]


# Every activity MCS lists (running ones included); the caller keeps the running ones.
MCCLI_ACTIVITIES = ["mccli", "activity", "show"]


def mccli_activity_show(activity_id: str) -> List[str]:
    if not (activity_id.isascii() and activity_id.isdigit()):
        raise ValueError(f"activity id {activity_id[:40]!r} is not numeric")
    return ["mccli", "activity", "show", f"--id={activity_id}"]


def _require_int(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an int, got {type(value).__name__}")


def stat_owner_mode(path: str) -> List[str]:
    """``uid:gid:octal mode`` of ``path``."""
    return ["stat", "-c", "%u:%g:%a", "--", path]


# -- the pack's own records on the node (pack state dir) -------------------------------------------
# Writes $2 (a JSON record built from validated values) to $1 through a new temp file beside it
# and an atomic rename; the temp file is never an existing entry (noclobber).
WRITE_RECORD_SCRIPT = (
    'set -e; umask 022; mkdir -p -- "$(dirname -- "$1")"; t="$1.tmp.$$"; rm -f -- "$t"; '
    'set -C; printf "%s\\n" "$2" > "$t"; set +C; mv -f -- "$t" "$1"'
)


def write_record(path: str, text: str) -> List[str]:
    return ["sh", "-c", WRITE_RECORD_SCRIPT, "sh", path, text]


def remove_files(paths: Sequence[str]) -> List[str]:
    """``rm -f`` of regular files named by the caller (validated node paths), never a directory."""
    return ["rm", "-f", "--", *paths]
