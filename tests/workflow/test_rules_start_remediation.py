"""The rules that start the remediation, fed triggers the way the sensors dispatch them.

The local runner renders rule parameters as st2's rules engine does (``trigger`` in the context,
the rendered ``detection`` cast to the object parameter), so the payload reaches the workflow as
evidence - and Jinja text inside it never becomes a template.
"""

from __future__ import annotations

import datetime
import glob
import os

from wfkit import SERVER, lock_is_free, make_runner, node_bytes, node_config

SEEN = (datetime.datetime.now() - datetime.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")


def auth_failure(client="/clients/client00", count=2):
    return {
        "server": SERVER,
        "client": client,
        "clients": [client],
        "codes": [8609, 5704, 5126, 8941, 7001],
        "message": "avtar FATAL <5704>: Fatal Server Error occurred (MSG_ERR_AUTH_FAIL)",
        "ticket": None,
        "log_file": "C:\\Program Files\\avs\\var\\clientlogs\\backup.log",
        "first_seen": SEEN,
        "last_seen": SEEN,
        "count": count,
        "source": "file",
    }


def test_gsan_rolled_back_with_only_the_trigger_as_evidence_is_remediated(make_sim_node):
    node = make_sim_node("gsan_rolled_back", restart_seconds=0)
    for i in range(2):
        node.run_backup(f"client{i:02d}")
    # The client logs live on the clients: none on the utility node.
    for path in glob.glob(os.path.join(node.root, "usr/local/avamar/var/clientlogs/*")):
        os.unlink(path)
    with make_runner(node, node_config(node, users=["alice"])) as runner:
        [enforcement] = runner.dispatch_trigger("avamar.backup_auth_failure", auth_failure())
        run = enforcement.run
        assert enforcement.rule == "avamar.remediate_on_auth_failure"
        assert run.parameters["detection"]["client"] == "/clients/client00"
        assert run.status == "paused", run.output
        assert "The trigger reports 2 failed backup(s)" in runner.transcript.text()
        done = runner.respond(run.pending_inquiry.id, {"approved": True}, requester="alice")
        runner.wait_idle()
    assert done.output["outcome"] == "remediated", (done.output["error"], done.output["state_left"])
    assert lock_is_free(node) and node.run_backup("client-after")["ok"] is True


def test_jinja_in_a_payload_never_renders(make_sim_node):
    node = make_sim_node("healthy")
    with make_runner(node, node_config(node, users=["alice"])) as runner:
        runner.api  # noqa: B018 - the API is up: a rendered st2kv lookup would reach it
        payload = auth_failure(client="/clients/{{ st2kv.system.secret }}{% raw %}")
        [enforcement] = runner.dispatch_trigger("avamar.backup_auth_failure", payload)
        run = enforcement.run
        # MCS above GSAN plus failing backups: GSAN is behind (the KB) - the run waits for approval.
        assert run.status == "paused", run.errors
        chat = runner.transcript.text()
        runner.cancel(run)
        runner.wait_idle()
    # The rule's `tojson | replace('{', '{ ')`: every brace followed by a space, the text kept.
    assert run.parameters["detection"]["client"] == "/clients/{ {  st2kv.system.secret }}{ % raw %}"
    assert "st2kv.system.secret" in chat
    assert "{{" not in chat and "{%" not in chat


def test_a_gsan_ticket_warning_starts_the_approval_gated_remediation(make_sim_node):
    node = make_sim_node("mcs_restored_old_flush", restart_seconds=0)
    warning = {
        "server": SERVER,
        "code": 1479,
        "kind": "serial_below_minserial",
        "serial": 28452,
        "minserial": 28000,
        "line": "2026/01/05-03:00:00.00000 [srvm-12] WARN: <1479> sessionkeytable: new serial=28452 less "
        "than current minserial=28000",
        "seen_at": SEEN,
        "source": "file",
    }
    with make_runner(node, node_config(node, users=["alice"])) as runner:
        [enforcement] = runner.dispatch_trigger("avamar.session_ticket_warning", warning)
        assert enforcement.rule == "avamar.remediate_on_ticket_warning"
        run = enforcement.run
        assert run.status == "paused" and run.pending_inquiry is not None, run.output
        assert "GSAN warning: `serial_below_minserial` (1479)" in runner.transcript.text()
        # A second warning while it waits folds into it.
        [second] = runner.dispatch_trigger("avamar.session_ticket_warning", dict(warning, serial=28453))
        runner.wait_idle()
        assert second.run.output["outcome"] == "folded"
        done = runner.respond(run.pending_inquiry.id, {"approved": True}, requester="alice")
        runner.wait_idle()
        assert len(runner.api.inquiries()) == 1
    assert done.output["outcome"] == "remediated", done.output["error"]


def test_a_stalled_backup_on_a_healthy_node_gets_a_read_only_diagnosis_in_chat(make_sim_node):
    node = make_sim_node("healthy")
    before = node_bytes(node)
    stalled = {
        "server": SERVER,
        "source": "mcs",
        "activities": [{"id": "9154987654320001", "client": "/clients/fileserver01", "started": SEEN, "minutes": 75}],
    }
    with make_runner(node, node_config(node, users=["alice"])) as runner:
        [enforcement] = runner.dispatch_trigger("avamar.backup_stalled", stalled)
        runner.wait_idle()
        chat = runner.transcript.text()
    run = enforcement.run
    assert enforcement.rule == "avamar.remediate_on_backup_stalled"
    assert (run.status, run.output["outcome"]) == ("succeeded", "in_sync")
    assert "1 stalled backup(s)" in chat and "is not a session-ticket drift now" in chat and "Findings" in chat
    assert node_bytes(node) == before and not run.inquiries


def test_a_stalled_backup_on_a_drifted_node_asks_for_approval(make_sim_node):
    node = make_sim_node("mcs_restored_old_flush", refused_backup="hang")
    for i in range(2):
        node.run_backup(f"client{i:02d}")  # hang too; GSAN logs the refused tickets
    activity = node.start_activity("backup", "/clients/fileserver01", hang=True)
    stalled = {
        "server": SERVER,
        "source": "mcs",
        "activities": [{"id": str(activity), "client": "/clients/fileserver01", "started": SEEN, "minutes": 61}],
    }
    with make_runner(node, node_config(node, users=["alice"])) as runner:
        [enforcement] = runner.dispatch_trigger("avamar.backup_stalled", stalled)
        run = enforcement.run
        assert run.status == "paused", run.output
        chat = runner.transcript.text()
        assert "backups stalled: 1" in chat and "/clients/fileserver01" in chat
        runner.cancel(run)
        runner.wait_idle()
    assert lock_is_free(node)
