"""A tiny StackStorm pack for the local runner's own tests (tests/workflow/test_local_runner.py).

``tiny.flow`` (orquesta): ``first`` (tiny.shapes) -> ``approval`` (core.ask, users from input)
-> ``after`` (tiny.shapes); a failed ``first`` goes to ``report`` (core.noop). One run per
``server`` at a time (policy). Rules: a ``tiny.shapes`` run with ``spawn=true`` requests another
``tiny.flow`` for the same server; a canceled ``tiny.flow`` runs ``tiny.shapes`` with the
trigger's status; a ``tiny.event`` trigger runs ``tiny.takes_object`` with ``{{ trigger }}``.
Alias ``tiny.approve``: ``tiny approve <id>`` runs ``tiny.answer`` (PUTs the Inquiry response
with the action's own st2 token, as avamar.respond_approval does).
"""

from __future__ import annotations

import os
import textwrap
from typing import Any, Dict

import yaml

SHAPES_PY = """
import json, os
from st2common.runners.base_action import Action

class Shapes(Action):
    def run(self, mode="ok", server=None, spawn=False, note=None, timeout=None):
        print("to stdout")
        env = {k: v for k, v in os.environ.items() if k.startswith("ST2_ACTION_")}
        if mode == "false":
            return (False, {"error": {"step": "s", "reason": "r"}})
        if mode == "raise":
            raise RuntimeError("boom")
        return {"env": env, "server": server, "note": note, "timeout_seen": timeout}
"""

TAKES_OBJECT_PY = """
from st2common.runners.base_action import Action

class TakesObject(Action):
    def run(self, payload, count=None):
        return {"payload": payload, "count": count}
"""

KV_PY = """
from st2common.runners.base_action import Action

class Kv(Action):
    def run(self, key, value=None):
        if value is not None:
            self.action_service.set_value(key, value)
        return {"value": self.action_service.get_value(key)}
"""

ANSWER_PY = """
import json, os, urllib.request
from st2common.runners.base_action import Action

class Answer(Action):
    def run(self, inquiry_id, approved):
        url = os.environ["ST2_ACTION_API_URL"] + "/inquiries/" + inquiry_id
        body = json.dumps({"id": inquiry_id, "response": {"approved": approved}}).encode()
        req = urllib.request.Request(url, data=body, method="PUT", headers={
            "X-Auth-Token": os.environ["ST2_ACTION_AUTH_TOKEN"], "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req) as resp:
                return {"code": resp.status}
        except urllib.error.HTTPError as e:
            return (False, {"code": e.code, "body": e.read().decode()})
"""

FLOW = {
    "version": 1.0,
    "input": ["server", "approvers", "spawn", "first_mode"],
    "vars": [{"answer": None}, {"first": None}],
    "output": [{"answer": "<% ctx(answer) %>"}, {"first": "<% ctx(first) %>"}],
    "tasks": {
        "first": {
            "action": "tiny.shapes",
            "input": {"mode": "<% ctx(first_mode) %>", "server": "<% ctx(server) %>", "spawn": "<% ctx(spawn) %>"},
            "next": [
                {"when": "<% succeeded() %>", "do": "approval"},
                {"when": "<% failed() %>", "publish": [{"first": "<% result() %>"}], "do": "report"},
            ],
        },
        "approval": {
            "action": "core.ask",
            "input": {
                "users": "<% ctx(approvers) %>",
                "route": "tiny",
                "ttl": 5,
                "schema": {"type": "object", "properties": {"approved": {"type": "boolean", "required": True}}},
            },
            "next": [
                {"when": "<% succeeded() %>", "publish": [{"answer": "<% result().response %>"}], "do": "after"},
                {"when": "<% failed() %>", "publish": [{"answer": "expired"}], "do": "report"},
            ],
        },
        "after": {"action": "tiny.shapes", "input": {"server": "<% ctx(server) %>"}},
        "report": {"action": "core.noop"},
    },
}


def _action(name: str, runner: str, entry: str, params: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "name": name,
        "pack": "tiny",
        "runner_type": runner,
        "entry_point": entry,
        "enabled": True,
        "parameters": params,
    }


def write_tiny_pack(root: str) -> str:
    """Write the pack under ``root``; returns its path."""
    for sub in ("actions/workflows", "rules", "policies", "aliases"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    files = {
        "pack.yaml": {"ref": "tiny", "name": "tiny", "version": "0.0.1"},
        "actions/shapes.yaml": _action(
            "shapes",
            "python-script",
            "shapes.py",
            {
                "mode": {"type": "string", "default": "ok", "enum": ["ok", "false", "raise"]},
                "server": {"type": "string"},
                "spawn": {"type": "boolean", "default": False},
                "note": {"type": "string"},
                "timeout": {"type": "integer", "default": 30},
            },
        ),
        "actions/takes_object.yaml": _action(
            "takes_object",
            "python-script",
            "takes_object.py",
            {"payload": {"type": "object", "required": True}, "count": {"type": "integer"}},
        ),
        "actions/kv.yaml": _action(
            "kv", "python-script", "kv.py", {"key": {"type": "string", "required": True}, "value": {"type": "string"}}
        ),
        "actions/answer.yaml": _action(
            "answer",
            "python-script",
            "answer.py",
            {"inquiry_id": {"type": "string", "required": True}, "approved": {"type": "boolean", "required": True}},
        ),
        "actions/flow.yaml": _action(
            "flow",
            "orquesta",
            "workflows/flow.yaml",
            {
                "server": {"type": "string", "required": True},
                "approvers": {"type": "array", "default": ["alice", "chatops_bot"]},
                "spawn": {"type": "boolean", "default": False},
                "first_mode": {"type": "string", "default": "ok"},
            },
        ),
        "actions/workflows/flow.yaml": FLOW,
        "policies/one_per_server.yaml": {
            "name": "one_per_server",
            "pack": "tiny",
            "resource_ref": "tiny.flow",
            "policy_type": "action.concurrency.attr",
            "enabled": True,
            "parameters": {"action": "delay", "threshold": 1, "attributes": ["server"]},
        },
        "rules/spawn.yaml": {
            "name": "spawn",
            "pack": "tiny",
            "enabled": True,
            "trigger": {"type": "core.st2.generic.actiontrigger"},
            "criteria": {
                "trigger.action_ref": {"type": "equals", "pattern": "tiny.shapes"},
                "trigger.parameters.spawn": {"type": "equals", "pattern": True},
            },
            "action": {"ref": "tiny.flow", "parameters": {"server": "{{ trigger.parameters.server }}"}},
        },
        "rules/on_cancel.yaml": {
            "name": "on_cancel",
            "pack": "tiny",
            "enabled": True,
            "trigger": {"type": "core.st2.generic.actiontrigger"},
            "criteria": {
                "trigger.action_ref": {"type": "equals", "pattern": "tiny.flow"},
                "trigger.status": {"type": "inside", "pattern": ["canceled", "timeout", "abandoned"]},
            },
            "action": {
                "ref": "tiny.shapes",
                "parameters": {"note": "{{ trigger.status }}", "server": "{{ trigger.parameters.server }}"},
            },
        },
        "rules/event.yaml": {
            "name": "event",
            "pack": "tiny",
            "enabled": True,
            "trigger": {"type": "tiny.event"},
            "action": {
                "ref": "tiny.takes_object",
                "parameters": {"payload": "{{ trigger }}", "count": "{{ trigger.count }}"},
            },
        },
        "aliases/approve.yaml": {
            "name": "approve",
            "pack": "tiny",
            "action_ref": "tiny.answer",
            "formats": ["tiny approve {{ inquiry_id }}"],
            "immutable_parameters": {"approved": True},
            "ack": {"format": "answering {{ execution.parameters.inquiry_id }}"},
            "result": {"format": "answer sent: {{ execution.status }} ({{ execution.result.result.code }})"},
        },
    }
    for path, doc in files.items():
        with open(os.path.join(root, path), "w", encoding="utf-8") as fh:
            yaml.safe_dump(doc, fh, sort_keys=False)
    for name, text in (
        ("shapes.py", SHAPES_PY),
        ("takes_object.py", TAKES_OBJECT_PY),
        ("answer.py", ANSWER_PY),
        ("kv.py", KV_PY),
    ):
        with open(os.path.join(root, "actions", name), "w", encoding="utf-8") as fh:
            fh.write(textwrap.dedent(text))
    return root
