"""Checks of the pack's StackStorm metadata, used by tests/test_metadata.py.

Pure functions of a pack root (``checks.ALL_CHECKS``), so the self-tests can point them at
small broken packs under tests/data/metadata/ and prove each one catches its error.
"""
