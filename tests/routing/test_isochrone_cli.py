"""``planner isochrone``: areas around a point, a rep's home or an account, in the user's scope."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import pytest

from planner.cli import main
from planner.samples import data_dir, write_sample

NETWORK = str(data_dir() / "helsinki_roads.graphml.gz")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def helsinki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Helsinki sample with its road network saved beside it."""
    folder = tmp_path_factory.mktemp("iso")
    path = write_sample("helsinki", folder / "h.gpkg")
    shutil.copy(NETWORK, folder / "h_roads.graphml.gz")
    return path


def test_areas_around_a_point_are_written_as_geojson(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rings.geojson"
    code, got = run(capsys, "isochrone", "--at", "60.1699,24.9384", "--network", NETWORK,
                    "--minutes", "1,3", "--out", str(out))  # fmt: skip
    assert code == 0 and [a["minutes"] for a in got["areas"]] == [3.0, 1.0]
    rings = gpd.read_file(out)
    assert len(rings) == 2 and set(rings["method"]) == {"roads"}


def test_a_reps_home_uses_the_network_saved_beside_the_workspace(
    helsinki: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, got = run(capsys, "isochrone", "-w", str(helsinki), "--rep", "hel-rep-1",
                    "--minutes", "2")  # fmt: skip
    assert code == 0 and got["from"] == "hel-rep-1's home"
    assert got["areas"][0]["method"] == "roads"
    code, est = run(capsys, "isochrone", "-w", str(helsinki), "--rep", "hel-rep-1", "--estimate",
                    "--minutes", "2")  # fmt: skip
    assert code == 0 and est["areas"][0]["method"] == "estimate"


def test_a_rep_may_not_start_from_someone_elses_home_or_account(
    helsinki: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, got = run(capsys, "isochrone", "-w", str(helsinki), "--rep", "hel-rep-2",
                    "--as-user", "hel-rep-1")  # fmt: skip
    assert code != 0 and "may not see user 'hel-rep-2'" in got["message"]
    code, _ = run(capsys, "isochrone", "-w", str(helsinki), "--rep", "hel-rep-1",
                     "--as-user", "hel-rep-1", "--minutes", "1")  # fmt: skip
    assert code == 0


def test_bad_requests_are_explained_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    code, got = run(capsys, "isochrone", "--at", "60,24", "--rep", "x", "--minutes", "5")
    assert code == 2 and "exactly one start" in got["message"]
    assert "need a workspace" in got["message"]
    code, got = run(capsys, "isochrone", "--at", "95,24")
    assert code == 2 and "not a latitude and longitude" in got["message"]
    code, got = run(capsys, "isochrone", "--at", "60,24", "--minutes", "x,-1")
    assert code == 2 and len(got["problems"]) == 2
