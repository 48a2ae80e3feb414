"""Comparing rows in place finds exactly what comparing by key finds.

:func:`planner.store.diff.diff_aligned` is the fast path of a commit (rows
kept where they were); whenever it answers, the answer must equal
:func:`planner.store.diff.diff_table`'s, change for change and in order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.store.diff import diff_aligned, diff_table

KEY = ("scenario_id", "account_id", "territory_id")
COLUMNS = [*KEY, "cause", "share"]


def _frame(rows: list[tuple[str, str, str | None, str | None, float]]) -> pd.DataFrame:
    data = {c: [r[i] for r in rows] for i, c in enumerate(COLUMNS)}
    frame = pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in data.items() if c != "share"})
    frame["share"] = np.asarray(data["share"], dtype=float)
    return frame


_edits = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=30),
        st.sampled_from(["territory", "cause", "share", "swap", "missing", "copy"]),
        st.sampled_from(["T1", "T2", "T3", None]),
    ),
    max_size=8,
)


@settings(max_examples=120, deadline=None)
@given(st.integers(min_value=1, max_value=30), _edits, st.integers(min_value=0, max_value=3))
def test_in_place_comparison_equals_comparison_by_key(
    n: int, edits: list[tuple[int, str, str | None]], seed: int
) -> None:
    """Moves, swaps, missing keys, copies of another row's key: same changes, same order."""
    rng = np.random.default_rng(seed)
    rows = [
        ("S1", f"A{i % max(1, n - 2)}", f"T{i % 3 + 1}", "spatial", float(rng.integers(0, 3)))
        for i in range(n)
    ]
    rows = list(dict.fromkeys(rows))  # unique rows ...
    seen: set[tuple[str, str, str | None]] = set()
    rows = [r for r in rows if not (r[:3] in seen or seen.add(r[:3]))]  # ... and unique keys
    before = _frame(rows)
    after_rows = [list(r) for r in rows]
    for pos, what, value in edits:
        i = pos % len(after_rows)
        if what == "territory":
            after_rows[i][2] = value
        elif what == "cause":
            after_rows[i][3] = value
        elif what == "share":
            after_rows[i][4] = float("nan") if value is None else 2.5
        elif what == "swap":
            j = (i + 1) % len(after_rows)
            after_rows[i][2], after_rows[j][2] = after_rows[j][2], after_rows[i][2]
        elif what == "missing":
            after_rows[i][1] = None
        else:  # another row's key
            j = (i + 1) % len(after_rows)
            after_rows[i][:3] = after_rows[j][:3]
    after = _frame([tuple(r) for r in after_rows])  # type: ignore[misc]
    fast = diff_aligned("memberships", before, after, COLUMNS, KEY)
    slow = diff_table("memberships", before, after, COLUMNS, KEY)
    if fast is not None:
        assert fast.changes == slow.changes
        assert fast.unique_after == slow.unique_after


def test_rows_in_another_order_are_left_to_the_comparison_by_key() -> None:
    """Reordered rows do not line up: the in-place comparison declines."""
    before = _frame([("S1", "A1", "T1", "x", 1.0), ("S1", "A2", "T1", "x", 1.0)])
    after = before.iloc[::-1].reset_index(drop=True)
    assert diff_aligned("memberships", before, after, COLUMNS, KEY) is None
    assert not diff_table("memberships", before, after, COLUMNS, KEY).changes


def test_a_moved_account_is_a_delete_and_an_insert() -> None:
    """Changing the territory (a key column) in place deletes the old row and inserts the new."""
    before = _frame([("S1", "A1", "T1", "x", 1.0), ("S1", "A2", "T1", "x", 1.0)])
    after = before.copy()
    after.loc[1, "territory_id"] = "T2"
    fast = diff_aligned("memberships", before, after, COLUMNS, KEY)
    assert fast is not None
    assert [(c.op, c.key) for c in fast.changes] == [
        ("delete", "S1\x1fA2\x1fT1"),
        ("insert", "S1\x1fA2\x1fT2"),
    ]
