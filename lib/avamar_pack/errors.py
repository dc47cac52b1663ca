"""Typed errors. Each one says what failed and, for steps that touch a node, what it left.

Messages never contain secrets: callers pass only redacted argv and never a passphrase.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Protocol, Sequence


class AvamarPackError(Exception):
    """Base of every error this pack raises on purpose."""


class ParseError(AvamarPackError, ValueError):
    """Input text (a log line, command output, a file) is not what Avamar writes."""


class ValidationError(AvamarPackError, ValueError):
    """A parameter, payload or config value was refused before anything ran."""


class ConfigError(ValidationError):
    """The pack config is missing a key or holds a value of the wrong type."""


class TransportError(AvamarPackError):
    """A command or file operation could not be carried out on the node."""

    def __init__(self, host: str, what: str, cause: str) -> None:
        self.host = host
        self.what = what
        self.cause = cause
        super().__init__(f"{host}: {what}: {cause}")


class CommandTimeout(TransportError):
    """A command ran past its timeout and was stopped."""


class CommandFailed(AvamarPackError):
    """A command ran and exited non-zero. ``argv`` is already redacted."""

    def __init__(self, host: str, argv: Sequence[str], exit_code: int, output: str) -> None:
        self.host = host
        self.argv = list(argv)
        self.exit_code = exit_code
        self.output = output
        tail = output.strip().splitlines()[-1:] if output.strip() else []
        detail = f": {tail[0][:300]}" if tail else ""
        super().__init__(f"{host}: `{' '.join(self.argv)}` exited {exit_code}{detail}")


class UnsafeOperation(AvamarPackError):
    """A safety rule refused the operation (lowering a serial, unverified serial, ...)."""


class LockHeld(AvamarPackError):
    """Another remediation holds the node lock."""


class PartialResult(Protocol):
    """What a failed action had learned before it failed (``remediation.report.StepReport``)."""

    def as_result(self) -> Dict[str, Any]: ...


class StepFailed(AvamarPackError):
    """A remediation step failed. Names the step and the state it left behind.

    ``report``: the failing action's report as far as it got (attached by ``report.step()`` or
    built by ``report.failed()``); the action returns its fields beside the error."""

    def __init__(
        self,
        step: str,
        reason: str,
        state_left: str,
        cause: Optional[BaseException] = None,
        report: Optional[PartialResult] = None,
    ):
        self.step = step
        self.reason = reason
        self.state_left = state_left
        self.report = report
        self.__cause__ = cause
        super().__init__(f"step {step} failed: {reason}. State left: {state_left}")

    def partial_result(self) -> Dict[str, Any]:
        """The result fields gathered before the failure ({} when no report was attached)."""
        return {} if self.report is None else self.report.as_result()
