"""AvamarServerSensor with StackStorm's sensor test base: restart, rotation, outages, stalls, failures.

The node is files in a temp directory reached over the real local transport (``server_sensor_kit``);
its GSAN lines have the KB's [C] shapes; ``mccli`` is a stand-in that prints the activity table the
test wrote. Each test drives ``poll()`` with a test clock. Every dispatched payload is checked
against its trigger's ``payload_schema`` in tearDown.
"""

from __future__ import annotations

import json
import os

from avamar_pack.serverwatch import reads
from avamar_server_sensor import AvamarServerSensor
from sensor_case import SensorCase
from server_sensor_kit import FileNode, FlakyFactory, activity_row, gsan_noise, gsan_warning


def of(dispatched, trigger):
    return [d["payload"] for d in dispatched if d["trigger"] == f"avamar.{trigger}"]


class ServerSensorTest(SensorCase):
    sensor_cls = AvamarServerSensor
    tmp_prefix = "avamar-server-sensor-"
    clock_start = 2_000_000_000.0

    def setUp(self) -> None:
        super().setUp()
        self.node = FileNode(os.path.join(self.tmp, "ava01"))
        self.factory = FlakyFactory()

    def config(self, **sensor):
        section = {"dedup_window_seconds": 0, "stall_minutes": 60, "poll_interval_seconds": 60}
        section.update(sensor)
        return {"servers": {"ava01": self.node.server_entry()}, "sensor": section}

    def start(self, cfg=None):
        sensor = self.get_sensor_instance(config=cfg or self.config())
        sensor.setup()
        sensor.set_clock(self.clock)
        sensor.set_transport_factory(self.factory)
        self.sensors.append(sensor)
        sensor.poll()
        return sensor

    def poll(self, sensor, advance: float = 60.0):
        self.clock.advance(advance)
        sensor.poll()

    def dispatched(self, trigger):
        return of(self.get_dispatched_triggers(), trigger)

    @property
    def logger(self):
        return self.sensor_service.get_logger("AvamarServerSensor")

    # -- configuration ---------------------------------------------------------------------
    def test_disabled_cleanly_when_nothing_is_configured(self) -> None:
        for cfg in (
            {},
            {"servers": {}},
            {"servers": {"ava01": self.node.server_entry()}, "sensor": {"poll_servers": ["nosuch"]}},
        ):
            sensor = self.get_sensor_instance(config=cfg)
            sensor.setup()
            for _ in range(3):
                sensor.poll()
            sensor.cleanup()
            assert not sensor.watch.enabled
        assert self.get_dispatched_triggers() == []
        assert self.sensor_service.get_value("server_detection_state", local=True) is None

    def test_poll_interval_comes_from_the_config(self) -> None:
        sensor = self.start(self.config(poll_interval_seconds=300))
        assert sensor.get_poll_interval() == 300

    def test_a_bad_config_idles_the_sensor_instead_of_crashing_it(self) -> None:
        sensor = self.get_sensor_instance(
            config={"servers": {"ava01": self.node.server_entry()}, "sensor": {"stall_minutes": "soon"}}
        )
        sensor.setup()
        sensor.poll()
        assert sensor.watch is None and self.logger.error.called

    # -- GSAN's log --------------------------------------------------------------------------
    def test_first_poll_starts_at_the_end_then_warnings_are_dispatched_as_the_file_sensor_does(self) -> None:
        self.node.append(gsan_warning(1479), gsan_noise(1))  # before the sensor: history, not news
        sensor = self.start()
        assert self.get_dispatched_triggers() == []
        self.node.append(gsan_noise(2), gsan_warning(1418, serial=28452))
        self.poll(sensor)
        (warning,) = self.dispatched("session_ticket_warning")
        assert warning == {
            "server": "ava01",
            "code": 1418,
            "kind": "serial_used",
            "serial": 28452,
            "minserial": None,
            "line": "2026/12/01-10:00:00.12345 {0.1} [srvm-518654#srv:481]  WARN: <1418> "
            "sessionkeytable::setpublickey session ticket with serial=28452 was used already",
            "seen_at": "2026-12-01T10:00:00.123450",
            "source": "server",
        }

    def test_a_partial_last_line_waits_for_its_newline(self) -> None:
        sensor = self.start()
        line = gsan_warning(1426)
        self.node.append(line[:40])
        self.poll(sensor)
        assert self.dispatched("session_ticket_warning") == []
        self.node.append(line[40:])
        self.poll(sensor)
        assert [w["code"] for w in self.dispatched("session_ticket_warning")] == [1426]

    def test_restart_repeats_nothing_and_loses_nothing_written_while_down(self) -> None:
        sensor = self.start()
        self.node.append(gsan_warning(1479))
        self.poll(sensor)
        sensor.cleanup()
        self.node.append(gsan_warning(1418), gsan_noise(3))  # written while the sensor is down
        restarted = self.start()
        self.node.append(gsan_warning(1426))
        self.poll(restarted)
        assert [w["code"] for w in self.dispatched("session_ticket_warning")] == [1479, 1418, 1426]

    def test_a_crash_between_two_warnings_of_one_line_repeats_and_loses_neither(self) -> None:
        sensor = self.start()
        pasted = gsan_warning(1479).rstrip("\n") + " " + gsan_warning(1426)  # records run together
        self.node.append(pasted)
        real_dispatch = self.sensor_service.dispatch
        calls = []

        def dies_on_the_second(**kwargs):
            calls.append(kwargs)
            if len(calls) == 2:
                raise RuntimeError("sensor container killed")
            return real_dispatch(**kwargs)

        self.sensor_service.dispatch = dies_on_the_second
        self.poll(sensor)
        self.sensor_service.dispatch = real_dispatch
        sensor.cleanup()
        restarted = self.start()
        self.poll(restarted)
        assert [w["code"] for w in self.dispatched("session_ticket_warning")] == [1479, 1426]

    def test_rotation_reads_the_unread_tail_of_the_old_file_then_the_new_one(self) -> None:
        sensor = self.start()
        self.node.append(gsan_warning(1479))
        self.poll(sensor)
        self.node.append(gsan_warning(1418))  # not read yet when GSAN rotates
        self.node.rotate()
        self.node.append(gsan_warning(1426))
        self.poll(sensor)
        assert [w["code"] for w in self.dispatched("session_ticket_warning")] == [1479, 1418, 1426]
        self.node.append(gsan_noise(4))
        self.poll(sensor)
        assert len(self.dispatched("session_ticket_warning")) == 3

    def test_rotation_while_the_sensor_is_down_twice(self) -> None:
        sensor = self.start()
        self.node.append(gsan_noise(1))
        self.poll(sensor)
        sensor.cleanup()
        self.node.append(gsan_warning(1479))
        os.replace(self.node.rotate(1), self.node.gsan_log + ".002")  # rotated twice meanwhile
        self.node.append(gsan_warning(1418))
        self.node.rotate(1)
        self.node.append(gsan_warning(1426))
        restarted = self.start()
        self.poll(restarted)
        # The followed file (now .002) is found by inode and read to its end; .001 came after it and
        # was never read: from byte 0; then the new gsan.log.
        assert [w["code"] for w in self.dispatched("session_ticket_warning")] == [1479, 1418, 1426]
        self.poll(restarted)
        assert len(self.dispatched("session_ticket_warning")) == 3

    def test_copytruncate_reads_the_copy_from_the_saved_offset(self) -> None:
        sensor = self.start()
        self.node.append(gsan_noise(1), gsan_warning(1479))
        self.poll(sensor)
        self.node.append(gsan_warning(1418))
        self.node.copytruncate()
        self.node.append(gsan_warning(1426))
        self.poll(sensor)
        assert [w["code"] for w in self.dispatched("session_ticket_warning")] == [1479, 1418, 1426]

    def test_reads_are_bounded_never_the_whole_file(self) -> None:
        self.node.append(*(gsan_noise(i) for i in range(20000)))  # ~2 MB of history
        sensor = self.start()
        assert sensor.watch.stats["ava01"]["bytes"] <= 4096
        for i in range(5):
            self.node.append(gsan_noise(i))
            self.poll(sensor)
            stats = sensor.watch.stats["ava01"]
            assert stats["bytes"] <= len(gsan_noise(i)) + 64 and stats["commands"] == 2

    # -- outages ----------------------------------------------------------------------------
    def test_unreachable_server_is_reported_once_per_outage_and_loses_no_warning(self) -> None:
        sensor = self.start()
        self.factory.set_down("ava01", True)
        self.node.append(gsan_warning(1479))  # written during the outage
        for _ in range(5):
            self.poll(sensor)
        assert self.logger.error.call_count == 1
        assert "ava01 cannot be polled" in self.logger.error.call_args[0][0] % self.logger.error.call_args[0][1:]
        assert self.dispatched("session_ticket_warning") == []
        self.factory.set_down("ava01", False)
        self.poll(sensor)
        assert [w["code"] for w in self.dispatched("session_ticket_warning")] == [1479]
        self.factory.set_down("ava01", True)
        self.poll(sensor)
        self.poll(sensor)
        assert self.logger.error.call_count == 2  # a second outage is reported again, once

    def test_a_failure_after_the_log_was_read_repeats_no_warning(self) -> None:
        sensor = self.start()
        self.node.append(gsan_warning(1418))
        self.factory.by_server["ava01"].fail_on = "mccli"
        self.poll(sensor)
        self.factory.by_server["ava01"].fail_on = None
        self.poll(sensor)
        assert [w["code"] for w in self.dispatched("session_ticket_warning")] == [1418]
        assert self.factory.opened == 2  # the broken connection was dropped and opened again

    def test_mcs_down_is_reported_once_and_the_log_is_still_followed(self) -> None:
        sensor = self.start()
        self.node.mcs_down(True)
        self.node.append(gsan_warning(1426))
        for _ in range(3):
            self.poll(sensor)
        warns = [c for c in self.logger.warning.call_args_list if "MCS activities cannot be read" in c[0][0]]
        assert len(warns) == 1
        assert [w["code"] for w in self.dispatched("session_ticket_warning")] == [1426]

    # -- MCS activities ------------------------------------------------------------------------
    def test_a_healthy_node_over_100_polls_gives_nothing(self) -> None:
        sensor = self.start(self.config(stall_minutes=5))
        rows = []
        for i in range(100):
            self.node.append(gsan_noise(i), gsan_noise(i + 1))
            rows.append(activity_row(str(9154987654320000 + i), "Completed", f"client{i % 7:02d}"))
            running = activity_row(
                "9154987654329999",
                "Running",
                "bigdb",
                elapsed=f"{i // 60:02d}h:{i % 60:02d}m:00s",
                progress=f"{(i + 1) * 10} MB",
            )  # long, but moving
            self.node.set_activities(rows[-20:] + [running])
            self.poll(sensor)
        assert self.get_dispatched_triggers() == []
        assert self.logger.error.call_count == 0

    def test_a_hung_backup_gives_one_backup_stalled(self) -> None:
        sensor = self.start(self.config(stall_minutes=60))
        hung = activity_row("9154987654321001", "Running", "db01", elapsed="00h:10m:00s", progress="0 bytes")
        moving = activity_row("9154987654321002", "Running", "web01", elapsed="00h:10m:00s", progress="5.0 MB")
        for minute in range(10, 200, 10):
            hung["Elapsed"] = f"{minute // 60:02d}h:{minute % 60:02d}m:00s"
            moving["Progress Bytes"] = f"{minute} MB"
            self.node.set_activities([hung, moving])
            self.poll(sensor, advance=600)
        (stalled,) = self.dispatched("backup_stalled")
        assert stalled["server"] == "ava01" and stalled["source"] == "mcs"
        assert stalled["activities"] == [
            {"id": "9154987654321001", "client": "db01", "started": "2026-12-01T10:00:00+00:00", "minutes": 60}
        ]

    def test_a_stall_whose_dispatch_failed_is_dispatched_on_the_next_poll(self) -> None:
        self.node.set_activities(
            [activity_row("9154987654321009", "Running", "db05", elapsed="03h:00m:00s", progress="0 bytes")]
        )
        sensor = self.get_sensor_instance(config=self.config())
        sensor.setup()
        sensor.set_clock(self.clock)
        sensor.set_transport_factory(self.factory)
        self.sensors.append(sensor)
        real_dispatch = self.sensor_service.dispatch

        def broken(**kwargs):
            raise ConnectionError("message bus down")

        self.sensor_service.dispatch = broken
        sensor.poll()
        self.sensor_service.dispatch = real_dispatch
        assert self.dispatched("backup_stalled") == []
        self.poll(sensor)
        self.poll(sensor)
        assert [p["activities"][0]["id"] for p in self.dispatched("backup_stalled")] == ["9154987654321009"]

    def test_a_backup_already_hung_at_start_is_reported_on_the_first_poll_and_once(self) -> None:
        self.node.set_activities(
            [activity_row("9154987654321003", "Running", "db02", elapsed="02h:00m:00s", progress="0 bytes")]
        )
        sensor = self.start()
        for _ in range(5):
            self.poll(sensor)
        (stalled,) = self.dispatched("backup_stalled")
        assert stalled["activities"][0]["minutes"] == 120

    def test_a_backup_that_moves_again_and_stalls_again_is_a_new_stall(self) -> None:
        row = activity_row("9154987654321004", "Running", "db03", elapsed="00h:01m:00s", progress="1.0 MB")
        self.node.set_activities([row])
        sensor = self.start(self.config(stall_minutes=30))
        self.poll(sensor, advance=1800)
        assert len(self.dispatched("backup_stalled")) == 1
        row["Progress Bytes"] = "2.0 MB"
        self.node.set_activities([row])
        self.poll(sensor, advance=60)
        self.poll(sensor, advance=1800)
        self.poll(sensor, advance=1800)
        assert len(self.dispatched("backup_stalled")) == 2

    def test_stall_tracking_survives_a_restart(self) -> None:
        row = activity_row("9154987654321005", "Running", "db04", elapsed="00h:01m:00s", progress="3.0 MB")
        self.node.set_activities([row])
        sensor = self.start(self.config(stall_minutes=30))
        self.poll(sensor, advance=1000)
        sensor.cleanup()
        restarted = self.start(self.config(stall_minutes=30))
        self.poll(restarted, advance=1000)
        self.poll(restarted, advance=1000)
        assert len(self.dispatched("backup_stalled")) == 1

    def test_failed_backups_with_ticket_warnings_are_auth_failures_folded_per_server(self) -> None:
        old = activity_row("9154987654320001", "Failed", "old01", error=10007)  # before the sensor: baseline
        self.node.set_activities([old])
        sensor = self.start(self.config(dedup_window_seconds=900))
        rows = [old, activity_row("9154987654320002", "Failed", "client01", error=10007)]
        self.node.set_activities(rows)
        self.node.append(gsan_warning(1418))
        self.poll(sensor)
        (first,) = self.dispatched("backup_auth_failure")
        assert first["source"] == "mcs" and first["server"] == "ava01" and first["client"] == "client01"
        assert first["codes"][0] == 5704 and 10007 in first["codes"] and 1418 in first["codes"]
        assert first["count"] == 1 and first["ticket"] is None
        for i in (3, 4):
            rows.append(activity_row(f"915498765432000{i}", "Failed", f"client0{i}", error=10007))
            self.node.set_activities(rows)
            self.node.append(gsan_warning(1418, serial=28450 + i))
            self.poll(sensor)
        assert len(self.dispatched("backup_auth_failure")) == 1  # folded
        self.poll(sensor, advance=900)
        folded = self.dispatched("backup_auth_failure")[1]
        assert folded["count"] == 2 and folded["clients"] == ["client03", "client04"]

    def test_a_failure_whose_warning_is_read_a_poll_later_still_counts(self) -> None:
        sensor = self.start()
        self.node.set_activities([activity_row("9154987654320011", "Failed", "client11", error=10007)])
        self.poll(sensor)
        assert self.dispatched("backup_auth_failure") == []
        self.node.append(gsan_warning(1479))
        self.poll(sensor)
        assert [p["client"] for p in self.dispatched("backup_auth_failure")] == ["client11"]

    def test_failures_without_ticket_warnings_and_canceled_or_restores_are_not_auth_failures(self) -> None:
        sensor = self.start()
        self.node.set_activities(
            [
                activity_row("9154987654320021", "Failed", "client21", error=10007),
                activity_row("9154987654320022", "Canceled", "client22"),
                activity_row("9154987654320023", "Failed", "client23", kind="Restore", error=10007),
            ]
        )
        for _ in range(20):
            self.poll(sensor)
        assert self.dispatched("backup_auth_failure") == []
        self.node.append(gsan_warning(1418))
        self.poll(sensor)  # the warning comes 20 minutes after the failure: not the same event
        assert self.dispatched("backup_auth_failure") == []

    def test_hostile_activity_text_never_reaches_a_payload(self) -> None:
        sensor = self.start()
        self.node.set_activities(
            [
                activity_row("9154987654320031", "Failed", "$(reboot)", error=10007),
                activity_row("9154987654320032", "Running", "{{st2kv.x}}", elapsed="09h:00m:00s", progress="0 bytes"),
            ]
        )
        self.node.append(gsan_warning(1418))
        self.poll(sensor)
        assert self.dispatched("backup_auth_failure") == []
        (stalled,) = self.dispatched("backup_stalled")
        assert stalled["activities"][0]["client"] == "unknown"

    def test_state_is_one_sensor_local_datastore_value(self) -> None:
        sensor = self.start()
        self.node.append(gsan_warning(1479))
        self.poll(sensor)
        state = json.loads(self.sensor_service.get_value("server_detection_state", local=True))
        assert state["version"] == 1 and set(state["servers"]) == {"ava01"}
        assert state["servers"]["ava01"]["follow"]["live"]["offset"] == os.path.getsize(self.node.gsan_log)

    # -- read-only, bounded, hostile ------------------------------------------------------------
    def test_only_read_only_commands_run_on_the_node(self) -> None:
        sensor = self.start()
        for i in range(5):
            self.node.append(gsan_warning(1418, serial=28000 + i), gsan_noise(i))
            if i == 2:
                self.node.rotate(1)
            self.poll(sensor)
        calls = self.factory.by_server["ava01"].calls
        assert {argv[0] for argv in calls} == {"sh", "find", "mccli"}
        assert all(argv == ["mccli", "activity", "show"] for argv in calls if argv[0] == "mccli")
        assert all(argv[2] == reads.READ_RANGE_SCRIPT for argv in calls if argv[0] == "sh")
        assert all("-delete" not in argv and "-exec" not in argv for argv in calls if argv[0] == "find")

    def test_first_catch_up_with_read_existing_logs_goes_a_bounded_chunk_a_poll(self) -> None:
        self.node.append(gsan_warning(1479), *(gsan_noise(i) for i in range(90000)), gsan_warning(1426))
        size = os.path.getsize(self.node.gsan_log)  # ~9 MB: three polls of 4 MiB
        sensor = self.start(self.config(read_existing_logs=True))
        polls = 1
        while len(self.dispatched("session_ticket_warning")) < 2 and polls < 10:
            assert sensor.watch.stats["ava01"]["bytes"] <= (4 << 20) + 64
            self.poll(sensor)
            polls += 1
        assert [w["code"] for w in self.dispatched("session_ticket_warning")] == [1479, 1426]
        assert polls == -(-size // (4 << 20)) + 1  # the first poll only finds the log

    def test_an_overlong_line_is_skipped_and_the_next_warning_is_seen(self) -> None:
        sensor = self.start()
        self.node.append("x" * (200 * 1024) + " sessionkeytable minserial\n", gsan_warning(1418))
        self.poll(sensor)
        assert [w["code"] for w in self.dispatched("session_ticket_warning")] == [1418]
        self.node.append("y" * (100 * 1024))  # an overlong line still being written
        self.poll(sensor)
        self.node.append("\n", gsan_warning(1426))
        self.poll(sensor)
        assert [w["code"] for w in self.dispatched("session_ticket_warning")] == [1418, 1426]
