"""The KB's eight steps, typed by hand as shell commands against a node whose MCS was restored
from an old flush (Dell KB 000200098, seeds/kb-avamar-session-ticket-msg-err-auth-fail.pt.txt)."""

from __future__ import annotations

import glob
import os
import re
import subprocess

from avamar_pack.parsing import avtar
from avamar_sim import SimNode

KB_SEED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "parsing")


def kb_failure_sequence() -> list:
    """The KB's failing run from its first Error on, as record bodies (``avtar FATAL <5704>: ...``),
    read from the KB's own lines (tests/data/parsing/avtar_kb_seed.txt, the paste of the whole run)."""
    with open(os.path.join(KB_SEED, "avtar_kb_seed.txt"), encoding="utf-8") as handle:
        whole_run = max((avtar.scan_line(line).records for line in handle), key=len)
    first = next(i for i, record in enumerate(whole_run) if record.is_failure)
    return [f"avtar {r.severity} <{r.code}>: {r.text}" for r in whole_run[first:]]


SRL = "/usr/local/avamar/var/mc/server_data/prefs/sessionticket.srl"
STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d "


def sh(node: SimNode, script: str, cwd: str) -> subprocess.CompletedProcess:
    """Run a line as the admin would: a login shell with only PATH pointing at the node's bin."""
    env = {"PATH": f"{node.bin_dir}:/usr/local/bin:/usr/bin:/bin", "HOME": cwd, "R": node.root}
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_kb_eight_steps(make_sim_node):
    node = make_sim_node("mcs_restored_old_flush", restart_seconds=0.1)
    lib = node.path("/usr/local/avamar/lib")

    # The symptom: a backup fails with the KB's avtar lines, GSAN says the serial was used.
    failed = sh(node, "avtar --backup --account=/clients/some", lib)
    assert failed.returncode != 0
    logs = glob.glob(os.path.join(node.client_log_dir, "some-*.log"))
    assert len(logs) == 1
    log_lines = open(logs[0]).read().splitlines()
    bodies = [re.sub("^" + STAMP, "", line) for line in log_lines]
    positions = [bodies.index(expected) for expected in kb_failure_sequence()]
    assert positions == sorted(positions)
    assert all(re.match(STAMP, line) for line in log_lines)
    assert (
        "WARN: <1418> sessionkeytable::setpublickey session ticket with serial=28451 was used already"
        in open(node.gsan_log).read()
    )
    grep = sh(node, 'grep -i "sessionkeytable\\|minserial" "$R"/data01/cur/gsan.log', lib)
    assert grep.returncode == 0 and "<1418>" in grep.stdout

    # Step 1: GSAN's minimal serial. Step 2: MCS's serial, larger than GSAN's.
    step1 = sh(node, "avmaint cat /sysinfo/security/keytable", lib)
    assert step1.returncode == 0
    assert step1.stdout.startswith('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>')
    gsan_min = int(re.search(r'<keytable minimalserial="(\d+)">', step1.stdout).group(1))
    step2 = sh(node, f'cat "$R"{SRL}', lib)
    mcs_serial = int(step2.stdout)
    assert gsan_min < mcs_serial == 28452  # the failed backup took ticket 28451

    # Step 3: the mcecroot public key, through the KB's pipeline, passphrase from avlockbox.sh.
    step3 = sh(
        node,
        'keytool -list -rfc -keystore "$R"/usr/local/avamar/lib/avamar_keystore '
        '-storepass "$(avlockbox.sh -r keystore_passphrase)" -alias mcecroot '
        "| openssl x509 -pubkey -noout > mcecroot.pub",
        lib,
    )
    assert step3.returncode == 0, step3.stderr
    pub = open(os.path.join(lib, "mcecroot.pub")).read()
    assert pub.startswith("-----BEGIN PUBLIC KEY-----\nMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE")  # EC P-384 SPKI

    # Step 4: 28500 is refused with the KB's error, 38000 is accepted.
    refused = sh(node, "avmaint publickey --keyfile=./mcecroot.pub --serial=28500 --ava", lib)
    assert refused.returncode != 0
    assert "ERROR: avmaint: publickey: server_exception(MSG_ERR_INVALID_PARAMETERS)" in refused.stdout + refused.stderr
    accepted = sh(node, "avmaint publickey --keyfile=./mcecroot.pub --serial=38000 --ava", lib)
    assert accepted.returncode == 0, accepted.stderr

    # Step 5: verify.
    assert '<keytable minimalserial="38000">' in sh(node, "avmaint cat /sysinfo/security/keytable", lib).stdout

    # Step 6: write the serial to MCS with echo -n.
    sh(node, f'echo -n "38000" > "$R"{SRL}', lib)
    assert open(node.srl_path, "rb").read() == b"38000"

    # Step 7: restart MCS.
    restart = sh(node, "mcserver.sh --restart", lib)
    assert restart.returncode == 0, restart.stderr
    assert "MCS status: up." in sh(node, "dpnctl status mcs", lib).stdout

    # Step 8: the next backup completes, with ticket 38000.
    ok = sh(node, "avtar --backup --account=/clients/some", lib)
    assert ok.returncode == 0
    assert "avtar Info <5314>: Command completed (1 warning, exit code 0: success)" in ok.stdout
    assert "<5704>" not in ok.stdout
    assert node.state()["gsan_max_used"] == 38000
    started = sh(node, "mccli client backup-dataset --name=some --domain=/clients", lib)
    assert started.stdout.splitlines()[0] == "0,22305,Client backup dataset initiated."
    table = sh(node, "mccli activity show", lib).stdout.splitlines()
    assert table[0] == "0,23000,CLI command completed successfully."
    assert [line.split()[1] for line in table[3:]] == ["Failed", "Completed", "Completed"]
