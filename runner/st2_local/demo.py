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

import argparse
import os
import shutil
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, TextIO

from st2_local import BANNER
from st2_local.chat_transcript import ChatTranscript
from st2_local.demo_chat import answer_in_chat, choose_decision
from st2_local.pack_loader import load_pack
from st2_local.workflow_runner import WorkflowRunner, pack_config_like_st2

SERVER = "ava01"
FAILING_CLIENTS = ("fileserver01", "sql01", "web01")
TEST_CLIENT = "/clients/linux-test01"
AUTH_FAILURE_TRIGGER = "avamar.backup_auth_failure"
WORKFLOW = "avamar.remediate_session_tickets"
SENSOR_TIMEOUT_S = 60.0
APPROVER = "alice"  # the chat user in approval.users who answers
CHATOPS_BOT = "chatops_bot"  # the st2 user the chat bot authenticates as (approval.chatops_users)
CHANNEL = "avamar"


class Story:
    """Numbered, visible steps on one output stream."""

    def __init__(self, out: TextIO, total: int) -> None:
        self.out, self.total, self.n = out, total, 0

    def step(self, title: str) -> None:
        self.n += 1
        self.out.write(f"\n=== [{self.n}/{self.total}] {title}\n")
        self.out.flush()

    def say(self, text: str) -> None:
        self.out.write(f"    {text}\n")
        self.out.flush()


def demo_config(node: Any, server_host: str) -> Dict[str, Any]:
    """Pack config for one simulated server reached with the local transport."""
    return {
        "servers": {
            SERVER: {
                "transport": "local",
                "avamar_root": node.root,
                "hostnames": [server_host],
                "test_backup": {"client": TEST_CLIENT},
            }
        },
        "approval": {"route": CHANNEL, "ttl_minutes": 60, "users": [APPROVER], "chatops_users": [CHATOPS_BOT]},
        "sensor": {
            "client_log_paths": [os.path.join(node.client_log_dir, "*.log")],
            "gsan_log_paths": [node.gsan_log, node.gsan_err_log],
            "dedup_window_seconds": 900,
            "salt_events": False,
            "settle_seconds": 0.5,
        },
        "remediation": {"max_publickey_attempts": 6},
    }


def start_sensor(config: Dict[str, Any]) -> Any:
    """The pack's AvamarLogSensor on the stand-in sensor service (st2's MockSensorService API)."""
    from st2tests.mocks.sensor import MockSensorService, MockSensorWrapper

    pack = load_pack()
    sys.path.insert(0, os.path.join(pack.root, "sensors"))
    from avamar_log_sensor import AvamarLogSensor

    service = MockSensorService(MockSensorWrapper(pack="avamar", class_name="AvamarLogSensor"))
    sensor = AvamarLogSensor(sensor_service=service, config=pack_config_like_st2(pack, config))
    sensor.setup()
    sensor.poll_once()  # the first pass records where each log ends: only new lines count
    return sensor


def wait_for_trigger(sensor: Any, story: Story) -> Optional[Dict[str, Any]]:
    deadline = time.monotonic() + SENSOR_TIMEOUT_S
    while time.monotonic() < deadline:
        sensor.poll_once()
        for item in sensor.sensor_service.dispatched_triggers:
            if item["trigger"] == AUTH_FAILURE_TRIGGER:
                return item["payload"]
        time.sleep(0.2)
    story.say(f"no {AUTH_FAILURE_TRIGGER} within {SENSOR_TIMEOUT_S:.0f} s")
    return None


def run(workdir: str, answer: Optional[str], out: TextIO) -> int:
    from avamar_sim import SimNode

    story = Story(out, 6)
    out.write(BANNER + "\n")
    pack = load_pack()

    story.step("Create a simulated Avamar utility node: MCS restored from an old flush")
    node = SimNode.create(os.path.join(workdir, "node"), "mcs_restored_old_flush", restart_seconds=1.0)
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
    sensor = start_sensor(config)

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
    story.say(
        f"trigger {AUTH_FAILURE_TRIGGER}: server={payload['server']} client={payload['client']} "
        f"codes={payload['codes']} count={payload['count']}"
    )

    story.step("The rules engine requests the workflow; it runs up to its approval request (chat below)")
    decide, source = choose_decision(answer, out, APPROVER, CHANNEL)
    with WorkflowRunner(pack, config, transcript=ChatTranscript(out), progress=out) as runner:
        enforcements = runner.dispatch_trigger(AUTH_FAILURE_TRIGGER, payload)
        runs = [e.run for e in enforcements if e.run is not None and e.action_ref == WORKFLOW]
        if not runs:
            story.say(f"no rule started {WORKFLOW}: {enforcements}")
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

    story.step("Summary")
    after = node.state()
    with open(node.srl_path, encoding="utf-8") as fh:
        srl = fh.read().strip()
    test_backup = output.get("test_backup") or {}
    wf_after = output.get("after") or {}
    story.say(f"workflow status {result.status}, outcome {output.get('outcome')}, approver {output.get('approver')}")
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
    agree = wf_after.get("gsan_minserial") is not None and wf_after.get("gsan_minserial") == wf_after.get(
        "mcs_serial"
    ) == output.get("accepted_serial")
    ok = bool(test_backup.get("succeeded")) and agree and output.get("outcome") == "remediated"
    if ok:
        proc = node.run(["avtar", "--backup", f"--account=/clients/{FAILING_CLIENTS[0]}"], timeout=60)
        story.say(f"and /clients/{FAILING_CLIENTS[0]} backs up again: avtar exit {proc.returncode}")
    story.say(
        f"DEMO PASSED: the test backup succeeded and GSAN and MCS agree on serial {output.get('accepted_serial')}"
        if ok
        else "DEMO DID NOT REMEDIATE: see the outcome above (exit 1)"
    )
    return 0 if ok else 1


SceneRun = Callable[[str, Optional[str], TextIO], int]


def scene_main(scene: SceneRun, prog: str, banner: str, prefix: str, argv: Optional[List[str]] = None) -> int:
    """The command line of a demo scene: ``--answer``, ``--workdir``, a temp node removed after."""
    parser = argparse.ArgumentParser(prog=prog, description=banner)
    parser.add_argument("--answer", choices=("yes", "no", "expire"), help="answer the approval without a prompt")
    parser.add_argument("--workdir", help="where the simulated node lives (default: a temp dir, removed after)")
    args = parser.parse_args(argv)
    workdir = args.workdir or tempfile.mkdtemp(prefix=prefix)
    try:
        from st2_local.action_runner import _ensure_standins

        _ensure_standins()
        return scene(workdir, args.answer, sys.stdout)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def main(argv: Optional[List[str]] = None) -> int:
    return scene_main(run, "make demo", BANNER, "avamar-demo-", argv)


if __name__ == "__main__":
    sys.exit(main())
