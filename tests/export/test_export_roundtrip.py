"""Round trip: exporting a plan and importing the files gives back the same plan."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.errors import InputError
from planner.export import export_plan, import_export
from planner.export.plan import PlanData

# Any printable text, including formula starts, quotes, commas, newlines and accents.
NAMES = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00")
                | st.sampled_from(["=", "+", "-", "@", "'", '"', ",", "\n", "\r", "\t"]),
                max_size=12)
IDS = st.text("abcXYZ019_-=+@' ", min_size=1, max_size=6)


def hierarchy(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    """The hierarchy as comparable tuples (missing text as None)."""
    cols = ["territory_id", "name", "parent_id", "level", "level_name", "type_id", "rule"]
    rows = frame[cols].astype(object).where(frame[cols].notna(), None)
    return sorted(
        tuple(None if v == "" else v for v in (*r[:3], int(r[3]), *r[4:]))
        for r in rows.itertuples(index=False, name=None)
    )


def membership(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    """Memberships as comparable tuples."""
    cols = ["account_id", "territory_id", "cause", "detail", "is_primary"]
    rows = frame[cols].astype(object).where(frame[cols].notna(), None)
    return sorted(
        (a, t, c, None if d == "" else d, bool(p))
        for a, t, c, d, p in rows.itertuples(index=False, name=None)
    )


@st.composite
def plans(draw: st.DrawFn) -> PlanData:
    """A random forest of territories with text ids and names, and accounts in them."""
    ids = draw(st.lists(IDS, min_size=1, max_size=10, unique=True))
    parents: list[str | None] = [None]
    for i in range(1, len(ids)):
        parents.append(draw(st.one_of(st.none(), st.sampled_from(ids[:i]))))
    depth: dict[str, int] = {}
    for tid, parent in zip(ids, parents, strict=True):
        depth[tid] = 0 if parent is None else depth[parent] + 1
    territories = pd.DataFrame(
        {
            "territory_id": ids,
            "name": [draw(NAMES) or None for _ in ids],
            "parent_id": parents,
            "level": [depth[t] for t in ids],
            "level_name": [draw(st.sampled_from([None, "region", "=lvl"])) for _ in ids],
            "type_id": [draw(st.sampled_from(["geographic", "overlay"])) for _ in ids],
            "rule": [draw(st.one_of(st.none(), NAMES)) for _ in ids],
        }
    )
    pairs = draw(
        st.lists(st.tuples(IDS, st.sampled_from(ids)), max_size=15, unique=True)
    )
    memberships = pd.DataFrame(
        {
            "account_id": [a for a, _ in pairs],
            "territory_id": [t for _, t in pairs],
            "cause": [draw(st.sampled_from(["spatial", "rule", "manual"])) for _ in pairs],
            "detail": [draw(st.one_of(st.none(), NAMES)) for _ in pairs],
            "is_primary": [draw(st.booleans()) for _ in pairs],
        },
        columns=["account_id", "territory_id", "cause", "detail", "is_primary"],
    )
    return PlanData("s1", territories=territories, memberships=memberships)


@settings(derandomize=True, deadline=None, max_examples=25)
@given(plan=plans())
def test_csv_round_trip_gives_the_same_plan(plan: PlanData) -> None:
    """Hierarchy and memberships come back exactly, whatever the names contain."""
    with tempfile.TemporaryDirectory() as tmp:
        export_plan(plan, Path(tmp) / "out", "csv")
        back = import_export(Path(tmp) / "out")
    assert hierarchy(back.territories) == hierarchy(plan.territories)
    assert membership(back.memberships) == membership(plan.memberships)


@settings(derandomize=True, deadline=None, max_examples=12)
@given(plan=plans())
def test_salesforce_round_trip_gives_the_same_tree(plan: PlanData) -> None:
    """From the Salesforce files: same ids, parents and account-territory pairs."""
    with tempfile.TemporaryDirectory() as tmp:
        export_plan(plan, Path(tmp) / "out", "salesforce")
        back = import_export(Path(tmp) / "out")
    parents = {
        t: (None if pd.isna(p) else p)
        for t, p in zip(back.territories["territory_id"], back.territories["parent_id"],
                        strict=True)
    }
    expected = {
        t: (None if pd.isna(p) else p)
        for t, p in zip(plan.territories["territory_id"], plan.territories["parent_id"],
                        strict=True)
    }
    assert parents == expected
    assert sorted(zip(back.memberships["account_id"], back.memberships["territory_id"],
                      strict=True)) == sorted(zip(plan.memberships["account_id"],
                                                  plan.memberships["territory_id"], strict=True))


def test_round_trip_of_the_sample_plan(two_region_plan: PlanData, tmp_path: Path) -> None:
    """The fixture plan, with its formula and HTML names, survives the CSV round trip."""
    export_plan(two_region_plan, tmp_path / "csv", "csv")
    back = import_export(tmp_path / "csv")
    assert hierarchy(back.territories) == hierarchy(two_region_plan.territories)
    assert membership(back.memberships) == membership(two_region_plan.memberships)
    assert back.associations["role"].tolist()[:2] == ["manager", "owner"]


def test_import_reports_broken_files(two_region_plan: PlanData, tmp_path: Path) -> None:
    """Unknown parents and memberships of unknown territories are named with their rows."""
    export_plan(two_region_plan, tmp_path / "csv", "csv")
    path = tmp_path / "csv" / "hierarchy.csv"
    text = path.read_text().replace("RS,Süd,,", "RS,Süd,NOPE,")
    path.write_text(text)
    members = tmp_path / "csv" / "membership.csv"
    members.write_text(members.read_text().replace(",T2,", ",T9,"))
    with pytest.raises(InputError, match=r"parents NOPE are not territories \(row 6") as info:
        import_export(tmp_path / "csv")
    assert "memberships name unknown territories T9 (row 6" in str(info.value)


def test_import_refuses_other_folders(tmp_path: Path) -> None:
    """A folder without our manifest is not read."""
    with pytest.raises(InputError, match="not an export of Territory Planner"):
        import_export(tmp_path)
