"""The Map page's fast account layer (planner.viz_fast): compact payloads and a safe script."""

from __future__ import annotations

import json

from planner import schema as s
from planner import viz, viz_fast
from planner.viz.aggregate import account_points, overview, view_chunk
from tests.app.conftest import HOSTILE_NAME, build_small_workspace


def test_names_travel_as_text_and_cannot_end_the_script() -> None:
    """A name with markup reaches the page as a JSON string; '</' is escaped inside the script."""
    ws = build_small_workspace(10)
    ws.accounts.loc[ws.accounts.index[1], s.NAME] = "</script><b>x</b>\u001fy"
    owner = viz.primary_territory(ws.memberships("base"), ws.territories("base"))
    points = account_points(ws.accounts, territory_of=owner, colors={})
    west, south, east, north = ws.accounts.total_bounds
    chunk = view_chunk(points, (south, west, north, east), 15, limit=100)
    # the separator inside a name is a space
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
