"""The Dask path: workers read partitions themselves and agree with the in-process path."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from planner.assign import assign_accounts
from planner.assign.cluster import assign_partitioned, partition_paths
from planner.assign.partitions import read_partition
from planner.cli import main
from planner.errors import ClusterUnavailableError, InputError


def _voronoi_territories(n: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    frame = shapely.box(-85.0, 31.0, -81.0, 35.0)
    seeds = np.column_stack([-85 + 4 * rng.random(n), 31 + 4 * rng.random(n)])
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame)
    polys = shapely.intersection(shapely.get_parts(cells), frame)
    return gpd.GeoDataFrame(
        {"territory_id": [f"T{i:03d}" for i in range(len(polys))]}, geometry=polys, crs=4326
    )


def _write_partitions(folder: Path, n: int, parts: int, seed: int) -> pd.DataFrame:
    """Accounts over and around the territories, some on a border, in CSV and Parquet files."""
    rng = np.random.default_rng(seed)
    lon = -85.5 + 5 * rng.random(n)
    lat = 30.5 + 5 * rng.random(n)
    lon[:5], lat[:5] = -83.0, 31.0  # on the frame's border
    frame = pd.DataFrame(
        {"account_id": [f"A{i:05d}" for i in range(n)], "longitude": lon, "latitude": lat}
    )
    for k, chunk in enumerate(np.array_split(np.arange(n), parts)):
        piece = frame.iloc[chunk]
        if k % 2:
            piece.to_csv(folder / f"accounts-{k}.csv", index=False)
        else:
            piece.to_parquet(folder / f"accounts-{k}.parquet", index=False)
    return frame


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """One run on a 2-worker local cluster, shared by the tests below (starting one costs)."""
    folder = tmp_path_factory.mktemp("parts")
    territories = _voronoi_territories(60, 3)
    accounts = _write_partitions(folder, 3000, 4, 5)
    bad = folder / "accounts-bad.csv"
    bad.write_text("account_id,longitude,latitude\nB1,-83.2,32.1\nB2,east,32.0\nB3,-83.0,95\n")
    out = folder / "out"
    result = assign_partitioned(folder, territories, workers=2, out=out)
    return territories, accounts, result, out


@pytest.mark.slow
def test_cluster_matches_in_process(local_run: tuple) -> None:
    """Counts and memberships from the workers equal assign_accounts on all accounts at once."""
    territories, accounts, result, out = local_run
    points = gpd.GeoDataFrame(
        accounts[["account_id"]],
        geometry=gpd.points_from_xy(accounts["longitude"], accounts["latitude"]),
        crs=4326,
    )
    ours = assign_accounts(points, territories)
    assert result.accounts == len(accounts)
    assert result.unassigned == len(ours.unassigned)
    assert result.counts.to_dict() == ours.counts().to_dict()
    parts = sorted(p for p in out.glob("part-*.parquet") if "unassigned" not in p.name)
    members = pd.concat([pd.read_parquet(p) for p in parts])
    unassigned = pd.concat([pd.read_parquet(p) for p in out.glob("part-*-unassigned.parquet")])
    assert sorted(unassigned["account_id"]) == sorted(ours.unassigned["account_id"])
    got = set(zip(members["account_id"], members["territory_id"].astype(str), strict=True))
    want = set(
        zip(
            ours.memberships["account_id"],
            ours.memberships["territory_id"].astype(str),
            strict=True,
        )
    )
    assert got == want


@pytest.mark.slow
def test_bad_partition_is_reported_and_others_kept(local_run: tuple) -> None:
    """The file with unusable rows is named with its rows; the four good files still count."""
    _territories, accounts, result, _out = local_run
    assert len(result.failures) == 1
    failure = result.failures[0]
    assert failure.partition.endswith("accounts-bad.csv")
    rows = {row for p in failure.problems for row in p.rows}
    assert rows == {3, 4}  # file lines of B2 (text longitude) and B3 (latitude 95)
    assert result.accounts == len(accounts)


def test_scheduler_that_does_not_answer_fails_fast() -> None:
    """A closed port gives ClusterUnavailableError within seconds, naming the address."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    territories = _voronoi_territories(5, 1)
    with pytest.raises(ClusterUnavailableError, match=f"127.0.0.1:{port}"):
        assign_partitioned([str(Path(__file__))], territories, scheduler=f"tcp://127.0.0.1:{port}")


def test_partition_paths_needs_files(tmp_path: Path) -> None:
    """An empty folder is an input error, not an empty result."""
    with pytest.raises(InputError, match="no account partitions"):
        partition_paths(tmp_path)


def test_read_partition_rows_and_columns(tmp_path: Path) -> None:
    """A CSV without coordinates is refused with the column to add."""
    path = tmp_path / "a.csv"
    path.write_text("account_id,city\nA1,Atlanta\n")
    with pytest.raises(InputError, match="no coordinates"):
        read_partition(str(path))


def test_cli_scheduler_that_does_not_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`planner assign --scheduler` with no scheduler exits 2 with the message in JSON."""
    territories = tmp_path / "t.geojson"
    _voronoi_territories(5, 1).to_file(territories)
    accounts = tmp_path / "parts"
    accounts.mkdir()
    _write_partitions(accounts, 20, 1, 2)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = main(
        [
            "assign",
            "--accounts",
            str(accounts),
            "--territories",
            str(territories),
            "--scheduler",
            f"tcp://127.0.0.1:{port}",
            "--json",
        ]
    )
    payload = json.loads(capsys.readouterr().out)
    assert code == 2
    assert payload["error"] == "ClusterUnavailableError"
    assert "does not answer" in payload["message"]


def test_without_cluster_the_partitions_run_in_process(tmp_path: Path) -> None:
    """No scheduler and no workers: the same partition tasks, in this process, same totals."""
    territories = _voronoi_territories(20, 7)
    accounts = _write_partitions(tmp_path, 400, 3, 8)
    result = assign_partitioned(tmp_path, territories)
    points = gpd.GeoDataFrame(
        accounts[["account_id"]],
        geometry=gpd.points_from_xy(accounts["longitude"], accounts["latitude"]),
        crs=4326,
    )
    ours = assign_accounts(points, territories)
    assert result.accounts == 400
    assert result.counts.to_dict() == ours.counts().to_dict()
    assert result.unassigned == len(ours.unassigned)


def test_stop_before_the_first_partition(tmp_path: Path) -> None:
    """A stop asked at once returns no totals and says it stopped."""
    territories = _voronoi_territories(10, 7)
    _write_partitions(tmp_path, 100, 2, 8)
    result = assign_partitioned(tmp_path, territories, stop=lambda: True)
    assert result.stopped and result.accounts == 0
