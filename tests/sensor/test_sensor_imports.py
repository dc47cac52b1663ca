"""Both sensors find the pack's library with ``enable_common_libs`` off (st2's default) and on.

st2's sensor container puts only its own sandbox path on PYTHONPATH; the loader
(``st2common.util.loader.register_plugin_class``) then appends the sensor's folder. The pack's
``lib/`` is there only with ``[packs] enable_common_libs = True``. The sensor is loaded in a
fresh interpreter exactly so (st2's loader when importable, else its steps written out), from
``/``, and must import ``avamar_pack`` from this pack's ``lib/``, once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACK_LIB = os.path.join(ROOT, "lib")
SENSORS = {
    "AvamarLogSensor": os.path.join(ROOT, "sensors", "avamar_log_sensor.py"),
    "AvamarServerSensor": os.path.join(ROOT, "sensors", "avamar_server_sensor.py"),
}

LOADER = r"""
import importlib.util, json, os, sys
try:
    from st2reactor.sensor.base import PollingSensor, Sensor
    from st2common.util.loader import register_plugin_class
except ImportError:  # no StackStorm: the stand-ins and register_plugin_class's own steps
    from st2_standins import install
    install()
    from st2reactor.sensor.base import PollingSensor, Sensor

    def register_plugin_class(base, path, name):
        folder = os.path.dirname(os.path.realpath(path))
        if folder not in sys.path:
            sys.path.append(folder)
        spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return getattr(module, name)

klass = register_plugin_class(Sensor, sys.argv[1], sys.argv[3])
import avamar_pack
print(json.dumps({"sensor": issubclass(klass, (Sensor, PollingSensor)), "avamar_pack": avamar_pack.__file__,
                  "lib_entries": [p for p in sys.path if os.path.realpath(p) == os.path.realpath(sys.argv[2])]}))
"""


@pytest.mark.parametrize("sensor_class", sorted(SENSORS))
@pytest.mark.parametrize("common_libs", [False, True], ids=["enable_common_libs-off", "enable_common_libs-on"])
def test_the_sensor_loads_in_st2s_sensor_container_path(common_libs, sensor_class) -> None:
    path = [os.path.join(ROOT, "runner")]  # the stand-ins' folder (st2's own packages when installed)
    if common_libs:
        path.insert(0, PACK_LIB)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
    out = subprocess.run(
        [sys.executable, "-c", LOADER, SENSORS[sensor_class], PACK_LIB, sensor_class],
        env=env,
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["sensor"] is True
    assert report["avamar_pack"] == os.path.join(PACK_LIB, "avamar_pack", "__init__.py")
    assert len(report["lib_entries"]) == 1  # added once, and not again when st2 already did
