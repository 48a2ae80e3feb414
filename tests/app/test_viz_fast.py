"""The Map page's fast account layer (planner.viz_fast): compact payloads and a safe script."""

from __future__ import annotations

import base64
import json

import numpy as np
from shapely.geometry import Point

from planner import schema as s
from planner import viz, viz_fast
from planner.viz.aggregate import account_points, overview, view_chunk
from tests.app.conftest import HOSTILE_NAME, build_small_workspace


def _decoded(payload: dict[str, object]) -> tuple[np.ndarray, np.ndarray]:
    """Latitude, longitude in 1e-5 degrees and territory indexes, as the page decodes them."""
    wide = payload["xyBits"] == 32
    raw = np.frombuffer(base64.b64decode(str(payload["xy"])), dtype="<i4" if wide else "<u2")
    origin = np.array([payload["y0"], payload["x0"]], dtype="int64")
    xy = raw.reshape(-1, 2).astype("int64") + origin
    kind = "u1" if payload["tBits"] == 8 else "<u2"
    return xy, np.frombuffer(base64.b64decode(str(payload["t"])), dtype=kind)


def test_arrays_hold_every_located_account_with_its_territory() -> None:
    """Coordinates round to 1e-5 degrees; each account keeps its territory; none -> the last."""
    ws = build_small_workspace(60, seed=3)
    terr = ws.territories("base")
    owner = viz.primary_territory(ws.memberships("base"), terr)
    colors = {"T1": "#111111", "T2": "#222222", "T3": "#333333"}
    payload = viz_fast.account_arrays(ws.accounts, territory_of=owner, colors=colors)
    xy, t = _decoded(payload)
    acc = ws.accounts
    assert payload["n"] == len(acc) == len(xy) == len(t)
    assert np.abs(xy[:, 0] / 1e5 - acc.geometry.y.to_numpy()).max() <= 0.5e-5
    assert np.abs(xy[:, 1] / 1e5 - acc.geometry.x.to_numpy()).max() <= 0.5e-5
    territories = list(payload["territories"])  # type: ignore[call-overload]
    ids = str(payload["ids"]).split("\u001f")
    assert ids == acc[s.ACCOUNT_ID].astype(str).tolist()
    for account_id, index in zip(ids, t, strict=True):
        expected = owner.get(account_id)
        assert territories[index] == (expected if expected is not None else "(none)")
    assert payload["colors"][-1] == viz.UNASSIGNED_COLOR  # type: ignore[index]


def test_names_travel_as_text_and_cannot_end_the_script() -> None:
    """A name with markup reaches the page as a JSON string; '</' is escaped inside the script."""
    ws = build_small_workspace(10)
    ws.accounts.loc[ws.accounts.index[1], s.NAME] = "</script><b>x</b>\u001fy"
    owner = viz.primary_territory(ws.memberships("base"), ws.territories("base"))
    payload = viz_fast.account_arrays(ws.accounts, territory_of=owner, colors={})
    names = str(payload["names"]).split("\u001f")
    assert names[0] == HOSTILE_NAME
    assert names[1] == "</script><b>x</b> y"  # the separator inside a name is a space
    points = account_points(ws.accounts, territory_of=owner, colors={})
    west, south, east, north = ws.accounts.total_bounds
    chunk = view_chunk(points, (south, west, north, east), 15, limit=100)
    assert str(chunk["names"]).split("\u001f")[:2] == [HOSTILE_NAME, "</script><b>x</b> y"]
    m = viz.workspace_map(ws, "base", options=viz.MapOptions(show_accounts=False))
    assert viz_fast.add_account_layer(m, overview(points), chunk) == 10
    html = viz.map_html(m)
    assert "</script><b>" not in html
    assert json.dumps(HOSTILE_NAME)[1:-1].replace("</", "<\\/") in html
    assert "tp-accounts-drawn" in html and "tp-loading" in html
    assert f'"viewKey":"{viz_fast.VIEW_KEY}"' in html


def test_the_first_render_sends_counts_not_positions() -> None:
    """Without a view asked for, the layer holds the counts per cell only: no names, no ids,
    and a payload that does not grow with the accounts (20 accounts on one spot or 2,000)."""
    sizes = []
    for n in (20, 2000):
        ws = build_small_workspace(n, seed=1)
        owner = viz.primary_territory(ws.memberships("base"), ws.territories("base"))
        points = account_points(ws.accounts, territory_of=owner, colors={})
        m = viz.base_map([[60.15, 24.9], [60.19, 24.98]])
        viz_fast.add_account_layer(m, overview(points, budget=50))
        html = viz.map_html(m)
        assert '"chunk":null' in html and HOSTILE_NAME not in html
        assert str(ws.accounts[s.ACCOUNT_ID].iloc[5]) + "\u001f" not in html
        sizes.append(len(html))
    assert sizes[1] < sizes[0] * 1.5


def test_wide_areas_and_large_files_keep_every_position() -> None:
    """Accounts over more than 0.65 degrees travel as 32-bit values; beyond the text limit
    names and ids are left out, and positions and territories stay exact."""
    ws = build_small_workspace(40, seed=5)
    acc = ws.accounts.copy()
    acc.loc[acc.index[0], "geometry"] = Point(-120.5, 35.25)  # far away: the span is wide
    owner = viz.primary_territory(ws.memberships("base"), ws.territories("base"))
    narrow = viz_fast.account_arrays(ws.accounts, territory_of=owner, colors={})
    wide = viz_fast.account_arrays(acc, territory_of=owner, colors={}, text_limit=10)
    assert narrow["xyBits"] == 16 and wide["xyBits"] == 32
    assert wide["names"] == "" and wide["ids"] == "" and narrow["ids"] != ""
    for payload, frame in ((narrow, ws.accounts), (wide, acc)):
        xy, _ = _decoded(payload)
        assert np.abs(xy[:, 0] / 1e5 - frame.geometry.y.to_numpy()).max() <= 0.5e-5
        assert np.abs(xy[:, 1] / 1e5 - frame.geometry.x.to_numpy()).max() <= 0.5e-5
    assert (_decoded(narrow)[1] == _decoded(wide)[1]).all()
