"""Python's cycle collector held back while many short-lived objects are made.

Preparing territories and locating accounts make hundreds of thousands of
shapely objects (points for the exact test, reprojected shapes). Each batch
of new objects triggers the cycle collector, which then walks every object
alive in the process: with a million accounts in memory (the app's
workspace) that turns 0.1 s of work into a second. None of these objects
form cycles, so collection is held back while the work runs and resumes
after; nothing is lost, only deferred.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]

_LOCK = threading.Lock()
_state = {"depth": 0, "was_enabled": False}


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause :mod:`gc` for the block; nested and concurrent blocks restore it once, at the end."""
    with _LOCK:
        if _state["depth"] == 0:
            _state["was_enabled"] = gc.isenabled()
            gc.disable()
        _state["depth"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _state["depth"] -= 1
            if _state["depth"] == 0 and _state["was_enabled"]:
                gc.enable()
