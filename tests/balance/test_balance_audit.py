"""Fairness audit: the plan beside a ReCom ensemble of plans valid under the same rules."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from planner.balance import BalanceParams, Locks, design_territories, prepare_units
from planner.balance.audit import audit_plan
from planner.balance.audit_report import write_audit_report
from planner.cli import main
from planner.errors import InputError
from tests.balance.conftest import grid_neighbours, is_connected


@pytest.fixture(scope="module")
def grid_plan(grid):
    """A 8x6 grid of random workloads split into 4 territories within 5 %."""
    units = grid(8, 6, np.random.default_rng(2).uniform(1, 5, 48))
    units["revenue"] = np.random.default_rng(3).uniform(0, 100, 48)
    plan = design_territories(units, weight="w", k=4, tolerance=0.05)
    return units, plan


def test_every_sampled_plan_keeps_the_rules(grid_plan) -> None:
    """Each ensemble plan is within the tolerance; metrics are finite; the plan is ranked."""
    units, plan = grid_plan
    result = audit_plan(units, plan, weight="w", n_plans=60, columns=["revenue"], seed=1)
    assert len(result.ensemble) == 60
    assert (result.ensemble["max_abs_deviation"] <= result.tolerance + 1e-9).all()
    assert np.isfinite(result.ensemble.to_numpy(float)).all()
    ranks = result.ranks().set_index("metric")
    assert set(ranks.index) >= {"max_abs_deviation", "polsby_popper_mean", "spread_revenue"}
    assert ((ranks["as_good_as_share"] >= 0) & (ranks["as_good_as_share"] <= 1)).all()
    assert ranks.loc["max_abs_deviation", "plan"] == pytest.approx(
        plan.metrics.max_abs_deviation, abs=1e-9)


def test_the_chain_moves_and_is_seeded(grid_plan) -> None:
    """Different plans are sampled, and the same seed gives the same ensemble."""
    units, plan = grid_plan
    a = audit_plan(units, plan, weight="w", n_plans=30, seed=5)
    b = audit_plan(units, plan, weight="w", n_plans=30, seed=5)
    assert a.ensemble["cut_edges"].nunique() > 1
    pd.testing.assert_frame_equal(a.ensemble, b.ensemble)


def test_sampled_plans_are_contiguous(grid_plan, monkeypatch) -> None:
    """Every plan the chain yields is contiguous on the grid (checked without the library)."""
    import planner.balance.audit as audit_module

    units, plan = grid_plan
    seen: list[np.ndarray] = []
    original = audit_module._measure

    def spy(bu, values, extra, k, moved, labels):
        seen.append(labels.copy())
        return original(bu, values, extra, k, moved, labels)

    monkeypatch.setattr(audit_module, "_measure", spy)
    audit_plan(units, plan, weight="w", n_plans=20, seed=2)
    nbrs = grid_neighbours(8, 6)
    ids = prepare_units(units).ids
    for labels in seen:
        for t in np.unique(labels):
            assert is_connected({ids[i] for i in np.flatnonzero(labels == t)}, nbrs)


def test_bad_requests_list_every_problem(grid_plan) -> None:
    """n_plans below 1 and a missing column come back together."""
    units, plan = grid_plan
    with pytest.raises(InputError, match="the audit request is invalid") as info:
        audit_plan(units, plan, weight="w", n_plans=0, columns=["nope"])
    assert len(info.value.problems) == 2


def test_report_files(grid_plan, tmp_path) -> None:
    """The HTML report has one histogram per metric with the plan marked; CSV has the plan row."""
    units, plan = grid_plan
    result = audit_plan(units, plan, weight="w", n_plans=20, seed=0)
    page = write_audit_report(result, tmp_path / "audit.html").read_text()
    assert page.count("<svg") == len(result.senses)
    assert page.count(">plan</text>") == len(result.senses)
    assert "Every sampled plan keeps these rules of the plan" in page
    assert "<li>every territory within 5.00% of an equal share</li>" in page
    frame = pd.read_csv(write_audit_report(result, tmp_path / "audit.csv"))
    assert len(frame) == 21 and bool(frame["plan"].iloc[0])


def test_cli_audit_prints_ranks_and_writes_the_report(grid_plan, tmp_path, capsys) -> None:
    """``planner audit`` reads units and a plan, prints JSON ranks and writes the HTML."""
    units, plan = grid_plan
    units_path = tmp_path / "units.gpkg"
    units.to_file(units_path)
    plan_path = tmp_path / "plan.csv"
    plan.to_frame().to_csv(plan_path, index=False)
    report = tmp_path / "audit.html"
    code = main(["audit", "--units", str(units_path), "--plan", str(plan_path), "--weight", "w",
                 "--plans", "25", "--report", str(report), "--json"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["n_plans"] == 25
    assert {r["metric"] for r in payload["ranks"]} >= {"max_abs_deviation", "cut_edges"}
    assert report.exists()


def test_the_ensemble_keeps_the_tolerance_the_plan_was_made_with(grid_plan) -> None:
    """A plan designed at 5 % is compared with plans within 5 %; a bare assignment with 2 %."""
    units, plan = grid_plan
    assert audit_plan(units, plan, weight="w", n_plans=5).tolerance == pytest.approx(
        max(0.05, plan.metrics.max_abs_deviation + 1e-9))
    bare = audit_plan(units, plan.assignment, weight="w", n_plans=5)
    assert bare.tolerance == pytest.approx(max(0.02, plan.metrics.max_abs_deviation + 1e-9))


def test_moves_from_a_baseline_are_measured_per_plan(grid_plan) -> None:
    """With a baseline, each plan counts what it moves away from it (here: workload ``w``)."""
    units, plan = grid_plan
    before = plan.assignment.copy()
    result = audit_plan(units, plan, weight="w", n_plans=20, seed=2, baseline=before,
                        moved_column="w")  # fmt: skip
    assert result.plan["moved_accounts"] == 0.0  # the plan against itself
    assert result.senses["moved_accounts"] == "lower"
    assert (result.ensemble["moved_accounts"] >= 0).all()
    assert result.ensemble["moved_accounts"].max() > 0  # the chain moves units
    # one unit given to another territory in the baseline: the plan now moves exactly its w
    unit = before.index[0]
    other = next(t for t in sorted(set(before)) if t != before[unit])
    shifted = before.copy()
    shifted[unit] = other
    again = audit_plan(units, plan, weight="w", n_plans=5, seed=2, baseline=shifted,
                       moved_column="w")  # fmt: skip
    expected = float(units.loc[units["unit_id"].astype(str) == str(unit), "w"].iloc[0])
    assert again.plan["moved_accounts"] == pytest.approx(expected)
    with pytest.raises(InputError, match="no column 'nope'"):
        audit_plan(units, plan, weight="w", n_plans=5, baseline=before, moved_column="nope")


def test_cli_audit_compares_moves_from_a_baseline(grid_plan, tmp_path, capsys) -> None:
    """``planner audit --baseline`` adds the moves of every plan to the ranks."""
    units, plan = grid_plan
    units_path = tmp_path / "units.gpkg"
    units.to_file(units_path)
    plan_path = tmp_path / "plan.csv"
    plan.to_frame().to_csv(plan_path, index=False)
    code = main(["audit", "--units", str(units_path), "--plan", str(plan_path), "--weight", "w",
                 "--plans", "10", "--baseline", str(plan_path), "--moved-column", "w", "--json"])
    assert code == 0
    ranks = {r["metric"]: r for r in json.loads(capsys.readouterr().out)["ranks"]}
    assert ranks["moved_accounts"]["plan"] == 0.0


def _reps(units, capacities: list[float], xs: list[float]) -> gpd.GeoDataFrame:
    """Reps ``r0, r1...`` living at ``xs`` on the middle row of the 1 km grid."""
    return gpd.GeoDataFrame(
        {"rep_id": [f"r{i}" for i in range(len(xs))], "capacity_h_per_week": capacities},
        geometry=gpd.points_from_xy(xs, [3_703_000.0] * len(xs)), crs=units.crs)


def _loads(units, result_labels: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(result_labels, weights=units["w"].to_numpy(float), minlength=k)


def test_capacity_targets_shift_the_ensembles_sizes(grid, monkeypatch) -> None:
    """A plan for reps of 20 h and 40 h is compared with plans that keep the 1:2 split,
    not with equal halves: every sampled plan is within the tolerance of its own target."""
    import planner.balance.audit as audit_module

    units = grid(8, 6)
    reps = _reps(units, [20.0, 40.0], [501_500.0, 506_500.0])
    plan = design_territories(units, BalanceParams(weight="w", tolerance=0.05), reps=reps)
    seen: list[np.ndarray] = []
    original = audit_module._measure

    def spy(bu, values, extra, targets, moved, labels):
        seen.append(labels.copy())
        return original(bu, values, extra, targets, moved, labels)

    monkeypatch.setattr(audit_module, "_measure", spy)
    result = audit_plan(units, plan, weight="w", n_plans=40, seed=3)
    assert result.rules["targets"] == "plan"
    assert (result.ensemble["max_abs_deviation"] <= result.tolerance + 1e-9).all()
    order = {t: i for i, t in enumerate(sorted(plan.targets))}  # labels follow sorted ids
    for labels in seen[1:]:
        loads = _loads(units, labels, 2)
        assert loads[order["r1"]] == pytest.approx(2 * loads[order["r0"]], rel=0.11)
    assert len({tuple(x) for x in seen}) > 3  # the chain moves


@pytest.mark.parametrize("seed", [0, 7])
def test_locked_units_and_territories_never_move_in_any_sampled_plan(grid, monkeypatch,
                                                                      seed: int) -> None:
    """Locked units stay in their territory and a locked territory stays whole, in every plan."""
    import planner.balance.audit as audit_module

    units = grid(8, 6, np.random.default_rng(seed).uniform(1, 3, 48))
    base = design_territories(units, weight="w", k=4, tolerance=0.05, seed=seed)
    kept = base.assignment.iloc[0]
    pins = [u for u in base.assignment.index if base.assignment[u] != kept][:3]
    locks = Locks.keep_territories(base, [kept], units=pins)
    params = BalanceParams(weight="w", tolerance=0.05, locked=locks)
    seen: list[np.ndarray] = []
    original = audit_module._measure

    def spy(bu, values, extra, targets, moved, labels):
        seen.append(labels.copy())
        return original(bu, values, extra, targets, moved, labels)

    monkeypatch.setattr(audit_module, "_measure", spy)
    result = audit_plan(units, base, params=params, n_plans=60, seed=seed)
    ids = list(prepare_units(units).ids)
    first = seen[0]
    fixed = [ids.index(u) for u in locks.units]
    for labels in seen[1:]:
        assert (labels[fixed] == first[fixed]).all()
    assert len({tuple(x) for x in seen}) > 3
    assert result.rules["locked_territories"] == [kept]
    assert result.rules["locked_units"] == len(locks.units)
    assert any("locked units kept" in line for line in result.rules_text())


def _beyond(units, reps, labels: np.ndarray, limit: float) -> int:
    """Units whose estimated drive from their territory's rep exceeds ``limit`` (computed here)."""
    cent = units.geometry.centroid
    homes = [(p.x, p.y) for p in reps.geometry]  # labels follow sorted rep ids r0, r1
    out = 0
    for i, t in enumerate(labels.tolist()):
        hours = np.hypot(cent.iloc[i].x - homes[t][0], cent.iloc[i].y - homes[t][1]) * 1.3 / 40e3
        out += int(hours > limit + 1e-9)
    return out


def test_a_hard_drive_limit_is_kept_and_a_missing_one_is_said(grid, monkeypatch) -> None:
    """With the reps, no sampled plan puts a unit beyond the limit (the same chain without
    the limit does); without them, the audit says the limit is not kept."""
    import planner.balance.audit as audit_module

    units = grid(8, 4)
    reps = _reps(units, [40.0, 40.0], [501_500.0, 506_500.0])
    params = BalanceParams(weight="w", tolerance=0.25, max_drive_h=0.15)
    plan = design_territories(units, params, reps=reps)
    seen: list[np.ndarray] = []
    original = audit_module._measure

    def spy(bu, values, extra, targets, moved, labels):
        seen.append(labels.copy())
        return original(bu, values, extra, targets, moved, labels)

    monkeypatch.setattr(audit_module, "_measure", spy)
    kept = audit_plan(units, plan, params=params, reps=reps, n_plans=60, seed=1)
    assert kept.rules["drive_limit_h"] == 0.15
    assert any("hard drive limit of 0.15 h" in line for line in kept.rules_text())
    assert all(_beyond(units, reps, labels, 0.15) == 0 for labels in seen)
    seen.clear()
    told = audit_plan(units, plan, params=params, n_plans=60, seed=1)
    assert "not kept" in (told.rules["drive_note"] or "")
    assert any(_beyond(units, reps, labels, 0.15) > 0 for labels in seen)


def test_cli_audit_keeps_the_reps_capacities_and_kept_territories(grid, tmp_path, capsys) -> None:
    """``planner audit --reps --keep`` samples under the plan's targets and locks, and says so."""
    units = grid(8, 6)
    reps = _reps(units, [20.0, 40.0], [501_500.0, 506_500.0])
    plan = design_territories(units, BalanceParams(weight="w", tolerance=0.05), reps=reps)
    units_path, plan_path, reps_path = (tmp_path / "u.gpkg", tmp_path / "p.csv",
                                        tmp_path / "r.gpkg")
    units.to_file(units_path)
    reps.to_file(reps_path)
    plan.to_frame().to_csv(plan_path, index=False)
    code = main(["audit", "--units", str(units_path), "--plan", str(plan_path), "--weight", "w",
                 "--plans", "20", "--reps", str(reps_path), "--keep", "r0", "--json"])
    assert code == 0, capsys.readouterr()
    payload = json.loads(capsys.readouterr().out)
    assert payload["rules"]["targets"] == "plan"
    assert payload["rules"]["locked_territories"] == ["r0"]
    code = main(["audit", "--units", str(units_path), "--plan", str(plan_path), "--weight", "w",
                 "--plans", "5", "--keep", "nobody"])
    assert code == 2
