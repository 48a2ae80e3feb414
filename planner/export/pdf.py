"""Printable plans: a PDF per territory or for the whole plan, and a map image (PNG/SVG).

Drawn offline with matplotlib (no tiles, no internet): territory shapes with a legend, a scale
bar and a north arrow, accounts as points. Each territory gets a map page with its key figures
(accounts, revenue, workload, target, owners) and its account list on as many pages as needed.
The same plan gives the same bytes (no creation date, fixed SVG ids).
"""

from __future__ import annotations

import logging
import math
import os
import re
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import matplotlib as mpl
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from planner import schema as s
from planner.errors import InputError, Problem
from planner.export.files import accounts_layer, territory_layer
from planner.export.plan import (
    ExportResult,
    PlanData,
    base_manifest,
    prepare_out_dir,
    write_manifest,
)

__all__ = ["ROWS_PER_PAGE", "account_list", "export_map_image", "export_pdf", "leaf_territories"]
__all__ += ["map_image_bytes", "pdf_bytes", "write_map_image", "write_pdf"]

logger = logging.getLogger(__name__)

ImageFormat = Literal["png", "svg"]
#: Rows of the account list on one page.
ROWS_PER_PAGE = 36
_A4_LANDSCAPE = (11.69, 8.27)
_RC: dict[Any, Any] = {
    "text.parse_math": False,  # a "$" in a name is text, not a formula
    "svg.hashsalt": "territory-planner",  # fixed SVG ids: same plan, same file
    "font.family": "DejaVu Sans",
    "font.size": 9,
}
_PDF_META: dict[str, Any] = {"Creator": "Territory Planner", "CreationDate": None}
_PAGE = re.compile(rb"/Type\s*/Page\b")
_LIST_COLUMNS = {s.ACCOUNT_ID: "Account", s.NAME: "Name", "owner": "Owner",
                 s.ANNUAL_REVENUE: "Annual revenue", s.VISITS_PER_MONTH: "Visits / month",
                 "territory": "Territory"}  # fmt: skip


# -- the plan's pieces -------------------------------------------------------------------


def _text(value: Any, width: int = 60) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _number(value: Any, digits: int = 0) -> str:
    num = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    return "" if pd.isna(num) else f"{num:,.{digits}f}"


def _children(territories: pd.DataFrame) -> dict[str, list[str]]:
    ids = territories[s.TERRITORY_ID].astype(str).tolist()
    parents = territories[s.PARENT_ID] if s.PARENT_ID in territories.columns else [None] * len(ids)
    out: dict[str, list[str]] = {t: [] for t in ids}
    for tid, parent in zip(ids, parents, strict=True):
        key = _text(parent, 10_000)
        if key and key in out and key != tid:
            out[key].append(tid)
    return out


def leaf_territories(plan: PlanData) -> list[str]:
    """The plan's territories without children, sorted by id."""
    return sorted(t for t, kids in _children(plan.territories).items() if not kids)


def _subtree(plan: PlanData, territory_id: str) -> set[str]:
    children, seen, todo = _children(plan.territories), set(), [territory_id]
    while todo:
        tid = todo.pop()
        if tid not in seen:
            seen.add(tid)
            todo.extend(children.get(tid, []))
    return seen


def _check_territory(plan: PlanData, territory_id: str) -> str:
    tid = str(territory_id).strip()
    if tid not in set(plan.territories[s.TERRITORY_ID].astype(str)):
        who = f" visible to user '{plan.as_user}'" if plan.as_user else ""
        raise InputError(
            f"territory '{tid}' is not in scenario {plan.scenario_id}{who}",
            [Problem(f"unknown or hidden territory '{tid}'", column=s.TERRITORY_ID,
                     fix="give the id of a territory of the plan you may see")],
        )  # fmt: skip
    return tid


def account_list(plan: PlanData, territory_id: str | None = None) -> pd.DataFrame:
    """The accounts of a territory and its subtree (every account when ``None``), sorted by id.

    Returns
    -------
    pandas.DataFrame
        ``account_id``, ``name``, ``owner`` (the owner's name), ``annual_revenue``,
        ``visits_per_month`` and ``territory`` (the name of the primary territory).
    """
    table = _account_table(plan, accounts_layer(plan), _names(plan))
    if territory_id is None:
        return table
    return _members(plan, table, _subtree(plan, _check_territory(plan, territory_id)))


def _members(plan: PlanData, table: pd.DataFrame, ids: set[str]) -> pd.DataFrame:
    members = plan.memberships[plan.memberships[s.TERRITORY_ID].astype(str).isin(ids)]
    keep = table[s.ACCOUNT_ID].isin(set(members[s.ACCOUNT_ID].astype(str)))
    return table[keep].reset_index(drop=True)


def _account_table(plan: PlanData, layer: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    reps = _names(plan, plan.reps, s.REP_ID)
    none = pd.Series(None, index=layer.index, dtype=object)
    visits = plan.accounts.set_index(plan.accounts[s.ACCOUNT_ID].astype(str)).get(
        s.VISITS_PER_MONTH
    )
    out = pd.DataFrame({
        s.ACCOUNT_ID: layer[s.ACCOUNT_ID],
        s.NAME: layer.get(s.NAME, none),
        "owner": [reps.get(_text(o, 10_000), _text(o)) for o in layer.get(s.OWNER_ID, none)],
        s.ANNUAL_REVENUE: layer.get(s.ANNUAL_REVENUE, none),
        s.VISITS_PER_MONTH: none if visits is None else layer[s.ACCOUNT_ID].map(visits.to_dict()),
        "territory": [names.get(_text(t, 10_000), "") for t in layer[s.TERRITORY_ID]],
    })  # fmt: skip
    return out.drop_duplicates(s.ACCOUNT_ID).sort_values(s.ACCOUNT_ID).reset_index(drop=True)


def _names(plan: PlanData, frame: pd.DataFrame | None = None, key: str = s.TERRITORY_ID) -> dict:
    """Display name by id, of territories (or of ``frame``'s rows by ``key``)."""
    frame = plan.territories if frame is None else frame
    ids = frame[key].astype(str)
    names = frame[s.NAME] if s.NAME in frame.columns else ids
    return {t: (_text(n) or t) for t, n in zip(ids, names, strict=True)}


class _Book:
    """What every page of a plan needs, computed once."""

    def __init__(self, plan: PlanData) -> None:
        self.plan = plan
        self.leaves = leaf_territories(plan)
        self.names = _names(plan)
        metrics = territory_layer(plan)
        self.metrics = pd.DataFrame(metrics.drop(columns="geometry"))
        shapes = _projected(metrics)
        self.shapes = shapes[shapes[s.TERRITORY_ID].isin(self.leaves)]
        accounts = accounts_layer(plan)
        self.points = _projected(accounts)
        self.accounts = _account_table(plan, accounts, self.names)


# -- drawing -----------------------------------------------------------------------------


def _projected(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` in metres (its UTM zone), so the scale bar is true."""
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    if frame.empty:
        return frame
    try:
        return frame.to_crs(frame.estimate_utm_crs())
    except (RuntimeError, ValueError):
        return frame.to_crs("EPSG:3857")


def _nice_length(metres: float) -> float:
    power = 10 ** math.floor(math.log10(max(metres, 1.0)))
    return max(step * power for step in (1, 2, 5) if step * power <= max(metres, 1.0))


def _scale_bar(ax: Axes) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_length((x1 - x0) / 5)
    x, y = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.05
    ax.plot([x, x + length], [y, y], color="black", linewidth=3, solid_capstyle="butt")
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(x + length / 2, y + (y1 - y0) * 0.015, label, ha="center", va="bottom")
    ax.annotate("N", xy=(0.96, 0.95), xytext=(0.96, 0.85), xycoords="axes fraction",
                ha="center", va="center", fontsize=11, fontweight="bold",
                arrowprops={"arrowstyle": "-|>", "color": "black"})  # fmt: skip


def _colours(ids: list[str]) -> dict[str, Any]:
    cmap = mpl.colormaps["tab20"]
    return {t: cmap(i % 20) for i, t in enumerate(ids)}


def _draw_map(ax: Axes, book: _Book, focus: str | None = None) -> None:
    """Leaf territories coloured with a legend (``focus`` highlighted), accounts as points."""
    plan, shapes = book.plan, book.shapes
    keep = _subtree(plan, focus) if focus else set(book.leaves)
    colours = _colours(book.leaves)
    mine = shapes[s.TERRITORY_ID].isin(keep).to_numpy()
    if len(shapes):
        fills = [colours[t] if t in keep else (0.9, 0.9, 0.9, 1.0) for t in shapes[s.TERRITORY_ID]]
        shapes.plot(ax=ax, color=fills, edgecolor="#444444", linewidth=0.5)
    handles: list[Artist] = [
        mpl.patches.Patch(color=colours[t], label=_text(book.names[t], 30))
        for t in shapes[s.TERRITORY_ID][mine]
    ]
    inside = book.points[book.points[s.TERRITORY_ID].isin(keep)]
    if len(inside):
        inside.plot(ax=ax, color="#111111", markersize=6 if len(inside) < 500 else 2, zorder=3)
        label = f"Accounts ({len(inside):,})"
        dot = mpl.lines.Line2D([], [], marker="o", color="#111111", ls="", ms=4, label=label)
        handles.append(dot)
    _frame_view(ax, shapes, inside, shapes[shapes[s.TERRITORY_ID].isin(keep)])
    if handles:
        more = len(handles) - 25
        shown = handles[:24] + handles[-1:] if more > 0 else handles
        ax.legend(handles=shown, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
                  title=f"Territories (+{more} more)" if more > 0 else "Territories")  # fmt: skip


def _frame_view(ax: Axes, shapes: gpd.GeoDataFrame, points: gpd.GeoDataFrame,
                focus: gpd.GeoDataFrame) -> None:  # fmt: skip
    ax.set_axis_off()
    ax.set_aspect("equal")
    boxes = [f.total_bounds for f in (focus, points) if len(f)] or [
        f.total_bounds for f in (shapes,) if len(f)
    ]
    if not boxes:
        ax.text(0.5, 0.5, "Nothing to draw: no shapes or located accounts", ha="center",
                transform=ax.transAxes)  # fmt: skip
        return
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    pad = max(x1 - x0, y1 - y0, 200.0) * 0.08
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(y0 - pad, y1 + pad)
    _scale_bar(ax)


def _figures(book: _Book, territory_id: str | None) -> list[tuple[str, str]]:
    layer, plan = book.metrics, book.plan
    if territory_id is None:
        leaves = layer[layer[s.TERRITORY_ID].isin(book.leaves)]
        return [
            ("Territories", f"{len(leaves):,} (of {len(layer):,} in all)"),
            ("Accounts", f"{len(plan.accounts):,}"),
            ("Annual revenue", _number(leaves["annual_revenue"].sum())),
            ("Workload", f"{_number(leaves['workload_h'].sum(), 1)} h / month"),
            ("Reps", f"{len(plan.reps):,}"),
        ]
    row = layer[layer[s.TERRITORY_ID] == territory_id].iloc[0]
    attainment = pd.to_numeric(pd.Series([row.get("attainment")]), errors="coerce").iloc[0]
    lines = [
        ("Territory id", territory_id),
        ("Path", _text(row.get("path"), 200)),
        ("Rep / owner", _text(row.get("owners"), 200) or "vacant"),
        ("Accounts", _number(row.get("accounts"))),
        ("Annual revenue", _number(row.get("annual_revenue"))),
        ("Workload", f"{_number(row.get('workload_h'), 1)} h / month"),
        ("Target", _number(row.get("target_effective"))),
        ("Attainment", "" if pd.isna(attainment) else f"{attainment * 100:,.0f} %"),
    ]
    return [(label, value) for label, value in lines if value]


def _map_page(book: _Book, territory_id: str | None) -> Figure:
    fig = Figure(figsize=_A4_LANDSCAPE)
    plan = book.plan
    whole = f"{plan.scenario_name or plan.scenario_id}: whole plan"
    title = whole if territory_id is None else book.names[territory_id]
    fig.text(0.03, 0.95, _text(title, 90), fontsize=16, fontweight="bold")
    user = f" · as seen by {plan.as_user}" if plan.as_user else ""
    fig.text(0.03, 0.92, f"Scenario {plan.scenario_id}{user}", color="#555555")
    _draw_map(fig.add_axes((0.03, 0.05, 0.58, 0.84)), book, territory_id)
    y = 0.42
    fig.text(0.67, y + 0.05, "Key figures", fontsize=12, fontweight="bold")
    for label, value in _figures(book, territory_id):
        fig.text(0.67, y, label, fontweight="bold")
        for part in textwrap.wrap(value, 34)[:3] or [""]:
            fig.text(0.78, y, part)
            y -= 0.03
        y -= 0.01
    return fig


def _list_pages(book: _Book, territory_id: str | None) -> Iterator[Figure]:
    table = book.accounts
    if territory_id is not None:
        table = _members(book.plan, table, _subtree(book.plan, territory_id))
    pages = max(1, math.ceil(len(table) / ROWS_PER_PAGE))
    label = "all territories" if territory_id is None else book.names[territory_id]
    for page in range(pages):
        fig = Figure(figsize=_A4_LANDSCAPE)
        fig.text(0.03, 0.95, _text(f"Accounts of {label}", 90), fontsize=14, fontweight="bold")
        fig.text(0.97, 0.95, f"page {page + 1} of {pages} · {len(table):,} accounts",
                 ha="right", color="#555555")  # fmt: skip
        chunk = table.iloc[page * ROWS_PER_PAGE : (page + 1) * ROWS_PER_PAGE]
        _table(fig, chunk)
        yield fig


def _table(fig: Figure, chunk: pd.DataFrame) -> None:
    lefts = {s.ACCOUNT_ID: 0.03, s.NAME: 0.17, "owner": 0.42, s.ANNUAL_REVENUE: 0.66,
             s.VISITS_PER_MONTH: 0.75, "territory": 0.78}  # fmt: skip
    widths = {s.ACCOUNT_ID: 22, s.NAME: 42, "owner": 36, "territory": 38}
    top, step = 0.89, 0.023
    fig.add_artist(mpl.lines.Line2D([0.03, 0.97], [top - 0.008] * 2, color="black", lw=0.8))
    for col, title in _LIST_COLUMNS.items():
        right = col in (s.ANNUAL_REVENUE, s.VISITS_PER_MONTH)
        x = lefts[col]
        fig.text(x, top, title, fontweight="bold", ha="right" if right else "left")
        for i, value in enumerate(chunk[col]):
            cell = _number(value, 1 if col == s.VISITS_PER_MONTH else 0) if right else (
                _text(value, widths[col]))  # fmt: skip
            fig.text(x, top - (i + 1) * step - 0.01, cell, ha="right" if right else "left")
    if chunk.empty:
        fig.text(0.03, top - 0.04, "No accounts.", color="#555555")


def _pages(book: _Book, territory_id: str | None) -> Iterator[Figure]:
    if territory_id is not None:
        yield _map_page(book, territory_id)
        yield from _list_pages(book, territory_id)
        return
    yield _map_page(book, None)
    for leaf in book.leaves:
        yield _map_page(book, leaf)
        yield from _list_pages(book, leaf)


# -- files -------------------------------------------------------------------------------


def _file_stem(plan: PlanData, territory_id: str | None) -> str:
    raw = plan.scenario_id if territory_id is None else f"{plan.scenario_id}-{territory_id}"
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in raw)[:120] or "plan"


def write_pdf(
    plan: PlanData, out_dir: str | os.PathLike[str], *, territory_id: str | None = None
) -> Path:
    """Write the printable plan as one PDF in ``out_dir`` and return its path.

    Without ``territory_id``: an overview map of the whole plan, then for each leaf territory a
    map page with its key figures and its account list. With it: that territory's map page and
    account list (a parent's list holds its whole subtree).

    Raises
    ------
    InputError
        If ``territory_id`` is not a territory of the plan (or not visible to
        the user the plan was filtered for).
    """
    tid = None if territory_id is None else _check_territory(plan, territory_id)
    folder = prepare_out_dir(out_dir)
    path = folder / f"{_file_stem(plan, tid)}.pdf"
    tmp = path.with_name(f".{path.stem}.tmp.pdf")
    try:
        with mpl.rc_context(_RC), PdfPages(tmp, metadata=_PDF_META) as pdf:
            for fig in _pages(_Book(plan), tid):
                pdf.savefig(fig)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    logger.info("wrote PDF of scenario %s to %s", plan.scenario_id, path)
    return path


def write_map_image(plan: PlanData, path: str | os.PathLike[str], fmt: ImageFormat = "png") -> Path:
    """Write the plan's map (shapes, legend, scale bar, accounts) as a PNG or SVG file."""
    if fmt not in ("png", "svg"):
        raise InputError(
            f"unknown map image format '{fmt}'",
            [Problem(f"unknown format '{fmt}'", fix="use png or svg")],
        )
    target = Path(path)
    tmp = target.with_name(f".{target.stem}.tmp.{fmt}")
    try:
        with mpl.rc_context(_RC):
            fig = Figure(figsize=(11.0, 8.0))
            fig.text(0.03, 0.95, _text(plan.scenario_name or plan.scenario_id, 90),
                     fontsize=16, fontweight="bold")  # fmt: skip
            _draw_map(fig.add_axes((0.03, 0.04, 0.72, 0.88)), _Book(plan))
            meta = {"Date": None} if fmt == "svg" else {"Software": "Territory Planner"}
            fig.savefig(tmp, format=fmt, dpi=150, metadata=meta)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def export_pdf(
    plan: PlanData, out_dir: str | os.PathLike[str], *, territory_id: str | None = None
) -> ExportResult:
    """:func:`write_pdf` plus a ``manifest.json`` (the ``pdf`` format of ``export_plan``)."""
    path = write_pdf(plan, out_dir, territory_id=territory_id)
    manifest = base_manifest(plan, "pdf") | {
        "territory_id": territory_id,
        "files": [{"file": path.name, "pages": _page_count(path)}],
    }
    write_manifest(path.parent, manifest)
    return ExportResult("pdf", path.parent, (path,), manifest)


def export_map_image(
    plan: PlanData, out_dir: str | os.PathLike[str], fmt: ImageFormat
) -> ExportResult:
    """:func:`write_map_image` into ``out_dir`` as ``map.png`` or ``map.svg``, with a manifest."""
    folder = prepare_out_dir(out_dir)
    path = write_map_image(plan, folder / f"map.{fmt}", fmt)
    manifest = base_manifest(plan, fmt) | {"files": [{"file": path.name}]}
    write_manifest(folder, manifest)
    return ExportResult(fmt, folder, (path,), manifest)


def pdf_bytes(plan: PlanData, *, territory_id: str | None = None) -> bytes:
    """The PDF of :func:`write_pdf` as bytes (for download buttons)."""
    with tempfile.TemporaryDirectory(prefix="tp-pdf-") as tmp:
        return write_pdf(plan, tmp, territory_id=territory_id).read_bytes()


def map_image_bytes(plan: PlanData, fmt: ImageFormat = "png") -> bytes:
    """The map of :func:`write_map_image` as bytes (for download buttons)."""
    with tempfile.TemporaryDirectory(prefix="tp-map-") as tmp:
        return write_map_image(plan, Path(tmp) / f"map.{fmt}", fmt).read_bytes()


def _page_count(path: Path) -> int:
    return len(_PAGE.findall(path.read_bytes()))
