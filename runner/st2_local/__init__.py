"""Local runner: runs this pack's workflows with the real Orquesta engine, without StackStorm.

For `make demo` and the workflow tests only. Production runs in StackStorm: this package is a
stand-in for the StackStorm services the pack uses (st2api and the alias-execution API, the
rules engine, the scheduler's concurrency policies, the workflow engine, the Python and
inquirer runners, the notifier's action trigger, `chatops.post_message`), written from
StackStorm v3.9.0's code, not a replacement for them. Where they differ, StackStorm is right.
"""

BANNER = (
    "st2_local: LOCAL RUNNER for development and demos. The workflow runs on the real Orquesta "
    "engine, but this is not StackStorm: production runs in StackStorm (st2 3.7+)."
)
