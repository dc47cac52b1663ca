"""Both sensors find the pack's library with ``enable_common_libs`` off (st2's default) and on.

st2's sensor container puts only its own sandbox path on PYTHONPATH; the loader
(``st2common.util.loader.register_plugin_class``) then appends the sensor's folder. The pack's
``lib/`` is there only with ``[packs] enable_common_libs = True``. The sensor is loaded in a
fresh interpreter exactly so (st2's loader when importable, else its steps written out), from
``/``, and must import ``avamar_pack`` from this pack's ``lib/``, once.
"""

from __future__ import annotations

import os

import pytest
from packkit import PACK_LIB, PACK_ROOT, SENSOR_BASES, load_in_st2_path

SENSORS = {
    "AvamarLogSensor": os.path.join(PACK_ROOT, "sensors", "avamar_log_sensor.py"),
    "AvamarServerSensor": os.path.join(PACK_ROOT, "sensors", "avamar_server_sensor.py"),
}


@pytest.mark.parametrize("sensor_class", sorted(SENSORS))
@pytest.mark.parametrize("common_libs", [False, True], ids=["enable_common_libs-off", "enable_common_libs-on"])
def test_the_sensor_loads_in_st2s_sensor_container_path(common_libs, sensor_class) -> None:
    path = [os.path.join(PACK_ROOT, "runner")]  # the stand-ins' folder (st2's own packages when installed)
    if common_libs:
        path.insert(0, PACK_LIB)
    report = load_in_st2_path(path, [(SENSORS[sensor_class], sensor_class)], SENSOR_BASES)
    assert report["loaded"] == {os.path.basename(SENSORS[sensor_class]): True}
    assert report["avamar_pack"] == os.path.join(PACK_LIB, "avamar_pack", "__init__.py")
    assert len(report["lib_entries"]) == 1  # added once, and not again when st2 already did
