"""keytable, srl, avmaint, dpnctl, maintenance status and mccli parsers."""

from pathlib import Path

import pytest
from avamar_pack.errors import ParseError, ValidationError
from avamar_pack.parsing import avmaint, dpnctl, keytable, maintenance, mccli, srl

DATA = Path(__file__).resolve().parents[1] / "data" / "parsing"

# ---------------------------------------------------------------- keytable


def test_keytable_kb_lines_verbatim():
    placeholder, accepted = (DATA / "keytable_kb_seed.txt").read_text().splitlines()
    # The KB's first example holds a placeholder (`<minserial_less_than_mcs>`): not a serial.
    with pytest.raises(ParseError):
        keytable.parse_keytable(placeholder)
    # Prompt before <?xml, output cut after the start tag, KB annotation after it.
    assert keytable.parse_keytable(accepted).minimal_serial == 38000


def test_keytable_full_document_with_unknown_children():
    data = (
        b'\n  <?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<keytable minimalserial="38000" other="x"><key serial="38000" alias="mcecroot">AAA</key>'
        b"<future/></keytable>\n"
    )
    table = keytable.parse_keytable(data)
    assert table == keytable.Keytable(38000, {"minimalserial": "38000", "other": "x"})


@pytest.mark.parametrize(
    "doc,message",
    [
        ("<keytable/>", "no minimalserial"),
        ('<keytable minimalserial="abc"/>', "not a non-negative integer"),
        ('<keytable minimalserial=""/>', "not a non-negative integer"),
        ('<keytable minimalserial="-5"/>', "negative"),
        ('<keytable minimalserial="9223372036854775808"/>', r"larger than 2\^63-1"),
        ('<other minimalserial="1"/>', "expected a <keytable>"),
        ("no xml at all", "no XML"),
        ('<keytable minimalserial="1"', "no complete XML element"),
        ('<?xml version="1.0"?><!DOCTYPE keytable [<!ENTITY big "x">]><keytable minimalserial="&big;"/>', "DOCTYPE"),
        ('<!DOCTYPE keytable SYSTEM "http://example.invalid/x.dtd"><keytable minimalserial="1"/>', "DOCTYPE"),
        ('<?xml version="1.0"?><!doctype keytable><keytable minimalserial="1"/>', "DOCTYPE"),
    ],
)
def test_keytable_refusals(doc, message):
    with pytest.raises(ParseError, match=message):
        keytable.parse_keytable(doc)


def test_keytable_max_serial_and_size_limit():
    assert keytable.parse_keytable('<keytable minimalserial="9223372036854775807"/>').minimal_serial == 2**63 - 1
    with pytest.raises(ParseError, match="more than"):
        keytable.parse_keytable(b"<keytable minimalserial='1'/>" + b" " * keytable.MAX_BYTES)
    with pytest.raises(ParseError, match="expected bytes or str"):
        keytable.parse_keytable(12)  # type: ignore[arg-type]


# ---------------------------------------------------------------- srl


def test_srl_as_echo_n_writes_it():
    assert srl.parse_srl(b"38000") == 38000
    assert srl.parse_srl_strict(b"38000") == 38000
    assert srl.format_srl(38000) == b"38000"


def test_srl_trailing_newline_tolerated_but_reported():
    assert srl.parse_srl(b"28451\n") == 28451
    assert srl.parse_srl_detail(b"28451\n") == srl.SrlValue(28451, True)
    assert srl.parse_srl_detail(b"28451") == srl.SrlValue(28451, False)
    with pytest.raises(ParseError, match="newline"):
        srl.parse_srl_strict(b"28451\n")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\n",
        b"28 451",
        b" 28451",
        b"28451 ",
        b"28451\n\n",
        b"28451\r\n",
        b"abc",
        b"-1",
        b"+1",
        b"9223372036854775808",
        b"<mcs_session_ticket_larger_than_gsan>",
        b"1" * 100,
        "٣".encode(),
    ],
)
def test_srl_refusals(data):
    with pytest.raises(ParseError):
        srl.parse_srl(data)


@pytest.mark.parametrize("value", [-1, 2**63, True, "1", 1.0])
def test_format_srl_refusals(value):
    with pytest.raises(ValidationError):
        srl.format_srl(value)


# ---------------------------------------------------------------- avmaint


def test_avmaint_kb_line_verbatim():
    (line,) = (DATA / "avmaint_kb_seed.txt").read_text().splitlines()
    err = avmaint.parse_avmaint_error(line)
    assert err == avmaint.AvmaintError(
        "publickey",
        "MSG_ERR_INVALID_PARAMETERS",
        "ERROR: avmaint: publickey: server_exception(MSG_ERR_INVALID_PARAMETERS)",
    )
    assert avmaint.is_invalid_parameters(err)


def test_avmaint_other_errors_and_none():
    err = avmaint.parse_avmaint_error("ERROR: avmaint: cat: no such file\n")
    assert err == avmaint.AvmaintError("cat", None, "ERROR: avmaint: cat: no such file")
    assert not avmaint.is_invalid_parameters(err)
    assert avmaint.parse_avmaint_error("") is None
    assert not avmaint.is_invalid_parameters(None)
    other = avmaint.parse_avmaint_error("ERROR: avmaint: publickey: server_exception(MSG_ERR_BAD_KEY)")
    assert other.code == "MSG_ERR_BAD_KEY" and not avmaint.is_invalid_parameters(other)


# ---------------------------------------------------------------- dpnctl


def test_dpnctl_fact_lines():
    text = (
        "gsan status: up\nMCS status: up.\nemt status: up.\nBackup scheduler status: up.\n"
        "Maintenance windows scheduler status: enabled.\n"
    )
    status = dpnctl.parse_status(text)
    assert (status.gsan, status.mcs, status.emt, status.backup_scheduler, status.maintenance_scheduler) == (
        "up",
        "up",
        "up",
        "up",
        "enabled",
    )
    assert len(status.lines) == 5


def test_dpnctl_with_info_prefix_and_other_services():
    text = (
        "Identity added: /home/admin/.ssh/dpnid (/home/admin/.ssh/dpnid)\r\n"
        "dpnctl: INFO: gsan status: degraded\r\n"
        "dpnctl: INFO: MCS status: down.\r\n"
        "dpnctl: INFO: Backup scheduler status: down.\r\n"
        "dpnctl: INFO: Maintenance windows scheduler status: suspended.\r\n"
        "dpnctl: INFO: Unattended startup status: enabled.\r\n"
    )
    status = dpnctl.parse_status(text)
    assert (status.gsan, status.mcs, status.emt, status.backup_scheduler, status.maintenance_scheduler) == (
        "degraded",
        "down",
        None,
        "down",
        "suspended",
    )
    assert status.others == {"unattended startup": "enabled"}
    assert dpnctl.parse_status("") == dpnctl.DpnctlStatus()


# ---------------------------------------------------------------- maintenance


@pytest.mark.parametrize(
    "text,kind,status,running",
    [
        (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<cpstatus generation-time="1" tag="cp.1" '
            'status="completed" stripes-completed="10"/>',
            "cpstatus",
            "completed",
            False,
        ),
        ('<gcstatus status="idle" result="ok"/>', "gcstatus", "idle", False),
        ('<gcstatus status="Running"/>', "gcstatus", "running", True),
        ('<hfscheckstatus nodes-queried="1" status="In  Progress"/>', "hfscheckstatus", "in progress", True),
        ('<cpstatus status="waiting"/>', "cpstatus", "waiting", True),
        ('<cpstatus status="processing"/>', "cpstatus", "processing", True),
    ],
)
def test_maintenance_status(text, kind, status, running):
    parsed = maintenance.parse_activity_status(text)
    assert (parsed.kind, parsed.status, parsed.running) == (kind, status, running)


@pytest.mark.parametrize(
    "text",
    [
        "<gcstatus/>",
        '<gcstatus status="  "/>',
        '<other status="idle"/>',
        "",
        '<!DOCTYPE gcstatus><gcstatus status="idle"/>',
    ],
)
def test_maintenance_refusals(text):
    with pytest.raises(ParseError):
        maintenance.parse_activity_status(text)


# ---------------------------------------------------------------- mccli


def test_mccli_first_line():
    resp = mccli.parse_response("0,23000,CLI command completed successfully.\n")
    assert resp == mccli.MccliResponse(0, 23000, "CLI command completed successfully.", [])
    assert resp.ok
    resp = mccli.parse_response("\n1,22241,Client does not exist, try again.\nmore\n")
    assert (resp.rc, resp.event, resp.message, resp.body_lines) == (
        1,
        22241,
        "Client does not exist, try again.",
        ["more"],
    )


@pytest.mark.parametrize("text", ["", "\n\n", "hello", "0;23000;x", "a,b,c"])
def test_mccli_first_line_refusals(text):
    with pytest.raises(ParseError):
        mccli.parse_response(text)


def test_backup_started_docstring_example_and_variants():
    assert mccli.parse_backup_started(mccli.parse_response(mccli.EXAMPLE_BACKUP_STARTED)) == "9154987654321234"
    assert mccli.parse_backup_started(mccli.parse_response("0,22305,started\nActivity ID: 42\n")) == "42"
    assert mccli.parse_backup_started(mccli.parse_response("0,22305,started\n9154987654321234\n")) == "9154987654321234"
    with pytest.raises(ParseError, match="no activity id"):
        mccli.parse_backup_started(mccli.parse_response("0,22305,started\n"))
    with pytest.raises(ParseError, match="did not start"):
        mccli.parse_backup_started(mccli.parse_response("1,22241,Client does not exist.\n"))


def test_activities_from_the_documented_example():
    first, second = mccli.parse_activities(mccli.EXAMPLE_ACTIVITY_SHOW)
    assert first == mccli.Activity(
        id="9154987654321234",
        status="Completed w/Exception(s)",
        error_code=0,
        start_time="2026-11-25 10:00:01 UTC",
        elapsed="00h:01m:02s",
        end_time="2026-11-25 10:01:03 UTC",
        type="Scheduled Backup",
        progress_bytes="1.8 MB",
        new_bytes="<0.05%",
        client="client01",
        domain="/clients",
    )
    assert first.succeeded and not first.active
    assert (second.status, second.end_time, second.type, second.client) == (
        "Timed Out - Start",
        "N/A",
        "On-Demand Backup",
        "client02",
    )
    assert not second.succeeded


def test_activities_statuses_and_blank_values():
    statuses = [
        "Completed",
        "Completed w/Exception(s)",
        "Running",
        "Waiting-Client",
        "Failed",
        "Canceled",
        "Timed Out - Start",
        "Dropped Session",
    ]
    header = "ID   Status                   Error Code Client   Domain"
    dashes = "---- ------------------------ ---------- -------- -------"
    rows = [f"{i:<4} {s:<24} {'' if i % 2 else 10007:<10} c{i:<7} /clients" for i, s in enumerate(statuses)]
    acts = mccli.parse_activities("\n".join(["0,23000,CLI command completed successfully.", header, dashes, *rows]))
    assert [a.status for a in acts] == statuses
    assert [a.error_code for a in acts] == [10007, None] * 4
    assert acts[2].active and acts[3].active and not acts[4].active
    assert acts[0].start_time is None  # column absent


def test_activities_errors_and_empty_table():
    assert mccli.parse_activities("0,23000,ok\nID Status\n-- ------\n") == []
    with pytest.raises(ParseError, match="rc=1"):
        mccli.parse_activities("1,23001,failed\n")
    with pytest.raises(ParseError, match="no table header"):
        mccli.parse_activities("0,23000,ok\nnothing here\n")
    with pytest.raises(ParseError, match="not an integer"):
        mccli.parse_activities("ID Error Code\n-- ----------\n1  abc\n")


# -- mccli activity kinds and client names (pre-remediation check) -----------------------------------
MCS_ACTIVITIES = "\n".join(
    [
        "0,23000,CLI command completed successfully.",
        "ID               Status                   Error Code Start Time              Elapsed     "
        "End Time                Type               Progress Bytes New Bytes Client   Domain",
        "---------------- ------------------------ ---------- ----------------------- ----------- "
        "----------------------- ------------------ -------------- --------- -------- --------",
        "9154987654321234 Running                  0          2026-11-25 10:00:01 UTC 00h:01m:02s "
        "N/A                     Restore            1.8 MB         <0.05%    fs01     /clients",
        "9154987654321235 Running                  0          2026-11-25 11:00:00 UTC 00h:00m:00s "
        "N/A                     Replication Source 0 bytes        0%        ava-dr   /REPLICATE",
        "9154987654321236 Waiting-Client           0          2026-11-25 11:00:00 UTC 00h:00m:00s "
        "N/A                     Scheduled Backup   0 bytes        0%        db01     /clients",
        "9154987654321237 Completed                0          2026-11-25 09:00:00 UTC 00h:10m:00s "
        "2026-11-25 09:10:00 UTC On-Demand Backup   9 GB           1%        web01",
        "",
    ]
)


def test_activity_kinds_and_client_names():
    acts = mccli.parse_activities(MCS_ACTIVITIES)
    assert [(a.kind, a.active, a.client_name) for a in acts] == [
        ("restore", True, "/clients/fs01"),
        ("replication", True, "/REPLICATE/ava-dr"),
        ("backup", True, "/clients/db01"),
        ("backup", False, "web01"),
    ]
    assert mccli.activity_kind(None) == "other" and mccli.activity_kind("Validation") == "other"
