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
    from st2_standins import install

    install()

# Session fixtures of the parts: add one line per fixtures module.
pytest_plugins = [
]
