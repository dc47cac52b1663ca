"""The results table (stdout) and the JSON file."""

from __future__ import annotations

import json
import os
import time
from typing import Any, Dict, List

from bench.common import Row, machine_line

HEADERS = ("figure", "ours", "reference", "ratio/target", "pass")


def _verdict(row: Row) -> str:
    if not row.built:
        return "not built"
    if row.passed is None:
        return "NOT MEASURED"
    return "yes" if row.passed else "NO"


def table(rows: List[Row]) -> str:
    """A Markdown table (it goes into bench/README.md as printed)."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for row in rows:
        cells = (row.figure, row.ours, row.reference, row.target, _verdict(row))
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    notes = [f"- {row.figure}: {row.note}" for row in rows if row.note]
    if notes:
        lines += ["", "Notes:"] + notes
    return "\n".join(lines)


def write_json(path: str, rows: List[Row], info: Dict[str, Any], argv: List[str]) -> None:
    data = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "argv": argv,
        "machine": info,
        "machine_line": machine_line(info),
        "figures": [row.as_dict() for row in rows],
    }
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True, default=str)
        handle.write("\n")
    os.replace(tmp, path)
