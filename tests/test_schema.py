"""The schema module: the shared missing-value check."""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.schema import is_missing


def test_is_missing_knows_every_empty_cell_and_nothing_else() -> None:
    """None, NaN (Python and NumPy), pd.NA and both NaTs are missing; real values are not."""
    for empty in (None, float("nan"), np.float64("nan"), pd.NA, pd.NaT, np.datetime64("NaT")):
        assert is_missing(empty), repr(empty)
    for value in ("", "x", 0, 0.0, False, np.datetime64("2026-01-01"), pd.Timestamp("2026-01-01")):
        assert not is_missing(value), repr(value)
