"""Python 3.11 fixes for orquesta 1.2.0 (and networkx 1.11, which it pins), applied before import.

orquesta 1.2.0 is the release StackStorm 3.8 ships; it targets Python 3.6-3.8. On 3.11 it breaks in
three places, none of which change how a workflow is evaluated:

* ``collections.Mapping`` and friends: the ABC aliases were removed from ``collections`` in 3.10;
  orquesta and networkx still use them. We alias the names back to ``collections.abc``.
* ``fractions.gcd``: removed in 3.9; networkx 1.11 imports it. ``math.gcd`` is the same function
  for the integers networkx passes.
* ``(?i)true`` / ``(?i)false`` in ``orquesta.utils.parameters``: these are pasted into the middle
  of ``REGEX_INLINE_PARAMS``, and 3.11 rejects a global flag that is not at the start of a
  pattern. We rebuild the pattern with scoped flags ``(?i:true)``, which match the same text.
  These are the only inline flags in orquesta, yaql and jinja2 (checked with grep on the
  installed versions).

``apply()`` is idempotent; call it before the first ``import orquesta``.
"""

from __future__ import annotations

import collections
import collections.abc
import fractions
import math
import warnings

_APPLIED = False


def _alias_collections_abcs() -> None:
    for name in collections.abc.__all__:
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))


def _restore_fractions_gcd() -> None:
    if not hasattr(fractions, "gcd"):
        fractions.gcd = math.gcd  # type: ignore[attr-defined]


def _fix_inline_param_flags() -> None:
    from orquesta.utils import parameters

    if "(?i)" not in parameters.REGEX_INLINE_PARAMS:
        return
    parameters.REGEX_TRUE = r"(?i:true)"
    parameters.REGEX_FALSE = r"(?i:false)"
    variations = [
        parameters.REGEX_TRUE if v == r"(?i)true" else parameters.REGEX_FALSE if v == r"(?i)false" else v
        for v in parameters.REGEX_INLINE_PARAM_VARIATIONS
    ]
    parameters.REGEX_INLINE_PARAM_VARIATIONS = variations
    # parse_inline_params() reads this module global at call time, so rebinding it is enough.
    parameters.REGEX_INLINE_PARAMS = r"([\w]+)=({})".format("|".join(variations))


def apply() -> None:
    """Patch the interpreter and orquesta so that orquesta 1.2.0 imports and runs on 3.11."""
    global _APPLIED
    if _APPLIED:
        return
    _alias_collections_abcs()
    _restore_fractions_gcd()
    # networkx 1.11 imports lib2to3 (deprecated in 3.11): a warning about networkx, not about us.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import orquesta.conducting  # noqa: F401
    _fix_inline_param_flags()
    _APPLIED = True
