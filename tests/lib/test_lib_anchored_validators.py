"""A validated name can never carry a newline into argv, a path or a lock file.

Python's ``$`` also matches just before a trailing newline, so ``re.match(r"^[a-z]+$", "ava01\\n")``
accepts the newline (found by the hypothesis property in tests/reliability/test_parser_properties.py).
Every anchored pattern in the library ends in ``\\Z`` instead; the first test keeps it that way
for patterns added later, the others show the validators refusing such values.
"""

from __future__ import annotations

import importlib
import pkgutil
import re

import avamar_pack
import pytest
from avamar_pack import config, trigger_evidence
from avamar_pack.errors import ValidationError
from avamar_pack.node.lock import validate_lock_owner


def _library_patterns():
    for info in pkgutil.walk_packages(avamar_pack.__path__, "avamar_pack."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern):
                yield f"{info.name}.{name}", value.pattern


def test_every_pattern_anchored_at_the_start_is_anchored_at_the_very_end():
    loose = [
        name
        for name, pattern in _library_patterns()
        if isinstance(pattern, str) and pattern.startswith("^") and pattern.endswith("$")
    ]
    assert loose == [], f"end these with \\Z, not $ (which accepts a trailing newline): {loose}"


@pytest.mark.parametrize(
    "validate, good",
    [
        (config.validate_server_name, "ava01"),
        (config.validate_client_name, "/clients/linux-test01"),
        (validate_lock_owner, "st2:5f0c0ffee0c0ffee0c0ffee0"),
    ],
)
@pytest.mark.parametrize("suffix", ["\n", "\r\n", "\n\n", "\x00"])
def test_validators_refuse_a_value_with_a_trailing_newline(validate, good, suffix):
    assert validate(good) == good
    with pytest.raises(ValidationError):
        validate(good + suffix)


def test_server_settings_refuse_a_host_with_a_trailing_newline():
    raw = {"servers": {"ava01": {"transport": "ssh", "host": "ava01.example.com\n", "username": "admin"}}}
    with pytest.raises(ValidationError):
        config.server_settings(raw, "ava01")


def test_a_payload_naming_a_server_with_a_newline_is_ignored_whole():
    payload = {"server": "ava01\n", "source": "file", "count": 1, "clients": ["/clients/a"]}
    evidence = trigger_evidence.from_payload(payload, "ava01")
    assert evidence.evidence == [] and evidence.trigger is None
    assert evidence.ignored == ["detection.server is missing or not a server name: the payload was ignored"]
