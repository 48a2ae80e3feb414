"""The one way in: ``import planner as tp`` gives the five jobs, their parameters and the errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import planner as tp
from planner.samples import sample_path


def test_the_jobs_and_their_parameters_are_at_the_top(tmp_path: Path) -> None:
    """Open, assign (and save), balance, export and scope, with nothing deeper than ``tp.``."""
    ws = tp.open_workspace(tp.open_workspace(sample_path("georgia")).save(tmp_path / "g.gpkg"))
    result = tp.assign(ws, save=True, user="ga-planner")
    assert len(result.memberships) >= len(ws.accounts) - len(result.unassigned)
    assert ws.store is not None and ws.store.changes()[0].action == "assign accounts"
    units = ws.units.assign(accounts=1.0)
    plan = tp.balance(units, tp.BalanceParams(k=4, weight="accounts", seed=0))
    assert plan.assignment.nunique() == 4
    out = tp.export(ws, tmp_path / "csv", "csv")
    assert out.files
    scope = tp.scope_for(ws, "ga-planner")
    assert scope.can("edit")
    assert callable(tp.route) and tp.RouteParams is not None


def test_errors_are_one_family() -> None:
    """Every error the library raises on purpose is a tp.PlannerError."""
    with pytest.raises(tp.PlannerError):
        tp.open_workspace("/nonexistent/plan.gpkg")
    assert issubclass(tp.ConflictError, tp.WorkspaceError)
    assert issubclass(tp.InputError, tp.PlannerError)
