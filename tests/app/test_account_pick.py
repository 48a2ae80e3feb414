"""The account picker's memory: a click replaces the shown part of the pick, keeps the rest."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ui.account_actions import picked_after


def test_rows_on_another_page_stay_picked() -> None:
    kept = ["A1", "A2"]  # picked on page 1
    assert picked_after(kept, ["B1", "B2", "B3"], [0, 2]) == ["A1", "A2", "B1", "B3"]


def test_unselecting_a_shown_row_drops_it_only() -> None:
    assert picked_after(["A1", "B2", "C3"], ["B1", "B2"], []) == ["A1", "C3"]
    assert picked_after(["A1", "B2"], ["B1", "B2"], [1]) == ["A1", "B2"]


def test_stale_rows_past_the_table_are_ignored() -> None:
    assert picked_after([], ["A1"], [0, 5, -1]) == ["A1"]


ids = st.lists(st.sampled_from([f"A{i}" for i in range(12)]), unique=True, max_size=12)


@given(kept=ids, shown=ids, data=st.data())
def test_the_pick_is_the_hidden_part_plus_the_selected_rows(
    kept: list[str], shown: list[str], data: st.DataObject
) -> None:
    rows = data.draw(st.lists(st.integers(0, max(len(shown) - 1, 0)), max_size=12))
    got = picked_after(kept, shown, rows)
    assert len(got) == len(set(got))  # no id twice
    selected = {shown[r] for r in rows if r < len(shown)}
    assert set(got) == (set(kept) - set(shown)) | selected
