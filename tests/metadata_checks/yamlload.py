"""YAML loading that rejects duplicate keys.

PyYAML silently keeps the last of two equal keys; in pack metadata that hides a mistake
(a second `parameters:` block replacing the first). StackStorm loads YAML with PyYAML too, so
a duplicate would be accepted there and the first value lost without a word.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["DuplicateKeyError", "UniqueKeyLoader", "load_yaml", "load_yaml_file"]


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping holds the same key twice."""


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that raises ``DuplicateKeyError`` on a repeated mapping key."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<:` merged keys may legitimately be overridden
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                break  # unhashable key: let SafeLoader report it
            if key in seen:
                raise DuplicateKeyError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r} (first at line {seen[key].line + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, UniqueKeyLoader.construct_mapping)


def load_yaml(text: str) -> Any:
    """Parse one YAML document with duplicate keys rejected."""
    return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - UniqueKeyLoader is a SafeLoader


def load_yaml_file(path: str) -> Any:
    with open(path, encoding="utf-8") as fp:
        return yaml.load(fp, Loader=UniqueKeyLoader)  # noqa: S506 - errors then name the file
