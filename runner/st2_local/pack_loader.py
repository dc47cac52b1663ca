"""Read the pack's metadata (pack.yaml, actions/*.yaml, rules/*.yaml, aliases/*.yaml) from disk.

Also the one YAML loader of the repository that refuses duplicate keys (the local runner, the
metadata checks and the tests all use it): PyYAML, and so StackStorm and orquesta, silently
keeps the last of two equal keys, which would make a second task with the same name, or a
second ``parameters:`` block, replace the first without a word. Keys brought in by a ``<<:``
merge may be overridden (that is what a merge is for); two written keys may not.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import yaml

PACK_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

__all__ = [
    "PACK_ROOT",
    "ActionMeta",
    "DuplicateKeyError",
    "Pack",
    "StrictLoader",
    "load_pack",
    "load_yaml_strict",
    "load_yaml_text",
]


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping holds the same key twice."""


class StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that raises DuplicateKeyError instead of keeping the last duplicate."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Dict[Any, Any]:
        seen: Dict[Any, Any] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # keys merged with `<<:` may legitimately be overridden
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                break  # an unhashable key: let SafeLoader report it
            if key in seen:
                raise DuplicateKeyError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r} (first at line {seen[key].line + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, StrictLoader.construct_mapping)


def load_yaml_strict(path: str) -> Any:
    """Parse one YAML file, refusing duplicate keys (errors name the file)."""
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=StrictLoader)  # noqa: S506 - StrictLoader derives from SafeLoader


def load_yaml_text(text: str) -> Any:
    """Parse one YAML document given as text, refusing duplicate keys."""
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - StrictLoader derives from SafeLoader


@dataclass(frozen=True)
class ActionMeta:
    ref: str
    name: str
    runner_type: str
    entry_point: str
    parameters: Dict[str, Dict[str, Any]]
    metadata_path: str

    @property
    def entry_point_path(self) -> str:
        return os.path.join(os.path.dirname(self.metadata_path), self.entry_point)


@dataclass
class Pack:
    root: str
    ref: str
    actions: Dict[str, ActionMeta] = field(default_factory=dict)
    rules: List[Dict[str, Any]] = field(default_factory=list)
    config_schema: Dict[str, Any] = field(default_factory=dict)

    def action(self, ref: str) -> ActionMeta:
        try:
            return self.actions[ref]
        except KeyError:
            known = ", ".join(sorted(self.actions))
            raise KeyError(f"action {ref!r} is not in pack {self.ref!r} (has: {known})") from None

    def rule(self, ref: str) -> Dict[str, Any]:
        for rule in self.rules:
            if f"{rule.get('pack', self.ref)}.{rule['name']}" == ref:
                return rule
        raise KeyError(f"rule {ref!r} is not in pack {self.ref!r}")


def _yaml_files(folder: str) -> List[str]:
    if not os.path.isdir(folder):
        return []
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith((".yaml", ".yml")))


def load_pack(root: Optional[str] = None) -> Pack:
    """Pack metadata from ``root`` (default: this repository)."""
    root = root or PACK_ROOT
    pack_meta = load_yaml_strict(os.path.join(root, "pack.yaml")) or {}
    ref = pack_meta.get("ref") or pack_meta["name"]
    pack = Pack(root=root, ref=ref)
    schema_path = os.path.join(root, "config.schema.yaml")
    if os.path.exists(schema_path):
        pack.config_schema = load_yaml_strict(schema_path) or {}
    for path in _yaml_files(os.path.join(root, "actions")):
        meta = load_yaml_strict(path) or {}
        if not isinstance(meta, dict) or "runner_type" not in meta:
            continue
        action_ref = f"{meta.get('pack', ref)}.{meta['name']}"
        pack.actions[action_ref] = ActionMeta(
            ref=action_ref,
            name=meta["name"],
            runner_type=meta["runner_type"],
            entry_point=meta.get("entry_point", ""),
            parameters=dict(meta.get("parameters") or {}),
            metadata_path=path,
        )
    for path in _yaml_files(os.path.join(root, "rules")):
        rule = load_yaml_strict(path) or {}
        if isinstance(rule, dict) and "name" in rule:
            pack.rules.append(rule)
    return pack
