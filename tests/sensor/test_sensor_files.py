"""AvamarLogSensor on real files: the KB's lines, rotation, restarts, storms, hostile input.

Each test drives the sensor with ``poll_once()`` (one deterministic pass) and a test clock, on
files in a temp directory, the way avtar and GSAN write them; datastore and dispatches are
st2tests' mocks (``BaseSensorTestCase``). Every dispatched payload is checked against the
trigger's ``payload_schema`` in tearDown.
"""

from __future__ import annotations

import json
import os
import shutil

from avamar_log_sensor import AvamarLogSensor
from packkit import validate_dispatched_payloads
from sensor_case import LogSensorCase
from sensorkit import append, auth_payloads, config, failing_run, good_run, seed_lines, warning_payloads


class SensorFileTest(LogSensorCase):
    sensor_cls = AvamarLogSensor

    def setUp(self) -> None:
        super().setUp()
        self.clients = os.path.join(self.tmp, "clientlogs")
        self.gsan = os.path.join(self.tmp, "gsan")

    def client_log(self, name: str) -> str:
        return os.path.join(self.clients, f"{name}.log")

    # -- the KB's lines ----------------------------------------------------------------------

    def test_seed_lines_verbatim(self) -> None:
        sensor = self.start(config(self.tmp, window=600))
        avtar_lines, gsan_lines = seed_lines()[:2], seed_lines()[2:]
        append(self.client_log("client1"), avtar_lines)
        append(os.path.join(self.gsan, "err.log"), gsan_lines)
        sensor.poll_once()
        auth = auth_payloads(self.get_dispatched_triggers())
        # The KB pastes two failing runs: the first dispatches at once, the second is folded.
        self.assertEqual(len(auth), 1)
        first = auth[0]
        self.assertEqual(first["server"], "ava1")
        self.assertEqual(first["client"], "client1")
        self.assertEqual(first["codes"], [8609, 5704, 5126, 8941, 7001])
        self.assertEqual(first["count"], 1)
        self.assertEqual(first["source"], "file")
        self.assertEqual(
            first["ticket"],
            {"securelogin": 452, "serial": 1, "seq": 0, "flags": "R:H:0", "kind": 0, "rsp": "MSG_ERR_AUTH_FAIL"},
        )
        self.assertIn("MSG_ERR_AUTH_FAIL", first["message"])
        self.assertEqual(first["first_seen"], "2019-12-31T07:35:23")
        warnings = warning_payloads(self.get_dispatched_triggers())
        # 1479 and 1426 from the first line, 1418 from the second; its 1426 repeats within the window.
        self.assertEqual(
            [(w["code"], w["kind"]) for w in warnings],
            [(1479, "serial_below_minserial"), (1426, "incorrect_signature"), (1418, "serial_used")],
        )
        self.assertEqual(warnings[2]["serial"], 28451)
        # The window ends: the folded run (client some-Unix, from its Log file path line) goes out.
        self.clock.advance(601)
        sensor.poll_once()
        auth = auth_payloads(self.get_dispatched_triggers())
        self.assertEqual(len(auth), 2)
        self.assertEqual(auth[1]["clients"], ["some-Unix"])
        self.assertEqual(auth[1]["count"], 1)
        self.assertEqual(auth[1]["codes"], [8609, 5704, 5126, 8941, 7001])
        self.assertGreaterEqual(validate_dispatched_payloads(self), 5)

    def test_existing_content_is_not_replayed_and_new_files_are_picked_up(self) -> None:
        os.makedirs(self.clients)
        append(self.client_log("old"), failing_run("old"))
        sensor = self.start(config(self.tmp))
        self.assertEqual(self.get_dispatched_triggers(), [])
        append(self.client_log("old"), failing_run("old", serial=2))
        append(self.client_log("late"), failing_run("late"))  # a file that appears after the start
        sensor.poll_once()
        self.assertEqual(sorted(p["client"] for p in auth_payloads(self.get_dispatched_triggers())), ["late", "old"])

    def test_good_runs_and_other_failures_dispatch_nothing(self) -> None:
        sensor = self.start(config(self.tmp))
        append(self.client_log("c1"), good_run("c1"))
        auth = "FATAL <5704>: Fatal Server Error occurred (MSG_ERR_AUTH_FAIL)"
        other = [
            line.replace(auth, "FATAL <5155>: Disk full").replace("rsp=MSG_ERR_AUTH_FAIL", "rsp=MSG_ERR_DISKFULL")
            for line in failing_run("c1")
        ]
        append(self.client_log("c1"), other)
        sensor.poll_once()
        self.assertEqual(self.get_dispatched_triggers(), [])

    def test_partial_line_waits_for_its_newline(self) -> None:
        sensor = self.start(config(self.tmp))
        lines = failing_run("c1", end_banner=False)
        fatal = lines.index(next(line for line in lines if "<5704>" in line))
        append(self.client_log("c1"), lines[:fatal])
        append(self.client_log("c1"), [lines[fatal][:40]])  # half of the FATAL line
        sensor.poll_once()
        self.assertEqual(self.get_dispatched_triggers(), [])
        append(self.client_log("c1"), [lines[fatal][40:]])
        sensor.poll_once()
        auth = auth_payloads(self.get_dispatched_triggers())
        self.assertEqual(len(auth), 1)
        self.assertIn("MSG_ERR_AUTH_FAIL", auth[0]["message"])

    # -- rotation ----------------------------------------------------------------------------

    def test_rename_rotation_with_lines_at_the_boundary(self) -> None:
        sensor = self.start(config(self.tmp))
        path = self.client_log("c1")
        append(path, failing_run("c1", serial=1))
        sensor.poll_once()
        # Written just before the rename, and through the writer's still-open descriptor after it.
        with open(path, "a", encoding="utf-8") as writer:
            writer.writelines(failing_run("c1", serial=2)[:8])
            writer.flush()
            os.rename(path, path + ".1")
            writer.writelines(failing_run("c1", serial=2)[8:])
        append(path, failing_run("c1", serial=3))  # the new file
        sensor.poll_once()
        self.clock.advance(10)  # past the rotation grace: the old inode is finished and dropped
        sensor.poll_once()
        serials = [p["ticket"]["serial"] for p in auth_payloads(self.get_dispatched_triggers())]
        self.assertEqual(serials, [1, 2, 3])
        # The other way round: the new file rotates too, while the sensor is down.
        state = json.loads(self.sensor_service.get_value("detection_state"))
        self.assertEqual(len(state["files"]), 1)
        sensor.cleanup()
        append(path, failing_run("c1", serial=4)[:9])
        os.rename(path, path + ".2")
        append(path + ".2", failing_run("c1", serial=4)[9:])
        append(path, failing_run("c1", serial=5))
        restarted = self.start(config(self.tmp))
        self.clock.advance(10)
        restarted.poll_once()
        serials = [p["ticket"]["serial"] for p in auth_payloads(self.get_dispatched_triggers())]
        self.assertEqual(sorted(serials), [1, 2, 3, 4, 5])

    def test_copytruncate_with_lines_at_the_boundary(self) -> None:
        sensor = self.start(config(self.tmp))
        path = self.client_log("c1")
        append(path, failing_run("c1", serial=1))
        sensor.poll_once()
        append(path, failing_run("c1", serial=2))  # not read yet when logrotate copies
        shutil.copyfile(path, path + ".1")
        with open(path, "r+b") as handle:
            handle.truncate(0)
        append(path, failing_run("c1", serial=3))
        sensor.poll_once()
        serials = [p["ticket"]["serial"] for p in auth_payloads(self.get_dispatched_triggers())]
        self.assertEqual(serials, [1, 2, 3])
        self.assertTrue(any("copytruncate" in note for note in sensor.skip_notes))

    # -- restarts ----------------------------------------------------------------------------

    def test_restart_in_the_middle_of_a_file_loses_and_repeats_nothing(self) -> None:
        cfg = config(self.tmp, settle_seconds=1000.0)  # runs without END wait: the open run spans the restart
        sensor = self.start(cfg)
        path = self.client_log("c1")
        for serial in (1, 2, 3):
            append(path, failing_run("c1", serial=serial))
        run4 = failing_run("c1", serial=4)
        append(path, run4[:5])  # run 4 has started, not failed yet
        sensor.poll_once()
        sensor.cleanup()
        restarted = self.start(cfg)
        append(path, run4[5:])
        append(path, failing_run("c1", serial=5))
        restarted.poll_once()
        serials = [p["ticket"]["serial"] for p in auth_payloads(self.get_dispatched_triggers())]
        self.assertEqual(serials, [1, 2, 3, 4, 5])

    def test_restart_after_a_run_was_counted_at_end_of_file(self) -> None:
        cfg = config(self.tmp, settle_seconds=0.0)
        sensor = self.start(cfg)
        path = self.client_log("c1")
        run = failing_run("c1", serial=7)
        append(path, run[:9])  # the FATAL 5704 is there, the run has not ended
        sensor.poll_once()
        self.assertEqual(len(auth_payloads(self.get_dispatched_triggers())), 1)
        sensor.cleanup()
        restarted = self.start(cfg)
        append(path, run[9:])  # the same run ends: not a second failure
        append(path, failing_run("c1", serial=8))
        restarted.poll_once()
        serials = [p["ticket"]["serial"] for p in auth_payloads(self.get_dispatched_triggers())]
        self.assertEqual(serials, [7, 8])

    def test_restart_reads_files_that_appeared_meanwhile_but_not_files_of_a_new_glob(self) -> None:
        cfg = config(self.tmp)
        sensor = self.start(cfg)
        sensor.cleanup()
        append(self.client_log("meanwhile"), failing_run("meanwhile"))  # written while the sensor was down
        other = os.path.join(self.tmp, "otherlogs")
        os.makedirs(other)
        append(os.path.join(other, "old.log"), failing_run("old"))  # history of a glob added now
        cfg["sensor"]["client_log_paths"].append(os.path.join(other, "*.log"))
        restarted = self.start(cfg)
        restarted.poll_once()
        self.assertEqual([p["client"] for p in auth_payloads(self.get_dispatched_triggers())], ["meanwhile"])
        append(os.path.join(other, "old.log"), failing_run("old", serial=2))
        append(os.path.join(other, "new.log"), failing_run("new"))
        restarted.poll_once()
        self.assertEqual(
            sorted(p["client"] for p in auth_payloads(self.get_dispatched_triggers())), ["meanwhile", "new", "old"]
        )

    # -- storm -------------------------------------------------------------------------------

    def test_storm_of_two_servers_one_dispatch_per_server_per_window(self) -> None:
        servers = {
            "ava1": {"transport": "local", "host": "ava1.example.com"},
            "ava2": {"transport": "local", "host": "ava2.example.com", "hostnames": ["ava2", "10.0.0.2"]},
        }
        window = 300
        sensor = self.start(config(self.tmp, window=window, servers=servers))
        expected = {"ava1": 0, "ava2": 0}
        dispatch_times = []
        start = self.clock.now
        for wave in range(7):  # 7 waves, 100 s apart: 700 s of failures, windows of 300 s
            for i in range(40):
                host = "ava1.example.com" if i % 3 else ("ava2" if i % 2 else "10.0.0.2")
                server = "ava1" if i % 3 else "ava2"
                client = f"client{i:03d}"
                append(self.client_log(client), failing_run(client, host=host, serial=wave + 1))
                expected[server] += 1
            before = len(self.get_dispatched_triggers())
            sensor.poll_once()
            dispatch_times += [self.clock.now] * (len(self.get_dispatched_triggers()) - before)
            self.clock.advance(100)
        for _ in range(4):  # let the last windows end
            before = len(self.get_dispatched_triggers())
            sensor.poll_once()
            dispatch_times += [self.clock.now] * (len(self.get_dispatched_triggers()) - before)
            self.clock.advance(window)
        auth = auth_payloads(self.get_dispatched_triggers())
        for server in ("ava1", "ava2"):
            mine = [(t, p) for t, p in zip(dispatch_times, auth) if p["server"] == server]
            self.assertEqual(sum(p["count"] for _, p in mine), expected[server], server)
            times = [t for t, _ in mine]
            self.assertTrue(all(b - a >= window for a, b in zip(times, times[1:])), (server, times))
            self.assertEqual(mine[0][1]["count"], 1)  # the first failure went out at once
            self.assertLessEqual(len(mine), 700 // window + 2)
            self.assertEqual(len(set(mine[1][1]["clients"])), len(mine[1][1]["clients"]))
        self.assertEqual(start, dispatch_times[0])

    # -- hostile input -----------------------------------------------------------------------

    def test_garbage_and_hostile_lines_dispatch_nothing_and_do_not_stop_the_sensor(self) -> None:
        sensor = self.start(config(self.tmp))
        path = self.client_log("victim")
        with open(path, "ab") as handle:
            handle.write(os.urandom(64 * 1024).replace(b"\n", b"") + b"\n")
            # NULs inside the header: not a record (a FATAL <5704> record would be a genuine failure).
            handle.write(b"2026-01-05 03:00:00 avtar FA\x00TAL <5704>: \x00\x00 NUL MSG_ERR_AUTH_FAIL\n")
            handle.write(b"\xff\xfe\xfd bad utf-8 \xc3\x28 avtar Error <8609>\n")
            # 10 MiB line holding everything a failure has: skipped whole, never parsed.
            huge = b"".join(line.encode() for line in failing_run("huge")).replace(b"\n", b" ")
            handle.write(huge * (10 * 1024 * 1024 // len(huge)) + b"\n")
            # A shell-injection client name on a complete failing run.
            evil = [
                line.replace("clientlogs/evil.log", "clientlogs/$(touch /tmp/pwned).log")
                for line in failing_run("evil")
            ]
            handle.write("".join(evil).encode())
            handle.write(
                "2026-01-05 03:00:00 avtar FATAL <5704>: `rm -rf /` ; $(reboot) (MSG_ERR_AUTH_FAIL)\n".replace(
                    "FATAL <5704>: `", "Info <8474>: - Log file path: `"
                ).encode()
            )
        sensor.poll_once()
        sensor.poll_once()
        self.assertEqual(auth_payloads(self.get_dispatched_triggers()), [])
        notes = " | ".join(sensor.skip_notes)
        self.assertIn("line of more than", notes)
        self.assertIn("invalid client name", notes)
        self.assertFalse(os.path.exists("/tmp/pwned"))
        # Still alive: a genuine failure after the garbage is seen.
        append(path, failing_run("good"))
        sensor.poll_once()
        self.assertEqual([p["client"] for p in auth_payloads(self.get_dispatched_triggers())], ["good"])

    # -- server mapping ----------------------------------------------------------------------

    def test_server_mapping_by_host_root_and_refusal(self) -> None:
        other_root = os.path.join(self.tmp, "node2")
        os.makedirs(os.path.join(other_root, "clientlogs"))
        servers = {
            "ava1": {"transport": "local", "host": "ava1.example.com"},
            "ava2": {"transport": "local", "host": "ava2.example.com", "avamar_root": other_root},
        }
        cfg = config(self.tmp, servers=servers)
        cfg["sensor"]["client_log_paths"].append(os.path.join(other_root, "clientlogs", "*.log"))
        sensor = self.start(cfg)
        append(self.client_log("a"), failing_run("a", host="AVA1.example.com"))
        # A run naming no server (its 5552 line lost) maps by the avamar_root its log lies under...
        nameless = [line for line in failing_run("b") if "<5552>" not in line]
        append(os.path.join(other_root, "clientlogs", "b.log"), nameless)
        # ...but a run NAMING an unknown server never maps, wherever its log is.
        append(os.path.join(other_root, "clientlogs", "b2.log"), failing_run("b2", host="unknown.example.com"))
        append(self.client_log("c"), failing_run("c", host="unknown.example.com"))
        sensor.poll_once()
        got = {p["client"]: p["server"] for p in auth_payloads(self.get_dispatched_triggers())}
        self.assertEqual(got, {"a": "ava1", "b": "ava2"})
        self.assertTrue(
            any("not mapped to a server" in note and "unknown.example.com" in note for note in sensor.skip_notes)
        )

    # -- folding survives a restart ----------------------------------------------------------

    def test_folded_failures_survive_a_restart_and_go_out_when_the_window_ends(self) -> None:
        cfg = config(self.tmp, window=600)
        sensor = self.start(cfg)
        for client in ("a", "b", "c"):
            append(self.client_log(client), failing_run(client))
        sensor.poll_once()
        self.assertEqual([p["count"] for p in auth_payloads(self.get_dispatched_triggers())], [1])
        sensor.cleanup()
        restarted = self.start(cfg)
        self.assertEqual(len(self.get_dispatched_triggers()), 1)  # nothing re-sent, window still open
        self.clock.advance(601)
        restarted.poll_once()
        auth = auth_payloads(self.get_dispatched_triggers())
        self.assertEqual([p["count"] for p in auth], [1, 2])
        self.assertEqual(sorted(auth[1]["clients"]), ["b", "c"])
        self.clock.advance(601)  # nothing folded in the second window: it just closes
        restarted.poll_once()
        self.assertEqual(len(auth_payloads(self.get_dispatched_triggers())), 2)
        append(self.client_log("d"), failing_run("d"))
        restarted.poll_once()  # the next failure after a closed window goes out at once
        self.assertEqual(auth_payloads(self.get_dispatched_triggers())[-1]["clients"], ["d"])


def test_inotify_wakeup_is_prompt(tmp_path) -> None:
    import threading
    import time

    from avamar_pack.detection.wakeup import Wakeup

    wakeup = Wakeup()
    assert wakeup.active, wakeup.reason
    wakeup.watch([str(tmp_path)])

    def write() -> None:
        time.sleep(0.2)
        (tmp_path / "x.log").write_text("line\n")

    thread = threading.Thread(target=write)
    started = time.monotonic()
    thread.start()
    assert wakeup.wait(5.0) is True
    waited = time.monotonic() - started
    thread.join()
    assert waited < 0.4, waited  # woken by the write at 0.2 s, not by the 5 s timeout
    drained = 0
    while wakeup.wait(0.1):  # create, modify and close may come as separate reads
        drained += 1
    assert drained < 5
    wakeup.notify()
    assert wakeup.wait(5.0) is True
    wakeup.close()
