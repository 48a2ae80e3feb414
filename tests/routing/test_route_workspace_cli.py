"""`planner route --workspace W --rep USER --date D`: a rep's route planned from a workspace."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from planner import schema as s
from planner.cli import main
from planner.samples import SAMPLES, data_dir
from planner.services import rep_routes
from planner.workspace import open_workspace
from tests.app.conftest import build_small_workspace

MONDAY = "2026-01-05"
HELSINKI = data_dir() / SAMPLES["helsinki"][0]
needs_helsinki = pytest.mark.skipif(not HELSINKI.is_file(), reason="the Helsinki sample is missing")


@pytest.fixture(scope="module")
def helsinki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the Helsinki sample with its road network saved beside it."""
    folder = tmp_path_factory.mktemp("helsinki")
    shutil.copyfile(HELSINKI, folder / "helsinki.gpkg")
    shutil.copyfile(data_dir() / "helsinki_roads.graphml.gz", folder / "helsinki_roads.graphml.gz")
    return folder / "helsinki.gpkg"


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app tests' small Helsinki workspace as a file, with no road network."""
    path = tmp_path_factory.mktemp("small") / "small.gpkg"
    ws = build_small_workspace()
    ws.save(path)
    if ws.store is not None:
        ws.store.dispose()
    return path


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, Any]:
    code = main(["route", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.slow
@needs_helsinki
def test_helsinki_rep_week_along_the_roads(
    helsinki: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Helsinki rep's week: the saved roads, the due visits of HEL-1, GeoJSON and GPX written."""
    out, gpx = tmp_path / "route.geojson", tmp_path / "route.gpx"
    code, payload = _run(
        ["--workspace", str(helsinki), "--rep", "hel-rep-1", "--date", "2026-01-07",
         "--time-limit", "1", "--out", str(out), "--gpx", str(gpx)],
        capsys,
    )
    assert code == 0 and payload["ok"]
    assert payload["territories"] == ["HEL-1"] and payload["first_day"] == MONDAY
    assert payload["totals"]["method"] == "road network (helsinki_roads.graphml.gz)"
    assert payload["totals"]["days"] == 5 and not payload["home_guessed"]
    # The same stops the Routes page plans: the week's due visits of the rep's territory.
    ws = open_workspace(helsinki)
    day = rep_routes.rep_day(ws, ws.active_scenario_id(), "hel-rep-1", on=date(2026, 1, 7))
    due = rep_routes.rep_stops(day, rep_routes.RepRouteRequest())
    assert payload["visits_asked"] == due.visits
    assert payload["totals"]["visits"] + payload["totals"]["unvisited"] == due.visits
    planned = {row[s.ACCOUNT_ID] for row in payload["stops"]}
    left = {row[s.ACCOUNT_ID] for row in payload["unvisited"]}
    assert planned | left <= set(due.stops[s.ACCOUNT_ID])
    assert all(row["reason"] for row in payload["unvisited"])
    assert json.loads(out.read_text())["type"] == "FeatureCollection"
    assert gpx.read_text().startswith("<?xml")


@needs_helsinki
def test_text_output_is_the_eta_table(helsinki: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --json the command prints who, the days and the ETA table."""
    code = main(["route", "--workspace", str(helsinki), "--rep", "hel-rep-2", "--date", MONDAY,
                 "--weekdays", "mo", "--time-limit", "0.5"])
    text = capsys.readouterr().out
    assert code == 0
    assert text.startswith("Mikko Korhonen (hel-rep-2), HEL-2, from home")
    assert "arrival" in text and "departure" in text and "Mo: " in text


@needs_helsinki
def test_bad_arguments_are_reported_together(
    helsinki: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown rep, a bad date, a bad weekday and a bad shift: one error listing all four."""
    code, payload = _run(
        ["--workspace", str(helsinki), "--rep", "nobody", "--date", "2026-02-30",
         "--weekdays", "mo,xx", "--day-start", "25:00"],
        capsys,
    )
    assert code == 2 and payload["error"] == "InputError"
    messages = [p["message"] for p in payload["problems"]]
    assert len(messages) == 4, messages
    assert any("--date '2026-02-30'" in m for m in messages)
    assert any("--weekdays" in m for m in messages)
    assert any("25:00" in m for m in messages)
    rep = next(p for p in payload["problems"] if p["message"].startswith("--rep nobody"))
    assert "hel-rep-1" in rep["fix"]  # the known reps are listed


@needs_helsinki
def test_a_rep_without_territory_that_day(
    helsinki: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A manager owns no territory; before the plan starts nobody does."""
    code, payload = _run(["--workspace", str(helsinki), "--rep", "hel-mgr", "--date", MONDAY],
                         capsys)
    assert code == 2
    assert "owns no territory" in payload["message"] and "hel-rep-1" in payload["message"]
    code, payload = _run(["--workspace", str(helsinki), "--rep", "hel-rep-1",
                          "--date", "2025-01-01"], capsys)
    assert code == 2 and "owns no territory" in payload["message"]


def test_no_located_accounts_and_missing_arguments(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Accounts without coordinates are named with the fix; --rep and --date are required."""
    ws = open_workspace(small)
    accounts = ws.accounts.copy()
    accounts["geometry"] = None
    ws.set_table("accounts", accounts)
    bare = tmp_path / "bare.gpkg"
    ws.save(bare)
    code, payload = _run(["--workspace", str(bare), "--rep", "R1", "--date", MONDAY], capsys)
    assert code == 2 and "no account with coordinates" in payload["message"]
    code, payload = _run(["--workspace", str(small)], capsys)
    assert code == 2
    assert [p["message"] for p in payload["problems"]] == ["--date is missing", "--rep is missing"]


def test_chosen_accounts_on_the_date_with_estimates(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--accounts routes those accounts once on the date; no network: straight-line estimates."""
    day = rep_routes.rep_day(open_workspace(small), "base", "R1", on=date(2026, 1, 6))
    ids = list(day.accounts[s.ACCOUNT_ID][:3])
    code, payload = _run(["--workspace", str(small), "--rep", "R1", "--date", "2026-01-06",
                          "--accounts", ",".join(ids), "--time-limit", "0.3"], capsys)
    assert code == 0 and payload["totals"]["estimated"]
    assert payload["totals"]["days"] == 1 and payload["first_day"] == "2026-01-06"
    assert sorted(row[s.ACCOUNT_ID] for row in payload["stops"]) == sorted(ids)
    code, payload = _run(["--workspace", str(small), "--rep", "R1", "--date", "2026-01-06",
                          "--accounts", "A9999"], capsys)
    assert code == 2 and "A9999" in payload["message"]


def test_weeks_and_scenario(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--weeks 2 plans ten days from the Monday; an unknown --scenario lists the known ones."""
    code, payload = _run(["--workspace", str(small), "--rep", "R1", "--date", MONDAY,
                          "--weeks", "2", "--scenario", "base", "--time-limit", "0.5"], capsys)
    assert code == 0 and payload["totals"]["days"] == 10
    code, payload = _run(["--workspace", str(small), "--rep", "R1", "--date", MONDAY,
                          "--scenario", "nope"], capsys)
    assert code == 2
    assert any("base, draft" in p["fix"] for p in payload["problems"])
