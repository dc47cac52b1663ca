"""The agentless scene of ``make demo``: the outage seen from the Avamar server alone, then fixed.

No client log reaches StackStorm here (no log shipping, no Salt minion on the clients):

1. a simulated utility node whose MCS was just restored from an old flush (the KB's root cause);
2. MCS runs its scheduled backups (``mccli client backup-dataset``): they fail; their avtar logs
   stay on the clients, GSAN logs a session-ticket warning on the node;
3. the pack's real ``AvamarServerSensor`` polls the node over its transport (GSAN's log from its
   saved position, ``mccli activity show``) and, in ONE poll, dispatches
   ``avamar.session_ticket_warning`` and ``avamar.backup_auth_failure`` (source ``mcs``);
4. the rules engine runs ``avamar.remediate_session_tickets`` up to its approval request;
5. the approver answers in chat; the workflow remediates, verifies, and runs a test backup;
6. a backup that hangs (Running, no progress) is reported once as ``avamar.backup_stalled``;
7. a summary.

Exit 0 only if the remediation verified and the stalled backup was reported once.
Run: ``python -m st2_local.demo_agentless [--answer yes]`` (``make demo`` runs both scenes when the
Makefile asks for it). Production runs in StackStorm; this is the local runner (see st2_local.BANNER).
"""

from __future__ import annotations

import os
import sys
from typing import Any, Dict, List, Optional, TextIO

from st2_local import BANNER
from st2_local.chat_transcript import ChatTranscript
from st2_local.demo import (
    APPROVER,
    AUTH_FAILURE_TRIGGER,
    CHANNEL,
    CHATOPS_BOT,
    SERVER,
    WORKFLOW,
    Story,
    scene_main,
)
from st2_local.demo_chat import answer_in_chat, choose_decision
from st2_local.pack_loader import load_pack
from st2_local.workflow_runner import WorkflowRunner, pack_config_like_st2

SCHEDULED_CLIENTS = ("fileserver01", "sql01", "web01")
TEST_CLIENT = "/clients/linux-test01"
STALLED_TRIGGER = "avamar.backup_stalled"
WARNING_TRIGGER = "avamar.session_ticket_warning"


def agentless_config(node: Any) -> Dict[str, Any]:
    """One simulated server reached with the local transport; the sensor polls it, reads no client log."""
    return {
        "servers": {
            SERVER: {
                "transport": "local",
                "avamar_root": node.root,
                "command_path": [node.bin_dir, "/usr/bin", "/bin"],
                "test_backup": {"client": TEST_CLIENT},
            }
        },
        "approval": {"route": CHANNEL, "ttl_minutes": 60, "users": [APPROVER], "chatops_users": [CHATOPS_BOT]},
        "sensor": {
            "poll_servers": [SERVER],
            "poll_interval_seconds": 60,
            "stall_minutes": 60,
            "dedup_window_seconds": 900,
        },
        "remediation": {"max_publickey_attempts": 6},
    }


def start_server_sensor(config: Dict[str, Any]) -> Any:
    """The pack's AvamarServerSensor on the stand-in sensor service (st2's MockSensorService API)."""
    from st2tests.mocks.sensor import MockSensorService, MockSensorWrapper

    pack = load_pack()
    sys.path.insert(0, os.path.join(pack.root, "sensors"))
    from avamar_server_sensor import AvamarServerSensor

    service = MockSensorService(MockSensorWrapper(pack="avamar", class_name="AvamarServerSensor"))
    sensor = AvamarServerSensor(sensor_service=service, config=pack_config_like_st2(pack, config))
    sensor.setup()
    sensor.poll()  # the first poll: where gsan.log ends, which failed activities are history
    return sensor


def new_payloads(sensor: Any, seen: int, trigger: str) -> List[Dict[str, Any]]:
    return [d["payload"] for d in sensor.sensor_service.dispatched_triggers[seen:] if d["trigger"] == trigger]


def run(workdir: str, answer: Optional[str], out: TextIO) -> int:
    from avamar_sim import SimNode

    story = Story(out, 7)
    out.write(BANNER + "\n")
    pack = load_pack()

    story.step("A simulated Avamar utility node; no agent on any client, no client log reaches StackStorm")
    node = SimNode.create(os.path.join(workdir, "node"), "healthy", restart_seconds=1.0)
    config = agentless_config(node)
    sensor = start_server_sensor(config)
    story.say(f"node at {node.root}; AvamarServerSensor polls {SERVER} over its local transport")
    story.say("MCS is restored from an old flush (the KB's root cause): its serial goes back")
    node.restore_mcs_from_flush()
    node.set_scenario("mcs_restored_old_flush", restart_seconds=1.0)
    before = node.state()
    story.say(
        f"GSAN minimal serial {before['gsan_minimal_serial']}, highest used {before['gsan_max_used']}; "
        f"MCS next serial {before['mcs_next_serial']} (behind GSAN)"
    )

    story.step("MCS runs the scheduled backups; they fail (their avtar logs stay on the clients)")
    for client in SCHEDULED_CLIENTS:
        proc = node.run(["mccli", "client", "backup-dataset", f"--name={client}"], timeout=60)
        story.say(f"mccli client backup-dataset --name={client}: {proc.stdout.splitlines()[0]}")

    story.step("AvamarServerSensor: ONE poll of the node (gsan.log from its position, mccli activity show)")
    seen = len(sensor.sensor_service.dispatched_triggers)
    sensor.poll()
    for warning in new_payloads(sensor, seen, WARNING_TRIGGER):
        story.say(
            f"trigger {WARNING_TRIGGER}: code {warning['code']} {warning['kind']} serial={warning['serial']} "
            f"(source {warning['source']})"
        )
    failures = new_payloads(sensor, seen, AUTH_FAILURE_TRIGGER)
    if not failures:
        story.say(f"no {AUTH_FAILURE_TRIGGER} after one poll")
        sensor.cleanup()
        return 1
    payload = failures[0]
    story.say(
        f"trigger {AUTH_FAILURE_TRIGGER}: server={payload['server']} client={payload['client']} "
        f"codes={payload['codes']} count={payload['count']} source={payload['source']}"
    )

    story.step("The rules engine requests the workflow; it runs up to its approval request (chat below)")
    decide, source = choose_decision(answer, out, APPROVER, CHANNEL)
    with WorkflowRunner(pack, config, transcript=ChatTranscript(out), progress=out) as runner:
        enforcements = runner.dispatch_trigger(AUTH_FAILURE_TRIGGER, payload)
        runs = [e.run for e in enforcements if e.run is not None and e.action_ref == WORKFLOW]
        if not runs:
            story.say(f"no rule started {WORKFLOW}: {enforcements}")
            sensor.cleanup()
            return 1
        result = runs[0]
        story.say(
            f"{enforcements[0].rule} requested {WORKFLOW} with {result.parameters.get('server')!r}: "
            f"execution {result.execution_id} is {result.status}"
        )

        story.step("The approval is given in chat; the workflow resumes")
        story.say(f"the decision comes from {source}")
        answer_in_chat(runner, result, decide, APPROVER, CHATOPS_BOT, CHANNEL, story.say)
    output = result.output or {}

    story.step("A backup stops responding: Running, no progress for two hours")
    node.set_knobs(refused_backup="hang")
    hung = node.start_activity("backup", "exchange01", hang=True, started_ago=2 * 3600)
    seen = len(sensor.sensor_service.dispatched_triggers)
    for _ in range(3):
        sensor.poll()
    stalled = new_payloads(sensor, seen, STALLED_TRIGGER)
    sensor.cleanup()
    for item in stalled:
        story.say(
            f"trigger {STALLED_TRIGGER}: server={item['server']} activities="
            + ", ".join(f"{a['id']} {a['client']} {a['minutes']} min" for a in item["activities"])
        )
    story.say(f"three polls, {len(stalled)} dispatch (one per stall, not one per poll)")
    with WorkflowRunner(pack, config, transcript=ChatTranscript(out), progress=out) as runner:
        rules = [e.rule for e in runner.dispatch_trigger(STALLED_TRIGGER, stalled[0])] if stalled else []
    story.say(f"rules on {STALLED_TRIGGER}: {', '.join(rules) if rules else 'none in this pack yet'}")
    stall_ok = len(stalled) == 1 and [a["id"] for a in stalled[0]["activities"]] == [hung]

    story.step("Summary")
    wf_after = output.get("after") or {}
    test_backup = output.get("test_backup") or {}
    story.say(f"workflow status {result.status}, outcome {output.get('outcome')}, approver {output.get('approver')}")
    story.say(
        f"after: GSAN {wf_after.get('gsan_minserial')}, MCS {wf_after.get('mcs_serial')}; test backup "
        + ("completed" if test_backup.get("succeeded") else "did not succeed")
    )
    agree = wf_after.get("gsan_minserial") is not None and wf_after.get("gsan_minserial") == wf_after.get("mcs_serial")
    ok = output.get("outcome") == "remediated" and agree and stall_ok
    story.say(
        "AGENTLESS DEMO PASSED: seen from the server in one poll, remediated through the approval gate"
        if ok
        else "AGENTLESS DEMO DID NOT PASS: see above (exit 1)"
    )
    return 0 if ok else 1


def main(argv: Optional[List[str]] = None) -> int:
    return scene_main(run, "make demo (agentless scene)", BANNER, "avamar-demo-agentless-", argv)


if __name__ == "__main__":
    sys.exit(main())
