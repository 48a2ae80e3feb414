"""The Balance page's library pieces: kept units and territories as locks, the curve's frontier.

The page itself is tested headless in ``tests/app/test_balance_controls.py``;
these check the rules those pieces keep on any input.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.balance import TradeoffCurve
from planner.balance.scenario import scenario_assignment, territory_owners
from planner.errors import InputError
from planner.samples import sample_path
from planner.services.balance_charts import tradeoff_frontier
from planner.services.balance_locks import scenario_locks
from planner.workspace import Workspace, open_workspace


@pytest.fixture(scope="module")
def helsinki() -> Workspace:
    """The Helsinki sample: four territories, each owned by a rep."""
    return open_workspace(sample_path("helsinki"))


def test_kept_territory_and_units_become_one_set_of_locks(helsinki: Workspace) -> None:
    """A kept territory is frozen with all its units; a kept unit is pinned where it is."""
    base = scenario_assignment(helsinki, "2026-plan")
    unit = str(base.index[base == "HEL-2"][0])
    locks = scenario_locks(helsinki, "2026-plan", keep=["HEL-1"], units=[unit])
    assert locks.territories == frozenset({"HEL-1"})
    assert {u for u, t in locks.units.items() if t == "HEL-1"} == set(base.index[base == "HEL-1"])
    assert locks.units[unit] == "HEL-2"
    assert len(locks.units) == int((base == "HEL-1").sum()) + 1


def test_locks_around_reps_name_each_territorys_owner(helsinki: Workspace) -> None:
    """A design centred on reps names territories by rep id: the locks follow the owners."""
    base = scenario_assignment(helsinki, "2026-plan")
    owners = territory_owners(helsinki, "2026-plan")
    unit = str(base.index[base == "HEL-3"][0])
    locks = scenario_locks(helsinki, "2026-plan", keep=["HEL-1"], units=[unit], around_reps=True)
    assert locks.territories == frozenset({owners["HEL-1"]})
    assert locks.units[unit] == owners["HEL-3"]


def test_nothing_kept_is_no_lock_and_unknown_names_are_refused(helsinki: Workspace) -> None:
    """No choice, no lock; an unknown territory and an unknown unit are named at once."""
    assert scenario_locks(helsinki, "2026-plan").units == {}
    with pytest.raises(InputError, match="locks do not match the plan") as caught:
        scenario_locks(helsinki, "2026-plan", keep=["NOPE"], units=["no-such-unit"])
    text = str(caught.value)
    assert "NOPE" in text and "no-such-unit" in text


def test_ownerless_territories_cannot_be_kept_around_reps(small_workspace: Workspace) -> None:
    """Around reps, a kept unit of a territory with no owner is refused, naming it."""
    sid = small_workspace.active_scenario_id()
    base = scenario_assignment(small_workspace, sid)
    owners = territory_owners(small_workspace, sid)
    ownerless = sorted(set(base.astype(str)) - set(owners))
    if not ownerless:
        pytest.skip("every territory of the small workspace has an owner")
    unit = str(base.index[base.astype(str) == ownerless[0]][0])
    with pytest.raises(InputError, match="no owner rep"):
        scenario_locks(small_workspace, sid, units=[unit], around_reps=True)


def _curve(points: list[tuple[float, float, float]], baseline: float) -> TradeoffCurve:
    frame = pd.DataFrame(
        [
            {"budget_accounts": b, "moved_accounts": m, "max_abs_deviation": d, "moved_units": 1}
            for b, m, d in points
        ]
    )
    return TradeoffCurve(frame, baseline, baseline, ())


_points = st.lists(
    st.tuples(
        st.floats(0, 500, allow_nan=False) | st.just(math.inf),
        st.floats(0, 500, allow_nan=False),
        st.floats(0, 1, allow_nan=False),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(
    points=_points, baseline=st.floats(0, 1), shown=st.tuples(st.floats(0, 500), st.floats(0, 1))
)
def test_the_plan_shown_is_never_below_the_frontier(
    points: list[tuple[float, float, float]], baseline: float, shown: tuple[float, float]
) -> None:
    """The frontier falls as more accounts move, and meets or passes under the plan shown."""
    data, frontier = tradeoff_frontier(_curve(points, baseline), chosen=shown)
    assert frontier["moved_accounts"].is_monotonic_increasing
    assert frontier["max_abs_deviation"].is_monotonic_decreasing
    assert (data["kind"] == "shown").sum() == 1 and (data["kind"] == "current").sum() == 1
    # step-after: the frontier's value at x is its last corner at or before x
    for x, dev in zip(data["moved_accounts"], data["max_abs_deviation"], strict=True):
        at_x = frontier[frontier["moved_accounts"] <= x + 1e-9]["max_abs_deviation"]
        assert float(at_x.iloc[-1]) <= dev + 1e-12
