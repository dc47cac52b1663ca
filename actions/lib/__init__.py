"""Helpers shared by this pack's Python actions (``from lib.avamar_action import ...``).

The real library is the pack's top-level ``lib/avamar_pack``: StackStorm puts that folder on
the import path of actions and sensors when st2.conf has ``[packs] enable_common_libs = True``
(see the README). Without it, ``import avamar_pack`` fails at action start.
"""
