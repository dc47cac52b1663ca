"""Serial planning and the safety checks."""

import pytest
from avamar_pack import serials
from avamar_pack.errors import UnsafeOperation, ValidationError

MAX = 2**63 - 1


@pytest.mark.parametrize(
    "gsan,mcs,seen,margin,expected",
    [
        (20000, 28451, None, 1000, 30000),
        (20000, 28451, 28451, 1000, 30000),
        (20000, 28451, 36999, 1000, 38000),
        (38000, 38000, None, 1000, 39000),
        (0, 0, None, 1, 1000),
        (29000, 28000, None, 1000, 30000),  # multiple of 1000 exactly: kept
        (0, 0, 5, 1000, 2000),
    ],
)
def test_propose_serial(gsan, mcs, seen, margin, expected):
    proposed = serials.propose_serial(gsan, mcs, seen, margin)
    assert proposed == expected
    assert proposed % 1000 == 0 and proposed >= max(gsan, mcs, seen or 0) + margin
    serials.check_new_serial(proposed, gsan, mcs)  # always passes the safety check


@pytest.mark.parametrize(
    "args", [(-1, 0, None, 1), (0, 0, None, 0), (True, 0, None, 1), (0, "1", None, 1), (0, 0, -3, 1)]
)
def test_propose_serial_validation(args):
    with pytest.raises(ValidationError):
        serials.propose_serial(*args)


def test_propose_serial_overflow_is_unsafe():
    with pytest.raises(UnsafeOperation):
        serials.propose_serial(MAX - 10, 0, None, 1000)


def test_next_attempt_grows_strictly():
    # The KB: MCS near 28451, 28500 refused, 38000 accepted.
    tried = [28500]
    for attempt in range(1, 5):
        tried.append(serials.next_attempt(tried[-1], attempt, 1000))
    assert tried == [28500, 31000, 35000, 43000, 59000]
    assert all(b > a for a, b in zip(tried, tried[1:]))


def test_next_attempt_limits():
    with pytest.raises(UnsafeOperation, match="2\\^63-1"):
        serials.next_attempt(MAX - 1000, 1, 1000)
    with pytest.raises(UnsafeOperation, match="past the"):
        serials.next_attempt(1000, serials.MAX_ATTEMPT + 1, 1000)
    with pytest.raises(ValidationError):
        serials.next_attempt(1000, -1, 1000)
    with pytest.raises(ValidationError):
        serials.next_attempt(1000, 1, 0)


@pytest.mark.parametrize(
    "serial,gsan,mcs,ok",
    [
        (38000, 20000, 28451, True),
        (28451, 20000, 28451, False),
        (20000, 20000, 1, False),
        (1, 20000, 28451, False),
        (28452, 20000, 28451, True),
    ],
)
def test_check_new_serial(serial, gsan, mcs, ok):
    if ok:
        assert serials.check_new_serial(serial, gsan, mcs) is None
    else:
        with pytest.raises(UnsafeOperation, match="not above"):
            serials.check_new_serial(serial, gsan, mcs)


@pytest.mark.parametrize(
    "serial,verified,current,outcome",
    [
        (38000, 38000, 28451, "write"),
        (38000, 38000, 38000, "noop"),  # a re-run after the write converges
        (38000, None, 28451, "unverified"),
        (38000, 39000, 28451, "mismatch"),
        (38000, 38000, 40000, "lower"),
    ],
)
def test_check_mcs_write(serial, verified, current, outcome):
    if outcome in ("write", "noop"):
        assert serials.check_mcs_write(serial, verified, current) == outcome
    else:
        message = {"unverified": "not been verified", "mismatch": "verifiably holds", "lower": "lower"}[outcome]
        with pytest.raises(UnsafeOperation, match=message):
            serials.check_mcs_write(serial, verified, current)
