"""What the scenes of ``make demo`` share: the story, the node's config, the sensor, the chat approval.

A scene (``demo``: the client logs seen by ``AvamarLogSensor``; ``demo_agentless``: the server
polled by ``AvamarServerSensor``) creates a simulated node, starts the pack's real sensor on
the stand-in sensor service, and hands the trigger it dispatched to the rules engine; the
workflow then runs up to its approval request, which the approver answers in chat
(``demo_chat``). Only the first half (how the failure is seen) and the summary differ.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import tempfile
from typing import Any, Callable, Dict, List, Mapping, Optional, TextIO, Tuple

from st2_local import BANNER
from st2_local.chat_transcript import ChatTranscript
from st2_local.demo_chat import answer_in_chat, choose_decision
from st2_local.executions import WorkflowRun
from st2_local.pack_loader import Pack, load_pack
from st2_local.sim_pack_config import SERVER, sim_pack_config
from st2_local.workflow_runner import WorkflowRunner, pack_config_like_st2

__all__ = [
    "APPROVER",
    "AUTH_FAILURE_TRIGGER",
    "CHANNEL",
    "CHATOPS_BOT",
    "SERVER",
    "WORKFLOW",
    "Story",
    "begin_scene",
    "remediate_in_chat",
    "say_auth_failure",
    "pack_config",
    "say_outcome",
    "serials_agree",
    "command_line",
    "start_sensor",
    "verdict",
]

AUTH_FAILURE_TRIGGER = "avamar.backup_auth_failure"
WORKFLOW = "avamar.remediate_session_tickets"
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


def begin_scene(out: TextIO, steps: int, title: str, workdir: str, scenario: str) -> Tuple[Story, Pack, Any]:
    """The scene's banner and first step: a simulated node in ``scenario`` under ``workdir``.
    The story (``steps`` numbered steps), the pack and the node."""
    from avamar_sim import SimNode

    story = Story(out, steps)
    out.write(BANNER + "\n")
    pack = load_pack()
    story.step(title)
    node = SimNode.create(os.path.join(workdir, "node"), scenario, restart_seconds=1.0)
    return story, pack, node


def say_auth_failure(story: Story, payload: Mapping[str, Any], *extra: str) -> None:
    """The ``avamar.backup_auth_failure`` a sensor dispatched, and the ``extra`` payload keys."""
    fields = [f"{key}={payload[key]}" for key in ("server", "client", "codes", "count", *extra)]
    story.say(f"trigger {AUTH_FAILURE_TRIGGER}: " + " ".join(fields))


def pack_config(node: Any, sensor: Mapping[str, Any], **entry: Any) -> Dict[str, Any]:
    """The scene's pack config: the simulated node as server ``ava01`` (local transport, more
    ``entry`` keys as given), approved in chat by ``APPROVER`` through the bot ``CHATOPS_BOT``."""
    return sim_pack_config(
        node.root,
        entry=entry,
        approval={"route": CHANNEL, "ttl_minutes": 60, "users": [APPROVER], "chatops_users": [CHATOPS_BOT]},
        remediation={"max_publickey_attempts": 6},
        sensor=sensor,
    )


def start_sensor(pack: Pack, module: str, class_name: str, config: Dict[str, Any]) -> Any:
    """The pack's sensor ``sensors/<module>.py:<class_name>`` on the stand-in sensor service
    (st2's MockSensorService API), set up with the config as st2 hands it over."""
    from st2tests.mocks.sensor import MockSensorService, MockSensorWrapper

    sensors_dir = os.path.join(pack.root, "sensors")
    if sensors_dir not in sys.path:
        sys.path.insert(0, sensors_dir)
    sensor_cls = getattr(importlib.import_module(module), class_name)
    service = MockSensorService(MockSensorWrapper(pack="avamar", class_name=class_name))
    sensor = sensor_cls(sensor_service=service, config=pack_config_like_st2(pack, config))
    sensor.setup()
    return sensor


def remediate_in_chat(
    pack: Pack, config: Dict[str, Any], payload: Mapping[str, Any], answer: Optional[str], out: TextIO, story: Story
) -> Optional[WorkflowRun]:
    """Two steps of the story: the rules engine requests the workflow on the trigger, which runs
    up to its approval request; the approver answers in chat and the workflow resumes.
    The run, or None (story told) when no rule started the workflow."""
    story.step("The rules engine requests the workflow; it runs up to its approval request (chat below)")
    decide, source = choose_decision(answer, out, APPROVER, CHANNEL)
    with WorkflowRunner(pack, config, transcript=ChatTranscript(out), progress=out) as runner:
        enforcements = runner.dispatch_trigger(AUTH_FAILURE_TRIGGER, dict(payload))
        runs = [e.run for e in enforcements if e.run is not None and e.action_ref == WORKFLOW]
        if not runs:
            story.say(f"no rule started {WORKFLOW}: {enforcements}")
            return None
        result = runs[0]
        story.say(
            f"{enforcements[0].rule} requested {WORKFLOW} with {result.parameters.get('server')!r}: "
            f"execution {result.execution_id} is {result.status}"
        )
        story.step("The approval is given in chat; the workflow resumes")
        story.say(f"the decision comes from {source}")
        answer_in_chat(runner, result, decide, APPROVER, CHATOPS_BOT, CHANNEL, story.say)
    return result


def serials_agree(output: Mapping[str, Any]) -> bool:
    """The workflow read back the same serial from GSAN and MCS."""
    after = output.get("after") or {}
    return after.get("gsan_minserial") is not None and after.get("gsan_minserial") == after.get("mcs_serial")


def say_outcome(story: Story, result: WorkflowRun) -> Dict[str, Any]:
    """The run's status, outcome and approver in the summary; the run's output."""
    output = result.output or {}
    story.say(f"workflow status {result.status}, outcome {output.get('outcome')}, approver {output.get('approver')}")
    return output


def verdict(story: Story, ok: bool, passed: str, failed: str) -> int:
    """The scene's last line and its exit status (0 only when ``ok``)."""
    story.say(passed if ok else f"{failed} (exit 1)")
    return 0 if ok else 1


SceneRun = Callable[[str, Optional[str], TextIO], int]


def command_line(scene: SceneRun, prog: str, banner: str, prefix: str, argv: Optional[List[str]] = None) -> int:
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
