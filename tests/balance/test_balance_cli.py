"""The ``planner balance`` command: design, rebalance, JSON metrics, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.cli import main


@pytest.fixture
def units_file(tmp_path, grid) -> str:
    """A 6x6 grid of random workloads saved as a GeoPackage."""
    path = tmp_path / "units.gpkg"
    grid(6, 6, np.random.default_rng(1).uniform(1, 5, 36)).to_file(path)
    return str(path)


def test_design_writes_the_plan_and_prints_metrics(units_file, tmp_path, capsys) -> None:
    """--json prints the metrics; the CSV maps every unit to a territory."""
    out = tmp_path / "plan.csv"
    code = main(["balance", "--units", units_file, "--weight", "w", "--territories", "3",
                 "--tolerance", "0.05", "--out", str(out), "--json"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["metrics"]["n_territories"] == 3
    assert payload["metrics"]["max_abs_deviation"] <= 0.05
    plan = pd.read_csv(out)
    assert len(plan) == 36 and plan["territory_id"].nunique() == 3


def test_rebalance_with_a_move_budget(units_file, tmp_path, capsys) -> None:
    """--baseline with --max-moved moves at most that many units (no account counts)."""
    base = tmp_path / "base.json"
    base.write_text(json.dumps({f"u{i}": "A" if i % 6 < 2 else "B" for i in range(36)}))
    out = tmp_path / "plan.json"
    code = main(["balance", "--units", units_file, "--weight", "w", "--baseline", str(base),
                 "--max-moved", "3", "--tolerance", "0", "--out", str(out)])
    assert code == 3  # a tolerance of 0 is missed: the budget binds, the plan is written
    text = capsys.readouterr().out
    assert "moved from baseline: 3 units" in text
    assert "the move budget binds" in text
    plan = json.loads(out.read_text())
    assert len(plan) == 36


def test_an_impossible_request_is_a_clear_error(units_file, tmp_path, capsys) -> None:
    """More territories than units exits 2 with the reason and the fix."""
    code = main(["balance", "--units", units_file, "--weight", "w", "--territories", "40",
                 "--out", str(tmp_path / "x.csv"), "--json"])
    assert code == 2
    payload = json.loads(capsys.readouterr().out)
    assert payload["error"] == "InputError"
    assert "k=40 territories but only 36 units" in payload["message"]


@pytest.mark.parametrize("flags", [[], ["--best-effort"]])
def test_a_missed_tolerance_writes_the_best_plan_and_exits_3(
    units_file, tmp_path, capsys, flags
) -> None:
    """An unreachable tolerance still writes the plan; exit 3 and the miss are reported."""
    out = tmp_path / "plan.csv"
    code = main(["balance", "--units", units_file, "--weight", "w", "--territories", "7",
                 "--tolerance", "0", "--out", str(out), "--json", *flags])
    assert code == 3
    assert len(pd.read_csv(out)) == 36
    payload = json.loads(capsys.readouterr().out)
    assert payload["tolerance_met"] is False
    assert payload["missed_by"] == pytest.approx(payload["metrics"]["max_abs_deviation"], abs=1e-6)
    assert "outside the tolerance of 0.00%" in payload["message"]


def test_reps_from_a_csv_name_the_territories(units_file, tmp_path, capsys) -> None:
    """--reps with home coordinates gives one territory per rep, named by rep id."""
    reps = tmp_path / "reps.csv"
    reps.write_text("rep_id,home_latitude,home_longitude\nann,33.44,-87.0\nbob,33.44,-86.95\n")
    out = tmp_path / "plan.csv"
    code = main(["balance", "--units", units_file, "--weight", "w", "--reps", str(reps),
                 "--tolerance", "0.1", "--out", str(out)])
    assert code == 0
    assert "distance to rep home" in capsys.readouterr().out
    assert set(pd.read_csv(out)["territory_id"]) == {"ann", "bob"}


def test_balance_reads_the_units_of_a_workspace_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`planner balance --units <workspace.gpkg>` balances the workspace's units layer."""
    ws = tmp_path / "g.gpkg"
    assert main(["sample", "georgia", str(ws)]) == 0
    out = tmp_path / "plan.csv"
    code = main(
        ["balance", "--units", str(ws), "--weight", "TotPop90", "-k", "10", "--out", str(out)]
    )
    assert code == 0, capsys.readouterr()
    plan = pd.read_csv(out, dtype=str)
    assert len(plan) == 159
    assert plan["territory_id"].nunique() == 10


def test_workload_bounds_and_queen_contiguity_from_the_cli(units_file, tmp_path, capsys) -> None:
    """--max-workload caps every territory; --contiguity queen is recorded in the plan."""
    out = tmp_path / "plan.csv"
    code = main(["balance", "--units", units_file, "--weight", "w", "--territories", "3",
                 "--tolerance", "0.1", "--max-workload", "1e9", "--contiguity", "queen",
                 "--out", str(out), "--json"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["parameters"]["contiguity"] == "queen"
    assert payload["parameters"]["max_workload"] == 1e9
