"""How long jobs report progress and learn that they should stop.

Every job that can take more than a moment (assignment, balancing, routing,
network builds, imports) takes an optional ``progress`` callable and an
optional ``stop`` callable, both defined here once. The app passes a
progress bar and a "Stop" button; the CLI passes a terminal bar; tests pass
plain functions.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Progress", "Stop", "never_stop", "no_progress", "scaled"]


class Progress(Protocol):
    """Receives the share of work done (0 to 1) and a short message."""

    def __call__(self, fraction: float, message: str, /) -> None: ...


class Stop(Protocol):
    """Answers ``True`` when the caller wants the job to stop early.

    A job that is asked to stop returns the best result it has so far and
    says so in its result; it never raises for a stop.
    """

    def __call__(self) -> bool: ...


def no_progress(fraction: float, message: str, /) -> None:
    """Ignore progress (the default for every job)."""


def never_stop() -> bool:
    """Never ask to stop (the default for every job)."""
    return False


def scaled(progress: Progress | None, start: float, end: float) -> Progress:
    """Return a progress callable mapping 0..1 onto ``start..end`` of ``progress``.

    Lets a job hand a share of its own bar to a step it calls.
    """
    if progress is None:
        return no_progress
    span = end - start

    def report(fraction: float, message: str, /) -> None:
        progress(start + span * min(max(fraction, 0.0), 1.0), message)

    return report
