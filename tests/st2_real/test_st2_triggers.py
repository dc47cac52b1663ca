"""The pack's trigger types as st2's sensor container validates what sensors dispatch.

``sensor_service.dispatch`` goes through st2's ``TriggerDispatcherService``, which validates
each payload against the trigger type's ``payload_schema`` with st2's ``CustomValidator``
(``[system] validate_trigger_payload``, on by default) and drops the trigger when that fails,
including when the schema itself is not valid under st2's metaschema.
"""

from __future__ import annotations

from typing import Any, List

import pytest


def pack_trigger_types() -> List[Any]:
    from st2common.persistence.trigger import TriggerType

    return list(TriggerType.query(pack="avamar"))


def test_the_pack_declares_trigger_types(st2: Any) -> None:
    names = {t.name for t in pack_trigger_types()}
    assert "backup_auth_failure" in names, names


def test_st2_can_validate_payloads_of_every_trigger_type(st2: Any) -> None:
    """A schema st2's CustomValidator refuses makes st2 drop EVERY payload of that trigger."""
    import jsonschema
    from st2common.util import schema as util_schema

    problems = []
    for trigger_type in pack_trigger_types():
        try:
            util_schema.CustomValidator.check_schema(trigger_type.payload_schema or {})
        except jsonschema.SchemaError as exc:
            problems.append(f"{trigger_type.ref}: {exc.message} (at {'/'.join(map(str, exc.path)) or '<schema>'})")
    assert not problems, "st2 would drop every dispatch of:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "overrides, accepted",
    [({}, True), ({"server": "{{ st2kv.system.x }}"}, False), ({"count": 0}, False)],
    ids=["as_sent", "jinja_in_server", "no_failures"],
)
def test_st2s_sensor_dispatch_validates_a_backup_auth_failure(st2: Any, overrides: Any, accepted: bool) -> None:
    import st2engine

    try:
        st2engine.dispatch_trigger("avamar.backup_auth_failure", st2engine.auth_failure_payload(**overrides))
    except ValueError as exc:
        assert not accepted, f"st2 refused a payload the sensor sends: {exc}"
        return
    assert accepted, f"st2 dispatched a payload the schema should refuse: {overrides}"
