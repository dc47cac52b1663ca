"""What both sensor shells share: the pack's lib/ on sys.path, and triggers declared in metadata.

st2's sensor container puts only the sensor's own folder (sensors/) on the import path; the
pack's lib/ is added by st2 only with ``[packs] enable_common_libs = True``. Importing this
module adds it when it is missing (and nothing when st2 already did), so each sensor imports it
first. It has no .yaml: st2 registers sensors by their metadata, so it is never taken for a sensor.
"""

import os
import sys
from typing import Any, Mapping

PACK_LIB_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib")


def _on_path(folder: str) -> bool:
    real = os.path.realpath(folder)
    return any(os.path.realpath(entry or os.curdir) == real for entry in sys.path)


if os.path.isdir(os.path.join(PACK_LIB_DIR, "avamar_pack")) and not _on_path(PACK_LIB_DIR):
    sys.path.insert(0, PACK_LIB_DIR)


class TriggersFromMetadata:
    """The sensors' triggers are declared in their metadata (``sensors/*.yaml``): nothing to do
    when rules that use them are created, changed or deleted. Mixed in before st2's base class."""

    def add_trigger(self, trigger: Mapping[str, Any]) -> None:
        pass

    def update_trigger(self, trigger: Mapping[str, Any]) -> None:
        pass

    def remove_trigger(self, trigger: Mapping[str, Any]) -> None:
        pass
