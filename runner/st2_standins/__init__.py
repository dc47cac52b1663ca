"""Small stand-ins for the parts of StackStorm that pack code and pack tests import.

``install()`` registers them in ``sys.modules`` under StackStorm's own module names, and only
when StackStorm is absent: with a real ``st2common`` importable it does nothing, so the same
tests run against the real ``st2tests`` under ``st2-run-pack-tests``.

The classes have StackStorm's signatures and behaviour (read from st2's source, not copied)
and nothing more, so no test can come to depend on something st2 does not have. Helpers that
st2 lacks live in ``tests/packkit.py``.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Dict, Iterable, Tuple

__all__ = ["STANDIN_MARKER", "install", "installed", "real_st2_available"]

# Set on every module install() creates, so anyone can tell a stand-in from the real thing.
STANDIN_MARKER = "__st2_standin__"

# Packages first: a submodule is reachable only once its parent is in sys.modules.
_PACKAGES = (
    "st2common",
    "st2common.runners",
    "st2common.constants",
    "st2common.models",
    "st2common.models.api",
    "st2reactor",
    "st2reactor.sensor",
    "st2tests",
    "st2tests.mocks",
)


def _module_contents() -> Dict[str, Tuple[str, Iterable[str]]]:
    """Module name -> (stand-in module, public names it exports)."""
    return {
        "st2common.runners.base_action": ("st2_standins.action", ("Action",)),
        "st2common.runners.utils": (
            "st2_standins.action",
            ("PackConfigDict", "get_logger_for_python_runner_action", "get_action_class_instance"),
        ),
        "st2common.constants.keyvalue": (
            "st2_standins.datastore",
            ("SYSTEM_SCOPE", "USER_SCOPE", "DATASTORE_KEY_SEPARATOR"),
        ),
        "st2common.models.api.trace": ("st2_standins.mocks", ("TraceContext",)),
        "st2reactor.sensor.base": ("st2_standins.sensor", ("BaseSensor", "Sensor", "PollingSensor")),
        "st2tests.pack_resource": ("st2_standins.testcases", ("BasePackResourceTestCase",)),
        "st2tests.actions": ("st2_standins.testcases", ("BaseActionTestCase",)),
        "st2tests.sensors": ("st2_standins.testcases", ("BaseSensorTestCase",)),
        "st2tests.base": ("st2_standins.testcases", ("BaseActionTestCase", "BaseSensorTestCase")),
        "st2tests.mocks.action": ("st2_standins.mocks", ("MockActionWrapper", "MockActionService")),
        "st2tests.mocks.sensor": ("st2_standins.mocks", ("MockSensorWrapper", "MockSensorService")),
        "st2tests.mocks.datastore": ("st2_standins.datastore", ("MockDatastoreService",)),
    }


def installed() -> bool:
    """True when the st2 modules in ``sys.modules`` are these stand-ins."""
    return getattr(sys.modules.get("st2common"), STANDIN_MARKER, False) is True


def real_st2_available() -> bool:
    """True when a real ``st2common`` can be imported (then the stand-ins must stay out)."""
    if installed():
        return False
    try:
        return importlib.util.find_spec("st2common") is not None
    except (ImportError, ValueError):
        return False


def install() -> bool:
    """Register the stand-ins under StackStorm's module names; True if they are in place.

    Does nothing and returns False when a real StackStorm is importable. Idempotent.
    """
    if installed():
        return True
    if real_st2_available():
        return False

    created: Dict[str, types.ModuleType] = {}
    for name in _PACKAGES:
        module = types.ModuleType(name, f"Stand-in for StackStorm's {name} (st2 is not installed).")
        module.__path__ = []  # a package: its submodules are found in sys.modules
        created[name] = module
    for name, (source_name, exported) in _module_contents().items():
        source = importlib.import_module(source_name)
        module = types.ModuleType(name, f"Stand-in for StackStorm's {name} (st2 is not installed).")
        for attr in exported:
            setattr(module, attr, getattr(source, attr))
        module.__all__ = list(exported)
        created[name] = module

    for name, module in created.items():
        setattr(module, STANDIN_MARKER, True)
        sys.modules[name] = module
    # `import a.b.c` then `a.b.c.X` needs each child bound on its parent.
    for name, module in created.items():
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(created[parent], child, module)
    return True
