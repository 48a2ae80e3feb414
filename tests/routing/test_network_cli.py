"""`planner network build`: a road network saved beside a workspace, read back by routing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.cli import main
from planner.routing.network import load_network


def test_build_saves_the_network_beside_the_workspace(
    monaco_osm: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = tmp_path / "monaco.gpkg"
    code = main(["network", "build", str(monaco_osm), "--workspace", str(workspace), "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["nodes"] > 100
    saved = tmp_path / "monaco_roads.graphml.gz"
    assert Path(payload["file"]) == saved
    assert load_network(saved).n_nodes == payload["nodes"]
    dropped = payload["dropped"]  # the Monaco cut drops unreachable pieces: said, with where
    assert dropped["dropped_nodes"] > 0 and dropped["n_dropped_parts"] >= 1
    assert len(dropped["dropped_parts"][0]["bbox"]) == 4
    main(["network", "build", str(monaco_osm), "--workspace", str(workspace)])
    text = capsys.readouterr().out
    assert "dropped as unreachable" in text and "dropped: " in text


def test_bad_arguments_exit_2_with_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["network", "build", str(tmp_path / "none.pbf"), "--out", "x.gz", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 2 and "check the path" in payload["problems"][0]["fix"]
    osm = tmp_path / "a.osm"
    osm.write_text("<osm/>")
    code = main(["network", "build", str(osm), "--workspace", str(tmp_path / "w.txt"), "--json"])
    assert code == 2 and "gpkg" in json.loads(capsys.readouterr().out)["problems"][0]["fix"]
