"""Figure 3: a storm of auth failures folded into one dispatch per server.

10,000 failed avtar runs (the KB's 5704 sequence, texts from ``avamar_sim.texts``) from 2,000
clients of 3 servers, stamped within 60 s of log time, one log file per client as on a node's
``clientlogs`` directory. The real ``DetectionEngine`` (what ``AvamarLogSensor.run()`` drives)
reads them all with ``read_existing_logs``; a controlled clock lets the dedup window (900 s)
end without waiting for it.

Expected, from ``detection/folding.py``: while the window is open, exactly one dispatch per
server (the first failure, count 1); the other failures are folded and, when the window ends,
dispatched once per server with their count. So: 3 dispatches during the storm, 3 at the window
end, and the counts of all of them sum to the number of failures. CPU: process CPU time of
the whole read/parse/fold/dispatch (window end included) divided by the lines written.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import tempfile
import time
from typing import Dict, List

from avamar_sim import texts

from bench.common import Deadline, Options, Row, say
from bench.rows import ceiling_row

SERVERS = ("avamar-a.example.com", "avamar-b.example.com", "avamar-c.example.com")
LOG_SECONDS = 60
TARGET_US_PER_LINE = 20.0
WINDOW = 900.0


class ManualClock:
    """The engine's clock: wall time plus an offset the benchmark moves forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def _run_text(when: dt.datetime, client: str, server: str, ip: str, log_path: str) -> str:
    stamp = texts.avtar_stamp(when)
    values = {"log_path": log_path, "server": server, "ip": ip}
    internal = when.strftime("%Y/%m/%d-%H:%M:%S.00000") + " [avtar]  <1291> FIPS mode enabled\n"
    body = [f"{stamp} {line.format(**values)}\n" for line in texts.AVTAR_LOGIN_LINES + texts.AVTAR_AUTH_FAIL_LINES]
    return internal + "".join(body)


def write_storm(log_dir: str, failures: int, clients: int) -> Dict[str, int]:
    """One file per client; run i is client i % clients, server = client % 3. Returns totals."""
    start = dt.datetime(2019, 12, 31, 7, 35, 0)
    per_client: Dict[int, List[str]] = {}
    lines = 0
    for i in range(failures):
        client_no = i % clients
        server = SERVERS[client_no % len(SERVERS)]
        when = start + dt.timedelta(seconds=LOG_SECONDS * i / failures)
        client = f"client{client_no:05d}"
        log_path = os.path.join(log_dir, f"{client}-Unix.log")
        text = _run_text(when, client, server, f"10.0.0.{SERVERS.index(server) + 1}", log_path)
        lines += text.count("\n")
        per_client.setdefault(client_no, []).append(text)
    for client_no, runs in per_client.items():
        with open(os.path.join(log_dir, f"client{client_no:05d}-Unix.log"), "w", encoding="utf-8") as handle:
            handle.write("".join(runs))
    return {"lines": lines, "files": len(per_client), "failures": failures}


def run(opts: Options) -> List[Row]:
    from avamar_pack.detection.engine import DetectionEngine  # noqa: PLC0415
    from st2tests.mocks.sensor import MockSensorService, MockSensorWrapper  # noqa: PLC0415

    work = tempfile.mkdtemp(prefix="avamar-bench-storm-")
    try:
        log_dir = os.path.join(work, "clientlogs")
        os.makedirs(log_dir)
        clients = min(opts.storm_clients, opts.storm_failures)
        written = write_storm(log_dir, opts.storm_failures, clients)
        say(f"storm: {written['failures']} failed runs, {written['lines']} lines in {written['files']} files")
        config = {
            "servers": {f"ava-{c}": {"transport": "local", "host": host} for c, host in zip("abc", SERVERS)},
            "sensor": {
                "client_log_paths": [os.path.join(log_dir, "*.log")],
                "gsan_log_paths": [os.path.join(work, "gsan", "gsan.log")],
                "dedup_window_seconds": WINDOW,
                "read_existing_logs": True,
            },
        }
        service = MockSensorService(MockSensorWrapper("avamar", "AvamarLogSensor"))
        logger = logging.getLogger("bench.storm")  # a real logger, as in st2 (the mock's Mock records calls)
        logger.setLevel(logging.WARNING)
        clock = ManualClock()
        deadline = Deadline(300, "storm")
        cpu0, wall0 = time.process_time(), time.monotonic()
        engine = DetectionEngine(config, service, logger, clock=clock)
        engine.poll_once()  # reads everything appended (all files, from byte 0)
        clock.offset += 1.0  # quiet longer than settle_seconds: the last run of every file is acted on
        engine.poll_once()
        during = list(service.dispatched_triggers)
        passes = 0
        clock.offset += WINDOW + 1  # the dedup window ends: folded failures are dispatched
        while passes < 5 and not deadline.expired():
            passes += 1
            if engine.poll_once() == 0:
                break
        cpu = time.process_time() - cpu0
        wall = time.monotonic() - wall0
        engine.close()
        auth = [d for d in service.dispatched_triggers if d["trigger"].endswith("backup_auth_failure")]
        during_auth = [d for d in during if d["trigger"].endswith("backup_auth_failure")]
        total = sum(int(d["payload"]["count"]) for d in auth)
        by_server = {}
        for d in auth:
            by_server.setdefault(d["payload"]["server"], []).append(int(d["payload"]["count"]))
        us_per_line = cpu / written["lines"] * 1e6
        details = {
            "written": written,
            "dispatches_during_window": len(during_auth),
            "dispatches_total": len(auth),
            "counts_by_server": by_server,
            "count_sum": total,
            "cpu_s": round(cpu, 3),
            "wall_s": round(wall, 3),
            "us_cpu_per_line": round(us_per_line, 2),
            "skipped": engine.skipped[:5],
            "other_triggers": len(service.dispatched_triggers) - len(auth),
        }
        ok_fold = len(during_auth) == len(SERVERS) and total == opts.storm_failures
        return [
            Row(
                figure=f"storm: {opts.storm_failures} failures, {clients} clients, 3 servers, {LOG_SECONDS} s",
                ours=f"{len(during_auth)} dispatches in the window (+{len(auth) - len(during_auth)} at its end), "
                f"counts sum {total}",
                reference="-",
                target=f"exactly 3 in the window; sum = {opts.storm_failures}",
                passed=ok_fold,
                details=details,
            ),
            ceiling_row(
                "storm: CPU per log line (read, parse, fold, dispatch)",
                f"{us_per_line:.1f} us/line ({cpu:.2f} s CPU / {written['lines']} lines)",
                us_per_line,
                TARGET_US_PER_LINE,
                "us/line",
                details,
            ),
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)
