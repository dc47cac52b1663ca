"""``make demo``: the whole story on the bundled Avamar simulator, with the real Orquesta engine.

1. create a simulated utility node whose MCS was restored from an old flush (serials drift);
2. run client backups with the simulator's ``avtar``: they fail with FATAL <5704> MSG_ERR_AUTH_FAIL;
3. the pack's real ``AvamarLogSensor`` (on the stand-in sensor service) reads the client logs
   and dispatches ``avamar.backup_auth_failure``;
4. the rules engine evaluates ``rules/remediate_on_auth_failure.yaml`` on that trigger instance
   and requests its action, the ``avamar.remediate_session_tickets`` workflow, which runs up to
   its approval request (``core.ask``: the workflow pauses, the request goes to chat);
5. the approver answers in chat the way it is done in production (``demo_chat``): types
   ``!avamar approve <id>``, the chat bot runs ``avamar.respond_approval`` as an alias execution,
   the workflow resumes: GSAN serial, MCS serial, MCS restart, verification, test backup;
6. a summary of the serials before and after.

Exit 0 only if the final test backup succeeded and GSAN and MCS agree on the serial.
Production runs in StackStorm; this is the local runner (see st2_local.BANNER).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Dict, List, Optional, TextIO

from st2_local import BANNER
from st2_local import demo_scene as scene

FAILING_CLIENTS = ("fileserver01", "sql01", "web01")
SENSOR_TIMEOUT_S = 60.0


def demo_config(node: Any, server_host: str) -> Dict[str, Any]:
    """The scene's pack config: the sensor reads the node's client and GSAN logs."""
    sensor = {
        "client_log_paths": [os.path.join(node.client_log_dir, "*.log")],
        "gsan_log_paths": [node.gsan_log, node.gsan_err_log],
        "dedup_window_seconds": 900,
        "salt_events": False,
        "settle_seconds": 0.5,
    }
    return scene.pack_config(node, sensor, hostnames=[server_host])


def wait_for_trigger(sensor: Any, story: scene.Story) -> Optional[Dict[str, Any]]:
    deadline = time.monotonic() + SENSOR_TIMEOUT_S
    while time.monotonic() < deadline:
        sensor.poll_once()
        for item in sensor.sensor_service.dispatched_triggers:
            if item["trigger"] == scene.AUTH_FAILURE_TRIGGER:
                return item["payload"]
        time.sleep(0.2)
    story.say(f"no {scene.AUTH_FAILURE_TRIGGER} within {SENSOR_TIMEOUT_S:.0f} s")
    return None


def run(workdir: str, answer: Optional[str], out: TextIO) -> int:
    title = "Create a simulated Avamar utility node: MCS restored from an old flush"
    story, pack, node = scene.begin_scene(out, 6, title, workdir, "mcs_restored_old_flush")
    before = node.state()
    with open(node.srl_path, encoding="utf-8") as fh:
        srl_before = fh.read().strip()
    host = before["server"]
    config = demo_config(node, host)
    story.say(f"node at {node.root} (server {host})")
    story.say(
        f"GSAN minimal serial {before['gsan_minimal_serial']}, highest used {before['gsan_max_used']}; "
        f"MCS next serial {before['mcs_next_serial']} (behind GSAN)"
    )
    sensor = scene.start_sensor(pack, "avamar_log_sensor", "AvamarLogSensor", config)
    sensor.poll_once()  # the first pass records where each log ends: only new lines count

    story.step("Client backups run with the simulator's avtar, and fail")
    for client in FAILING_CLIENTS:
        proc = node.run(["avtar", "--backup", f"--account=/clients/{client}"], timeout=60)
        fatal = next((line for line in proc.stdout.splitlines() if "FATAL <5704>" in line), "")
        story.say(f"avtar /clients/{client}: exit {proc.returncode}  {fatal.strip()[:110]}")

    story.step("AvamarLogSensor reads the client logs")
    payload = wait_for_trigger(sensor, story)
    sensor.cleanup()
    if payload is None:
        return 1
    scene.say_auth_failure(story, payload)

    result = scene.remediate_in_chat(pack, config, payload, answer, out, story)
    if result is None:
        return 1

    story.step("Summary")
    output = scene.say_outcome(story, result)
    after = node.state()
    with open(node.srl_path, encoding="utf-8") as fh:
        srl = fh.read().strip()
    test_backup = output.get("test_backup") or {}
    wf_after = output.get("after") or {}
    story.say(f"before: GSAN minimal serial {before['gsan_minimal_serial']}, MCS sessionticket.srl {srl_before}")
    story.say(
        f"after:  GSAN minimal serial {after['gsan_minimal_serial']}, MCS sessionticket.srl {srl} "
        f"(read back by the workflow: GSAN {wf_after.get('gsan_minserial')}, MCS {wf_after.get('mcs_serial')})"
    )
    backup_text = (
        f"completed, activity {test_backup.get('activity_id')}" if test_backup.get("succeeded") else "did not succeed"
    )
    story.say(f"test backup: {backup_text}")
    if output.get("error"):
        story.say(f"failed at {output['error'].get('step')}: {output['error'].get('reason')}")
    agree = scene.serials_agree(output) and wf_after.get("mcs_serial") == output.get("accepted_serial")
    ok = bool(test_backup.get("succeeded")) and agree and output.get("outcome") == "remediated"
    if ok:
        proc = node.run(["avtar", "--backup", f"--account=/clients/{FAILING_CLIENTS[0]}"], timeout=60)
        story.say(f"and /clients/{FAILING_CLIENTS[0]} backs up again: avtar exit {proc.returncode}")
    return scene.verdict(
        story,
        ok,
        f"DEMO PASSED: the test backup succeeded and GSAN and MCS agree on serial {output.get('accepted_serial')}",
        "DEMO DID NOT REMEDIATE: see the outcome above",
    )


def main(argv: Optional[List[str]] = None) -> int:
    return scene.command_line(run, "make demo", BANNER, "avamar-demo-", argv)


if __name__ == "__main__":
    sys.exit(main())
