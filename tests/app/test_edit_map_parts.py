"""Edit territories' map put together from parts cached apart (``ui.maps.compose``,
``ui.cache.by_frames``, ``ui.editing.edit_map_parts``): what is reused, what is redone."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box
from streamlit.testing.v1 import AppTest

from planner import edit, viz
from planner import schema as s
from tests.app.test_edit_pages import FakeMap, _app_on, _open, _ws
from ui import cache, maps


def _layer_map(color: str) -> folium.Map:
    m = folium.Map(location=[60.17, 24.94], zoom_start=12, tiles=None)
    shape = gpd.GeoDataFrame(geometry=[box(24.93, 60.16, 24.95, 60.18)], crs=s.STORAGE_CRS)
    folium.GeoJson(shape.to_json(), style_function=lambda _f: {"color": color}).add_to(m)
    return m


def test_compose_keeps_the_base_map_and_stacks_every_layer_once() -> None:
    """The base's map and mount; both bodies under one wrapper (the second would remove the
    first's layers), the base's layers last (on top, where they take the clicks); links once."""
    base = maps.map_parts(_layer_map("#111111"), split=True)
    under = maps.map_parts(_layer_map("#222222"), split=True)
    both = maps.compose(base, under)
    assert both.script == base.script and both.mount == base.mount
    assert both.bounds == base.bounds
    assert both.layers.count("window.tpLayers = []") == 1
    assert both.body in both.layers
    assert both.body.index("#222222") < both.body.index("#111111")  # base on top
    assert len(both.js_links) == len(set(both.js_links)) >= len(base.js_links)
    assert maps.compose(base).layers == base.layers  # alone: as rendered


def test_by_frames_builds_once_per_frames_and_again_for_a_new_frame() -> None:
    """Same frame objects: the result kept; a replaced frame (as a workspace replaces a table
    it changes): built again."""
    calls: list[int] = []
    first = pd.DataFrame({"a": [1, 2]})

    def build(frame: pd.DataFrame) -> int:
        calls.append(1)
        return int(frame["a"].sum())

    assert cache.by_frames("test-sum", (first,), lambda: build(first)) == 3
    assert cache.by_frames("test-sum", (first,), lambda: build(first)) == 3
    assert len(calls) == 1
    second = pd.DataFrame({"a": [5, 5]})
    assert cache.by_frames("test-sum", (second,), lambda: build(second)) == 10
    assert len(calls) == 2


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often the territories and accounts layer (``viz.workspace_map``) is built."""
    count = {"scene": 0}
    real = viz.workspace_map

    def workspace_map(*args: Any, **kwargs: Any) -> folium.Map:
        count["scene"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr("planner.viz.workspace_map", workspace_map)
    return count


@pytest.mark.slow
def _record_maps(monkeypatch: pytest.MonkeyPatch) -> tuple[list[maps.MapParts], FakeMap]:
    """Stand a fake map in for the component; the parts of every map shown, in order."""
    shown: list[maps.MapParts] = []
    fake = FakeMap()

    def show(parts: maps.MapParts, **kwargs: Any) -> Any:
        shown.append(parts)
        return fake(parts, **kwargs)

    monkeypatch.setattr("ui.maps.show_parts", show)
    monkeypatch.setattr("ui.maps.show_map", fake)
    return shown, fake


def test_mode_switches_reuse_the_territories_and_a_unit_click_redraws_them(
    small_workspace_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    counted: dict[str, int],
) -> None:
    """Switching draw -> units -> draw on one version builds the territories once; the unit map
    holds the clickable units, the territories and the accounts; a click builds them anew."""
    shown, fake = _record_maps(monkeypatch)
    at: AppTest = _app_on(str(small_workspace_file), monkeypatch)
    _open(at, "app_pages/territories.py")
    at.selectbox(key="tp.edit.selected").set_value("T1").run()
    at.segmented_control(key="tp.edit.mode").set_value("units").run()
    at.segmented_control(key="tp.edit.mode").set_value("draw").run()
    at.segmented_control(key="tp.edit.mode").set_value("units").run()
    assert not at.exception, [e.value for e in at.exception]
    assert counted["scene"] == 1
    units_map = shown[-1]
    assert "tp-edit-unit" in units_map.layers and "tp-territory" in units_map.layers
    # the clickable units are drawn last, over the territories' fills (else they take no click)
    assert units_map.body.rindex("tp-edit-unit") > units_map.body.rindex("tp-territory")
    assert "L.Control.Draw" in shown[-2].script  # the draw map has its tools...
    assert "L.Control.Draw" not in units_map.script  # ...the unit map has not
    spot = _ws(at).units.set_index(s.UNIT_ID).loc["U00"].geometry.centroid
    fake.send({"last_object_clicked": {"lat": spot.y, "lng": spot.x}})
    at.run()
    assert any("Removed unit U00 from T1" in m.value for m in at.success)
    assert counted["scene"] == 2
    assert shown[-1].mount == units_map.mount  # the same map: only its layers change


def _kept_keys(body: str) -> dict[str, str]:
    """The layers a map's script keeps across updates (``tpKeep``): name -> key."""
    found = re.findall(r'tpKeep\("([a-z-]+)\|([0-9a-f]+)"', body)
    return dict(found)


def _paint(body: str, name: str) -> dict[str, Any]:
    """What the update paints on the kept layer ``name`` (the JSON given to ``tpPaint``)."""
    start = body.index(f'tpKeep("{name}|')
    open_at = body.rindex("layer.tpPaint(", 0, start) + len("layer.tpPaint(")
    return dict(json.loads(body[open_at : body.index(");\n}", open_at)]))


def test_unit_map_keeps_accounts_and_units_and_sends_their_colours(
    small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The accounts and the clickable units are made once in the browser: a click sends the same
    layers (same keys) with new colours; the moved unit is painted as the selected's."""
    shown, fake = _record_maps(monkeypatch)
    at: AppTest = _app_on(str(small_workspace_file), monkeypatch)
    _open(at, "app_pages/territories.py")
    at.selectbox(key="tp.edit.selected").set_value("T1").run()
    at.segmented_control(key="tp.edit.mode").set_value("units").run()
    before = shown[-1]
    keys_before = _kept_keys(before.body)
    assert set(keys_before) == {"edit-accounts", "edit-units"}
    assert "tp-account" not in before.body.split("tpKeep(")[0]  # not drawn twice
    ws = _ws(at)
    units = ws.units[s.UNIT_ID].astype(str).tolist()
    painted = _paint(before.body, "edit-units")
    sid = ws.active_scenario_id()
    t1 = {u for u, t in edit.unit_owners(ws, sid, selected="T1").items() if t == "T1"}
    assert t1
    assert {u for u, mine in zip(units, painted["mine"], strict=True) if mine} == t1
    other = sorted(set(units) - t1)[0]
    spot = ws.units.set_index(s.UNIT_ID).loc[other].geometry.representative_point()
    fake.send({"last_object_clicked": {"lat": spot.y, "lng": spot.x}})
    at.run()
    assert any(f"Added unit {other} to T1" in m.value for m in at.success)
    after = shown[-1]
    assert _kept_keys(after.body) == keys_before  # the browser keeps both layers
    now = _paint(after.body, "edit-units")
    t1_now = {u for u, t in edit.unit_owners(_ws(at), sid, selected="T1").items() if t == "T1"}
    assert other in t1_now
    assert {u for u, mine in zip(units, now["mine"], strict=True) if mine} == t1_now
    colours = _paint(after.body, "edit-accounts")
    owner = cache.owners(_ws(at), sid)
    ids = _ws(at).accounts[s.ACCOUNT_ID].astype(str).tolist()
    moved = [i for i in ids if owner.get(i) == "T1"]
    t1_colour = {colours["colors"][colours["of"][ids.index(i)]] for i in moved}
    assert len(t1_colour) == 1  # every account of T1 in its colour


def test_many_accounts_are_drawn_clustered_with_the_territories(
    small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the cluster threshold the accounts are not a kept layer: the territories' part draws
    them (clustered, as on the Map page)."""
    shown, _fake = _record_maps(monkeypatch)
    real = viz.MapOptions

    def few(**kwargs: Any) -> viz.MapOptions:
        return real(**{**kwargs, "cluster_threshold": 5})

    monkeypatch.setattr("ui.state.MapOptions", few)
    at: AppTest = _app_on(str(small_workspace_file), monkeypatch)
    _open(at, "app_pages/territories.py")
    assert not at.exception, [e.value for e in at.exception]
    body = shown[-1].body
    assert "edit-accounts" not in _kept_keys(body)
    assert "tp-account" in body
