"""Old import path of the duplicate-key YAML loader; its one home is ``st2_local.pack_loader``.

Kept only until tests/reliability/test_hostile_corpus.py imports from there (then delete this).
"""

from st2_local.pack_loader import DuplicateKeyError, StrictLoader, load_yaml_strict, load_yaml_text

UniqueKeyLoader = StrictLoader
load_yaml = load_yaml_text
load_yaml_file = load_yaml_strict

__all__ = ["DuplicateKeyError", "UniqueKeyLoader", "load_yaml", "load_yaml_file"]
