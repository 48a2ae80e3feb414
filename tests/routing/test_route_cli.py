"""The `planner route` and `planner matrix` commands."""

from __future__ import annotations

import json

import pandas as pd

from planner.cli import main


def test_route_command_writes_geojson_and_gpx(tmp_path, monaco_osm, monaco_stops, capsys):
    """`planner route` plans the day and writes GeoJSON and GPX; --json reports the ETAs."""
    stops = tmp_path / "stops.csv"
    monaco_stops.to_csv(stops, index=False)
    out, gpx = tmp_path / "route.geojson", tmp_path / "route.gpx"
    code = main([
        "route", "--network", str(monaco_osm), "--stops", str(stops), "--home", "43.7390,7.4240",
        "--day-start", "08:00", "--day-end", "17:00", "--out", str(out), "--gpx", str(gpx),
        "--time-limit", "0.3", "--cache-dir", str(tmp_path / "cache"), "--json",
    ])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["ok"]
    assert len(payload["stops"]) == 6 and payload["unvisited"] == []
    assert json.loads(out.read_text())["type"] == "FeatureCollection"
    assert gpx.read_text().startswith("<?xml")


def test_route_command_rejects_bad_times(tmp_path, monaco_stops, capsys):
    """A shift start of 25:00 is a clear error with exit code 2."""
    stops = tmp_path / "stops.csv"
    monaco_stops.to_csv(stops, index=False)
    code = main(["route", "--stops", str(stops), "--day-start", "25:00",
                 "--out", str(tmp_path / "r.geojson")])
    assert code == 2
    assert "25:00" in capsys.readouterr().err


def test_route_command_rejects_empty_stops(tmp_path, capsys):
    """An empty stop file is reported, not routed."""
    stops = tmp_path / "stops.csv"
    stops.write_text("account_id,latitude,longitude\n")
    code = main(["route", "--stops", str(stops), "--home", "43.739,7.424",
                 "--out", str(tmp_path / "r.geojson"), "--json"])
    assert code == 2
    assert "no stops" in json.loads(capsys.readouterr().out)["message"]


def test_matrix_command_writes_a_square_csv(tmp_path, monaco_osm, monaco_stops, capsys):
    """`planner matrix` writes drive times (and distances) with ids on both axes."""
    points = tmp_path / "points.csv"
    monaco_stops[["account_id", "latitude", "longitude"]].to_csv(points, index=False)
    out, dist = tmp_path / "m.csv", tmp_path / "d.csv"
    code = main(["matrix", "--network", str(monaco_osm), "--points", str(points),
                 "--out", str(out), "--distance-out", str(dist)])
    assert code == 0
    m = pd.read_csv(out, index_col="from")
    assert m.shape == (6, 6) and list(m.columns) == list(monaco_stops["account_id"])
    assert (m.to_numpy().diagonal() == 0).all() and (m.to_numpy() >= 0).all()
    assert pd.read_csv(dist, index_col="from").shape == (6, 6)
    assert "wrote 6x6" in capsys.readouterr().out
