"""Reliability suite: show the fault matrix in the terminal summary when it was built."""

from __future__ import annotations

from typing import Any


def pytest_terminal_summary(terminalreporter: Any) -> None:
    try:
        from test_fault_matrix import MATRIX_FILE
    except ImportError:  # the matrix module was not collected in this run
        return
    if MATRIX_FILE:
        terminalreporter.section("fault matrix")
        terminalreporter.write_line(MATRIX_FILE[1])
        terminalreporter.write_line(f"(also written to {MATRIX_FILE[0]})")
