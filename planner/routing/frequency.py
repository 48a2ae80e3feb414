"""The visit rhythm: how many visits an account gets in a run of weeks, exact over time."""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import numpy as np

__all__ = ["WEEKS_PER_MONTH", "id_phase", "visits_in_weeks"]

#: Weeks in an average month (52 weeks over 12 months).
WEEKS_PER_MONTH = 52.0 / 12.0


def id_phase(ids: Iterable[str]) -> np.ndarray:
    """Return a fixed number in ``[0, 1)`` per id (the same in every process, unlike ``hash``)."""
    return np.array(
        [zlib.crc32(str(a).encode("utf-8")) for a in ids], dtype=float
    ) / 2.0**32


def visits_in_weeks(
    per_week: np.ndarray,
    phase: np.ndarray,
    *,
    first_week: int,
    weeks: int,
) -> np.ndarray:
    """Return the visits due in weeks ``first_week`` to ``first_week + weeks - 1`` (accumulator).

    An account visited ``r`` times a week gets ``floor(r (w + 1) + u) -
    floor(r w + u)`` visits in week ``w``, where ``u`` is its phase
    (:func:`id_phase`): a steady rhythm whose long-run average is exactly
    ``r``, spread evenly over a territory's accounts. Over consecutive
    periods the counts add up to exactly the frequency: an account seen
    0.25 times a month gets one visit in about every fourth 4-week plan,
    never none forever.

    Parameters
    ----------
    per_week
        Visits per week of each account (non-negative).
    phase
        Each account's phase, from :func:`id_phase`.
    first_week
        Index of the period's first week (any fixed origin; weeks since
        1 January of year 1 in :func:`~planner.routing.visits.visits_due`).
    weeks
        Length of the period.
    """
    # Round away float noise: 2 visits restated as a rate must give 2, not 1.999999.
    rate = np.clip(np.asarray(per_week, dtype=float), 0.0, None)
    end = np.round(rate * (first_week + weeks) + phase, 9)
    start = np.round(rate * first_week + phase, 9)
    return (np.floor(end) - np.floor(start)).astype(int)
