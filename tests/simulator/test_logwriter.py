"""The benchmark log writer: volume, failure share, per-server counts that match the text."""

from __future__ import annotations

import re
from collections import Counter

from avamar_sim.logwriter import write_avtar_log, write_gsan_log

FAIL_RE = re.compile(r"avtar FATAL <5704>")
SERVER_RE = re.compile(r"Connecting to Avamar Server \(([^)]+)\)")


def test_avtar_log_counts_match_the_file(tmp_path):
    path = tmp_path / "avtar.log"
    stats = write_avtar_log(
        str(path), target_bytes=2 << 20, failure_share=0.2, joined_share=0.25, clients=50, servers=("s1", "s2"), seed=7
    )
    text = path.read_text()
    assert stats.bytes_written == len(text) >= 2 << 20
    assert stats.lines == text.count("\n")
    counted: Counter = Counter()
    # A run starts at its 8474 line; the server is named in the same run, failure or not.
    for run in re.split(r"(?=\S+ \S+ avtar Info <8474>)", text):
        server = SERVER_RE.search(run)
        if server and FAIL_RE.search(run):
            counted[server.group(1)] += 1
    assert dict(counted) == stats.failures_by_server
    assert 0.1 < sum(counted.values()) / stats.runs < 0.3
    joined = [line for line in text.splitlines() if line.count("FATAL <5704>") and line.count("avtar ") > 5]
    assert joined, "some failures are written run together on one line, as the KB pastes them"


def test_gsan_log_counts_warnings(tmp_path):
    path = tmp_path / "gsan.log"
    stats = write_gsan_log(str(path), target_bytes=1 << 20, warning_share=0.05, seed=3)
    text = path.read_text()
    for code in (1479, 1418, 1426):
        assert text.count(f"WARN: <{code}> sessionkeytable") == stats.warnings_by_code[code] > 0
    assert all(re.match(r"\d{4}/\d\d/\d\d-\d\d:\d\d:\d\d\.\d{5} \{0\.1\} \[", line) for line in text.splitlines())
