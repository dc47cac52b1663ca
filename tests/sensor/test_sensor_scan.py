"""``scan_file``: the sensor's parse path over a whole file gives the sensor's counts."""

from __future__ import annotations

import os

from avamar_log_sensor import AvamarLogSensor
from avamar_pack.detection.scan import scan_file
from sensorkit import auth_payloads, config, failing_run, good_run, seed_lines
from st2tests.base import BaseSensorTestCase

NOISE = "2026-01-05 03:00:00 avtar Info <5156>: Backup #12 timestamp 2026-01-05 03:00:00, 1,234 files, 5.6 GB\n"


def write_mixed(path: str, runs: int) -> int:
    failing = 0
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(runs):
            lines = failing_run(f"c{i % 5}", serial=i + 1) if i % 3 == 0 else good_run(f"c{i % 5}")
            failing += i % 3 == 0
            handle.writelines(lines[:3] + [NOISE] * 20 + lines[3:])
        handle.write("\x00\xff garbage without newline " + "x" * 300000)
    return failing


class ScanFileTest(BaseSensorTestCase):
    sensor_cls = AvamarLogSensor

    def test_counts_match_what_the_sensor_dispatches(self) -> None:
        import tempfile

        tmp = tempfile.mkdtemp(prefix="avamar-scan-")
        cfg = config(tmp, read_existing_logs=True)
        path = os.path.join(tmp, "clientlogs", "mixed.log")
        failing = write_mixed(path, 300)
        counts = scan_file(path)
        self.assertEqual(counts.auth_failures, failing)
        self.assertEqual(counts.runs, failing)  # only the runs around auth-failure lines are assembled
        self.assertEqual(counts.bytes, os.path.getsize(path))
        self.assertEqual(counts.lines, failing * 34 + (300 - failing) * 24)  # the last, oversized line is skipped
        self.assertEqual(counts.skipped_long_lines, 1)
        sensor = self.get_sensor_instance(config=cfg)
        sensor.setup()
        sensor.poll_once()
        sensor.cleanup()
        self.assertEqual(len(auth_payloads(self.get_dispatched_triggers())), failing)

    def test_seed_and_gsan_lines(self) -> None:
        import tempfile

        tmp = tempfile.mkdtemp(prefix="avamar-scan-")
        path = os.path.join(tmp, "kb.log")
        with open(path, "w", encoding="utf-8") as handle:
            handle.writelines(seed_lines())
        counts = scan_file(path)
        self.assertEqual(counts.auth_failures, 2)
        self.assertEqual(counts.ticket_warnings, 4)
        self.assertEqual(counts.lines, 4)

    def test_chunk_boundaries_do_not_change_the_counts(self) -> None:
        import tempfile

        from avamar_pack.detection import scan

        tmp = tempfile.mkdtemp(prefix="avamar-scan-")
        path = os.path.join(tmp, "mixed.log")
        failing = write_mixed(path, 120)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write("\n")
            handle.writelines(seed_lines())
        expected = scan_file(path)
        self.assertEqual(expected.auth_failures, failing + 2)
        self.assertEqual(expected.ticket_warnings, 4)
        original = scan.CHUNK
        try:
            for chunk in (97, 1000, 4096, 65536):  # runs and lines cut at every possible place
                scan.CHUNK = chunk
                got = scan_file(path)
                self.assertEqual(got.as_dict(), expected.as_dict(), chunk)
        finally:
            scan.CHUNK = original
        fast = scan_file(path, kind="avtar", count_lines=False)
        self.assertEqual((fast.auth_failures, fast.ticket_warnings, fast.lines), (failing + 2, 0, 0))
