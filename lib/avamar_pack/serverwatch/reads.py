"""The read-only commands the server sensor runs on a utility node, and the parsing of their output.

Each command is an argument list. The one shell script is a CONSTANT that gets its inputs as
positional parameters (``"$1"``), which the shell never re-parses; the inputs are a path built
from the validated ``avamar_root`` and integers. Nothing read from the node reaches a command.

``READ_RANGE_SCRIPT`` reads at most ``count`` bytes of one file from byte ``start``, in ONE
round trip, and says which file it read:

* ``exec 3<"$1"`` opens the file once; ``stat -L /dev/fd/3`` reports inode and size OF THAT
  open file, so a rename (rotation) between the look and the read cannot mix two files;
* ``tail -c +N`` seeks (a regular file), ``head -c`` bounds the read: the cost is the bytes asked
  for, never the file's size;
* ``base64`` carries the bytes exactly through every transport (SSH and Salt return text; a
  decoded-and-re-encoded line would shift byte offsets on a single invalid byte).
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import re
from dataclasses import dataclass
from typing import List, Sequence

from avamar_pack.errors import ParseError

# Non-zero exit: the file could not be opened (a POSIX shell exits at once when the redirection
# of ``exec`` fails) or stat failed; either way nothing was read.
READ_RANGE_SCRIPT = (
    'exec 3<"$1" || exit 3; '
    'info=$(stat -L -c "%i %s" /dev/fd/3) || exit 4; '
    'printf "%s\\n" "$info"; '
    "size=${info#* }; "
    '[ "$2" -lt "$size" ] || exit 0; '
    'tail -c +"$(($2 + 1))" <&3 | head -c "$3" | base64'
)
MAX_READ = 64 << 20  # no single read asks for more (base64 makes it 4/3 of this on the wire)

MCCLI_ACTIVITY_SHOW = ["mccli", "activity", "show"]

_STAT_RE = re.compile(r"^([0-9]{1,20}) ([0-9]{1,20})\Z")
_LIST_RE = re.compile(r"^([0-9]{1,20}) ([0-9]{1,20}) (\S{1,255})\Z")


def _require_count(value: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > MAX_READ * 4:
        raise ValueError(f"{what} must be a non-negative int, got {value!r}")


def _require_path(path: str) -> None:
    if not isinstance(path, str) or not path.startswith("/") or "\x00" in path or "\n" in path:
        raise ValueError(f"path {path!r} must be an absolute single-line path")


def read_range(path: str, start: int, count: int) -> List[str]:
    """``sh -c READ_RANGE_SCRIPT sh <path> <start> <count>``."""
    _require_path(path)
    _require_count(start, "start")
    _require_count(count, "count")
    if count > MAX_READ:
        raise ValueError(f"count {count} is more than one read may ask for ({MAX_READ})")
    return ["sh", "-c", READ_RANGE_SCRIPT, "sh", path, str(int(start)), str(int(count))]


def list_rotations(directory: str, name: str) -> List[str]:
    """``find`` the live log and its rotations (``name``, ``name.<digits>``): inode, size, name."""
    _require_path(directory)
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,128}", name):
        raise ValueError(f"log name {name!r} is not a plain file name")
    return [
        "find",
        directory,
        "-maxdepth",
        "1",
        "-type",
        "f",
        "(",
        "-name",
        name,
        "-o",
        "-name",
        f"{name}.[0-9]*",
        ")",
        "-printf",
        "%i %s %f\\n",
    ]


@dataclass(frozen=True)
class RangeRead:
    inode: int
    size: int
    data: bytes


def parse_range(stdout: str) -> RangeRead:
    """The script's answer: ``<inode> <size>`` then the bytes in base64 (absent past the end)."""
    head, _, body = stdout.partition("\n")
    match = _STAT_RE.match(head.strip())
    if not match:
        raise ParseError(f"unexpected answer of the bounded read: {head[:80]!r}")
    try:
        data = base64.b64decode("".join(body.split()), validate=True) if body.strip() else b""
    except (binascii.Error, ValueError) as exc:
        raise ParseError(f"the bounded read's bytes are not base64: {exc}") from None
    return RangeRead(inode=int(match.group(1)), size=int(match.group(2)), data=data)


@dataclass(frozen=True)
class ListedFile:
    inode: int
    size: int
    name: str


def parse_listing(stdout: str, name: str) -> List[ListedFile]:
    """``find -printf`` lines; anything that is not ``name`` or ``name.<digits>`` is ignored."""
    wanted = re.compile(re.escape(name) + r"(?:\.[0-9]{1,6})?")
    found = []
    for line in stdout.splitlines():
        match = _LIST_RE.match(line.strip())
        if match and wanted.fullmatch(match.group(3)):
            found.append(ListedFile(int(match.group(1)), int(match.group(2)), match.group(3)))
    return found


def rotation_order(files: Sequence[ListedFile], name: str) -> List[ListedFile]:
    """Rotated files newest first (``name.001`` / ``name.1`` before ``name.002``), live one excluded."""
    rotated = [f for f in files if f.name != name]
    return sorted(rotated, key=lambda f: int(f.name.rsplit(".", 1)[1]))


def join(directory: str, name: str) -> str:
    return posixpath.join(directory, name)
