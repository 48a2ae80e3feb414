"""Quota proposals: a total split by revenue, accounts, history or a blend, saved as targets."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.access import AccessDeniedError, scope_for
from planner.errors import InputError
from planner.reports import allocate, propose_quotas, save_quotas, store_opportunities
from planner.workspace import Workspace
from tests.reports.conftest import LEAVES, SCENARIO

weights_lists = st.lists(
    st.one_of(st.just(0.0), st.floats(0.001, 1e9, allow_nan=False)), min_size=1, max_size=40
).filter(lambda w: sum(w) > 0)


@settings(max_examples=100, deadline=None)
@given(weights=weights_lists, steps=st.integers(1, 10_000), step=st.sampled_from([1, 5, 1000]))
def test_allocate_sums_to_the_total_in_whole_steps(
    weights: list[float], steps: int, step: int
) -> None:
    """A total of whole steps: parts sum to it exactly, are whole steps, within a step of share."""
    total = float(steps * step)
    parts = allocate(weights, total, step=step)
    assert parts.sum() == total
    assert (parts >= 0).all()
    assert np.all(np.mod(parts, step) == 0)
    exact = np.asarray(weights) / sum(weights) * total
    assert np.all(np.abs(parts - exact) < step)
    assert np.all(parts[np.asarray(weights) == 0] == 0)


@settings(max_examples=100, deadline=None)
@given(
    weights=weights_lists,
    total=st.integers(1, 10**9),
    step=st.sampled_from([1, 7, 100, 1000, 25_000]),
)
def test_allocate_any_total_keeps_the_sum_and_the_proportions(
    weights: list[float], total: int, step: int
) -> None:
    """A total that is no whole number of steps: the remainder goes to the largest part."""
    parts = allocate(weights, float(total), step=step)
    assert parts.sum() == total
    assert (parts >= 0).all()
    exact = np.asarray(weights) / sum(weights) * total
    assert np.all(np.abs(parts - exact) < 2 * step)
    off_step = np.mod(parts, step) != 0
    assert off_step.sum() <= 1


def test_allocate_refuses_what_cannot_be_split() -> None:
    with pytest.raises(InputError, match="cannot be split") as info:
        allocate([0.0, 0.0], 100.0)
    assert "every weight is 0" in str(info.value)
    with pytest.raises(InputError, match="negative"):
        allocate([1.0, -1.0], 100.0)
    with pytest.raises(InputError, match="total 0"):
        allocate([1.0], 0.0)
    with pytest.raises(InputError, match="step -5"):
        allocate([1.0], 10.0, step=-5)


def test_revenue_proposal_follows_the_accounts_revenue(helsinki: Workspace) -> None:
    """Per leaf territory: basis = its accounts' revenue; parts in steps summing to the total."""
    proposal = propose_quotas(
        helsinki, SCENARIO, total=10_000_000, period="2027-Q1", basis="revenue", step=1000
    )
    assert list(proposal["territory_id"]) == list(LEAVES)
    members = helsinki.memberships(SCENARIO).merge(helsinki.accounts, on="account_id")
    revenue = members.groupby("territory_id")["annual_revenue"].sum()
    assert proposal.set_index("territory_id")["basis_value"].to_dict() == pytest.approx(
        revenue.to_dict()
    )
    assert proposal["proposed"].sum() == 10_000_000
    assert proposal["share"].sum() == pytest.approx(1.0)
    assert np.all(np.abs(proposal["proposed"] - proposal["share"] * 10_000_000) < 1000)
    assert proposal["last_actual"].isna().all()  # no opportunities stored


def test_accounts_per_rep_shares_a_territory_among_its_owners(helsinki: Workspace) -> None:
    """Per user: a second owner of HEL-1 takes half its accounts; a manager of HEL takes none."""
    assoc = helsinki.associations(SCENARIO)
    extra = assoc.iloc[[0]].assign(rep_id="hel-rep-2")
    helsinki.set_rows("associations", SCENARIO, pd.concat([assoc, extra], ignore_index=True))
    proposal = propose_quotas(
        helsinki, SCENARIO, total=1200, period="2027", basis="accounts", per="rep"
    )
    counts = helsinki.memberships(SCENARIO).groupby("territory_id").size()
    basis = proposal.set_index("rep_id")["basis_value"]
    assert set(basis.index) == {"hel-rep-1", "hel-rep-2", "hel-rep-3", "hel-rep-4"}
    assert basis["hel-rep-1"] == counts["HEL-1"] / 2
    assert basis["hel-rep-2"] == counts["HEL-2"] + counts["HEL-1"] / 2
    assert proposal["proposed"].sum() == 1200
    assert "Annankatu area" in proposal.set_index("rep_id").loc["hel-rep-2", "territories"]


def test_history_counts_what_was_won_in_the_periods_before(
    helsinki: Workspace, opportunities: pd.DataFrame
) -> None:
    """2026-Q4 from 2026-Q3's wins (HEL-1 300, HEL-2 100); two periods back adds Q2 (HEL-3 1000)."""
    store_opportunities(helsinki, opportunities)
    one = propose_quotas(helsinki, SCENARIO, total=4000, period="2026-Q4", basis="history")
    by = one.set_index("territory_id")
    assert by["basis_value"].to_dict() == {"HEL-1": 300, "HEL-2": 100, "HEL-3": 0, "HEL-4": 0}
    assert by["proposed"].to_dict() == {"HEL-1": 3000, "HEL-2": 1000, "HEL-3": 0, "HEL-4": 0}
    assert by["last_actual"].to_dict() == by["basis_value"].to_dict()
    two = propose_quotas(
        helsinki, SCENARIO, total=1400, period="2026-Q4", basis="history", lookback=2
    )
    assert two.set_index("territory_id")["proposed"].to_dict()["HEL-3"] == 1000
    reps = propose_quotas(helsinki, SCENARIO, total=4, period="2026-Q4", basis="history", per="rep")
    assert reps.set_index("rep_id")["proposed"].to_dict() == {
        "hel-rep-1": 3, "hel-rep-2": 1, "hel-rep-3": 0, "hel-rep-4": 0
    }  # fmt: skip


def test_blend_mixes_the_shares_by_weight(helsinki: Workspace, opportunities: pd.DataFrame) -> None:
    """Blend = weighted mean of the bases' shares; no weights: the bases that have data."""
    store_opportunities(helsinki, opportunities)
    kw = {"total": 1_000_000.0, "period": "2026-Q4"}
    revenue = propose_quotas(helsinki, SCENARIO, basis="revenue", **kw)  # type: ignore[arg-type]
    history = propose_quotas(helsinki, SCENARIO, basis="history", **kw)  # type: ignore[arg-type]
    blend = propose_quotas(
        helsinki,
        SCENARIO,
        basis="blend",
        weights={"revenue": 3, "history": 1},
        **kw,  # type: ignore[arg-type]
    )
    expected = 0.75 * revenue["share"] + 0.25 * history["share"]
    assert blend["share"].to_numpy() == pytest.approx(expected.to_numpy())
    equal = propose_quotas(helsinki, SCENARIO, basis="blend", **kw)  # type: ignore[arg-type]
    accounts = propose_quotas(helsinki, SCENARIO, basis="accounts", **kw)  # type: ignore[arg-type]
    mean = (revenue["share"] + history["share"] + accounts["share"]) / 3
    assert equal["share"].to_numpy() == pytest.approx(mean.to_numpy())


def test_bad_requests_name_every_problem(helsinki: Workspace) -> None:
    """Total, period, basis, step and weights are all reported at once."""
    with pytest.raises(InputError, match="no quotas can be proposed") as info:
        propose_quotas(
            helsinki, SCENARIO, total=0, period="next year", basis="gut",  # type: ignore[arg-type]
            step=0, weights={"mood": 1},
        )  # fmt: skip
    text = str(info.value)
    for part in ("total 0", "unknown period 'next year'", "unknown basis 'gut'", "step 0",
                 "unknown weight mood", "basis is not blend"):  # fmt: skip
        assert part in text
    with pytest.raises(InputError, match="no opportunities are stored"):
        propose_quotas(helsinki, SCENARIO, total=1, period="2026", basis="history")
    with pytest.raises(InputError, match="total -5"):
        propose_quotas(helsinki, SCENARIO, total=-5, period="2026")


def test_no_basis_data_is_refused(helsinki: Workspace, opportunities: pd.DataFrame) -> None:
    """Nothing won before the period; no revenue; no owner for a per-rep proposal."""
    store_opportunities(helsinki, opportunities)
    with pytest.raises(InputError, match="nothing was won in 2025-Q4"):
        propose_quotas(helsinki, SCENARIO, total=1, period="2026-Q1", basis="history")
    accounts = helsinki.accounts.assign(annual_revenue=float("nan"))
    helsinki.set_table("accounts", accounts)
    with pytest.raises(InputError, match="no annual revenue"):
        propose_quotas(helsinki, SCENARIO, total=1, period="2026")
    helsinki.set_rows("associations", SCENARIO, helsinki.associations(SCENARIO).iloc[0:0])
    with pytest.raises(InputError, match="no user owns a territory"):
        propose_quotas(helsinki, SCENARIO, total=1, period="2026", basis="accounts", per="rep")


def test_an_edited_proposal_is_saved_as_targets(helsinki: Workspace) -> None:
    """Edited values are kept; same key replaced; a bad edit names its row; scope checked."""
    proposal = propose_quotas(helsinki, SCENARIO, total=4000, period="2027-Q1", basis="accounts")
    proposal.loc[0, "proposed"] = 1234.0
    items = save_quotas(helsinki, SCENARIO, proposal, period="2027-Q1", user="hel-planner")
    assert len(items) == 4
    targets = helsinki.rows("targets", SCENARIO)
    new = targets[targets["period"] == "2027-Q1"].set_index("territory_id")
    assert new.loc["HEL-1", "value"] == 1234.0 and new["rep_id"].isna().all()
    assert helsinki.audit["action"].iloc[-1] == "propose_quotas"
    proposal["proposed"] = proposal["proposed"].astype(object)
    proposal.loc[2, "proposed"] = "a lot"
    proposal.loc[3, "proposed"] = -1
    with pytest.raises(InputError, match="not numbers") as info:
        save_quotas(helsinki, SCENARIO, proposal, period="2027-Q1")
    assert info.value.problems[0].rows == (3, 4)
    rep = scope_for(helsinki, "hel-rep-1", scenario_id=SCENARIO)
    with pytest.raises(AccessDeniedError, match="may not set target"):
        save_quotas(helsinki, SCENARIO, proposal.iloc[:2], period="2027-Q1", scope=rep)
    assert math.isclose(len(helsinki.rows("targets", SCENARIO)), 24)
