"""Grouping avtar records into runs (batch and streaming)."""

from datetime import datetime
from pathlib import Path

from avamar_pack.parsing import avtar
from avamar_pack.parsing.avtar_runs import RunAssembler, client_from_path, format_record, group_runs

DATA = Path(__file__).resolve().parents[1] / "data" / "parsing"
KB_CODES = [8609, 5704, 5126, 8941, 7001]
KB_TICKET = {"securelogin": 452, "serial": 1, "seq": 0, "flags": "R:H:0", "kind": 0, "rsp": "MSG_ERR_AUTH_FAIL"}
KB_FATAL = (
    "Fatal Server Error occurred (MSG_ERR_AUTH_FAIL), aborting execution "
    "(SECURETICKETLOGIN=452 serial=1 seq=0 flags=R:H:0 kind=0 rsp=MSG_ERR_AUTH_FAIL)"
)

GOOD_RUN = """----- START avtar log 2019-10-03 09:49:29 UTC
2019-10-03 09:49:29 avtar Info <8474>: - Log file path: /usr/local/avamar/var/clientlogs/good-Unix.log
2019/10/03-09:49:29.42089 [avtar]  <1291> FIPS mode enabled
2019-10-03 09:49:30 avtar Info <5552>: Connecting to Avamar Server (ava01.example.com)
2019-10-03 09:49:31 avtar Warning <1234>: something minor
2019-10-03 09:50:11 avtar Info <5314>: Command completed (1 warning, exit code 0: success)
----- END avtar log 2019-10-03 09:50:11 UTC  (1 warning, 0 errors, 0 fatal errors)
"""


def records(text):
    return avtar.scan_lines(text.splitlines()).records


def test_kb_seed_gives_two_auth_failure_runs():
    runs = group_runs(records((DATA / "avtar_kb_seed.txt").read_text()), log_file="/tmp/pasted.log")
    assert len(runs) == 2
    excerpt, full = runs
    assert (excerpt.client, excerpt.server, excerpt.codes) == ("pasted", None, KB_CODES)
    assert (full.client, full.server, full.codes) == ("some-Unix", "avamar.com", KB_CODES)
    for run in runs:
        assert run.auth_failure and run.succeeded is False
        assert run.fatal_message == KB_FATAL and run.ticket == KB_TICKET
        assert run.started_at == run.ended_at == datetime(2019, 12, 31, 7, 35, 23)
        assert run.log_file == "/tmp/pasted.log"
    assert len(full.lines) == 16 and full.lines[0].startswith("avtar Info <8474>: - Log file path:")
    assert full.lines[-1] == "2019-12-31 07:35:23 avtar Error <7001>: Exiting avtar with run-at-end script failure -1"
    assert excerpt.seq == 1 and full.seq == 2


def test_good_run_succeeds():
    (run,) = group_runs(records(GOOD_RUN))
    assert (run.client, run.server, run.codes, run.succeeded, run.auth_failure) == (
        "good-Unix",
        "ava01.example.com",
        [],
        True,
        False,
    )
    assert run.started_at == datetime(2019, 10, 3, 9, 49, 29) and run.ended_at == datetime(2019, 10, 3, 9, 50, 11)
    assert run.lines[-1] == "----- END avtar log 2019-10-03 09:50:11 UTC  (1 warning, 0 errors, 0 fatal errors)"


def test_command_failed_without_fatal():
    text = GOOD_RUN.replace(
        "Command completed (1 warning, exit code 0: success)",
        "Command failed (5 errors, 2 warnings, exit code 10007: miscellaneous error)",
    )
    (run,) = group_runs(records(text))
    assert run.succeeded is False and not run.auth_failure


def test_streaming_end_banner_completes_and_start_opens():
    assembler = RunAssembler("/logs/x.log", client="explicit")
    out = []
    for record in records(GOOD_RUN + GOOD_RUN):
        out.extend(assembler.feed(record))
    assert [r.client for r in out] == ["explicit", "explicit"] and [r.seq for r in out] == [1, 2]
    assert all(r.complete for r in out)
    assert assembler.flush() == []


def test_new_log_path_opens_a_new_run_without_banners():
    text = (
        "2019-12-31 07:35:23 avtar Info <8474>: - Log file path: /a/one.log\n"
        "2019-12-31 07:35:24 avtar Error <8609>: Connection killed from GSAN.\n"
        "2019-12-31 07:36:00 avtar Info <8474>: - Log file path: /a/two.log\n"
        "2019-12-31 07:36:01 avtar Info <5314>: Command completed (exit code 0: success)\n"
    )
    runs = group_runs(records(text))
    assert [(r.client, r.codes, r.succeeded) for r in runs] == [("one", [8609], None), ("two", [], True)]


def test_flush_snapshot_then_completion_reported_only_if_changed():
    lines = (DATA / "avtar_kb_seed.txt").read_text().splitlines()[1]
    recs = avtar.scan_line(lines).records
    assembler = RunAssembler("/logs/c.log")
    for record in recs[:8]:  # up to "Using Secure Session Ticket Format": nothing failed yet
        assert assembler.feed(record) == []
    (snapshot,) = assembler.flush()
    assert not snapshot.complete and snapshot.succeeded is None and not snapshot.auth_failure
    assert snapshot.server == "avamar.com"
    assert assembler.flush() == []  # nothing new since
    for record in recs[8:]:
        assert assembler.feed(record) == []
    (snapshot2,) = assembler.flush()
    assert snapshot2.auth_failure and snapshot2.codes == KB_CODES and snapshot2.seq == snapshot.seq
    end = avtar.scan_line("----- END avtar log 2019-12-31 07:35:23 UTC  (0 warnings, 4 errors, 2 fatal errors)")
    assert assembler.feed(end.records[0]) == []  # same summary as the snapshot: not reported twice
    assert assembler.flush() == []


def test_tail_after_close_is_not_a_run_and_caps_hold():
    tail = (
        "2019-12-31 07:35:23 avtar Info <5917>: Back from run-at-end, exit code -1\n"
        "----- END avtar log 2019-12-31 07:35:23 UTC  (0 warnings, 4 errors, 2 fatal errors)\n"
    )
    assert group_runs(records(tail)) == []
    many = "".join(f"2019-12-31 07:35:23 avtar Error <{1000 + i}>: e{i}\n" for i in range(500))
    (run,) = group_runs(records(many))
    assert len(run.codes) == 64 and len(run.lines) == 300


def test_client_from_path_and_format_record():
    assert client_from_path("C:\\Program Files\\avs\\var\\clientlogs\\x.log") == "x"
    assert client_from_path("/usr/local/avamar/var/clientlogs/some-Unix.log") == "some-Unix"
    assert client_from_path("") is None
    record = avtar.AvtarRecord(None, "Info", 8474, "text", 2, "standard")
    assert format_record(record) == "avtar Info <8474>: text (Log #2)"


def test_public_state_of_the_assembler():
    assembler = RunAssembler("/logs/x.log")
    assert (assembler.seq, assembler.has_open_run) == (0, False)
    recs = records(GOOD_RUN)
    assembler.feed(recs[0])
    assert (assembler.seq, assembler.has_open_run) == (1, True)
    for record in recs[1:]:
        assembler.feed(record)
    assert (assembler.seq, assembler.has_open_run) == (1, False)
    assert avtar.MATTER_NEEDLES and all(avtar.might_matter(n) for n in avtar.MATTER_NEEDLES)


APPENDED = """2026-01-05 03:00:00 avtar Info <6555>: Initializing connection
2026-01-05 03:00:00 avtar Info <5552>: Connecting to Avamar Server (ava1.example.com)
2026-01-05 03:00:00 avtar FATAL <5704>: Fatal Server Error occurred (MSG_ERR_AUTH_FAIL), aborting execution (Log #1)
2026-01-05 03:00:00 avtar Error <7001>: Exiting avtar with run-at-end script failure -1 (Log #1)
2026-01-05 04:00:00 avtar Info <6555>: Initializing connection
2026-01-05 04:00:00 avtar Info <5552>: Connecting to Avamar Server (ava2.example.com)
2026-01-05 04:00:00 avtar FATAL <5704>: Fatal Server Error occurred (MSG_ERR_AUTH_FAIL), aborting execution (Log #1)
2026-01-05 05:00:00 avtar Info <5552>: Connecting to Avamar Server (ava1.example.com)
2026-01-05 05:00:00 avtar Info <5314>: Command completed (0 warnings, exit code 0: success)
"""


def test_appended_runs_split_at_a_reconnect_after_the_outcome():
    runs = group_runs(records(APPENDED), log_file="/var/log/avtar.log")
    assert [(r.server, r.auth_failure, r.succeeded) for r in runs] == [
        ("ava1.example.com", True, False),
        ("ava2.example.com", True, False),
        ("ava1.example.com", False, True),
    ]
    assert [r.started_at.hour for r in runs] == [3, 4, 5]


def test_a_reconnect_before_the_outcome_stays_in_the_run():
    text = APPENDED.splitlines()[:2] + ["2026-01-05 03:00:01 avtar Info <6555>: Initializing connection"]
    text += APPENDED.splitlines()[1:4]
    (run,) = group_runs(records("\n".join(text)))
    assert run.auth_failure and run.codes == [5704, 7001]


def test_only_an_error_or_fatal_5704_record_is_an_auth_failure():
    warning = GOOD_RUN.replace(
        "avtar Warning <1234>: something minor", "avtar Warning <5704>: Fatal Server Error occurred (MSG_ERR_AUTH_FAIL)"
    )
    quoting = GOOD_RUN.replace(
        "avtar Warning <1234>: something minor", "avtar Info <7342>: previous run rsp=MSG_ERR_AUTH_FAIL"
    ).replace(
        "avtar Info <5314>: Command completed (1 warning, exit code 0: success)",
        "avtar Error <5137>: Unable to open file (code 32)",
    )
    for text in (warning, quoting):
        (run,) = group_runs(records(text))
        assert not run.auth_failure and run.ticket is None
    error = GOOD_RUN.replace("avtar Warning <1234>: something minor", "avtar Error <5704>: login refused")
    (run,) = group_runs(records(error))
    assert run.auth_failure and run.fatal_message == "login refused"


def test_the_client_is_the_account_the_run_names():
    text = GOOD_RUN.replace(
        "<1291> FIPS mode enabled",
        "<1291> FIPS mode enabled\n"
        "2019-10-03 09:49:29 avtar Info <5551>: Command Line: avtar.exe "
        '--account="/clients/winclient01.example.com" --backup',
    )
    (run,) = group_runs(records(text), log_file="C:\\Program Files\\avs\\var\\clientlogs\\MOD-1-Windows.log")
    assert run.client == "winclient01.example.com"
    (plain,) = group_runs(records(GOOD_RUN))
    assert plain.client == "good-Unix"  # no account: the 8474 log path's stem
