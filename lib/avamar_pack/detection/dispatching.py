"""Dispatch first, then save: the one rule both sensors' pipelines follow when they send a trigger.

``DetectionEngine`` (the file sensor) and ``serverwatch.ServerWatch`` (the agentless sensor) both
derive from ``Dispatching``: a trigger goes to st2 (``sensor_service.dispatch``) and the state that
accounts for it is saved right after, in one datastore write. Why that order (at least once, never
lost) is argued in ``cursor.py`` ("None lost, none twice"); each pipeline's ``_save`` writes its
own state.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Optional


class Dispatching:
    """The st2 sensor service, a logger, and ``_dispatch``; subclasses write their state in ``_save``."""

    def __init__(self, sensor_service: Any, logger: Optional[Any], logger_name: str) -> None:
        self.service = sensor_service
        self.log = logger or logging.getLogger(logger_name)
        self.dispatched = 0

    def _dispatch(self, trigger: str, payload: Dict[str, Any]) -> None:
        self.service.dispatch(trigger=trigger, payload=payload)
        self.dispatched += 1
        self.log.info("dispatched %s for server %s (count %s)", trigger, payload.get("server"), payload.get("count", 1))
        self._save()

    def _save(self) -> None:
        raise NotImplementedError
