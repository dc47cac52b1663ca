"""Suite-wide setup: import paths, StackStorm stand-ins (only when st2 is absent), fixtures.

Under a real StackStorm (`st2-run-pack-tests`) `st2tests` imports and nothing is replaced.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for sub in ("lib", "simulator", "runner", "actions", "actions/lib", "sensors", ""):
    path = os.path.join(ROOT, sub) if sub else ROOT
    if path not in sys.path:
        sys.path.insert(0, path)

try:  # a real StackStorm: use its own test base classes and mocks
    import st2tests  # noqa: F401
except ImportError:
    import importlib.util

    if importlib.util.find_spec("st2tests") is not None:
        # st2tests is there but failed to import: show st2's own error (often a library pinned
        # in requirements-tests.txt shadowing the version StackStorm needs), never the stand-ins.
        raise
    from st2_standins import install

    if not install():
        # st2common is there but st2tests is not: mixing real st2 with stand-ins would test
        # neither, so stop here with the fix in the message.
        raise ImportError(
            "StackStorm's st2common is importable but st2tests is not; run the suite with "
            "st2-run-pack-tests (which puts st2tests on the path) or without StackStorm at all"
        ) from None

# Session fixtures of the parts: add one line per fixtures module.
pytest_plugins = [
    "fixtures.services",
    "fixtures.simulator",
]
