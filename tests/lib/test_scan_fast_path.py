"""``scan_file``'s needle-driven fast path finds exactly what parsing every line finds.

The reference is ``scan_file_lines`` (every line through the sensor's parsers). Compared: every
auth-failure run field by field (``seq`` aside: it numbers runs per assembler), every ticket
warning, and the counts; on the simulator's own logs (joined lines, CRLF, cut timestamps,
failure shares 0-50%) also against what the writer says it wrote; at block sizes small enough
that runs, lines and sync points straddle blocks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from typing import Any, Dict, List, Tuple

import pytest
from avamar_pack.detection import scan
from avamar_sim.logwriter import write_avtar_log, write_gsan_log

Result = Tuple[Dict[str, Any], List[Any], List[Any]]


def _collect(fn, path: str, **kwargs: Any) -> Result:
    runs: List[Any] = []
    warnings: List[Any] = []
    counts = fn(path, on_run=lambda run: runs.append(dataclasses.replace(run, seq=0)), on_warning=warnings.append,
                **kwargs)
    return counts.as_dict(), runs, warnings


def assert_same_as_every_line(path: str, monkeypatch: pytest.MonkeyPatch, chunks=(None, 4096, 301),
                              **kwargs: Any) -> Result:
    expected = _collect(scan.scan_file_lines, path, **kwargs)
    for chunk in chunks:
        if chunk is not None:
            monkeypatch.setattr(scan, "CHUNK", chunk)
        got = _collect(scan.scan_file, path, **kwargs)
        assert got[0] == expected[0], chunk
        assert got[1] == expected[1], chunk  # the same runs, in the same order, every field
        assert got[2] == expected[2], chunk
    return expected


def write_mixed(path: str, pieces: int, failure_share: float, joined_share: float, seed: int) -> Dict[str, Any]:
    """avtar and GSAN text from the simulator's writer, interleaved as bench/scan.py does (smaller)."""
    failures: Dict[str, int] = {}
    warnings: Dict[int, int] = {}
    lines = 0
    for piece in range(pieces):
        when = dt.datetime(2019, 12, 1) + dt.timedelta(days=piece)
        stats = write_avtar_log(path, target_bytes=48_000, failure_share=failure_share, joined_share=joined_share,
                                seed=seed * 1000 + piece, start=when)
        for server, n in stats.failures_by_server.items():
            failures[server] = failures.get(server, 0) + n
        gsan = write_gsan_log(path, target_bytes=12_000, warning_share=failure_share, seed=seed * 1000 + piece,
                              start=when + dt.timedelta(hours=12))
        for code, n in gsan.warnings_by_code.items():
            warnings[code] = warnings.get(code, 0) + n
        lines += stats.lines + gsan.lines
    return {"failures_by_server": {k: v for k, v in failures.items() if v},
            "warnings_by_code": {k: v for k, v in warnings.items() if v}, "lines": lines}


@pytest.mark.parametrize("share", [0.0, 0.01, 0.1, 0.5])
def test_simulator_logs_match_every_line_and_the_writer(tmp_path, monkeypatch, share: float) -> None:
    path = str(tmp_path / "mixed.log")
    written = write_mixed(path, pieces=6, failure_share=share, joined_share=0.3, seed=int(share * 100))
    counts, runs, warnings = assert_same_as_every_line(path, monkeypatch)
    assert counts["failures_by_server"] == written["failures_by_server"]
    assert counts["warnings_by_code"] == written["warnings_by_code"]
    assert counts["lines"] == written["lines"]
    assert len(runs) == counts["auth_failures"] == sum(written["failures_by_server"].values())
    assert all(run.auth_failure and run.server and run.client for run in runs)
    if share:
        assert counts["auth_failures"] > 0 and len(warnings) > 0


def _mangle(text: str, rng: random.Random) -> str:
    """CRLF line ends and timestamps cut the way pasted logs cut them, on a share of the lines."""
    out = []
    for line in text.splitlines():
        if ("<8474>" in line or "<5704>" in line or "<5552>" in line) and rng.random() < 0.6:
            line = line[rng.randrange(1, 12):]
        out.append(line + ("\r\n" if rng.random() < 0.5 else "\n"))
    return "".join(out)


@pytest.mark.parametrize("share", [0.01, 0.1, 0.5])
def test_crlf_and_cut_timestamps(tmp_path, monkeypatch, share: float) -> None:
    source = str(tmp_path / "source.log")
    write_mixed(source, pieces=10, failure_share=share, joined_share=0.5, seed=7)
    path = str(tmp_path / "mangled.log")
    with open(source, encoding="utf-8") as handle, open(path, "w", encoding="utf-8", newline="") as out:
        out.write(_mangle(handle.read(), random.Random(share)))
    counts, runs, _ = assert_same_as_every_line(path, monkeypatch)
    assert counts["auth_failures"] > 0
    # records whose timestamp was cut are in the runs (kept without a timestamp, as the sensor keeps them)
    assert any(line.startswith("avtar ") for run in runs for line in run.lines)


# Every shape that moves a run boundary or makes a run an auth failure, and some that only look like it.
_TS = "2019-12-31 07:35:{s:02d}"
_SHAPES = [
    _TS + " avtar Info <8474>: - Log file path: /usr/local/avamar/var/clientlogs/{c}.log",
    _TS + " avtar Info <5552>: Connecting to Avamar Server ({srv})",
    _TS + " avtar FATAL <5704>: Fatal Server Error occurred (MSG_ERR_AUTH_FAIL), aborting execution "
    "(SECURETICKETLOGIN=45{s} serial=1 seq=0 flags=R:H:0 kind=0 rsp=MSG_ERR_AUTH_FAIL)",
    _TS + " avtar FATAL <05704>: Fatal Server Error occurred (MSG_ERR_TIMEOUT)",
    _TS + " avtar Warning <5704>: a warning with the code only",
    _TS + " avtar Error <5126>: Login error 5: MSG_ERR_AUTH_FAIL",
    _TS + " avtar Info <9999>: text that mentions MSG_ERR_AUTH_FAIL and 5704> but is Info",
    _TS + " avtar Info <5314>: Command completed (1 warning, exit code 0: success)",
    _TS + " avtar Info <5314>: Command failed (5 errors, exit code 10007)",
    _TS + " avtar Info <6149>: Error summary: 4 errors: 8941, 5704, 5126, 8609",
    _TS + " avtar Error <7001>: Exiting avtar with run-at-end script failure -1",
    _TS + " avtar Error <8609>: Connection killed from GSAN.",
    "----- START avtar log " + _TS,
    "----- END avtar log " + _TS + " UTC  (1 warning, 0 errors, 0 fatal errors)",
    "-- END avtar log without enough dashes",
    "2019/12/31-07:35:{s:02d}.12345 [avtar]  <1291> FIPS mode enabled",
    "2019/12/31-07:35:{s:02d}.12345 [avtar]  FATAL: <5704> internal-shape failure",
    "2019/12/31-07:35:{s:02d}.12345 [avtar]  <8474> - Log file path: /var/{c}.log",
    _TS + " avtar Info <5156>: Backup #12 timestamp, 1,234 files, 5.6 GB",
    "2019/12/31-07:35:{s:02d}.12345 {{0.1}} [srvm-1#srv:481]  WARN: <1479> sessionkeytable::setpublickey new "
    "serial={s}1 less than current minserial=9{s}",
    "[srvm-2#srv:481] WARN: <1418> sessionkeytable::setpublickey session ticket with serial={s} was used already",
    "WARN: <1426> sessionkeytable::comparesignature incorrect signature",
    "sessionkeytable without any code, minserial=3",
    "",
    "\xe9t\xe9 unicode noise",
]


def _random_log(rng: random.Random, lines: int, max_line: int) -> bytes:
    out = []
    for _ in range(lines):
        def one() -> str:
            return rng.choice(_SHAPES).format(s=rng.randrange(60), c=f"client{rng.randrange(4)}",
                                              srv=f"avamar-{rng.choice('abc')}.example.com")
        roll = rng.random()
        if roll < 0.1:
            text = " ".join(one() for _ in range(rng.randrange(2, 6)))  # records pasted on one line
        elif roll < 0.17:
            text = one()[rng.randrange(1, 15):]  # timestamp cut
        elif roll < 0.2:
            text = "x" * rng.randrange(max_line - 5, max_line * 3) + rng.choice([" MSG_ERR_AUTH_FAIL", " <8474>", ""])
        else:
            text = one()
        raw = text.encode("utf-8")
        if rng.random() < 0.03:
            raw = raw[: len(raw) // 2] + b"\xff\xfe" + raw[len(raw) // 2:]
        out.append(raw + (b"\r\n" if rng.random() < 0.2 else b"\n"))
    tail = rng.choice([b"", b"2019-12-31 07:35:00 avtar FATAL <5704>: unterminated MSG_ERR_AUTH_FAIL", b"y" * 900])
    return b"".join(out) + tail


@pytest.mark.parametrize("seed", range(12))
def test_random_logs_match_every_line(tmp_path, monkeypatch, seed: int) -> None:
    rng = random.Random(seed)
    max_line = 300
    path = str(tmp_path / f"random-{seed}.log")
    with open(path, "wb") as handle:
        handle.write(_random_log(rng, 1500, max_line))
    counts, _, _ = assert_same_as_every_line(path, monkeypatch, chunks=(None, 64, 777, 5000), max_line=max_line)
    assert counts["auth_failures"] > 0 and counts["skipped_long_lines"] > 0
    for kind in ("avtar", "gsan"):
        assert_same_as_every_line(path, monkeypatch, chunks=(None, 97), max_line=max_line, kind=kind)


def test_sparse_sync_points_are_read_again_from_the_file(tmp_path, monkeypatch) -> None:
    """A run far longer than a block, its failure at the end: the run start lies blocks back."""
    path = str(tmp_path / "long-run.log")
    noise = _SHAPES[1].format(s=1, srv="avamar-other") + "\n"  # parsed (5552), but the first server wins
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(_SHAPES[0].format(s=1, c="far") + "\n" + _SHAPES[1].format(s=2, srv="avamar-far") + "\n")
        handle.write(noise * 3000)
        handle.write(_SHAPES[2].format(s=3) + "\n" + noise * 10)
    counts, runs, _ = assert_same_as_every_line(path, monkeypatch, chunks=(None, 4096, 65536))
    assert counts["failures_by_server"] == {"avamar-far": 1}
    assert runs[0].client == "far" and runs[0].codes == [5704]
    assert len(runs[0].lines) == 201 and "<5704>" in runs[0].lines[-1]  # 200 kept, then the failure line


def test_work_is_proportional_to_failures_not_lines(tmp_path) -> None:
    path = str(tmp_path / "mixed.log")
    write_mixed(path, pieces=6, failure_share=0.01, joined_share=0.1, seed=3)
    counts = scan.scan_file(path)
    assert counts.auth_failures > 0
    assert counts.parsed_lines < counts.lines / 10


@pytest.mark.parametrize("seed", range(6))
def test_last_sync_point_lets_a_fresh_assembler_take_over(seed: int) -> None:
    """From ``last_sync_point`` on, a fresh assembler emits what the one fed from the start emits."""
    from avamar_pack.failures import RunAssembler

    rng = random.Random(100 + seed)
    block = _random_log(rng, 400, 300)
    block = block[: block.rfind(b"\n") + 1]
    prefix = block[: block.index(b"\n", len(block) // 3) + 1]  # the sync point of a block read earlier
    sync = scan.last_sync_point(prefix, max_line=300)
    assert sync is not None
    offset, index = sync
    assert offset == 0 or block[offset - 1:offset] == b"\n"

    def records(lines: bytes) -> List[Any]:
        out: List[Any] = []
        for raw in lines.split(b"\n")[:-1]:
            out.extend([] if len(raw) > 300 else scan._avtar_records(raw))
        return out

    before, after = records(block[:offset]), records(block[offset:])
    full, fresh = RunAssembler("x.log"), RunAssembler("x.log")
    for record in before + after[:index + 1]:  # up to the sync record, included
        full.feed(record)
    for record in after[index:index + 1]:
        assert fresh.feed(record) == []
    expected = [run for record in after[index + 1:] for run in full.feed(record)] + full.close()
    got = [run for record in after[index + 1:] for run in fresh.feed(record)] + fresh.close()
    assert [dataclasses.replace(run, seq=0) for run in got] == [dataclasses.replace(run, seq=0) for run in expected]
    assert got  # the runs after the sync point are there
