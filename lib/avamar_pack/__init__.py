"""Library under the ``avamar`` StackStorm pack.

Plain Python, no StackStorm imports: the sensors and the actions are thin shells over
these modules, which are tested directly. StackStorm puts this ``lib/`` folder on their
import path only with ``[packs] enable_common_libs = True``; the pack does not need it:
``actions/lib/__init__.py`` and ``sensors/avamar_pack_lib.py`` add it when it is missing.
"""

__all__ = ["__version__"]

__version__ = "0.2.0"
