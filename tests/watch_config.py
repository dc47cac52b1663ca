"""The pack config of a log-watching sensor test: the logs live under a test's temporary folder.

``tmp/clientlogs/*.log`` (avtar client logs) and ``tmp/gsan/{gsan,err}.log`` (GSAN's), folders
created; Salt events off and no settling, so a test sees what it wrote at the next poll.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Mapping


def watch_config(tmp: str, servers: Mapping[str, Any], window: int = 0, **sensor: Any) -> Dict[str, Any]:
    """``servers`` as given; ``window`` the dedup window; ``sensor`` keys over the section's."""
    clients, gsan = os.path.join(tmp, "clientlogs"), os.path.join(tmp, "gsan")
    os.makedirs(clients, exist_ok=True)
    os.makedirs(gsan, exist_ok=True)
    section: Dict[str, Any] = {
        "client_log_paths": [os.path.join(clients, "*.log")],
        "gsan_log_paths": [os.path.join(gsan, "gsan.log"), os.path.join(gsan, "err.log")],
        "dedup_window_seconds": window,
        "salt_events": False,
        "settle_seconds": 0.0,
    }
    section.update(sensor)
    return {"servers": dict(servers), "sensor": section}
