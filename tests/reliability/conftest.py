"""Reliability suite: show the fault matrix in the terminal summary when it was built."""

from __future__ import annotations

from typing import Any


def pytest_terminal_summary(terminalreporter: Any) -> None:
    try:
        from test_fault_matrix import RESULTS, matrix_table
    except ImportError:  # the matrix module was not collected in this run
        return
    if RESULTS:
        terminalreporter.section("fault matrix")
        terminalreporter.write_line(matrix_table())
