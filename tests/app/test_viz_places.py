"""Place labels are kept between maps (planner.viz.places.place_layer), never stale."""

from __future__ import annotations

from planner import schema as s
from planner.viz import place_layer
from tests.app.conftest import build_small_workspace

BOUNDS = [[60.15, 24.90], [60.19, 24.98]]


def test_the_same_map_gets_the_same_labels_and_a_change_is_seen() -> None:
    ws = build_small_workspace(30, seed=2)
    acc = ws.accounts.copy()
    acc["city"] = ["Kallio"] * 20 + ["Töölö"] * 10
    first = place_layer(BOUNDS, acc, limit=10)
    again = place_layer(BOUNDS, acc, limit=10)
    assert list(first["name"]) == list(again["name"]) == ["Kallio", "Töölö"]
    again.loc[again.index[0], "name"] = "changed by a caller"
    assert place_layer(BOUNDS, acc, limit=10)["name"].iloc[0] == "Kallio"  # a copy each time
    acc.loc[acc.index[:20], "city"] = "Vallila"  # the same frame, other place names
    assert list(place_layer(BOUNDS, acc, limit=10)["name"]) == ["Vallila", "Töölö"]
    moved = acc.copy()
    moved.geometry = moved.geometry.translate(xoff=0.5)  # every account out of the bounds
    assert place_layer(BOUNDS, moved, limit=10).empty
    assert s.ADDRESS in acc.columns
