"""The report's per-territory totals (integer spreading) against a plain pandas roll-up."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.reports import territory_report


def _tree(parents: list[int]) -> pd.DataFrame:
    """Territory ``T{i}`` under ``T{parents[i-1]}`` (a parent always earlier): a forest."""
    ids = [f"T{i}" for i in range(len(parents) + 1)]
    up = [None] + [ids[p % (i + 1)] if p >= 0 else None for i, p in enumerate(parents)]
    return pd.DataFrame({"territory_id": ids, "name": ids, "parent_id": up})


def _expected(tree: pd.DataFrame, members: pd.DataFrame, accounts: pd.DataFrame) -> pd.DataFrame:
    parent = dict(zip(tree["territory_id"], tree["parent_id"], strict=True))
    rows = []
    for acc, tid, primary in members.itertuples(index=False):
        while primary and isinstance(tid, str):  # a root's parent is missing
            rows.append((acc, tid))
            tid = parent[tid]
    spread = pd.DataFrame(rows, columns=["account_id", "territory_id"]).drop_duplicates()
    figures = accounts.drop_duplicates("account_id")
    spread = spread.merge(figures, on="account_id", how="left").fillna({"annual_revenue": 0.0})
    per = spread.groupby("territory_id")
    out = pd.DataFrame({"accounts": per.size(), "annual_revenue": per["annual_revenue"].sum()})
    return out.reindex(tree["territory_id"]).fillna(0.0)


@settings(max_examples=60, deadline=None)
@given(
    parents=st.lists(st.integers(-1, 20), min_size=0, max_size=8),
    picks=st.lists(st.tuples(st.integers(0, 12), st.integers(0, 8), st.booleans()), max_size=40),
    revenue=st.lists(st.floats(0, 1e6), min_size=10, max_size=10),
)
def test_totals_match_a_plain_roll_up(
    parents: list[int], picks: list[tuple[int, int, bool]], revenue: list[float]
) -> None:
    tree = _tree(parents)
    n = len(tree)
    members = pd.DataFrame(
        [(f"A{a}", f"T{t % n}", primary) for a, t, primary in picks],
        columns=["account_id", "territory_id", "is_primary"],
    )
    accounts = pd.DataFrame(  # A0..A9 known (A3 twice: the first counts), A10..A12 unknown
        {
            "account_id": [f"A{i}" for i in range(10)] + ["A3"],
            "annual_revenue": [*revenue, 5.0],
        }
    )
    report = territory_report(tree, members, accounts).set_index("territory_id")
    want = _expected(tree, members, accounts)
    assert report["accounts"].tolist() == want.loc[report.index, "accounts"].astype(int).tolist()
    np.testing.assert_allclose(
        report["annual_revenue"].to_numpy(), want.loc[report.index, "annual_revenue"].to_numpy()
    )
    assert report["workload_h"].eq(0.0).all()
