"""Moved to ``avamar_pack.parsing.avtar_runs`` (avtar run assembly); kept only for ``diagnosis.py``.

Remove once ``diagnosis.py`` imports ``format_record`` from ``avamar_pack.parsing.avtar_runs``.
"""

from __future__ import annotations

from avamar_pack.parsing.avtar_runs import format_record

__all__ = ["format_record"]
