"""Local runner: runs this pack's workflows with the real Orquesta engine, without StackStorm.

For `make demo` and the workflow tests only. Production runs in StackStorm: this package is a
faithful stand-in for the few StackStorm services the pack uses (action parameter rendering,
the Python runner, `core.ask` Inquiries, `chatops.post_message`), not a replacement for them.
"""

BANNER = (
    "st2_local: LOCAL RUNNER for development and demos. The workflow runs on the real Orquesta "
    "engine, but this is not StackStorm: production runs in StackStorm (st2 3.7+)."
)
