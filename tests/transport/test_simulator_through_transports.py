"""The simulator's node commands and files, reached through each transport like a real node."""

from __future__ import annotations

import os


def test_avmaint_keytable_and_srl_through_every_transport(target, make_sim_node):
    node = make_sim_node("healthy")
    direct = node.run(["avmaint", "cat", "/sysinfo/security/keytable"])
    assert direct.returncode == 0, direct.stderr
    transport = target.open(command_path=[node.bin_dir, "/usr/bin", "/bin"])
    result = transport.run(["avmaint", "cat", "/sysinfo/security/keytable"], timeout=60, check=True)
    assert result.stdout == direct.stdout
    assert "minimal" in result.stdout.lower()

    srl = node.srl_path
    with open(srl, "rb") as handle:
        before = handle.read()
    assert transport.read_file(srl) == before
    new_serial = str(int(before.decode()) + 1).encode()
    mode = os.stat(srl).st_mode & 0o7777
    transport.write_file_atomic(srl, new_serial, backup_path=srl + ".bak")
    assert transport.read_file(srl) == new_serial
    with open(srl + ".bak", "rb") as handle:
        assert handle.read() == before
    assert os.stat(srl).st_mode & 0o7777 == mode
