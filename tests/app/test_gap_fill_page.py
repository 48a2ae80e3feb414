"""The gap fill of the Assignment page's problems tab, run headless: preview, map, apply as one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
import pytest
import shapely
from streamlit.testing.v1 import AppTest

from planner import schema as s
from planner.edit import run_assignment
from planner.workspace import Workspace, open_workspace
from tests.app.conftest import build_small_workspace
from tests.app.test_access_pages import build_team_workspace
from tests.app.test_team_page import _sign_in
from ui import maps

ROOT = Path(__file__).resolve().parents[2]
PAGE = "app_pages/assignment.py"
APPLY = "tp.assign.gap_fill_apply"

#: Units of each leaf: T1 the west column, T2 the next, T3 the third and the east corner U32;
#: U30 and U31 (the east column's lower two) belong to nobody.
UNITS_OF = {
    "T1": ["U00", "U01", "U02"],
    "T2": ["U10", "U11", "U12"],
    "T3": ["U20", "U21", "U22", "U32"],
}
GAPS = ["U30", "U31"]


def unit_built_workspace(ws: Workspace | None = None) -> Workspace:
    """``ws`` (the small workspace by default) with territories made of its units, two left out."""
    ws = build_small_workspace() if ws is None else ws
    shapes = dict(zip(ws.units[s.UNIT_ID], ws.units.geometry, strict=True))
    terr = ws.rows("territories", "base").drop(columns=[s.SCENARIO_ID])
    geoms = {t: shapely.union_all([shapes[u] for u in us]) for t, us in UNITS_OF.items()}
    geoms["R"] = shapely.union_all(list(geoms.values()))
    terr = gpd.GeoDataFrame(
        terr.drop(columns=[s.GEOMETRY]).assign(**{s.SOURCE: "units"}),
        geometry=[geoms[t] for t in terr[s.TERRITORY_ID]],
        crs=s.STORAGE_CRS,
    )
    ws.set_rows("territories", "base", terr)
    rows = [(u, t, False) for t, us in UNITS_OF.items() for u in us]
    ws.set_rows("unit_assignment", "base",
                pd.DataFrame(rows, columns=[s.UNIT_ID, s.TERRITORY_ID, s.LOCKED]))  # fmt: skip
    run_assignment(ws, "base")
    return ws


@pytest.fixture
def gappy_file(tmp_path: Path) -> Path:
    path = tmp_path / "gappy.gpkg"
    ws = unit_built_workspace()
    ws.save(path)
    if ws.store is not None:
        ws.store.dispose()
    return path


def _app_on(path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("PLANNER_WORKSPACE", str(path))
    monkeypatch.setenv("PLANNER_TILES", "none")
    monkeypatch.delenv("PLANNER_SESSION_TIMEOUT_MIN", raising=False)
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def shown_maps(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The HTML of each map the page shows, by key (the real component still runs)."""
    seen: dict[str, str] = {}
    real = maps.show_map

    def spy(m: folium.Map, *, key: str, **kwargs: Any) -> Any:
        seen[key] = m.get_root().render()
        return real(m, key=key, **kwargs)

    monkeypatch.setattr("ui.maps.show_map", spy)
    return seen


def _proposal(at: AppTest) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "joins" in d.value.columns)


def test_gaps_are_previewed_on_a_table_and_a_map_then_filled_as_one_change(
    gappy_file: Path, monkeypatch: pytest.MonkeyPatch, shown_maps: dict[str, str]
) -> None:
    """U30 and U31 touch T3 only: the preview says so, the map colours them, Apply saves once."""
    at = _app_on(gappy_file, monkeypatch).run()
    at.switch_page(PAGE).run()
    _ok(at)
    proposal = _proposal(at)
    assert proposal[s.UNIT_ID].tolist() == GAPS
    assert all(j.endswith("(T3)") for j in proposal["joins"])
    drawn = shown_maps["tp.assign.gap_fill_map"]
    assert drawn.count("unit U3") == 2 and "tp-gap-fill" in drawn, "each gap on the fill map"
    assert "Gaps join" in drawn
    assert open_workspace(gappy_file).version == 1  # the preview saved nothing

    button = at.button(key=APPLY)
    assert button.label == "Apply: fill 2 gaps as one change"
    button.click().run()
    _ok(at)
    assert "Filled 2 gaps" in at.success[0].value
    after = open_workspace(gappy_file)
    assert after.version == 2
    owners = after.rows("unit_assignment", "base").set_index(s.UNIT_ID)[s.TERRITORY_ID]
    assert owners[GAPS].tolist() == ["T3", "T3"]
    assert not [b for b in at.button if b.key == APPLY]  # nothing left to fill
    store = after.store
    assert store is not None and store.changes()[0].action == "fill 2 gaps"


def test_no_gap_no_section(small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Drawn territories covering every unit: no fill section at all."""
    at = _app_on(small_workspace_file, monkeypatch).run()
    at.switch_page(PAGE).run()
    _ok(at)
    assert not [d for d in at.dataframe if "joins" in d.value.columns]
    assert not [b for b in at.button if b.key == APPLY]


def test_a_manager_sees_the_proposal_but_only_planners_apply_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R2 manages the whole region: the proposal shows, Apply does not (as planner gaps --fill)."""
    path = tmp_path / "team-gaps.gpkg"
    ws = unit_built_workspace(build_team_workspace())
    ws.save(path)
    if ws.store is not None:
        ws.store.dispose()
    at = _sign_in(_app_on(path, monkeypatch), "R2")
    at.switch_page(PAGE).run()
    _ok(at)
    assert _proposal(at)[s.UNIT_ID].tolist() == GAPS
    assert any("Only planners and admins may fill gaps" in i.value for i in at.info)
    assert not [b for b in at.button if b.key == APPLY]
