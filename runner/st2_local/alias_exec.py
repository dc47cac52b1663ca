"""A chat command as st2api's ``POST /v1/aliasexecution`` turns it into an execution.

What st2 v3.9.0 does, and so do we (st2api ``ActionAliasExecutionController._post`` and
``st2common.models.utils.action_alias_utils``):

* the command's parameters are extracted with st2's format parser (a format is a regex with
  ``{{ field }}`` / ``{{ field=default }}`` holes; trailing ``key=value`` pairs are parameters
  too); the first matching format wins here, where st2 refuses an ambiguous command (its real
  matcher runs in ``make test-st2``);
* the execution context is ``{action_alias_ref, api_user: <chat user>, user: <the bot's st2
  user>, source_channel}``;
* ``immutable_parameters`` are rendered with Jinja in a FLAT context (``api_user``, ``user``,
  ``source_channel``, ``action_alias_ref``, ``st2kv``), StrictUndefined; giving one of them in
  the command is refused ("Immutable arguments cannot be overriden");
* the parameters are then cast to the action's types and validated WITHOUT rendering Jinja
  defaults first (no ``render_live_params`` on this path); defaults render at run time.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

import jinja2
import jinja2.sandbox

from st2_local.pack_loader import Pack, load_yaml_strict

_ENV = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined)


class AliasError(ValueError):
    """st2api would answer 400/500: no format matches, or an immutable parameter is given."""


@dataclass
class Alias:
    ref: str
    action_ref: str
    formats: List[str] = field(default_factory=list)
    immutable_parameters: Dict[str, Any] = field(default_factory=dict)
    ack: Dict[str, Any] = field(default_factory=dict)
    result: Dict[str, Any] = field(default_factory=dict)


def load_aliases(pack: Pack) -> Dict[str, Alias]:
    folder = os.path.join(pack.root, "aliases")
    aliases: Dict[str, Alias] = {}
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if name.endswith((".yaml", ".yml")):
            doc = load_yaml_strict(os.path.join(folder, name)) or {}
            formats: List[str] = []
            for f in doc.get("formats") or []:  # a {display, representation} format matches by representation
                formats.extend([f] if isinstance(f, str) else (f.get("representation") or [f.get("display") or ""]))
            ref = f"{doc.get('pack', pack.ref)}.{doc['name']}"
            aliases[ref] = Alias(
                ref,
                doc["action_ref"],
                [f for f in formats if f],
                dict(doc.get("immutable_parameters") or {}),
                dict(doc.get("ack") or {}),
                dict(doc.get("result") or {}),
            )
    return aliases


# The snippets of st2's ActionAliasFormatParser (a format is a REGEX with {{ field }} holes).
_KEY = r"\s*(\S+?)\s*"
_VALUE = r'""|\'\'|"(.+?)"|\'(.+?)\'|({.+?})|(\S+)'
_EXT_VALUE = r'""|\'\'|"(.+?)"|\'(.+?)\'|({.+?})|(.+?)'
_PAIRS = r"(?:^|\s+)" + _KEY + "=(" + _VALUE + ")"
_ENDING = r".*?((" + _PAIRS + r"\s*)*)$"
_OPTIONAL = "{{" + _KEY + r"\s*=\s*(?:" + _EXT_VALUE + r")\s*" + "}}"
_REQUIRED = "{{" + _KEY + "}}"
_PARAM = r'\1["\']?(?P<\2>(?:(?<=\').+?(?=\')|(?<=").+?(?=")|{.+?}|.+?))["\']?'


def extract_parameters(fmt: str, command: str) -> Optional[Dict[str, str]]:
    """Parameters of ``command`` under one alias format, as st2's parser extracts them (None:
    no match). Trailing ``key=value`` pairs are taken as parameters too, as in st2."""
    stream = command
    ending = re.match(_ENDING, stream, re.DOTALL)
    pairs = re.findall(_PAIRS, ending.group(1), re.DOTALL) if ending and ending.group(1) else []
    if pairs:
        stream = stream.replace(ending.group(1), "")
    stream = f" {stream} "
    optional = re.findall(_OPTIONAL, fmt, re.DOTALL)
    reg = re.sub(r"(\s*)" + _OPTIONAL, r"(?:" + _PARAM + r")?", fmt)
    reg = re.sub(r"(\s*)" + _REQUIRED, _PARAM, reg)
    reg = (reg if reg.startswith("^") else r"^\s*" + reg) + ("" if reg.endswith("$") else r"\s*$")
    match = re.compile(reg, re.DOTALL).search(stream)
    if not match:
        return None
    result = dict(match.groupdict())
    for param in optional:
        result[param[0]] = result.get(param[0]) or "".join(param[1:])
    for pair in pairs:
        result[pair[0]] = "".join(pair[2:])
    return {k: v for k, v in result.items() if v is not None}


def match_command(aliases: Mapping[str, Alias], command: str) -> tuple[Alias, Dict[str, str]]:
    """(alias, parameters) of the first alias format that matches (st2 refuses ambiguity;
    ``make test-st2`` checks the pack's formats with st2's own matcher)."""
    for alias in aliases.values():
        for fmt in alias.formats:
            params = extract_parameters(fmt, command)
            if params is not None:
                return alias, params
    raise AliasError(f"Command {command!r} matched no pattern")


def alias_context(alias: Alias, chat_user: str, bot_user: str, source_channel: str) -> Dict[str, Any]:
    """st2api's alias-execution context; ``action_alias_ref`` is st2's ``get_ref_from_model``
    ({"id", "name"} of the alias; the id is made up here)."""
    alias_id = hashlib.sha256(alias.ref.encode()).hexdigest()[:24]
    return {
        "action_alias_ref": {"id": alias_id, "name": alias.ref.split(".", 1)[1]},
        "api_user": chat_user,
        "user": bot_user,
        "source_channel": source_channel,
    }


def inject_immutable_parameters(
    alias: Alias, params: Dict[str, Any], context: Mapping[str, Any], st2kv: Optional[Mapping[str, Any]] = None
) -> Dict[str, Any]:
    """st2's ``inject_immutable_parameters``: flat context, StrictUndefined, no override."""
    overridden = [p for p in alias.immutable_parameters if p in params]
    if overridden:
        raise AliasError("Immutable arguments cannot be overriden: " + ",".join(overridden))
    flat = {"st2kv": dict(st2kv or {"system": {}, "user": {}})}
    flat.update(context)
    rendered = {}
    for name, value in alias.immutable_parameters.items():
        try:
            rendered[name] = _ENV.from_string(value).render(flat) if isinstance(value, str) else value
        except jinja2.TemplateError as e:
            raise AliasError(f"500 Internal Server Error: {type(e).__name__}: {e}") from e
    return {**params, **rendered}


def cast_alias_params(action_params: Mapping[str, Any], params: Mapping[str, Any]) -> Dict[str, Any]:
    """``action_param_utils.cast_params``: strings from chat cast to the declared type."""
    from st2_local.live_params import cast

    return {k: cast(v, action_params.get(k)) if isinstance(v, str) else v for k, v in params.items()}


def execution_view(run: Any) -> Dict[str, Any]:
    """The execution as the chat templates see it (``execution.id``, ``.status``, ``.result``...)."""
    return {
        "id": run.execution_id,
        "status": run.status,
        "parameters": dict(run.parameters),
        "result": run.result,
        "context": dict(run.context),
        "action": {"ref": run.action_ref},
    }


def render_ack(alias: Alias, run: Any) -> Optional[str]:
    """st2api's ack message of an alias execution (None: the alias has no ack format)."""
    if "format" not in alias.ack or alias.ack.get("enabled", True) is False:
        return None
    try:
        return _ENV.from_string(str(alias.ack["format"])).render({"execution": execution_view(run)})
    except jinja2.TemplateError as e:  # st2api answers with this text instead of the ack
        return f'Cannot render "format" in field "ack" for alias. {e}'


_RESULT_ENV = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.Undefined, trim_blocks=True, lstrip_blocks=True)


def render_result(alias: Alias, run: Any) -> Optional[str]:
    """st2's chatops.format_execution_result: the alias's result format (undefined allowed)."""
    if alias.result.get("enabled", True) is False:
        return None
    template = str(alias.result.get("format") or "{{ execution.status }}: {{ execution.result }}")
    return _RESULT_ENV.from_string(template).render({"execution": execution_view(run)})
