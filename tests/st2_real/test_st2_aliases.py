"""Chat commands through st2's alias matcher, parameter extraction and alias-execution API.

hubot-stackstorm strips the bot prefix (``!``) and posts ``{name, format, command, user,
source_channel}`` to ``/api/v1/aliasexecution`` with the bot's st2 token. st2api then extracts the
parameters (``extract_parameters_for_action_alias_db``), renders ``immutable_parameters`` with
``inject_immutable_parameters`` in a FLAT context (``api_user``, ``user``, ``source_channel``,
``action_alias_ref``, ``st2kv``), casts and schedules. Everything below is st2's code; the only
thing this file knows is which command must reach which action with which parameters.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List

import pytest
from conftest import BOT

IID = "5f1e0c9a8b7d6e5f4a3b2c1d"
CHAT_USER = "alice"

# chat command (after hubot strips "!") -> (alias name, parameters st2 must extract)
CHAT_COMMANDS = {
    f"avamar approve {IID}": ("approve", {"inquiry_id": IID}),
    f"avamar reject {IID}": ("reject", {"inquiry_id": IID}),
    f"avamar reject {IID} because not in the change window": (
        "reject",
        {"inquiry_id": IID, "reason": "not in the change window"},
    ),
    "avamar diagnose ava01": ("diagnose", {"server": "ava01"}),
    "avamar remediate ava01": ("remediate", {"server": "ava01"}),
    "avamar remediate ava01 dry_run=true": ("remediate", {"server": "ava01", "dry_run": "true"}),
}
# key=value pairs st2 passes through from chat that must never lower the approval
WEAKENING = (
    "require_approval=false",
    "approvers=eve",
    "approver_roles=anyone",
    "approval_ttl=0",
    "users=eve",
    "allow_anyone=true",
)


def pack_aliases() -> List[Any]:
    from st2common.persistence.actionalias import ActionAlias

    return list(ActionAlias.query(pack="avamar"))


def matches(command: str) -> List[Dict[str, Any]]:
    from st2common.util.actionalias_matching import match_command_to_alias

    return match_command_to_alias(command=command, aliases=pack_aliases())


def example_command(representation: str) -> str:
    """A command a user could type for one format: each ``{{ param }}`` replaced by a word."""
    return re.sub(
        r"{{\s*(\w+)[^}]*}}",
        lambda m: "ava01" if m.group(1) == "server" else ("a reason" if m.group(1) == "reason" else IID),
        representation,
    )


def test_the_pack_registers_in_st2(st2: Any) -> None:
    assert st2.registration_errors == [], "st2's registrars refused:\n" + "\n".join(st2.registration_errors)
    names = {a.name for a in pack_aliases()}
    assert {"approve", "reject", "diagnose", "remediate"} <= names


def test_every_alias_format_is_matched_by_itself_only(st2: Any) -> None:
    from st2common.util.actionalias_matching import list_format_strings_from_aliases

    formats = list_format_strings_from_aliases(pack_aliases())
    assert formats, "no alias formats registered"
    problems = []
    for fmt in formats:
        command = example_command(fmt["representation"])
        found = [(m["alias"].name, m["representation"]) for m in matches(command)]
        if found != [(fmt["alias"].name, fmt["representation"])]:
            problems.append(f"{command!r} (from {fmt['representation']!r}) matches {found}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("command", sorted(CHAT_COMMANDS))
def test_a_chat_command_matches_exactly_one_format_and_extracts_its_parameters(st2: Any, command: str) -> None:
    from st2common.models.utils.action_alias_utils import extract_parameters_for_action_alias_db

    want_alias, want_params = CHAT_COMMANDS[command]
    found = matches(command)
    assert [m["alias"].name for m in found] == [want_alias], f"{command!r} matched {found}"
    params = extract_parameters_for_action_alias_db(
        action_alias_db=found[0]["alias"], format_str=found[0]["representation"], param_stream=command
    )
    # an optional parameter left out arrives as its format default (e.g. reason "")
    assert {k: v for k, v in params.items() if v != ""} == want_params


@pytest.mark.parametrize("command", sorted(CHAT_COMMANDS))
def test_immutable_parameters_render_in_st2s_flat_context(st2: Any, command: str) -> None:
    from st2common.models.utils.action_alias_utils import (
        extract_parameters_for_action_alias_db,
        inject_immutable_parameters,
    )

    alias = matches(command)[0]
    params = extract_parameters_for_action_alias_db(
        action_alias_db=alias["alias"], format_str=alias["representation"], param_stream=command
    )
    context = {"action_alias_ref": alias["alias"].ref, "api_user": CHAT_USER, "user": BOT, "source_channel": "avamar"}
    multiple = [params]
    inject_immutable_parameters(
        action_alias_db=alias["alias"], multiple_execution_parameters=multiple, action_context=context
    )
    for key in alias["alias"].immutable_parameters or {}:
        assert key in multiple[0], f"immutable parameter {key} not injected"
        assert "{{" not in str(multiple[0][key]), f"{key} left unrendered: {multiple[0][key]!r}"


@pytest.mark.parametrize("command", sorted(CHAT_COMMANDS))
def test_the_chat_bot_runs_every_command_through_st2s_alias_execution_api(
    st2: Any, api: Any, sim_config: Any, carrier: Any, command: str
) -> None:
    sim_config()
    want_alias, want_params = CHAT_COMMANDS[command]
    fmt = matches(command)[0]["representation"]
    status, body = api(BOT).chat(want_alias, fmt, command, CHAT_USER)
    assert status == 201, f"st2 answered {status}: {body}"
    execution = body["execution"]
    params = execution["parameters"]
    for key, value in want_params.items():
        assert str(params.get(key)).lower() == str(value).lower(), (key, params)
    # st2 records who asked: the bot's st2 user and, from the payload, the chat user
    assert execution["context"]["user"] == BOT
    assert execution["context"]["api_user"] == CHAT_USER
    carrier.settle()


@pytest.mark.parametrize("extra", WEAKENING)
def test_no_chat_command_can_lower_the_approval(st2: Any, api: Any, sim_config: Any, carrier: Any, extra: str) -> None:
    """Refused by st2 (4xx), or the run still waits for an Inquiry only the config's users answer."""
    import st2engine

    sim_config()
    command = f"avamar remediate ava01 {extra}"
    status, body = api(BOT).chat("remediate", "avamar remediate {{ server }}", command, "eve")
    if 400 <= status < 500:
        # refusing the extra is fine, but only if st2 accepts the plain command (else this proves nothing)
        plain_status, plain = api(BOT).chat(
            "remediate", "avamar remediate {{ server }}", "avamar remediate ava01", "eve"
        )
        assert plain_status == 201, f"st2 refuses even the plain command ({plain_status}): {plain}"
        return
    assert status == 201, f"st2 answered {status}: {body}"
    carrier.settle()
    run = st2engine.Run(body["execution"]["id"])
    inquiries = run.pending_inquiries()
    assert run.status == "paused" and len(inquiries) == 1, f"{command!r} did not stop at an approval:\n{run.describe()}"
    assert "eve" not in (inquiries[0].users or []), inquiries[0].users
    assert set(inquiries[0].users or []) >= {"alice", "bob"}, inquiries[0].users
    mutating = {"set_gsan_serial", "write_mcs_serial", "restart_mcs", "run_test_backup", "flush_mcs"}
    assert not mutating & set(run.task_ids()), run.describe()
