"""Make one run of one python action crash, in the pack copy st2 runs (never in the repository).

A crash is what st2's python runner reports when ``run()`` raises: the wrapper process exits 1
with a traceback and the task's result is ``{'stdout': ..., 'stderr': <traceback>, 'exit_code':
1, 'result': 'None'}`` (issue 15). The action file is replaced by a small module that counts its
runs (each run is a new ``python_action_wrapper`` process) and, on run ``at``, defines an action
whose ``run()`` raises; every other run executes the original file unchanged.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from typing import Iterator

_TEMPLATE = '''"""Written by tests/st2_real/st2crash.py: run {at} of this action crashes."""
import os

_COUNTER = {counter!r}
_seen = (int(open(_COUNTER).read()) if os.path.exists(_COUNTER) else 0) + 1
with open(_COUNTER, "w") as _fh:
    _fh.write(str(_seen))

if _seen == {at}:
    from st2common.runners.base_action import Action

    class InjectedCrash(Action):
        def run(self, **kwargs):
            raise RuntimeError("injected crash (tests/st2_real)")
else:
    with open({original!r}) as _fh:
        exec(compile(_fh.read(), {original!r}, "exec"))
'''


@contextmanager
def crash_on_run(pack_dir: str, entry_point: str, at: int, workdir: str) -> Iterator[str]:
    """Within the block, run ``at`` (1-based) of ``actions/<entry_point>`` crashes.

    Yields the counter file (how many runs started)."""
    path = os.path.join(pack_dir, "actions", entry_point)
    original = os.path.join(workdir, "original-" + entry_point.replace("/", "_"))
    counter = os.path.join(workdir, "runs-" + entry_point.replace("/", "_"))
    shutil.copyfile(path, original)
    if os.path.exists(counter):
        os.remove(counter)
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(_TEMPLATE.format(at=at, counter=counter, original=original))
        yield counter
    finally:
        shutil.copyfile(original, path)


def runs_started(counter: str) -> int:
    if not os.path.exists(counter):
        return 0
    with open(counter, encoding="utf-8") as fh:
        return int(fh.read() or 0)
