"""Constant POSIX ``sh`` scripts the remote transports (ssh, salt) run on the node.

Each script is a fixed string. Every input (paths, sizes, the encoding, environment values)
reaches it only as a positional parameter or on stdin, so no value from a config, a trigger
payload or a chat message is ever parsed as shell syntax. Run as ``sh -c SCRIPT sh ARG...``.
"""

from __future__ import annotations

# The tools below are used under this PATH, not the node's ``command_path``, so that a
# directory of Avamar (or simulator) commands can never shadow `cat`, `mv` or `sync`.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Exports $1 environment assignments read from stdin (one NAME=VALUE per line), then execs
# the command in "$@". Values travel on stdin rather than in the command line so that they
# never show in /proc/*/cmdline on the node. `read` consumes stdin up to each newline only,
# so what follows the preamble is exactly the command's own stdin.
# First it reports its pid on stderr (the ssh transport strips that line) so that a command
# that runs past its timeout can be killed on the node with ``KILL_GROUP``.
EXEC_WITH_ENV = r"""
echo "avamar-pack-pid=$$" >&2
n=$1; shift
while [ "$n" -gt 0 ]; do
  IFS= read -r kv || { echo "avamar-pack: environment preamble truncated" >&2; exit 125; }
  export "$kv" || exit 125
  n=$((n - 1))
done
exec "$@"
"""

# read_file: $1 path, $2 bytes to read at most (the limit + 1, so the caller sees overflow),
# $3 encoding of stdout ("raw" or "base64"; salt carries text only).
READ_FILE = r"""
p=$1 n=$2 enc=$3
[ -e "$p" ] || { echo "$p: No such file or directory" >&2; exit 66; }
[ -f "$p" ] || { echo "$p: not a regular file" >&2; exit 66; }
[ -r "$p" ] || { echo "$p: Permission denied" >&2; exit 66; }
if [ "$enc" = base64 ]; then
  { head -c "$n" -- "$p" || echo "$p: read failed" >&2; } | base64
else
  exec head -c "$n" -- "$p"
fi
"""

# write_file_atomic: $1 path, $2 backup path, $3 encoding of stdin ("raw" or "base64").
# The new content arrives on stdin. Steps: temp file beside the target carrying the target's
# owner and mode (`cp -p`), content written into it, fsync, old file kept at the backup path
# (hard link, or a copy across file systems), rename over the target, fsync the directory.
# Any failure exits before the rename: the target is untouched and the temp file removed.
WRITE_FILE_ATOMIC = r"""
set -u
p=$1 b=$2 enc=$3 t=
fail() { echo "avamar-pack: $1" >&2; exit "$2"; }
cleanup() { [ -n "$t" ] && rm -f -- "$t"; }
trap cleanup EXIT
trap 'exit 130' HUP INT TERM
[ -e "$p" ] || fail "$p: No such file or directory" 66
[ -L "$p" ] && fail "$p: is a symbolic link; refusing to replace it" 66
[ -f "$p" ] || fail "$p: not a regular file" 66
[ -d "$b" ] && fail "$b: backup path is a directory" 66
d=$(dirname -- "$p") || fail "$p: cannot find its directory" 70
t=$(mktemp "$d/.avamar-pack-XXXXXX") || fail "$d: cannot create a temp file" 73
cp -p -- "$p" "$t" || fail "$t: cannot copy owner and mode of $p" 73
if [ "$enc" = base64 ]; then
  base64 -d > "$t" || fail "$t: cannot write the new content" 74
else
  cat > "$t" || fail "$t: cannot write the new content" 74
fi
sync -- "$t" 2>/dev/null || sync || fail "$t: fsync failed" 74
ln -f -- "$p" "$b" 2>/dev/null || cp -p -- "$p" "$b" || fail "$b: cannot keep the old file" 73
sync -- "$b" 2>/dev/null || sync
mv -f -- "$t" "$p" || fail "$p: rename of the new content failed" 75
t=
sync -- "$d" 2>/dev/null || sync
"""

# Kill a timed-out command ($1: the pid EXEC_WITH_ENV reported) with everything it started:
# its whole process group when it leads one (sshd starts every session in a new session).
KILL_GROUP = r"""
PATH=/usr/bin:/bin:/usr/sbin:/sbin
pid=$1
pg=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')
# `env kill`: the external kill(1); dash's builtin does not take a negative pid (a group).
if [ "$pg" = "$pid" ]; then env kill -s KILL -- "-$pid"; else env kill -s KILL -- "$pid"; fi
"""
