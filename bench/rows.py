"""Rows of a shape several figures share (the table's ``Row`` itself is in ``bench.common``).

``ceiling_row``: a cost with no reference program beside it, held under a fixed ceiling
(peak memory of the catch-up child, CPU per log line of the storm).
"""

from __future__ import annotations

from typing import Any, Dict

from bench.common import Row


def ceiling_row(figure: str, ours: str, value: float, ceiling: float, unit: str, details: Dict[str, Any]) -> Row:
    """``figure`` passes when ``value`` stays under ``ceiling`` (both in ``unit``); ``ours`` says how
    it was measured. No reference: the target is the ceiling itself."""
    return Row(
        figure=figure,
        ours=ours,
        reference="-",
        target=f"< {ceiling:g} {unit}",
        passed=value < ceiling,
        details=details,
    )
