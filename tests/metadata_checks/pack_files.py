"""The pack's metadata files as the checks read them, and the problems every st2 resource shares.

``PackFiles`` loads the YAML of one pack (duplicate keys refused, ``st2_local.pack_loader``) and
collects a problem for each file it could not read; the functions below turn what st2's
registrars refuse in any resource (a name used twice, a document its API schema refuses, a
``pack`` field naming another pack, a reference to an action that does not exist) into
``"<file>: <what>"`` lines. The checks of each kind of resource are in ``checks``.
"""

from __future__ import annotations

import ast
import glob
import os
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from st2_local.pack_loader import load_yaml_strict

from metadata_checks import st2schema

# Actions of other packs that workflows and rules of this pack may call.
KNOWN_EXTERNAL_ACTIONS = frozenset({"core.ask", "core.echo", "core.noop", "core.local", "chatops.post_message"})

Problems = List[str]
_YAML_GLOBS = ("*.yaml", "*.yml")


class PackFiles:
    """Loaded metadata of one pack; collects problems with the files it could not read."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.problems: Problems = []
        pack_meta = self._quietly(self.load, os.path.join(self.root, "pack.yaml")) or {}
        if not isinstance(pack_meta, dict):
            pack_meta = {}
        self.ref = pack_meta.get("ref") or pack_meta.get("name") or os.path.basename(self.root)

    def _quietly(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn`` without recording problems: for files another check reports on."""
        count = len(self.problems)
        try:
            return fn(*args)
        finally:
            del self.problems[count:]

    def rel(self, path: str) -> str:
        return os.path.relpath(path, self.root)

    def load(self, path: str) -> Any:
        try:
            return load_yaml_strict(path)
        except FileNotFoundError:
            self.problems.append(f"{self.rel(path)}: file missing")
        except Exception as e:  # any YAML error is a problem to report, not a crash
            self.problems.append(f"{self.rel(path)}: does not load: {one_line(e)}")
        return None

    def yaml_files(self, subdir: str) -> List[str]:
        base = os.path.join(self.root, subdir)
        return sorted(p for pattern in _YAML_GLOBS for p in glob.glob(os.path.join(base, pattern)))

    def resources(self, subdir: str) -> Iterator[Tuple[str, Any]]:
        """(path, mapping) of each YAML file directly under ``subdir``."""
        for path in self.yaml_files(subdir):
            data = self.load(path)
            if data is None:
                continue
            if not isinstance(data, dict):
                self.problems.append(f"{self.rel(path)}: top level is {type(data).__name__}, not a mapping")
                continue
            yield path, data

    def actions(self) -> Dict[str, Tuple[str, Dict[str, Any]]]:
        """Action ref -> (metadata path, metadata), for every action file that loads."""
        return self._quietly(self._actions)

    def _actions(self) -> Dict[str, Tuple[str, Dict[str, Any]]]:
        found = {}
        for path, data in self.resources("actions"):
            if isinstance(data.get("name"), str):
                found[f"{self.ref}.{data['name']}"] = (path, data)
        return found

    def trigger_types(self) -> Dict[str, Dict[str, Any]]:
        """Trigger ref -> trigger type, for the trigger types the pack's sensors declare."""
        return self._quietly(self._trigger_types)

    def _trigger_types(self) -> Dict[str, Dict[str, Any]]:
        found = {}
        for _, data in self.resources("sensors"):
            for trigger in data.get("trigger_types") or []:
                if isinstance(trigger, dict) and isinstance(trigger.get("name"), str):
                    found[f"{self.ref}.{trigger['name']}"] = trigger
        return found

    def action_exists(self, ref: str, actions: Mapping[str, Any]) -> bool:
        return ref in actions or ref in KNOWN_EXTERNAL_ACTIONS

    def inside(self, base: str, relative: str) -> Optional[str]:
        """Absolute path of ``relative`` under ``base``; None if it escapes it."""
        base_abs = os.path.join(self.root, base)
        path = os.path.normpath(os.path.join(base_abs, relative))
        return path if path.startswith(base_abs + os.sep) else None


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def schema_problems(pack: PackFiles, path: str, data: Any, schema: Mapping[str, Any]) -> Problems:
    return [f"{pack.rel(path)}: {line}" for line in st2schema.schema_errors(data, schema)]


def pack_field(pack: PackFiles, path: str, data: Mapping[str, Any]) -> Problems:
    # Registrars fill `pack` in, and refuse a file whose `pack` names another pack.
    if "pack" in data and data["pack"] != pack.ref:
        return [f"{pack.rel(path)}: pack {data['pack']!r} is not this pack ({pack.ref!r})"]
    return []


def unique_names(pack: PackFiles, items: Sequence[Tuple[str, Mapping[str, Any]]], field: str = "name") -> Problems:
    problems, seen = [], {}
    for path, data in items:
        name = data.get(field)
        if isinstance(name, str) and name in seen:
            problems.append(f"{pack.rel(path)}: {field} {name!r} already defined in {pack.rel(seen[name])}")
        seen.setdefault(name, path)
    return problems


def resource_documents(
    pack: PackFiles, folder: str, schema: Mapping[str, Any], name_field: str = "name"
) -> Tuple[List[Tuple[str, Any, str]], Problems]:
    """The documents of ``folder`` as (path, data, where) and what st2 refuses in any of them:
    a name used twice, a document its API schema refuses, a ``pack`` field naming another pack."""
    items = list(pack.resources(folder))
    problems = unique_names(pack, items, field=name_field)
    documents = []
    for path, data in items:
        problems += schema_problems(pack, path, data, schema)
        problems += pack_field(pack, path, data)
        documents.append((path, data, pack.rel(path)))
    return documents, problems


def missing_action(pack: PackFiles, where: str, field: str, ref: Any, actions: Mapping[str, Any]) -> Problems:
    """``field`` names an action that does not exist (not a string: the schema said so already)."""
    if isinstance(ref, str) and not pack.action_exists(ref, actions):
        return [f"{where}: {field} {ref!r} does not exist"]
    return []


def defines_class(path: str, class_name: Optional[str] = None) -> bool:
    try:
        with open(path, encoding="utf-8") as fp:
            tree = ast.parse(fp.read(), filename=path)
    except SyntaxError:
        return False  # reported as "defines no class"; ruff and the tests name the syntax error
    names = [node.name for node in tree.body if isinstance(node, ast.ClassDef)]
    return class_name in names if class_name else bool(names)


# ---------------------------------------------------------------- every YAML file
