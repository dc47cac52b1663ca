"""Rule notify_approval_request, the chat aliases and the per-server policy, as StackStorm reads them."""

from __future__ import annotations

import glob
import os

from avamar_pack import chat
from st2_local.pack_loader import PACK_ROOT, load_pack, load_yaml_strict
from st2_local.rules import criteria_match, rule_action

PACK = load_pack()


def _aliases():
    paths = glob.glob(os.path.join(PACK_ROOT, "aliases", "*.yaml"))
    return {alias["name"]: alias for alias in (load_yaml_strict(p) for p in paths)}


def test_notify_approval_request_posts_the_id_and_both_commands():
    rule = PACK.rule("avamar.notify_approval_request")
    assert rule["trigger"]["type"] == "core.st2.generic.inquiry"
    payload = {"id": "5f0c3a9e1b2c4d5e6f708192", "route": "avamar"}
    assert criteria_match(rule, payload)
    assert not criteria_match(rule, {"id": payload["id"], "route": "other-pack"})
    ref, params = rule_action(rule, payload)
    assert ref == "chatops.post_message"
    assert params["channel"] == "avamar"
    assert f"!avamar approve {payload['id']}" in params["message"]
    assert f"!avamar reject {payload['id']}" in params["message"]


def _formats(alias):
    """Each format as st2 matches it: a plain string, or a display/representation mapping."""
    out = []
    for fmt in alias["formats"]:
        out.extend(fmt.get("representation", []) if isinstance(fmt, dict) else [fmt])
    return out


def test_aliases_formats_and_targets():
    aliases = _aliases()
    formats = {fmt for a in aliases.values() for fmt in _formats(a)}
    for expected in (
        "avamar diagnose {{ server }}",
        "avamar remediate {{ server }}",
        "avamar approve {{ inquiry_id }}",
    ):
        assert expected in formats
    assert any(f.startswith("avamar reject {{ inquiry_id }}") for f in formats)
    for alias in aliases.values():
        meta = PACK.action(alias["action_ref"])
        assert alias["ack"]["format"] and alias["result"]["format"]
        for name in alias.get("immutable_parameters", {}):
            assert name in meta.parameters, f"{alias['name']}: {name} is not a parameter of {meta.ref}"


def test_the_approver_is_never_a_parameter_anyone_can_type():
    aliases = _aliases()
    assert aliases["approve"]["immutable_parameters"] == {"approved": True}
    assert aliases["reject"]["immutable_parameters"] == {"approved": False}
    assert "approver" not in PACK.action("avamar.respond_approval").parameters
    for name in ("approve", "reject"):
        assert not any("approver" in fmt or "approved" in fmt for fmt in _formats(aliases[name]))


def test_remediate_alias_cannot_lower_the_approval_policy():
    # st2 passes extra key=value pairs from chat; none of them may weaken the approval.
    params = PACK.action(aliases_action := _aliases()["remediate"]["action_ref"]).parameters
    assert aliases_action == "avamar.remediate_session_tickets"
    assert not {"require_approval", "approvers", "approver_roles", "approval_ttl"} & set(params)


def test_one_remediation_per_server_policy():
    [path] = glob.glob(os.path.join(PACK_ROOT, "policies", "*.yaml"))
    policy = load_yaml_strict(path)
    assert policy["resource_ref"] == "avamar.remediate_session_tickets"
    assert policy["policy_type"] == "action.concurrency.attr"
    assert policy["parameters"]["attributes"] == ["server"]
    assert policy["parameters"]["threshold"] == 1


def test_chat_escapes_untrusted_text():
    assert chat.escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"
    assert chat.code("a`b") == "`a'b`"
    assert "!avamar approve abc" in chat.approval_commands("abc")
    assert "&lt;script&gt;" in chat.approval_recorded("abc", False, "bob", "<script>")
