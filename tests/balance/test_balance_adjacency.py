"""Unit adjacency graph: rook and queen contiguity, islands bridged and recorded."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
import shapely.affinity

from planner.errors import InputError
from planner.geo.adjacency import build_adjacency


def _edges(adj) -> set[frozenset[str]]:
    ids = adj.unit_ids
    return {frozenset((ids[i], ids[j])) for i, j in adj.pairs.tolist()}


def test_rook_adjacency_of_a_grid_has_only_shared_edges(grid) -> None:
    """A 3x3 grid has 12 rook edges, each with the full 1 km border."""
    adj = build_adjacency(grid(3, 3))
    assert len(adj.pairs) == 12
    assert frozenset(("u0", "u1")) in _edges(adj)
    assert frozenset(("u0", "u4")) not in _edges(adj)
    assert adj.shared_length_m == pytest.approx([1000.0] * 12)
    assert adj.bridges == ()


def test_queen_adjacency_adds_corner_contacts(grid) -> None:
    """Queen contiguity adds the 8 diagonal contacts of a 3x3 grid, with zero shared length."""
    adj = build_adjacency(grid(3, 3), contiguity="queen")
    assert len(adj.pairs) == 20
    assert frozenset(("u0", "u4")) in _edges(adj)
    assert sorted(adj.shared_length_m)[:8] == pytest.approx([0.0] * 8)


def test_islands_are_bridged_to_their_nearest_unit(two_islands_units) -> None:
    """Each island gets one bridge to its nearest unit; the bridges are recorded."""
    adj = build_adjacency(two_islands_units)
    assert len(adj.bridges) == 2
    pairs = {frozenset((b.unit_a, b.unit_b)) for b in adj.bridges}
    assert frozenset(("n0", "u8")) in pairs  # the north island to the mainland's top-left
    assert frozenset(("e0", "u3")) in pairs  # the east island to the mainland's bottom-right
    gaps = sorted(b.gap_m for b in adj.bridges)
    assert gaps == pytest.approx([2500.0, 6000.0])
    assert len(set(adj.components())) == 1
    assert len(set(adj.components(include_bridges=False))) == 3
    assert sorted(len(i) for i in adj.islands()) == [1, 2]


def test_without_bridging_islands_stay_apart(two_islands_units) -> None:
    """bridge_islands=False leaves the graph in pieces."""
    adj = build_adjacency(two_islands_units, bridge_islands=False)
    assert adj.bridges == ()
    assert len(set(adj.components())) == 3


def test_snap_tolerance_joins_units_with_a_sliver_gap(grid) -> None:
    """Two squares 1 m apart touch only with a snap tolerance above 1 m."""
    units = grid(2, 1)
    units["geometry"] = [units.geometry[0], shapely.affinity.translate(units.geometry[1], 1.0)]
    assert len(build_adjacency(units, bridge_islands=False).pairs) == 0
    snapped = build_adjacency(units, bridge_islands=False, snap_tolerance_m=2.0)
    assert len(snapped.pairs) == 1
    assert snapped.shared_length_m[0] == pytest.approx(1000.0, rel=0.01)


def test_geographic_crs_and_duplicate_ids_are_reported_together(grid) -> None:
    """A geographic CRS and repeated ids are both listed in one error."""
    units = grid(2, 2).to_crs("EPSG:4326")
    units.loc[1, "unit_id"] = "u0"
    with pytest.raises(InputError, match=r"appear more than once[\s\S]*geographic CRS"):
        build_adjacency(units)


def test_missing_geometry_is_an_error(grid) -> None:
    """A unit without a polygon is named."""
    units = grid(2, 2)
    units.loc[2, "geometry"] = None
    units = gpd.GeoDataFrame(units, geometry="geometry", crs=units.crs)
    with pytest.raises(InputError, match="units u2 have no geometry"):
        build_adjacency(units)
