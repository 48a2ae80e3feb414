"""The cycle collector held back during an assignment (:mod:`planner.collector`)."""

from __future__ import annotations

from planner.collector import collector_paused

__all__ = ["collector_paused"]
