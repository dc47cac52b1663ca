"""A simulated Dell Avamar utility node: real files, real keystore, the KB's failure mechanics.

Start with :class:`avamar_sim.node.SimNode`; every guessed behaviour is in :mod:`avamar_sim.inferred`.
"""

from .node import SimNode
from .scenarios import SCENARIOS

__all__ = ["SCENARIOS", "SimNode"]
