"""Fill the gaps: which unassigned unit joins which territory (a table and a map), then apply.

The proposal is :func:`planner.services.unit_plans.fill_gaps` (each unit no
territory owns goes to the touching territory with the fewest accounts); the
section shows it before anything changes and applies it, as one recorded
change, on one click. Filling gaps reaches beyond single territories (the
units belong to none), so, as ``planner gaps --fill``, only planners and
admins may apply it.
"""

from __future__ import annotations

from collections.abc import Sequence

import folium
import geopandas as gpd
import pandas as pd
import shapely
import streamlit as st

from planner import edit, viz
from planner import schema as s
from planner.edit import EditOutcome, Trouble
from planner.errors import PlannerError
from planner.labels import count_of
from planner.services.unit_plans import fill_gaps
from planner.workspace import Workspace
from ui import auth, editing, keys, maps, state

__all__ = ["gap_fill_section"]

_NO_TERRITORY = "#d62728"


@st.cache_data(show_spinner=False, max_entries=8)
def _cached_proposal(content: tuple[str, int], sid: str, _ws: Workspace) -> pd.DataFrame:
    return fill_gaps(_ws, sid, apply=False)


def _proposal(ws: Workspace, sid: str) -> pd.DataFrame:
    """The fill proposal for the scenario (nothing changes), once per saved version."""
    content = state.content_key(ws)
    if content is None:  # a restricted or unsaved copy: computed afresh
        return fill_gaps(ws, sid, apply=False)
    return _cached_proposal(content, sid, ws)


def _legend_items(
    preview: pd.DataFrame, labels: dict[str, str], colors: dict[str, str]
) -> list[tuple[str, str, int | None]]:
    joined = preview[preview[s.TERRITORY_ID].notna()]
    counts = joined[s.TERRITORY_ID].astype(str).value_counts().sort_index()
    items: list[tuple[str, str, int | None]] = [
        (labels.get(str(t), str(t)), colors.get(str(t), viz.UNASSIGNED_COLOR), int(n))
        for t, n in counts.items()
    ]
    left = int(preview[s.TERRITORY_ID].isna().sum())
    if left:
        items.append(("touches no territory", _NO_TERRITORY, left))
    return items


def _gap_units(ws: Workspace, preview: pd.DataFrame) -> gpd.GeoDataFrame:
    units = ws.units.to_crs(s.STORAGE_CRS)
    shapes = dict(zip(units[s.UNIT_ID].astype(str), units.geometry, strict=True))
    return gpd.GeoDataFrame(
        preview.assign(**{s.UNIT_ID: preview[s.UNIT_ID].astype(str)}),
        geometry=[shapes.get(str(u)) for u in preview[s.UNIT_ID]],
        crs=s.STORAGE_CRS,
    )


def _fill_map(ws: Workspace, sid: str, preview: pd.DataFrame, labels: dict[str, str]) -> folium.Map:
    """The territories in their colours, each gap filled with the colour of the one it joins."""
    terr = ws.territories(sid)
    leaves = viz.leaf_territory_ids(terr)
    colors = viz.territory_colors(leaves)
    gaps = _gap_units(ws, preview)
    west, south, east, north = shapely.total_bounds(gaps.geometry.to_numpy())
    pad = max(east - west, north - south, 0.01) * 0.3
    m = viz.base_map([[south - pad, west - pad], [north + pad, east + pad]],
                     tiles=state.tile_source())  # fmt: skip
    viz.add_territories(m, terr, colors=colors)
    gaps["label"] = [
        f"unit {u} → {labels.get(str(t), str(t)) if isinstance(t, str) else 'no territory'}"
        for u, t in zip(gaps[s.UNIT_ID], gaps[s.TERRITORY_ID], strict=True)
    ]
    gaps["color"] = [colors.get(str(t), _NO_TERRITORY) if isinstance(t, str) else _NO_TERRITORY
                     for t in gaps[s.TERRITORY_ID]]  # fmt: skip
    data = gaps[[s.UNIT_ID, "label", "color", "geometry"]]
    folium.GeoJson(
        data.to_json(drop_id=True),
        name="Gaps and where they go",
        style_function=lambda f: {
            "color": "#111111", "weight": 2.5, "dashArray": "5 4", "fillOpacity": 0.75,
            "fillColor": f["properties"]["color"], "className": "tp-gap-fill",
        },
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
    ).add_to(m)  # fmt: skip
    viz.add_legend(m, _legend_items(preview, labels, colors), title="Gaps join")
    return m


def _table(preview: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    shown = preview.copy()
    nothing = "(no territory touches it)"
    shown["joins"] = [labels.get(str(t), str(t)) if isinstance(t, str) else nothing
                      for t in shown[s.TERRITORY_ID]]  # fmt: skip
    cols = [s.UNIT_ID, s.NAME, "joins", "accounts", "territory_accounts", "neighbours", "round"]
    return shown[[c for c in cols if c in shown.columns]]


def _apply(sid: str, n_units: int) -> None:
    """Fill the gaps in the session's workspace and save it as one change."""
    try:
        editing.require_edit(everything=True)
        ws = state.workspace_for_edit()
        filled = fill_gaps(ws, sid, user=editing.current_user())
    except PlannerError as exc:
        editing.show_error(exc)
        return
    done = int(filled[s.TERRITORY_ID].notna().sum())
    state.mark_changed(f"fill {done} gaps")
    left = n_units - done
    message = f"Filled {done} gap{'' if done == 1 else 's'}: each unit joined the territory shown."
    notes = (f"{left} unit{' touches' if left == 1 else 's touch'} no territory: draw a "
             "territory over it or give it to one on Edit territories",)  # fmt: skip
    editing.remember(EditOutcome(message, warnings=notes if left else ()))
    st.rerun()


def gap_fill_section(ws: Workspace, sid: str, troubles: Sequence[Trouble]) -> None:
    """When units no territory covers exist: the fill proposal as a table and a map, and Apply."""
    if not any(t.kind == "gap" for t in troubles):
        return
    st.subheader("Fill the gaps")
    try:
        preview = _proposal(ws, sid)
    except PlannerError as exc:
        editing.show_error(exc)
        return
    scope = auth.current_scope()
    if scope is not None and scope.territory_ids is not None:  # as `planner gaps --as`
        preview = preview[preview[s.TERRITORY_ID].isin(scope.territory_ids).to_numpy()]
    if not len(preview):
        return
    labels = edit.territory_label(ws.territories(sid))
    n_join = int(preview[s.TERRITORY_ID].notna().sum())
    st.caption(
        f"{count_of(len(preview), 'unit')} {'belongs' if len(preview) == 1 else 'belong'} to "
        "no territory. Each "
        "would join the touching territory with the fewest accounts (units touching only other "
        f"gaps join in later rounds): {n_join:,} can be filled. Nothing changes until you apply."
    )
    table_col, map_col = st.columns([2, 3], gap="medium")
    table_col.dataframe(_table(preview, labels), hide_index=True, width="stretch", column_config={
        s.UNIT_ID: "unit", "territory_accounts": st.column_config.NumberColumn(
            "accounts after", help="the territory's accounts once the unit joins"),
    })  # fmt: skip
    with map_col:
        maps.show_map(_fill_map(ws, sid, preview, labels), key=keys.GAP_FILL_MAP, height=420)
    if scope is None or not scope.unrestricted:
        st.info("Only planners and admins may fill gaps (the units belong to no territory).")
        return
    label = f"Apply: fill {n_join:,} gap{'' if n_join == 1 else 's'} as one change"
    if n_join and st.button(label, type="primary", key=keys.GAP_FILL_APPLY):
        _apply(sid, len(preview))
