"""The Transport contract, run unchanged against local, ssh (real sshd) and salt (real salt-api)."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from avamar_pack.errors import CommandFailed, CommandTimeout, TransportError
from avamar_pack.transport import CommandResult

HOSTILE_ARGS = [
    "two words",
    "it's",
    'say "hi"',
    "$(touch {canary})",
    "; touch {canary}",
    "`touch {canary}`",
    "| touch {canary}",
    "&& touch {canary} &",
    "*",
    "",
    "back\\slash \\n",
    "--password=not-a-secret-here",
    "ünïcödé ✓",
    "line1\nline2",
    "$HOME ${PATH}",
    "a=b",
]


def test_argv_arrives_verbatim_and_nothing_is_executed(transport, tmp_path):
    canary = tmp_path / "canary"
    args = [a.replace("{canary}", str(canary)) for a in HOSTILE_ARGS]
    result = transport.run(["printf", "[%s]\\n", *args], timeout=30)
    assert isinstance(result, CommandResult)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "".join(f"[{a}]\n" for a in args)
    assert result.stderr == ""
    assert not canary.exists(), "an argument was executed by a shell"
    assert result.argv[0] == "printf" and result.duration_s >= 0


def test_stdin_is_delivered_byte_for_byte(transport):
    data = "first line\nsecond \\n $(not run) 'q'\nünï\n\nno newline at end".encode()
    result = transport.run(["cat"], timeout=30, stdin=data)
    assert result.exit_code == 0
    assert result.stdout.encode() == data


def test_without_stdin_the_command_sees_end_of_file(transport):
    started = time.monotonic()
    result = transport.run(["cat"], timeout=20)
    assert (result.exit_code, result.stdout) == (0, "")
    assert time.monotonic() - started < 15


def test_path_is_the_command_path_and_env_is_passed(transport, target):
    hello = transport.run(["avamar-hello", "x y"], timeout=30, check=True)
    assert hello.stdout == "hello from the node bin: x y\n"
    value = "v a l'ue $(not run) \\n ;"
    shown = transport.run(["sh", "-c", 'printf "%s|%s" "$AVAMAR_TEST" "$PATH"'], timeout=30, env={"AVAMAR_TEST": value})
    assert shown.stdout == f"{value}|{':'.join(target.command_path)}"


def test_node_commands_get_the_c_locale_and_nothing_of_the_st2_environment(transport, monkeypatch):
    """StackStorm runs an action with ST2_ACTION_AUTH_TOKEN (an st2 API token) in its environment."""
    monkeypatch.setenv("ST2_ACTION_AUTH_TOKEN", "st2-token-canary-c0ntract")
    monkeypatch.setenv("ST2_ACTION_API_URL", "http://127.0.0.1:9101/v1")
    out = transport.run(["env"], timeout=30, check=True).stdout
    names = {line.split("=", 1)[0] for line in out.splitlines() if "=" in line}
    assert "st2-token-canary-c0ntract" not in out
    assert not [n for n in names if n.startswith("ST2_")], names
    assert {"LANG=C", "LC_ALL=C"} <= set(out.splitlines()), out


def test_env_names_and_values_are_validated(transport):
    with pytest.raises(ValueError):
        transport.run(["true"], timeout=10, env={"BAD NAME": "x"})
    with pytest.raises(ValueError):
        transport.run(["true"], timeout=10, env={"OK": "two\nlines"})


def test_non_zero_exit_and_check(transport):
    argv = ["sh", "-c", "echo out; echo err >&2; exit 3"]
    result = transport.run(argv, timeout=30)
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")
    with pytest.raises(CommandFailed) as info:
        transport.run(argv, timeout=30, check=True)
    assert info.value.exit_code == 3 and info.value.argv == argv
    assert info.value.host == transport.host and "err" in str(info.value)


def test_missing_program_exits_127(transport):
    result = transport.run(["avamar-no-such-program", "x"], timeout=30)
    assert result.exit_code == 127
    assert "avamar-no-such-program" in result.stderr


def test_secrets_in_argv_are_redacted_everywhere(transport):
    argv = ["sh", "-c", "exit 1", "sh", "-storepass", "s3cr3t-pass", "--password=hunter2"]
    result = transport.run(argv, timeout=30)
    assert result.argv == ["sh", "-c", "exit 1", "sh", "-storepass", "***", "--password=***"]
    with pytest.raises(CommandFailed) as info:
        transport.run(argv, timeout=30, check=True)
    assert "s3cr3t-pass" not in str(info.value) and "hunter2" not in str(info.value)


def test_a_shell_string_is_refused(transport):
    with pytest.raises(TypeError):
        transport.run("echo hi", timeout=10)


def test_timeout_stops_the_command_and_the_transport_stays_usable(transport):
    started = time.monotonic()
    with pytest.raises(CommandTimeout) as info:
        transport.run(["sleep", "30"], timeout=2)
    elapsed = time.monotonic() - started
    assert 1.5 <= elapsed < 15, elapsed
    assert "sleep 30" in str(info.value) and transport.host in str(info.value)
    assert transport.run(["echo", "still here"], timeout=30).stdout == "still here\n"


def test_read_file_exact_bytes_and_limits(transport, tmp_path):
    path = tmp_path / "data.bin"
    data = bytes(range(256)) * 4 + "ü\n".encode()
    path.write_bytes(data)
    assert transport.read_file(str(path)) == data
    assert transport.read_file(str(path), max_bytes=len(data)) == data
    with pytest.raises(TransportError, match="larger than"):
        transport.read_file(str(path), max_bytes=len(data) - 1)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert transport.read_file(str(empty)) == b""
    with pytest.raises(TransportError, match="No such file") as info:
        transport.read_file(str(tmp_path / "missing"))
    assert info.value.host == transport.host and "missing" in str(info.value)
    with pytest.raises(TransportError, match="not a regular file"):
        transport.read_file(str(tmp_path))


def _leftovers(directory) -> list:
    return [n for n in os.listdir(directory) if n.startswith(".avamar-pack")]


def test_write_file_atomic_replaces_content_and_keeps_the_old_file(transport, tmp_path):
    path = tmp_path / "sessionticket.srl"
    backup = tmp_path / "sessionticket.srl.bak"
    path.write_bytes(b"41")
    os.chown(path, 1234, 2345)
    os.chmod(path, 0o640)
    old_inode = path.stat().st_ino
    transport.write_file_atomic(str(path), b"\x00binary\xff\n42", backup_path=str(backup))
    assert path.read_bytes() == b"\x00binary\xff\n42"
    assert backup.read_bytes() == b"41"
    info = path.stat()
    assert (info.st_uid, info.st_gid, info.st_mode & 0o7777) == (1234, 2345, 0o640)
    assert info.st_ino != old_inode, "the file was rewritten in place, not renamed over"
    assert _leftovers(tmp_path) == []
    # A second write replaces the backup with the previous content.
    transport.write_file_atomic(str(path), b"43", backup_path=str(backup))
    assert (path.read_bytes(), backup.read_bytes()) == (b"43", b"\x00binary\xff\n42")


def test_write_file_atomic_failure_leaves_the_target_untouched(transport, tmp_path):
    path = tmp_path / "target"
    path.write_bytes(b"old")
    with pytest.raises(TransportError) as info:
        transport.write_file_atomic(str(path), b"new", backup_path=str(tmp_path / "no-dir" / "bak"))
    assert path.read_bytes() == b"old"
    assert info.value.host == transport.host and str(path) in str(info.value)
    assert _leftovers(tmp_path) == []
    with pytest.raises(TransportError, match="No such file"):
        transport.write_file_atomic(str(tmp_path / "absent"), b"x", backup_path=str(tmp_path / "absent.bak"))
    assert not (tmp_path / "absent").exists()
    link = tmp_path / "link"
    link.symlink_to(path)
    with pytest.raises(TransportError, match="symbolic link"):
        transport.write_file_atomic(str(link), b"x", backup_path=str(tmp_path / "link.bak"))
    assert path.read_bytes() == b"old" and link.is_symlink()


@pytest.fixture
def small_fs(tmp_path):
    """A 64 KiB tmpfs: a real ENOSPC and, remounted, a real read-only file system."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        # Unmount until nothing is mounted there any more (a stacked mount was once left behind
        # in a full run); bounded, and loud if it stays.
        for _ in range(5):
            if not os.path.ismount(mount_point):
                break
            subprocess.run(["umount", "-l", str(mount_point)], check=False)
        assert not os.path.ismount(mount_point), f"{mount_point} is still mounted"


def test_write_file_atomic_disk_full_and_read_only(transport, small_fs):
    path = small_fs / "sessionticket.srl"
    path.write_bytes(b"7")
    with pytest.raises(TransportError, match="No space left on device") as info:
        transport.write_file_atomic(str(path), b"8" * 200_000, backup_path=str(small_fs / "srl.bak"))
    assert str(path) in str(info.value)
    assert path.read_bytes() == b"7" and _leftovers(small_fs) == []
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    with pytest.raises(TransportError, match="Read-only file system"):
        transport.write_file_atomic(str(path), b"8", backup_path=str(small_fs / "srl.bak"))
    assert path.read_bytes() == b"7"


def test_context_manager_closes(target):
    with target.open() as transport:
        assert transport.run(["true"], timeout=30).exit_code == 0
    assert transport.name == target.kind
