"""Library under the ``avamar`` StackStorm pack.

Plain Python, no StackStorm imports: the sensor and the actions are thin shells over
these modules, which are tested directly. StackStorm puts this ``lib/`` folder on the
import path of both because ``pack.yaml`` has no say in it but the pack config does:
see ``enable_common_libs`` in the README.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
