"""Issue 12 items 1-5 through the real sensor, on text shaped like real avtar/GSAN logs.

Appended multi-run logs (nothing between runs), run-together records and cut timestamps, CRLF
and Windows paths, lookalikes that mention 5704 or MSG_ERR_AUTH_FAIL, runs that name another
Avamar, and per-server log paths. Each test drives ``poll_once()`` with a test clock.
"""

from __future__ import annotations

import os
from typing import Dict, List

from avamar_log_sensor import AvamarLogSensor
from realistic_logs import appended_run, gsan_warnings, lookalike_runs, run_together, windows_run
from sensor_case import LogSensorCase
from sensorkit import append, auth_payloads, config, failing_run, warning_payloads

TWO_SERVERS = {
    "ava1": {"transport": "local", "host": "ava1.example.com"},
    "ava2": {"transport": "local", "host": "ava2.example.com", "hostnames": ["ava2"]},
}


class RealisticLogTest(LogSensorCase):
    sensor_cls = AvamarLogSensor
    tmp_prefix = "avamar-real-"

    def log(self, name: str = "avtar") -> str:
        return os.path.join(self.tmp, "clientlogs", f"{name}.log")

    def by_server(self) -> Dict[str, List[dict]]:
        out: Dict[str, List[dict]] = {}
        for payload in auth_payloads(self.get_dispatched_triggers()):
            out.setdefault(payload["server"], []).append(payload)
        return out

    # -- 1. appended multi-run logs ------------------------------------------------------------

    def test_appended_runs_every_failure_counted_first_of_each_server_at_once(self) -> None:
        window = 600
        sensor = self.start(config(self.tmp, window=window, servers=TWO_SERVERS))
        expected = {"ava1": 0, "ava2": 0}
        lines: List[str] = []
        for i in range(25):  # one shared avtar.log: 25 runs, no START banner, no 8474 between them
            host = "ava1.example.com" if i % 3 else "ava2"
            fails = i % 5 != 4
            lines += appended_run(
                f"2026-01-05 03:{i:02d}:00", host, fails, serial=i + 1, account=f"/clients/web{i % 4:02d}"
            )
            if fails:
                expected["ava1" if i % 3 else "ava2"] += 1
        append(self.log(), lines)
        sensor.poll_once()
        first = self.by_server()
        self.assertEqual(sorted(first), ["ava1", "ava2"])
        self.assertEqual([p["count"] for p in first["ava1"]] + [p["count"] for p in first["ava2"]], [1, 1])
        self.clock.advance(window + 1)
        sensor.poll_once()
        got = self.by_server()
        for server, failed in expected.items():
            self.assertEqual(sum(p["count"] for p in got[server]), failed, server)
        self.assertEqual(set(got["ava1"][1]["clients"]), {"web00", "web01", "web02", "web03"})
        # An hour later a second outage in the same file, against the other server: not lost.
        self.clock.advance(3600)
        sensor.poll_once()
        before = len(auth_payloads(self.get_dispatched_triggers()))
        later = []
        for i in range(5):
            later += appended_run(f"2026-01-05 04:3{i}:00", "ava2", True, serial=100 + i, account="/clients/db01")
        append(self.log(), later)
        sensor.poll_once()
        new = auth_payloads(self.get_dispatched_triggers())[before:]
        self.assertEqual([(p["server"], p["count"], p["client"]) for p in new], [("ava2", 1, "db01")])
        self.clock.advance(window + 1)
        sensor.poll_once()
        new = auth_payloads(self.get_dispatched_triggers())[before:]
        self.assertEqual(sum(p["count"] for p in new), 5)

    def test_run_together_runs_with_cut_timestamps_are_each_counted(self) -> None:
        sensor = self.start(config(self.tmp, window=600))
        runs = [
            run_together(appended_run(f"2026-01-05 05:0{i}:00", "avamar.com", True, serial=i + 1)) for i in range(3)
        ]
        append(self.log("pasted"), [line for run in runs for line in run])
        sensor.poll_once()
        self.clock.advance(601)
        sensor.poll_once()
        auth = auth_payloads(self.get_dispatched_triggers())
        self.assertEqual([p["count"] for p in auth], [1, 2])
        self.assertEqual(auth[0]["ticket"]["serial"], 1)
        self.assertEqual(auth[1]["ticket"]["serial"], 3)  # the latest failure's evidence

    # -- 2. lookalikes -------------------------------------------------------------------------

    def test_warning_5704_and_an_info_quoting_msg_err_auth_fail_dispatch_nothing(self) -> None:
        sensor = self.start(config(self.tmp, servers={"ava1": TWO_SERVERS["ava1"]}))
        append(self.log("look"), lookalike_runs())
        sensor.poll_once()
        self.clock.advance(5)
        sensor.poll_once()
        self.assertEqual(self.get_dispatched_triggers(), [])

    # -- 3. a run naming another Avamar --------------------------------------------------------

    def test_a_named_unknown_server_never_maps_even_with_one_server(self) -> None:
        sensor = self.start(config(self.tmp, servers={"ava1": TWO_SERVERS["ava1"]}))
        append(self.log("dr-client"), failing_run("dr-client", host="avamar-dr.example"))
        sensor.poll_once()
        self.assertEqual(self.get_dispatched_triggers(), [])
        self.assertTrue(any("avamar-dr.example" in note and "not mapped" in note for note in sensor.skip_notes))
        # A run that names no server at all may still default to the only one.
        nameless = [line for line in failing_run("quiet") if "<5552>" not in line]
        append(self.log("quiet"), nameless)
        sensor.poll_once()
        self.assertEqual(
            [(p["server"], p["client"]) for p in auth_payloads(self.get_dispatched_triggers())], [("ava1", "quiet")]
        )

    # -- 4. per-server log paths ----------------------------------------------------------------

    def test_per_server_gsan_and_client_paths_map_with_two_servers(self) -> None:
        servers = {name: dict(entry) for name, entry in TWO_SERVERS.items()}
        for name in servers:
            os.makedirs(os.path.join(self.tmp, name, "cur"))
            os.makedirs(os.path.join(self.tmp, name, "clientlogs"))
            servers[name]["gsan_log_paths"] = [os.path.join(self.tmp, name, "cur", "gsan.log")]
            servers[name]["client_log_paths"] = [os.path.join(self.tmp, name, "clientlogs", "*.log")]
        sensor = self.start(config(self.tmp, servers=servers))
        append(os.path.join(self.tmp, "ava1", "cur", "gsan.log"), gsan_warnings(serial=111)[:1])
        append(os.path.join(self.tmp, "ava2", "cur", "gsan.log"), gsan_warnings(serial=222))
        nameless = [line for line in failing_run("c2") if "<5552>" not in line]
        append(os.path.join(self.tmp, "ava2", "clientlogs", "c2.log"), nameless)
        # The global GSAN paths still exist: a warning there has no owner with two servers.
        append(os.path.join(self.tmp, "gsan", "gsan.log"), gsan_warnings(serial=333)[:1])
        sensor.poll_once()
        warnings = sorted(
            (w["server"], w["code"], w["serial"]) for w in warning_payloads(self.get_dispatched_triggers())
        )
        self.assertEqual(warnings, [("ava1", 1479, 111), ("ava2", 1418, 222), ("ava2", 1479, 222)])
        self.assertEqual(
            [(p["server"], p["client"]) for p in auth_payloads(self.get_dispatched_triggers())], [("ava2", "c2")]
        )
        self.assertTrue(any("session-ticket warning not mapped" in note for note in sensor.skip_notes))

    def test_global_paths_still_work_for_one_server(self) -> None:
        sensor = self.start(config(self.tmp, servers={"ava1": TWO_SERVERS["ava1"]}))
        append(os.path.join(self.tmp, "gsan", "gsan.log"), gsan_warnings())
        sensor.poll_once()
        self.assertEqual(sorted(w["code"] for w in warning_payloads(self.get_dispatched_triggers())), [1418, 1479])

    # -- 5. Windows clients --------------------------------------------------------------------

    def test_windows_log_crlf_two_space_banner_and_the_client_it_names(self) -> None:
        sensor = self.start(config(self.tmp, window=600, servers={"ava1": TWO_SERVERS["ava1"]}))
        path = self.log("MOD-1709510402836")
        with open(path, "ab") as handle:
            handle.write(windows_run("winclient01.example.com", serial=7))
            handle.write(windows_run("winclient02", when="2024-03-04 02:00:05", serial=8))
        sensor.poll_once()
        self.clock.advance(601)
        sensor.poll_once()
        auth = auth_payloads(self.get_dispatched_triggers())
        self.assertEqual(
            [(p["client"], p["count"], p["ticket"]["serial"]) for p in auth],
            [("winclient01.example.com", 1, 7), ("winclient02", 1, 8)],
        )
        self.assertEqual(auth[0]["codes"], [8609, 5704, 5126, 8941, 7001])
        self.assertEqual(auth[0]["first_seen"], "2024-03-04T01:00:05")
