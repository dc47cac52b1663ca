"""Figure 1: scan throughput of the sensor's parser, and its peak memory, beside ``grep -c -E``.

The log: avtar client-log text and GSAN log text from the simulator's own writer
(``avamar_sim.logwriter``), interleaved in 8 MiB / 2 MiB pieces into one file of ``--size-mib``
(1 GiB by default), 1% of the avtar runs failing with the KB's 5704 sequence (a tenth of those
pasted the KB's way, all on one line) and 1% of the GSAN lines sessionkeytable warnings. It is
generated once under ``bench/data/`` (gitignored) and reused while its manifest matches (size,
seed, and a hash of the writer and the texts it renders).

Ours: ``avamar_pack.detection.scan.scan_file`` - the sensor's parse path over a whole file - in a
child process (``python -m bench.scan --child FILE``), timed from outside, peak RSS from the
kernel (``wait4``'s ru_maxrss of that child). Reference: ``LC_ALL=C grep -c -E`` for the same
failure markers on the same file, run before and after ours (the faster run is the reference).
Both must count exactly what the writer says it wrote.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import time
from typing import Any, Dict, List, Tuple

from bench.common import ROOT, Options, Row, say

AVTAR_PIECE = 8 << 20
GSAN_PIECE = 2 << 20
FAILURE_SHARE = 0.01
JOINED_SHARE = 0.1
WARNING_SHARE = 0.01
GREP_MARKERS = r"avtar FATAL <5704>|MSG_ERR_AUTH_FAIL|<1479>|<1418>|<1426>"
TARGET_RATIO = 0.5
TARGET_RSS_MIB = 64
CHILD_TIMEOUT = 1800  # seconds; a 1 GiB scan takes well under this even on a loaded machine


def _writer_hash() -> str:
    digest = hashlib.sha256()
    for rel in ("logwriter.py", "texts.py", "inferred.py"):
        with open(os.path.join(ROOT, "simulator", "avamar_sim", rel), "rb") as handle:
            digest.update(handle.read())
    return digest.hexdigest()[:16]


def generate(path: str, size_mib: int, seed: int) -> Dict[str, Any]:
    """Write the mixed log (or reuse it) and return its manifest (what the writer reported)."""
    from avamar_sim.logwriter import write_avtar_log, write_gsan_log  # noqa: PLC0415

    manifest_path = path + ".manifest.json"
    wanted = {"size_mib": size_mib, "seed": seed, "writer": _writer_hash(), "avtar_piece": AVTAR_PIECE,
              "gsan_piece": GSAN_PIECE, "failure_share": FAILURE_SHARE, "joined_share": JOINED_SHARE,
              "warning_share": WARNING_SHARE}
    try:
        with open(manifest_path, encoding="utf-8") as handle:
            manifest = json.load(handle)
        if {k: manifest.get(k) for k in wanted} == wanted and os.path.getsize(path) == manifest["bytes"]:
            say(f"scan: reusing {path} ({manifest['bytes']} bytes, manifest matches)")
            return manifest
    except (OSError, ValueError, KeyError):
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    for stale in (path, manifest_path):
        if os.path.exists(stale):
            os.remove(stale)
    target = size_mib << 20
    failures: Dict[str, int] = {}
    warnings: Dict[str, int] = {}
    lines = 0
    piece = 0
    started = time.monotonic()
    base = dt.datetime(2019, 12, 1, 0, 0, 0)
    while os.path.exists(path) is False or os.path.getsize(path) < target:
        when = base + dt.timedelta(days=piece)
        left = target - (os.path.getsize(path) if os.path.exists(path) else 0)
        avtar = write_avtar_log(path, target_bytes=min(AVTAR_PIECE, left), failure_share=FAILURE_SHARE,
                                joined_share=JOINED_SHARE, seed=seed * 100003 + piece, start=when)
        for server, n in avtar.failures_by_server.items():
            failures[server] = failures.get(server, 0) + n
        lines += avtar.lines
        left = target - os.path.getsize(path)
        if left > 0:
            gsan = write_gsan_log(path, target_bytes=min(GSAN_PIECE, left), warning_share=WARNING_SHARE,
                                  seed=seed * 100003 + piece, start=when + dt.timedelta(hours=12))
            for code, n in gsan.warnings_by_code.items():
                warnings[str(code)] = warnings.get(str(code), 0) + n
            lines += gsan.lines
        piece += 1
    manifest = dict(wanted, bytes=os.path.getsize(path), lines=lines, failures_by_server=failures,
                    warnings_by_code=warnings, auth_failures=sum(failures.values()),
                    ticket_warnings=sum(warnings.values()), generated_s=round(time.monotonic() - started, 1))
    with open(manifest_path, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2, sort_keys=True)
    say(f"scan: generated {path}: {manifest['bytes']} bytes in {manifest['generated_s']} s")
    return manifest


def _child_env() -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(os.path.join(ROOT, p) for p in ("lib", "simulator", "runner", ""))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_ours(path: str) -> Tuple[float, Dict[str, Any], int]:
    """(wall seconds, counts, peak RSS in KiB) of scan_file in a child process."""
    out_path = path + ".child.json"
    argv = [sys.executable, "-m", "bench.scan", "--child", path, out_path]
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=ROOT, env=_child_env(), stdin=subprocess.DEVNULL)  # noqa: S603
    deadline = started + CHILD_TIMEOUT
    while True:  # wait4: the exit status AND the kernel's resource usage of exactly this child
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            os.wait4(proc.pid, 0)
            proc.returncode = -9
            raise TimeoutError(f"scan child did not finish in {CHILD_TIMEOUT} s")
        time.sleep(0.02)
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"scan child exited {proc.returncode}")
    with open(out_path, encoding="utf-8") as handle:
        result = json.load(handle)
    os.remove(out_path)
    return wall, result, usage.ru_maxrss


def run_grep(path: str) -> Tuple[float, int]:
    env = dict(os.environ, LC_ALL="C")
    started = time.monotonic()
    proc = subprocess.run(["grep", "-c", "-E", GREP_MARKERS, path], env=env, capture_output=True, text=True,  # noqa: S603,S607
                          timeout=CHILD_TIMEOUT, check=False)
    wall = time.monotonic() - started
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"grep exited {proc.returncode}: {proc.stderr.strip()}")
    return wall, int(proc.stdout.strip() or 0)


def run(opts: Options) -> List[Row]:
    path = os.path.join(opts.data_dir, f"mixed-{opts.size_mib}mib.log")
    manifest = generate(path, opts.size_mib, opts.seed)
    size = manifest["bytes"]
    expected_failures, expected_warnings = manifest["auth_failures"], manifest["ticket_warnings"]

    grep_s1, grep_count = run_grep(path)  # also warms the page cache for both
    ours_s, result, rss_kib = run_ours(path)
    grep_s2, grep_count2 = run_grep(path)
    counts = result["counts"]
    if (counts["auth_failures"], counts["ticket_warnings"]) != (expected_failures, expected_warnings):
        raise AssertionError(f"scan_file counted {counts['auth_failures']} auth failures and "
                             f"{counts['ticket_warnings']} warnings; the writer wrote {expected_failures} and "
                             f"{expected_warnings}")
    if grep_count != grep_count2 or grep_count != expected_failures + expected_warnings:
        raise AssertionError(f"grep counted {grep_count}/{grep_count2} marker lines, the writer wrote "
                             f"{expected_failures} + {expected_warnings}")
    grep_s = min(grep_s1, grep_s2)
    mib = size / (1 << 20)
    ours_rate, grep_rate = mib / ours_s, mib / grep_s
    ratio = ours_rate / grep_rate
    rss_mib = rss_kib / 1024
    details = {"file": path, "bytes": size, "lines": manifest["lines"], "ours_s": round(ours_s, 3),
               "ours_scan_s_inside_child": result["seconds"], "grep_s": [round(grep_s1, 3), round(grep_s2, 3)],
               "ours_mib_s": round(ours_rate, 1), "grep_mib_s": round(grep_rate, 1), "ratio": round(ratio, 3),
               "counts": counts, "expected": {"auth_failures": expected_failures, "ticket_warnings": expected_warnings},
               "grep_count": grep_count, "peak_rss_kib": rss_kib, "child_vmhwm_kib": result.get("vmhwm_kib")}
    return [
        Row(figure=f"scan throughput, {mib:.0f} MiB mixed avtar/GSAN log",
            ours=f"{ours_rate:.0f} MiB/s ({ours_s:.2f} s; {expected_failures} failures + "
                 f"{expected_warnings} warnings, as written)",
            reference=f"grep -c -E: {grep_rate:.0f} MiB/s ({grep_s:.2f} s)",
            target=f"{ratio:.2f}x grep; >= {TARGET_RATIO}x", passed=ratio >= TARGET_RATIO, details=details),
        Row(figure="scan peak memory (child max RSS)", ours=f"{rss_mib:.1f} MiB", reference="-",
            target=f"< {TARGET_RSS_MIB} MiB", passed=rss_mib < TARGET_RSS_MIB, details=details),
    ]


def _child(path: str, out_path: str) -> None:
    """In the child: scan, then report counts, scan time and our own VmHWM (a cross-check)."""
    from avamar_pack.detection.scan import scan_file  # noqa: PLC0415

    started = time.monotonic()
    counts = scan_file(path)
    seconds = time.monotonic() - started
    vmhwm = None
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                vmhwm = int(line.split()[1])
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump({"counts": counts.as_dict(), "seconds": round(seconds, 3), "vmhwm_kib": vmhwm}, handle)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: python -m bench.scan --child FILE OUT.json")
