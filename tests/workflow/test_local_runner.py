"""The local runner's StackStorm stand-in behaviour: parameter rendering, the Python runner, Inquiries, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import yaml
from st2_local.action_runner import ActionRunner
from st2_local.inquiries import Inquiry, InvalidResponse, validate_response
from st2_local.pack_loader import PACK_ROOT, load_pack
from st2_local.rendering import ParameterError, apply_config_defaults, render_parameters
from wfkit import SERVER, node_config

PACK = load_pack()
WORKFLOW = PACK.action("avamar.remediate_session_tickets")


def test_defaults_render_from_config_context_and_cast_to_type():
    raw = {"servers": {}, "approval": {"users": ["alice"], "ttl_minutes": 30}, "remediation": {"serial_margin": 500}}
    config = apply_config_defaults(PACK.config_schema, raw)
    params = render_parameters(WORKFLOW, {"server": "ava01"}, config)
    assert params["approvers"] == ["alice"] and params["approver_roles"] == []
    assert params["approval_ttl"] == 30 and params["serial_margin"] == 500
    assert params["max_publickey_attempts"] == 6  # schema default filled in under remediation
    assert params["notify_route"] == "avamar" and params["require_approval"] is True


def test_defaults_hold_without_the_optional_config_sections():
    params = render_parameters(WORKFLOW, {"server": "ava01"}, {"servers": {}})
    assert (params["approvers"], params["approval_ttl"], params["notify_route"]) == ([], 60, "avamar")


def test_unknown_and_missing_parameters_are_refused():
    with pytest.raises(ParameterError, match="unknown parameter"):
        render_parameters(WORKFLOW, {"server": "a", "servre": "b"}, {})
    with pytest.raises(ParameterError, match="required parameter 'server'"):
        render_parameters(WORKFLOW, {}, {})


def test_python_runner_result_shapes(tmp_path):
    root = tmp_path / "pack"
    (root / "actions").mkdir(parents=True)
    (root / "pack.yaml").write_text("ref: shapes\nname: shapes\n")
    (root / "actions" / "shapes.py").write_text(textwrap.dedent('''
        from st2common.runners.base_action import Action

        class Shapes(Action):
            def run(self, mode):
                print("to stdout")
                if mode == "ok":
                    return {"x": 1}
                if mode == "false":
                    return (False, {"error": {"step": "s", "reason": "r", "state_left": "n"}})
                raise RuntimeError("boom")
    '''))
    (root / "actions" / "shapes.yaml").write_text(yaml.safe_dump({
        "name": "shapes", "pack": "shapes", "runner_type": "python-script", "entry_point": "shapes.py",
        "parameters": {"mode": {"type": "string", "required": True}}}))
    pack = load_pack(str(root))
    runner = ActionRunner(pack, {})
    meta = pack.action("shapes.shapes")
    ok = runner.run(meta, {"mode": "ok"})
    assert ok.status == "succeeded" and ok.result["result"] == {"x": 1} and ok.result["stdout"] == "to stdout\n"
    failed = runner.run(meta, {"mode": "false"})
    assert failed.status == "failed" and failed.result["result"]["error"]["step"] == "s"
    crashed = runner.run(meta, {"mode": "raise"})
    assert crashed.status == "failed" and "result" not in crashed.result
    assert crashed.result["error"] == "RuntimeError: boom" and "Traceback" in crashed.result["traceback"]


def test_inquiry_responses_are_checked_like_st2():
    inquiry = Inquiry(id="a" * 24, users=["alice"], schema={
        "type": "object", "properties": {"approved": {"type": "boolean", "required": True},
                                         "reason": {"type": "string"}}})
    validate_response(inquiry, {"approved": True, "approver": "alice"})
    with pytest.raises(InvalidResponse, match="required"):
        validate_response(inquiry, {"reason": "x", "approver": "alice"})
    with pytest.raises(InvalidResponse, match="schema"):
        validate_response(inquiry, {"approved": "yes", "approver": "alice"})
    with pytest.raises(InvalidResponse, match="may not answer"):
        validate_response(inquiry, {"approved": True, "approver": "mallory"})


def test_cli_runs_the_workflow_and_says_it_is_not_stackstorm(make_sim_node, tmp_path):
    node = make_sim_node("mcs_restored_old_flush")
    node.run_backup("client00")
    config_path = tmp_path / "avamar.yaml"
    config_path.write_text(yaml.safe_dump(node_config(node)))
    # Prepend, never replace: st2-run-pack-tests puts StackStorm's own libraries on PYTHONPATH.
    paths = [os.path.join(PACK_ROOT, d) for d in ("lib", "simulator", "runner")]
    inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths + inherited))
    env.pop("APPROVE", None)
    proc = subprocess.run([sys.executable, "-m", "st2_local", "run", "avamar.remediate_session_tickets",
                           f"server={SERVER}", "--config", str(config_path), "--answer", "no", "--reason", "later"],
                          cwd=PACK_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "production runs in StackStorm" in proc.stderr
    result = json.loads(proc.stdout[proc.stdout.index('{\n  "status"'):])
    assert result["status"] == "succeeded" and result["output"]["outcome"] == "rejected"
