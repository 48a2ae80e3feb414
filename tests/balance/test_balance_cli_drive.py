"""``planner balance`` with a drive limit: options, the report, what binds, clear refusals."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from planner.cli import main
from tests.balance.conftest import make_grid

SIZE_M = 5000.0


@pytest.fixture
def files(tmp_path) -> tuple[str, str]:
    """A 12 x 12 grid of 5 km counties and four reps' homes, as GeoPackages."""
    units = make_grid(12, 12, np.random.default_rng(0).lognormal(0, 0.3, 144), size_m=SIZE_M)
    homes = [shapely.Point(500_000 + SIZE_M * (x + 0.5), 3_700_000 + SIZE_M * (y + 0.5))
             for x, y in [(2, 2), (9, 2), (2, 9), (9, 9)]]
    reps = gpd.GeoDataFrame({"rep_id": list("ABCD")}, geometry=homes, crs=units.crs)
    units.to_file(tmp_path / "units.gpkg")
    reps.to_file(tmp_path / "reps.gpkg")
    return str(tmp_path / "units.gpkg"), str(tmp_path / "reps.gpkg")


def test_design_with_a_hard_drive_limit_reports_it(files, tmp_path, capsys) -> None:
    """--max-drive-h: the plan keeps it, the text says the longest drive and where it binds."""
    units, reps = files
    out = tmp_path / "plan.csv"
    code = main(["balance", "--units", units, "--reps", reps, "--weight", "w",
                 "--max-drive-h", "0.75", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "longest drive from a rep's home" in text and "limit 0.75 h (hard): met" in text
    assert "binds" in text
    assert len(pd.read_csv(out)) == 144


def test_a_limit_out_of_reach_is_refused_with_the_units(files, tmp_path, capsys) -> None:
    """A limit leaving units to nobody exits 2, naming them and the limit that would do."""
    units, reps = files
    code = main(["balance", "--units", units, "--reps", reps, "--weight", "w",
                 "--max-drive-h", "0.3", "--out", str(tmp_path / "p.csv"), "--json"])
    assert code == 2
    payload = json.loads(capsys.readouterr().out)
    assert payload["error"] == "InfeasibleError"
    assert "out of reach of every rep" in payload["message"]
    assert "units u0, u1" in payload["message"]
    assert "raise the drive limit to 0.69 h" in payload["message"]


def test_a_soft_limit_that_costs_the_tolerance_exits_3_naming_it(files, tmp_path, capsys) -> None:
    """A heavy soft limit misses the tolerance: the plan is written, exit 3 says the limit binds."""
    units, reps = files
    out = tmp_path / "plan.json"
    code = main(["balance", "--units", units, "--reps", reps, "--weight", "w",
                 "--max-drive-h", "0.3", "--drive-limit", "soft", "--out", str(out), "--json"])
    assert code == 3
    payload = json.loads(capsys.readouterr().out)
    assert "the drive limit of 0.3 h binds" in payload["message"]
    assert payload["parameters"]["drive"]["drive_limit"] == "soft"
    assert len(json.loads(out.read_text())) == 144


def test_rebalance_within_a_budget_says_what_stays_beyond(files, tmp_path, capsys) -> None:
    """A zero budget cannot bring far units within the limit: exit 3 says how many stay."""
    units, reps = files
    base = tmp_path / "base.csv"
    assert main(["balance", "--units", units, "--reps", reps, "--weight", "w",
                 "--out", str(base)]) == 0
    capsys.readouterr()
    code = main(["balance", "--units", units, "--reps", reps, "--weight", "w",
                 "--baseline", str(base), "--max-moved", "0", "--max-drive-h", "0.75",
                 "--out", str(tmp_path / "plan.csv")])
    assert code == 3
    assert "stay beyond the hard drive limit of 0.75 h" in capsys.readouterr().out


def test_drive_options_are_checked_together(files, tmp_path, capsys) -> None:
    """No reps, a bad kind and a bad penalty: one exit-2 message lists them all."""
    units, _ = files
    code = main(["balance", "--units", units, "--weight", "w", "-k", "4",
                 "--max-drive-h", "-1", "--drive-limit", "firm", "--drive-penalty", "0",
                 "--out", str(tmp_path / "p.csv"), "--json"])
    assert code == 2
    message = json.loads(capsys.readouterr().out)["message"]
    for flag in ("--max-drive-h", "--drive-limit", "--drive-penalty"):
        assert flag in message
    assert "a design with a drive limit or drive compactness needs the reps" in message
