"""The pack's performance suite (``make bench`` / ``python -m bench``); see bench/README.md.

Each figure is measured beside its reference in the same run, printed as one table and
written to ``bench/results.json``. Not a timed test: CI does not run it.
"""
