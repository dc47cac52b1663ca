"""Pure serial planning and the safety checks around every serial write.

Rules (from the KB and the pack's safety rules):

* A new serial must be above GSAN's minimal serial, above MCS's serial and above every serial
  GSAN was seen using; ``propose_serial`` adds a margin and rounds up to a multiple of 1000
  (round numbers like the KB's 38000 are easy to recognise in logs and chat).
* ``avmaint publickey`` refuses a serial below a threshold nobody can read
  (``MSG_ERR_INVALID_PARAMETERS``, the KB: "keep choosing a larger number"), so
  ``next_attempt`` grows the step geometrically (``margin * 2**attempt``), always strictly
  upward and never past 2^63-1.
* A serial is never lowered (``check_new_serial``), and MCS's serial is written only with the
  value GSAN verifiably accepted (``check_mcs_write``); writing the value MCS already holds is a
  no-op so a re-run converges.
"""

from __future__ import annotations

from typing import Optional

from avamar_pack.errors import UnsafeOperation, ValidationError
from avamar_pack.schema_defaults import default

MAX_SERIAL = 2**63 - 1
ROUND_TO = 1000
# How far above every serial seen the first try goes (config remediation.serial_margin; its
# default lives in config.schema.yaml). GSAN refuses serials up to a threshold it does not
# reveal; the KB's own example jumped ~9,500 above MCS (28451 -> 38000) after 28500 was refused.
# A first try that high is accepted at once on almost every node (`make bench`), and a 64-bit
# serial space makes the jump free.
DEFAULT_MARGIN = default("remediation.serial_margin")
MAX_ATTEMPT = 40  # margin * 2**40 is far above any real serial; more attempts mean something is wrong

WRITE = "write"
NOOP = "noop"


def _int(value: object, what: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{what} must be an integer, got {type(value).__name__}")
    if value < minimum or value > MAX_SERIAL:
        raise ValidationError(f"{what} {value} is outside {minimum}..2^63-1")
    return value


def round_up(value: int, step: int = ROUND_TO) -> int:
    """Smallest multiple of ``step`` that is >= ``value``."""
    return -(-value // step) * step


def propose_serial(gsan_minserial: int, mcs_serial: int, highest_seen: Optional[int], margin: int) -> int:
    """Smallest multiple of 1000 >= max(gsan_minserial, mcs_serial, highest_seen) + margin."""
    floor = max(_int(gsan_minserial, "gsan_minserial"), _int(mcs_serial, "mcs_serial"))
    if highest_seen is not None:
        floor = max(floor, _int(highest_seen, "highest_seen"))
    proposed = round_up(floor + _int(margin, "margin", minimum=1))
    if proposed > MAX_SERIAL:
        raise UnsafeOperation(f"no serial above {floor} + margin {margin} fits in 2^63-1")
    return proposed


def next_attempt(refused_serial: int, attempt: int, margin: int) -> int:
    """The serial to try after ``refused_serial`` was refused (``attempt`` = 1 for the first retry).

    ``refused + margin * 2**attempt`` rounded up to a multiple of 1000: strictly above the
    refused serial, with steps that double so a few attempts cover a large gap.
    """
    refused = _int(refused_serial, "refused_serial")
    margin = _int(margin, "margin", minimum=1)
    attempt = _int(attempt, "attempt")
    if attempt > MAX_ATTEMPT:
        raise UnsafeOperation(f"attempt {attempt} is past the {MAX_ATTEMPT} allowed: stop and investigate")
    proposed = round_up(refused + margin * (2**attempt))
    if proposed > MAX_SERIAL:
        raise UnsafeOperation(f"the next serial after {refused} would pass 2^63-1")
    return proposed


def check_new_serial(serial: int, gsan_minserial: int, mcs_serial: int) -> None:
    """Refuse a serial that would lower (or not raise) GSAN's or MCS's serial."""
    serial = _int(serial, "serial")
    if serial <= _int(gsan_minserial, "gsan_minserial"):
        raise UnsafeOperation(f"serial {serial} is not above GSAN's minimal serial {gsan_minserial}")
    if serial <= _int(mcs_serial, "mcs_serial"):
        raise UnsafeOperation(f"serial {serial} is not above MCS's serial {mcs_serial}: it would lower MCS")


def check_mcs_write(serial: int, verified_gsan_serial: Optional[int], current_mcs_serial: int) -> str:
    """``"write"`` when MCS may take ``serial``, ``"noop"`` when it already has it; else UnsafeOperation.

    MCS may only receive the serial GSAN verifiably holds (read back from the keytable after
    ``avmaint publickey``), and only if that raises MCS's serial.
    """
    serial = _int(serial, "serial")
    current = _int(current_mcs_serial, "current_mcs_serial")
    if verified_gsan_serial is None:
        raise UnsafeOperation(f"GSAN has not been verified to hold serial {serial}: MCS left unchanged")
    verified = _int(verified_gsan_serial, "verified_gsan_serial")
    if serial != verified:
        raise UnsafeOperation(
            f"serial {serial} is not the serial GSAN verifiably holds ({verified}): MCS left unchanged"
        )
    if serial == current:
        return NOOP
    if serial < current:
        raise UnsafeOperation(f"writing {serial} would lower MCS's serial {current}: MCS left unchanged")
    return WRITE
