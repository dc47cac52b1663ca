"""Named situations a node can be put in. Each one rebuilds GSAN/MCS state and the .srl."""

from __future__ import annotations

import hashlib
from typing import Any, Dict

from . import engine, inferred
from .state import State

SCENARIOS = (
    "healthy",
    "mcs_restored_old_flush",
    "gsan_rolled_back",
    "keystore_rebuilt",
    "maintenance_running",
    "mcs_down",
    "storm",
)

#: Knobs a scenario or a caller may set (anything else is refused).
KNOB_DEFAULTS: Dict[str, Any] = {
    "restart_seconds": inferred.DEFAULT_RESTART_SECONDS,
    "threshold_extra": inferred.DEFAULT_THRESHOLD_EXTRA,
    "backup_seconds": 0.0,
    "clients": 20,  # storm: how many clients fail
    "gsan_minimal": None,  # explicit overrides of the scenario's serials
    "gsan_max_used": None,
    "mcs_serial": None,
    "refused_backup": "fail",  # fail | hang: what a backup does when GSAN refuses its ticket [I]
    "gsan_log_max_bytes": 0,  # rotate gsan.log to gsan.log.001 past this size (0: never) [I]
}

# (gsan minimal serial, gsan highest used serial, MCS .srl) per scenario.
_SERIALS = {
    "healthy": (20000, 24117, 24118),
    # The KB: GSAN used up to ~28460, MCS restored with .srl 28451; 28500 refused, 38000 accepted.
    "mcs_restored_old_flush": (28000, 28460, 28451),
    # GSAN restored from a checkpoint: lower minimal and used serials, MCS ahead.
    "gsan_rolled_back": (25000, 27500, 30210),
}


def check_knobs(knobs: Dict[str, Any]) -> None:
    unknown = sorted(set(knobs) - set(KNOB_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown knob(s): {', '.join(unknown)}; known: {', '.join(sorted(KNOB_DEFAULTS))}")
    mode = knobs.get("refused_backup", "fail")
    if mode not in inferred.REFUSED_BACKUP_MODES:
        raise ValueError(f"knob refused_backup must be one of {', '.join(inferred.REFUSED_BACKUP_MODES)}")


def apply(root: str, state: State, name: str, now: float, **knobs: Any) -> None:
    """Reset GSAN, MCS and maintenance to scenario `name` (faults and activities are kept)."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    check_knobs(knobs)
    merged = dict(KNOB_DEFAULTS)
    merged.update({k: v for k, v in state.get("knobs", {}).items() if k in KNOB_DEFAULTS})
    merged.update(knobs)
    state["knobs"] = merged
    state["scenario"] = name
    base = "mcs_restored_old_flush" if name == "storm" else name
    minimal, max_used, srl = _SERIALS.get(base, _SERIALS["healthy"])
    minimal = merged["gsan_minimal"] if merged["gsan_minimal"] is not None else minimal
    max_used = merged["gsan_max_used"] if merged["gsan_max_used"] is not None else max_used
    if name == "storm":  # MCS far enough behind that every client of the storm reuses a serial
        srl = min(srl, int(max_used) - int(merged["clients"]) + 1)
    srl = merged["mcs_serial"] if merged["mcs_serial"] is not None else srl
    key_fp = state["mcs"]["key_fp"]
    gsan_key = key_fp
    if name == "keystore_rebuilt":  # GSAN still holds the key of the keystore before the rebuild
        gsan_key = hashlib.sha256(b"the mcecroot key before the keystore was rebuilt").hexdigest()
    if name == "gsan_rolled_back":
        gsan_key = None
    state["gsan"] = {
        "status": "up",
        "minimal_serial": int(minimal),
        "max_used": int(max_used),
        "recent_used": list(range(max(int(max_used) - 9, 1), int(max_used) + 1)),
        "key_fp": gsan_key,
        "rolled_back": name == "gsan_rolled_back",
    }
    engine.write_srl(root, int(srl))
    state["mcs"].update(
        status="down" if name == "mcs_down" else "up",
        up_at=None,
        next_serial=int(srl),
        srl_written=int(srl),
        start_error=None,
        flushed_serial=int(srl),
        flushed_at=now,
    )
    maint = inferred.MAINT_RUNNING if name == "maintenance_running" else inferred.MAINT_IDLE
    state["maintenance"] = dict(
        maint, cp_tag="cp." + engine.now_dt(now).strftime("%Y%m%d%H%M%S"), sched="up", windows="enabled"
    )
    if name == "storm":
        for i in range(1, int(merged["clients"]) + 1):
            engine.run_backup(root, state, f"storm-client-{i:03d}", now)
