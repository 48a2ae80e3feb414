"""Tests of the printable plan: PDF per territory and for the whole plan, map as PNG/SVG."""

from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import pytest

from planner.errors import InputError
from planner.export import PlanData, export_plan, pdf, plan_from_workspace
from planner.models import Scenario, ScenarioState
from planner.workspace import Workspace
from tests.export.conftest import make_two_region_plan

_PAGE = re.compile(rb"/Type\s*/Page\b")
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
_TJ = re.compile(rb"\[(.*?)\]\s*TJ", re.S)
_STRING = re.compile(rb"\(((?:\\.|[^\\)])*)\)")


def pages(path: Path) -> int:
    """Number of pages of a PDF file."""
    return len(_PAGE.findall(path.read_bytes()))


def pdf_lines(path: Path) -> list[str]:
    """The text shown by each text operation of a PDF written by matplotlib."""
    lines = []
    for stream in _STREAM.findall(path.read_bytes()):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue
        for array in _TJ.findall(content):
            parts = [re.sub(rb"\\(.)", rb"\1", p) for p in _STRING.findall(array)]
            lines.append(b"".join(parts).decode("latin-1"))
    return lines


@pytest.fixture(scope="module")
def plan() -> PlanData:
    """The two-region plan: leaves T1 (a1, a2), T2 (a3), T3 (a4, +a5 and a1 as secondary)."""
    return make_two_region_plan()


def test_whole_plan_has_an_overview_and_pages_per_leaf(plan: PlanData, tmp_path: Path) -> None:
    """Overview map, then per leaf territory a map page and one account-list page."""
    path = pdf.write_pdf(plan, tmp_path)
    assert path.read_bytes().startswith(b"%PDF")
    assert pdf.leaf_territories(plan) == ["T1", "T2", "T3"]
    assert pages(path) == 1 + 3 * 2
    text = pdf_lines(path)
    assert "Plan 2025: whole plan" in text
    for label in ("Territories", "Accounts (5)", "Annual revenue", "1,500", "Workload", "Reps"):
        assert label in text
    assert "Rep / owner" in text and "Rob" in text  # T1's page


def test_territory_pdf_lists_its_accounts(plan: PlanData, tmp_path: Path) -> None:
    """One territory: its map page with key figures, and every account of it in the list."""
    path = pdf.write_pdf(plan, tmp_path, territory_id="T3")
    assert path.name == "plan-2025-T3.pdf"
    assert pages(path) == 2
    text = pdf_lines(path)
    assert {"a1", "a4", "+a5"} <= set(text)
    assert not {"a2", "a3"} & set(text)
    assert "Ravi" in text  # the owner
    assert "900" in text  # revenue of its primary accounts a4 and +a5, as reports count it
    assert '=HYPERLINK("x")' in text  # a1's primary territory, named in the list
    assert list(pdf.account_list(plan, "T3")["account_id"]) == ["+a5", "a1", "a4"]


def test_parent_territory_covers_its_subtree(plan: PlanData, tmp_path: Path) -> None:
    """A district's PDF lists the accounts of every territory below it."""
    path = pdf.write_pdf(plan, tmp_path, territory_id="DN1")
    assert {"a1", "a2", "a3"} <= set(pdf_lines(path))


def test_long_lists_go_on_several_pages(
    plan: PlanData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one row per page, T3's three accounts take three list pages."""
    monkeypatch.setattr(pdf, "ROWS_PER_PAGE", 1)
    path = pdf.write_pdf(plan, tmp_path, territory_id="T3")
    assert pages(path) == 1 + 3
    assert any(line.startswith("page 3 of 3") for line in pdf_lines(path))


def test_unknown_territory_is_refused(plan: PlanData, tmp_path: Path) -> None:
    """A territory id outside the plan gets a clear InputError and no file."""
    with pytest.raises(InputError, match="territory 'nope' is not in scenario plan-2025"):
        pdf.write_pdf(plan, tmp_path / "out", territory_id="nope")
    assert not (tmp_path / "out").exists()


def plan_workspace(plan: PlanData) -> Workspace:
    """The plan as an in-memory workspace with an active scenario (associations active)."""
    reps = gpd.GeoDataFrame(plan.reps, geometry=[None] * len(plan.reps), crs="EPSG:4326")
    ws = Workspace(name="pdf", tables={"reps": reps, "accounts": plan.accounts,
                                       "territory_types": plan.territory_types})  # fmt: skip
    ws.add_scenario(Scenario("plan-2025", "Plan 2025", state=ScenarioState.ACTIVE))
    assoc = plan.associations.copy()
    assoc["start_date"] = assoc["start_date"].where(assoc["start_date"].isna(), "2020-01-01")
    ws.set_rows("territories", "plan-2025", plan.territories)
    ws.set_rows("memberships", "plan-2025", plan.memberships)
    ws.set_rows("associations", "plan-2025", assoc)
    return ws


def test_territory_outside_the_users_scope_is_refused(plan: PlanData, tmp_path: Path) -> None:
    """Rep R3 may print T3 but not T1: the refusal does not say whether T1 exists."""
    mine = plan_from_workspace(plan_workspace(plan), as_user="R3")
    assert pdf.write_pdf(mine, tmp_path, territory_id="T3").is_file()
    with pytest.raises(InputError, match="not in scenario plan-2025 visible to user 'R3'"):
        pdf.write_pdf(mine, tmp_path, territory_id="T1")
    whole = pdf.write_pdf(mine, tmp_path)
    assert "a2" not in pdf_lines(whole)  # nothing the rep may not see


def test_same_plan_same_bytes(plan: PlanData, tmp_path: Path) -> None:
    """The PDF and the SVG map are deterministic (no dates, fixed ids)."""
    digests = []
    for run in ("one", "two"):
        folder = tmp_path / run
        folder.mkdir()
        files = [pdf.write_pdf(plan, folder, territory_id="T1"),
                 pdf.write_map_image(plan, folder / "map.svg", "svg")]  # fmt: skip
        digests.append([hashlib.sha256(f.read_bytes()).hexdigest() for f in files])
    assert digests[0] == digests[1]


def test_map_images(plan: PlanData, tmp_path: Path) -> None:
    """PNG and SVG maps of the plan, with a legend and a scale bar; other formats refused."""
    png = pdf.write_map_image(plan, tmp_path / "map.png", "png")
    assert png.read_bytes().startswith(b"\x89PNG")
    svg = pdf.write_map_image(plan, tmp_path / "map.svg", "svg").read_text("utf-8")
    assert "<svg" in svg and "Territories" in svg and " km" in svg
    with pytest.raises(InputError, match="unknown map image format"):
        pdf.write_map_image(plan, tmp_path / "map.gif", "gif")  # type: ignore[arg-type]


def test_export_plan_writes_pdf_and_maps_with_manifest(plan: PlanData, tmp_path: Path) -> None:
    """``export_plan`` offers pdf, png and svg; --territory is refused for other formats."""
    result = export_plan(plan, tmp_path / "pdf", "pdf", territory_id="T2")
    assert result.manifest["files"] == [{"file": "plan-2025-T2.pdf", "pages": 2}]
    assert (tmp_path / "pdf" / "manifest.json").is_file()
    for fmt in ("png", "svg"):
        out = export_plan(plan, tmp_path / fmt, fmt)
        assert [p.name for p in out.files] == [f"map.{fmt}"]
    with pytest.raises(InputError, match="PDF format only"):
        export_plan(plan, tmp_path / "csv", "csv", territory_id="T2")


def test_plan_without_shapes_and_odd_names_still_prints(plan: PlanData, tmp_path: Path) -> None:
    """Rule-only territories (no geometry), unlocated accounts and a "$" in a name print."""
    territories = plan.territories.copy()
    territories["name"] = territories["name"].astype(object)
    territories.loc[territories["territory_id"] == "T1", "name"] = "Big $ deal $x^2$"
    bare = replace(
        plan,
        territories=gpd.GeoDataFrame(territories, geometry=[None] * len(territories)),
        accounts=gpd.GeoDataFrame(plan.accounts, geometry=[None] * len(plan.accounts)),
    )
    path = pdf.write_pdf(bare, tmp_path, territory_id="T1")
    text = pdf_lines(path)
    assert "Big $ deal $x^2$" in text  # printed as written, not as a formula
    assert "Nothing to draw: no shapes or located accounts" in text
    assert {"a1", "a2"} <= set(text)
