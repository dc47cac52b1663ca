"""Replaced by ``bench.catchup`` (issue 16): this row used to time ``detection/scan.py:scan_file``, a
whole-file scanner the sensor never ran (deleted). The catch-up figure drives the real sensor.

Kept only so that ``--only scan`` in ``bench/__main__.py`` runs the catch-up figure until its
``FIGURES`` table names ``catchup`` itself; then delete this file.
"""

from __future__ import annotations

from bench.catchup import run

__all__ = ["run"]
