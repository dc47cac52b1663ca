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

import sys
from typing import Any, Dict, List, Optional, TextIO

from st2_local import BANNER
from st2_local import demo_scene as scene
from st2_local.chat_transcript import ChatTranscript
from st2_local.workflow_runner import WorkflowRunner

SCHEDULED_CLIENTS = ("fileserver01", "sql01", "web01")
STALLED_TRIGGER = "avamar.backup_stalled"
WARNING_TRIGGER = "avamar.session_ticket_warning"


def agentless_config(node: Any) -> Dict[str, Any]:
    """The scene's pack config: the sensor polls the server over its transport, reads no client log."""
    sensor = {
        "poll_servers": [scene.SERVER],
        "poll_interval_seconds": 60,
        "stall_minutes": 60,
        "dedup_window_seconds": 900,
    }
    return scene.pack_config(node, sensor, command_path=[node.bin_dir, "/usr/bin", "/bin"])


def new_payloads(sensor: Any, seen: int, trigger: str) -> List[Dict[str, Any]]:
    return [d["payload"] for d in sensor.sensor_service.dispatched_triggers[seen:] if d["trigger"] == trigger]


def run(workdir: str, answer: Optional[str], out: TextIO) -> int:
    title = "A simulated Avamar utility node; no agent on any client, no client log reaches StackStorm"
    story, pack, node = scene.begin_scene(out, 7, title, workdir, "healthy")
    config = agentless_config(node)
    sensor = scene.start_sensor(pack, "avamar_server_sensor", "AvamarServerSensor", config)
    sensor.poll()  # the first poll: where gsan.log ends, which failed activities are history
    story.say(f"node at {node.root}; AvamarServerSensor polls {scene.SERVER} over its local transport")
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
    failures = new_payloads(sensor, seen, scene.AUTH_FAILURE_TRIGGER)
    if not failures:
        story.say(f"no {scene.AUTH_FAILURE_TRIGGER} after one poll")
        sensor.cleanup()
        return 1
    payload = failures[0]
    scene.say_auth_failure(story, payload, "source")

    result = scene.remediate_in_chat(pack, config, payload, answer, out, story)
    if result is None:
        sensor.cleanup()
        return 1

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
    output = scene.say_outcome(story, result)
    wf_after = output.get("after") or {}
    test_backup = output.get("test_backup") or {}
    story.say(
        f"after: GSAN {wf_after.get('gsan_minserial')}, MCS {wf_after.get('mcs_serial')}; test backup "
        + ("completed" if test_backup.get("succeeded") else "did not succeed")
    )
    ok = output.get("outcome") == "remediated" and scene.serials_agree(output) and stall_ok
    return scene.verdict(
        story,
        ok,
        "AGENTLESS DEMO PASSED: seen from the server in one poll, remediated through the approval gate",
        "AGENTLESS DEMO DID NOT PASS: see above",
    )


def main(argv: Optional[List[str]] = None) -> int:
    return scene.command_line(run, "make demo (agentless scene)", BANNER, "avamar-demo-agentless-", argv)


if __name__ == "__main__":
    sys.exit(main())
