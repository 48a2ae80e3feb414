"""Turn the library's progress callbacks into Streamlit progress bars."""

from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st

__all__ = ["ProgressBar", "st_progress"]


class ProgressBar:
    """A progress callback ``(fraction, message)`` drawing a Streamlit progress bar.

    Updates are throttled (at most every 0.1 s unless the message changes or
    the work is done), so a tight loop in the library does not flood the
    browser.

    Parameters
    ----------
    label
        Text shown before the first message arrives.
    """

    def __init__(self, label: str = "Working…") -> None:
        self.label = label
        self._bar = st.progress(0.0, text=label)
        self._last_time = 0.0
        self._last_message = label
        self.fraction = 0.0

    def __call__(self, fraction: float, message: str = "") -> None:
        """Show ``fraction`` (0..1) done, with ``message``."""
        value = min(max(float(fraction), 0.0), 1.0)
        text = message or self._last_message
        now = time.monotonic()
        if text == self._last_message and value < 1.0 and now - self._last_time < 0.1:
            self.fraction = value
            return
        self._bar.progress(value, text=text)
        self._last_time, self._last_message, self.fraction = now, text, value

    def clear(self) -> None:
        """Remove the bar."""
        self._bar.empty()


def st_progress(label: str = "Working…") -> Callable[[float, str], None]:
    """Return a progress callback for a long library call, shown as a progress bar.

    Example::

        result = design_territories(ws, params, progress=st_progress("Designing territories"))
    """
    return ProgressBar(label)
