"""What a workspace map shows and which basemap it uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from planner.errors import InputError, Problem
from planner.viz.assets import DEFAULT_ASSET_BASE_URL

__all__ = ["OSM_ATTRIBUTION", "OSM_TILE_URL", "MapOptions", "TileSource"]

TileSource = Literal["none", "osm"]

OSM_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright" target="_blank">'
    "OpenStreetMap</a> contributors"
)


@dataclass(frozen=True)
class MapOptions:
    """How :func:`workspace_map` draws a workspace.

    Parameters
    ----------
    tiles
        ``"osm"`` for OpenStreetMap tiles (needs internet), ``"none"`` for no
        basemap (works offline).
    asset_base_url
        URL prefix under which the vendored files are served.
    cluster_threshold
        Accounts are clustered when there are more than this many (clusters
        take the colour of the territory most of their accounts belong to).
    show_units
        Draw the unit outlines (counties, ZIP areas, H3 cells).
    show_accounts
        Draw the accounts.
    show_reps
        Draw the reps' home bases.
    show_places
        Write the names of the biggest places on the map (from the bundled
        US postal-code data, or the accounts' own cities): context that
        needs no internet.
    simplify_m
        Tolerance, in metres, for simplifying polygons before drawing (keeps
        the page small; 0 draws them exactly). ``None`` picks one from the
        size of the area: 1/4000 of its diagonal, between 5 and 500 m.
    """

    tiles: TileSource = "none"
    asset_base_url: str = DEFAULT_ASSET_BASE_URL
    cluster_threshold: int = 1500
    show_units: bool = True
    show_accounts: bool = True
    show_reps: bool = True
    show_places: bool = True
    simplify_m: float | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.tiles not in ("none", "osm"):
            problems.append(
                Problem(f"unknown tile source '{self.tiles}'", fix="use 'none' or 'osm'")
            )
        if self.cluster_threshold < 0:
            problems.append(Problem("cluster_threshold < 0", fix="use 0 or more"))
        if self.simplify_m is not None and self.simplify_m < 0:
            problems.append(Problem("simplify_m < 0", fix="use 0 or more metres"))
        if problems:
            raise InputError("invalid map options", problems)
