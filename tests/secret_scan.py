"""Search everything a run produced for any piece of a configured secret.

A ``Secret`` is a name and a value; what is searched for is the value itself, each of its lines
and every 12-character window of its letters and digits (``+/=`` kept), so a key that leaks
re-wrapped, JSON-escaped or cut in half is still found (windows start every 4 characters, so
any 15 consecutive characters of it are). Windows that also occur in freshly made
keys of the same kind (the constant ``openssh-key-v1`` header, ``MIIEow...`` of every RSA key)
are dropped: they are format, not secret.

``LogCapture`` records every log record of the loggers it is given (the action's logger and
the root logger) at DEBUG, with tracebacks formatted.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, Iterable, Iterator, List, Mapping, Optional, Sequence

WINDOW = 12
STEP = 4


def windows(value: str) -> Iterator[str]:
    compact = "".join(c for c in value if c.isalnum() or c in "+/=")
    for i in range(0, max(len(compact) - WINDOW + 1, 1), STEP):
        piece = compact[i : i + WINDOW]
        if len(piece) == WINDOW and len(set(piece)) >= 7:  # "AAAAAAAAAAAA" is nobody's secret
            yield piece


@dataclass(frozen=True)
class Secret:
    name: str
    value: str
    common: FrozenSet[str] = frozenset()  # windows every key of this format has

    def fragments(self) -> List[str]:
        found = {self.value.strip()} if len(self.value.strip()) >= 6 else set()
        for line in self.value.replace("\\n", "\n").splitlines():
            line = line.strip()
            if len(line) >= 8 and not line.startswith("-----") and line not in self.common:
                found.add(line)
        found.update(w for w in windows(self.value) if w not in self.common)
        return sorted(found)


def common_windows(*reference_keys: str) -> FrozenSet[str]:
    """Windows shared by independent keys of one format: format, not secret."""
    sets = [set(windows(k)) | set(k.splitlines()) for k in reference_keys]
    shared: set = set()
    for i, a in enumerate(sets):
        for b in sets[i + 1 :]:
            shared |= a & b
    return frozenset(shared)


def flatten(value: Any) -> Iterator[str]:
    """Every string in a result (keys and leaves), unescaped, plus the repr of anything else."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield str(k)
            yield from flatten(v)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from flatten(item)
    elif isinstance(value, bytes):
        yield value.decode("utf-8", "replace")
    else:
        yield str(value)


def find_leaks(secrets: Sequence[Secret], texts: Mapping[str, str]) -> Dict[str, List[str]]:
    """{"<secret> in <where>": [fragments seen]} for every secret fragment found in a text."""
    leaks: Dict[str, List[str]] = {}
    for secret in secrets:
        fragments = secret.fragments()
        assert fragments, f"secret {secret.name} has nothing to search for"
        for where, text in texts.items():
            seen = [f for f in fragments if f in text]
            if seen:
                leaks[f"{secret.name} in {where}"] = seen[:3]
    return leaks


class _Collect(logging.Handler):
    def __init__(self, sink: List[str]) -> None:
        super().__init__(logging.DEBUG)
        self.sink = sink
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.sink.append(self.format(record))
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is itself evidence
            self.sink.append(f"{record.name} UNFORMATTABLE {record.msg!r} {record.args!r}")


@dataclass
class LogCapture:
    """Context manager: records of ``loggers`` (names or Logger objects) at DEBUG, while it runs."""

    loggers: Iterable[Any]
    lines: List[str] = field(default_factory=list)
    _saved: List[Any] = field(default_factory=list)

    def __enter__(self) -> LogCapture:
        handler = _Collect(self.lines)
        for item in self.loggers:
            logger = logging.getLogger(item) if isinstance(item, str) or item is None else item
            self._saved.append((logger, handler, logger.level))
            logger.addHandler(handler)
            logger.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: object) -> None:
        for logger, handler, level in self._saved:
            logger.removeHandler(handler)
            logger.setLevel(level)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def exception_text(exc: Optional[BaseException]) -> str:
    if exc is None:
        return ""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
