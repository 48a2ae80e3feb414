"""The editing pages (territories, hierarchy, assignment) run headless with Streamlit's AppTest.

The map component cannot be clicked without a browser, so :class:`FakeMap`
stands in for ``ui.maps.show_map`` and answers what the real component
would: a drawing or a click, repeated on every rerun until the map is
redrawn under a new key (as ``st_folium`` does).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import streamlit as st
from shapely.geometry import box, mapping
from streamlit.testing.v1 import AppTest

from planner import schema as s
from planner.geo.assign import assign_workspace
from planner.geo.shapes import drawn_territory
from planner.samples import SAMPLES, data_dir
from planner.workspace import Workspace
from tests.app.conftest import build_small_workspace

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGES = ("app_pages/territories.py", "app_pages/hierarchy.py", "app_pages/assignment.py")
#: A box inside the small workspace's centre territory (T2: 24.93-24.955 E).
CENTRE_BOX = box(24.935, 60.16, 24.95, 60.18)


class FakeMap:
    """Stands in for ``ui.maps.show_map`` and ``show_parts``: replies like the map component.

    A reply answers from the next map shown and on reruns while its key
    stays (as the component does). A map with a callback gets the reply in
    it first, then the run starts again, as the component's callback runs
    before the rerun the click causes.
    """

    def __init__(self) -> None:
        self.queued: dict[str, Any] | None = None
        self.bound: tuple[str, dict[str, Any]] | None = None
        self.keys: list[str] = []

    def send(self, reply: dict[str, Any]) -> None:
        """Answer ``reply`` from the next map shown, and on reruns while its key stays."""
        self.queued = reply

    def __call__(
        self,
        m: object,
        *,
        key: str,
        returned_objects: Any = (),
        on_change: Callable[[dict[str, Any]], None] | None = None,
        **_: Any,
    ) -> Any:
        self.keys.append(key)
        if self.queued is not None:
            self.bound, self.queued = (key, self.queued), None
            if on_change is not None:
                on_change(self.bound[1])
                st.rerun()
        if self.bound is not None and self.bound[0] == key:
            return self.bound[1]
        return {k: None for k in returned_objects}


@pytest.fixture
def fake_map(monkeypatch: pytest.MonkeyPatch) -> FakeMap:
    """The map component replaced by a :class:`FakeMap`."""
    fake = FakeMap()
    monkeypatch.setattr("ui.maps.show_map", fake)
    monkeypatch.setattr("ui.maps.show_parts", fake)
    return fake


def _app_on(workspace: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("PLANNER_WORKSPACE", workspace)
    monkeypatch.setenv("PLANNER_TILES", "none")
    return AppTest.from_file(APP, default_timeout=60)


@pytest.fixture
def small_app(small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The app on the small test workspace (40 accounts, R > T1, T2, T3), not yet run."""
    return _app_on(str(small_workspace_file), monkeypatch)


@pytest.fixture
def overlap_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The app on a small workspace whose T2 overlaps T1 (and whose memberships are stale)."""
    ws = build_small_workspace()
    terr = ws.territories("base")
    pos = terr.index[terr[s.TERRITORY_ID] == "T2"][0]
    terr.loc[pos, "geometry"] = box(24.925, 60.15, 24.955, 60.19)
    ws.set_rows("territories", "base", terr)
    path = tmp_path / "overlap.gpkg"
    ws.save(path)
    return _app_on(str(path), monkeypatch)


def _ws(at: AppTest) -> Workspace:
    ws = at.session_state["tp.workspace"]
    assert isinstance(ws, Workspace)
    return ws


def _no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _open(at: AppTest, page: str) -> None:
    """Run the app once (so pages with their own url_path are known), then open ``page``."""
    at.run()
    at.switch_page(page).run()


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    return "\n".join(str(p) for p in parts)


def _button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def _frame(at: AppTest, *columns: str) -> pd.DataFrame:
    """The first table on the page with all of ``columns`` (tables keep no key in AppTest)."""
    for element in at.dataframe:
        frame = element.value
        if all(c in frame.columns for c in columns):
            return frame
    raise KeyError(columns)


def _counts(at: AppTest) -> dict[str, int]:
    frame = _frame(at, "territory", s.TERRITORY_ID, "accounts")
    return dict(zip(frame[s.TERRITORY_ID], frame["accounts"], strict=True))


def _feature(geom: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {}, "geometry": mapping(geom)}


#: The demo planner of each sample (password "demo", see data/README.md).
PLANNERS = {"helsinki": "hel-planner", "georgia": "ga-planner"}


def _sign_in(at: AppTest, user: str) -> None:
    at.text_input(key="tp.widget.login").input(user)
    at.text_input(key="tp.widget.password").input("demo")
    at.button(key="FormSubmitter:tp.form.signin-Sign in").click().run()
    _no_exceptions(at)


def _sample(name: str) -> str:
    if not (data_dir() / SAMPLES[name][0]).is_file():
        pytest.skip(f"the {name} sample is not built (scripts/build_samples.py)")
    return name


# --------------------------------------------------------------------------- rendering


@pytest.mark.parametrize("page", PAGES)
def test_pages_render_on_the_small_workspace(
    small_app: AppTest, fake_map: FakeMap, page: str
) -> None:
    """Each editing page runs on the small workspace without an exception or an error box."""
    _open(small_app, page)
    _no_exceptions(small_app)
    assert not small_app.error, [e.value for e in small_app.error]


@pytest.mark.parametrize("sample", ["helsinki", "georgia"])
def test_pages_render_on_the_samples(
    sample: str, fake_map: FakeMap, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each editing page, and each map mode, runs on the Helsinki and Georgia samples."""
    at = _app_on(_sample(sample), monkeypatch)
    at.run()
    _sign_in(at, PLANNERS[sample])
    for page in PAGES:
        _open(at, page)
        _no_exceptions(at)
        assert not at.error, (page, [e.value for e in at.error])
    _open(at, "app_pages/territories.py")
    for mode in ("edit", "units"):
        at.segmented_control(key="tp.edit.mode").set_value(mode).run()
        _no_exceptions(at)
    assert len(set(fake_map.keys)) >= 3, "each mode draws its own map"


# --------------------------------------------------------------------------- territories


def test_drawing_shows_its_account_count_and_creates_a_territory(
    small_app: AppTest, fake_map: FakeMap
) -> None:
    """A drawn box shows the library's count at once; saving it makes a territory with them."""
    _open(small_app, "app_pages/territories.py")
    ws = _ws(small_app)
    expected = drawn_territory(_feature(CENTRE_BOX), ws.accounts).account_count
    assert expected > 0
    fake_map.send({"all_drawings": [_feature(CENTRE_BOX)]})
    small_app.run()
    _no_exceptions(small_app)
    assert f"{expected:,} accounts inside" in _texts(small_app)
    next(t for t in small_app.text_input if t.label == "Id").set_value("T9")
    next(t for t in small_app.text_input if t.label == "Name").set_value("Harbour")
    _button(small_app, "Create the territory").click().run()
    _no_exceptions(small_app)
    assert not small_app.error, [e.value for e in small_app.error]
    assert any("Created territory T9" in m.value for m in small_app.success)
    counts = _counts(small_app)
    assert counts["T9"] == expected
    assert counts["R"] == len(ws.accounts), "the region rolls up every account"
    frame = _frame(small_app, "territory", s.TERRITORY_ID, "accounts")
    assert frame.set_index(s.TERRITORY_ID).loc["T9", "change"] == expected
    terr = _ws(small_app).territories("base").set_index(s.TERRITORY_ID)
    assert terr.loc["T9", s.PARENT_ID] == "R" and terr.loc["T9", s.SOURCE] == "drawn"
    assert "territory.draw" in set(_ws(small_app).audit["action"])
    assert not re.search(r"\d+ accounts inside", _texts(small_app)), "the drawing is consumed"


def test_replacing_the_selected_shape(small_app: AppTest, fake_map: FakeMap) -> None:
    """A drawing can replace the selected territory's shape; its accounts follow."""
    _open(small_app, "app_pages/territories.py")
    small_app.selectbox(key="tp.edit.selected").set_value("T1").run()
    fake_map.send({"all_drawings": [_feature(CENTRE_BOX)]})
    small_app.run()
    small_app.radio(key="tp.edit.use").set_value("replace").run()
    _button(small_app, "Replace the shape").click().run()
    _no_exceptions(small_app)
    assert not small_app.error, [e.value for e in small_app.error]
    ws = _ws(small_app)
    assert ws.territories("base").set_index(s.TERRITORY_ID).loc["T1"].geometry.equals(CENTRE_BOX)
    inside = drawn_territory(_feature(CENTRE_BOX), ws.accounts).account_count
    assert _counts(small_app)["T1"] == inside


def test_bowtie_is_repaired_with_a_warning(small_app: AppTest, fake_map: FakeMap) -> None:
    """A self-crossing polygon is repaired, the repair shown, and its accounts still counted."""
    _open(small_app, "app_pages/territories.py")
    bowtie = {
        "type": "Feature",
        "properties": {},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[24.91, 60.16], [24.97, 60.18], [24.97, 60.16], [24.91, 60.18],
                             [24.91, 60.16]]],
        },
    }  # fmt: skip
    fake_map.send({"all_drawings": [bowtie]})
    small_app.run()
    _no_exceptions(small_app)
    assert any("Repaired" in w.value for w in small_app.warning)
    assert "accounts inside" in _texts(small_app)


@pytest.mark.parametrize(
    ("geometry", "words"),
    [
        ({"type": "LineString", "coordinates": [[24.91, 60.16], [24.95, 60.18]]}, "drawn shape"),
        ({"type": "Polygon", "coordinates": []}, "drawn shape"),
    ],
    ids=["line", "empty"],
)
def test_unusable_drawing_is_rejected_naming_it(
    small_app: AppTest, fake_map: FakeMap, geometry: dict[str, Any], words: str
) -> None:
    """A line or an empty polygon is rejected with the library's message, and nothing changes."""
    _open(small_app, "app_pages/territories.py")
    before = _ws(small_app).territories("base").copy()
    fake_map.send({"all_drawings": [{"type": "Feature", "properties": {}, "geometry": geometry}]})
    small_app.run()
    _no_exceptions(small_app)
    assert small_app.error, "the drawing must be rejected"
    assert words in small_app.error[0].value
    assert not any(b.label == "Create the territory" for b in small_app.button)
    pd.testing.assert_frame_equal(_ws(small_app).territories("base"), before)


def test_clicking_a_unit_toggles_it_and_updates_the_counts(
    small_app: AppTest, fake_map: FakeMap
) -> None:
    """In unit mode a click inside unit U00 removes it from T1; a second click adds it back."""
    _open(small_app, "app_pages/territories.py")
    small_app.selectbox(key="tp.edit.selected").set_value("T1").run()
    small_app.segmented_control(key="tp.edit.mode").set_value("units").run()
    ws = _ws(small_app)
    before = int(assign_workspace(ws, "base").counts()["T1"])  # stored memberships are stale
    unit = ws.units.set_index(s.UNIT_ID).loc["U00"].geometry
    inside = drawn_territory(_feature(unit), ws.accounts).account_count
    assert inside > 0
    spot = unit.centroid
    fake_map.send({"last_object_clicked": {"lat": spot.y, "lng": spot.x}})
    small_app.run()
    _no_exceptions(small_app)
    assert not small_app.error, [e.value for e in small_app.error]
    assert any("Removed unit U00 from T1" in m.value for m in small_app.success)
    assert _counts(small_app)["T1"] == before - inside
    small_app.run()  # a rerun must not replay the click
    assert _counts(small_app)["T1"] == before - inside
    fake_map.send({"last_object_clicked": {"lat": spot.y, "lng": spot.x}})
    small_app.run()
    assert any("Added unit U00 to T1" in m.value for m in small_app.success)
    assert _counts(small_app)["T1"] == before
    actions = list(_ws(small_app).audit["action"])
    assert "territory.unit_remove" in actions and "territory.unit_add" in actions


def test_unit_form_refuses_a_parent_territory(small_app: AppTest, fake_map: FakeMap) -> None:
    """Units go only to the lowest level: picking the region shows why and changes nothing."""
    _open(small_app, "app_pages/territories.py")
    small_app.selectbox(key="tp.edit.selected").set_value("R").run()
    small_app.segmented_control(key="tp.edit.mode").set_value("units").run()
    before = _counts(small_app)
    small_app.selectbox(key="tp.edit.unit_pick").set_value("U11")
    _button(small_app, "Add or remove it").click().run()
    _no_exceptions(small_app)
    assert small_app.error and "only the lowest level takes units" in small_app.error[0].value
    assert _counts(small_app) == before


# --------------------------------------------------------------------------- hierarchy


def _tree(at: AppTest) -> pd.DataFrame:
    return _frame(at, "territory", "path")


def test_rename_shows_in_the_tree(small_app: AppTest, fake_map: FakeMap) -> None:
    """Renaming a territory changes its name in the tree and writes an audit entry."""
    _open(small_app, "app_pages/hierarchy.py")
    small_app.selectbox(key="tp.hierarchy.rename_id").set_value("T1").run()
    small_app.text_input(key="tp.hierarchy.name.T1").set_value("West side")
    _button(small_app, "Save").click().run()
    _no_exceptions(small_app)
    assert not small_app.error, [e.value for e in small_app.error]
    tree = _tree(small_app).set_index(s.TERRITORY_ID)
    assert "West side" in tree.loc["T1", "territory"]
    assert "hierarchy.rename" in set(_ws(small_app).audit["action"])


def test_cycle_is_rejected_and_saves_nothing(small_app: AppTest, fake_map: FakeMap) -> None:
    """Moving the region under its own child shows the library's error; nothing changes."""
    _open(small_app, "app_pages/hierarchy.py")
    tree_before = _tree(small_app)
    ws = _ws(small_app)
    terr_before = ws.territories("base").copy()
    audit_before = len(ws.audit)
    small_app.selectbox(key="tp.hierarchy.move_id").set_value("R")
    small_app.selectbox(key="tp.hierarchy.move_to").set_value("T1")
    _button(small_app, "Move").click().run()
    _no_exceptions(small_app)
    assert small_app.error and "make a cycle" in small_app.error[0].value
    pd.testing.assert_frame_equal(_tree(small_app), tree_before)
    pd.testing.assert_frame_equal(_ws(small_app).territories("base"), terr_before)
    assert len(_ws(small_app).audit) == audit_before


def test_missing_parent_is_rejected_and_saves_nothing(small_workspace: Workspace) -> None:
    """A parent id typed into the move box that does not exist is refused; nothing changes.

    (AppTest cannot type a new option into a select box, so this calls the page's edit.)
    """
    from planner import edit
    from planner.errors import InputError

    before = {k: v.copy() for k, v in small_workspace.tables.items()}
    with pytest.raises(InputError, match="no territory 'NOPE'"):
        edit.move_territory(small_workspace, "base", "T1", "NOPE")
    for name, frame in before.items():
        pd.testing.assert_frame_equal(small_workspace.tables[name], frame)


def test_legal_move_reparents_and_relevels(small_app: AppTest, fake_map: FakeMap) -> None:
    """Moving T3 to the top level makes it a root at level 0."""
    _open(small_app, "app_pages/hierarchy.py")
    small_app.selectbox(key="tp.hierarchy.move_id").set_value("T3")
    small_app.selectbox(key="tp.hierarchy.move_to").set_value(None)
    _button(small_app, "Move").click().run()
    _no_exceptions(small_app)
    assert not small_app.error, [e.value for e in small_app.error]
    terr = _ws(small_app).territories("base").set_index(s.TERRITORY_ID)
    assert terr.loc["T3", s.PARENT_ID] is None and terr.loc["T3", s.LEVEL] == 0


def test_territory_types_are_editable(small_app: AppTest, fake_map: FakeMap) -> None:
    """The types table lists the priority; an overlay type can be added and saved."""
    _open(small_app, "app_pages/hierarchy.py")
    ws = _ws(small_app)
    assert list(ws.territory_types[s.TYPE_ID]) == ["geographic"]
    from planner import edit

    edit.save_territory_types(
        ws,
        pd.DataFrame(
            {
                s.TYPE_ID: ["geographic", "overlay"],
                s.NAME: ["Geographic", "Overlay"],
                s.PRIORITY: [10, 5],
                s.DESCRIPTION: ["", "specialists"],
            }
        ),
    )
    small_app.run()
    _no_exceptions(small_app)
    assert dict(
        zip(ws.territory_types[s.TYPE_ID], ws.territory_types[s.PRIORITY], strict=True)
    ) == {
        "geographic": 10,
        "overlay": 5,
    }
    with pytest.raises(Exception, match="priorities must be whole numbers"):
        edit.save_territory_types(
            ws,
            pd.DataFrame({s.TYPE_ID: ["x"], s.NAME: ["X"], s.PRIORITY: [1.5], s.DESCRIPTION: [""]}),
        )


# --------------------------------------------------------------------------- assignment


def test_membership_filters_and_explain(small_app: AppTest, fake_map: FakeMap) -> None:
    """The table filters by territory and text; "why" explains an account's territory."""
    _open(small_app, "app_pages/assignment.py")
    _no_exceptions(small_app)
    all_rows = _frame(small_app, s.CAUSE, s.DETAIL)
    small_app.multiselect(key="tp.assign.t").set_value(["T1"]).run()
    t1 = _frame(small_app, s.CAUSE, s.DETAIL)
    assert 0 < len(t1) < len(all_rows) and set(t1[s.TERRITORY_ID]) == {"T1"}
    small_app.text_input(key="tp.assign.q").set_value("A0001").run()
    assert set(_frame(small_app, s.CAUSE, s.DETAIL)[s.ACCOUNT_ID]) <= {"A0001"}
    account = str(t1[s.ACCOUNT_ID].iloc[0])
    small_app.selectbox(key="tp.assign.account").set_value(account)
    small_app.selectbox(key="tp.assign.why_not").set_value("T3").run()
    _no_exceptions(small_app)
    verdicts = _frame(small_app, "member", "why")
    member = verdicts[verdicts["member"]]
    assert list(member["territory"]) == ["West (T1)"]
    assert "East (T3)" in set(verdicts["territory"])


def test_stale_memberships_can_be_reassigned(small_app: AppTest, fake_map: FakeMap) -> None:
    """The small workspace stores one account in no territory; re-assigning fixes it."""
    _open(small_app, "app_pages/assignment.py")
    assert any("out of date" in w.value for w in small_app.warning)
    _button(small_app, "Re-assign now").click().run()
    _no_exceptions(small_app)
    assert not any("out of date" in w.value for w in small_app.warning)
    assert _ws(small_app).memberships("base")[s.ACCOUNT_ID].nunique() == 40


def test_overlap_is_listed_and_zoomed_to(overlap_app: AppTest, fake_map: FakeMap) -> None:
    """An overlap between T1 and T2 is listed with its accounts; "Zoom" fits the map to it."""
    _open(overlap_app, "app_pages/assignment.py")
    _no_exceptions(overlap_app)
    assert any("T1 and T2 overlap" in m.value for m in overlap_app.markdown)
    keys_before = len(fake_map.keys)
    overlap_app.button(key="tp.assign.zoom.o:T1:T2").click().run()
    _no_exceptions(overlap_app)
    assert any("Zoomed to: T1 and T2 overlap" in c.value for c in overlap_app.caption)
    assert len(fake_map.keys) > keys_before


def test_bulk_reassignment_moves_a_territory(small_app: AppTest, fake_map: FakeMap) -> None:
    """Moving T1's accounts to T2 writes overrides and empties T1."""
    _open(small_app, "app_pages/assignment.py")
    form_selects = [
        sb for sb in small_app.selectbox if sb.label in ("From territory", "To territory")
    ]
    dict((sb.label, sb) for sb in form_selects)["From territory"].set_value("T1")
    dict((sb.label, sb) for sb in form_selects)["To territory"].set_value("T2")
    next(t for t in small_app.text_input if t.label == "Reason").set_value("T1 rep left")
    _button(small_app, "Move the accounts").click().run()
    _no_exceptions(small_app)
    assert not small_app.error, [e.value for e in small_app.error]
    assert any(m.value.startswith("Moved ") for m in small_app.success)
    ws = _ws(small_app)
    primary = ws.memberships("base")
    primary = primary[primary[s.IS_PRIMARY]]
    assert "T1" not in set(primary[s.TERRITORY_ID])
    overrides = ws.rows("overrides", "base")
    assert set(overrides[s.REASON]) == {"T1 rep left"}


def test_bulk_reassignment_to_itself_is_refused(small_app: AppTest, fake_map: FakeMap) -> None:
    """Moving a territory's accounts into itself shows the library's reason."""
    _open(small_app, "app_pages/assignment.py")
    for sb in small_app.selectbox:
        if sb.label in ("From territory", "To territory"):
            sb.set_value("T2")
    _button(small_app, "Move the accounts").click().run()
    assert small_app.error and "same" in small_app.error[0].value


# --------------------------------------------------------------------------- access


def test_a_manager_edits_only_their_own_territories(
    fake_map: FakeMap, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Metro Atlanta's manager may move units between their territories, not take Savannah's."""
    at = _app_on(_sample("georgia"), monkeypatch)
    at.run()
    _sign_in(at, "ga-mgr-d-metro")
    _open(at, "app_pages/territories.py")
    _no_exceptions(at)
    assert set(_counts(at)) == {"D-METRO", "T-ATL", "T-LAW", "T-MAR"}
    at.selectbox(key="tp.edit.selected").set_value("T-ATL").run()
    at.segmented_control(key="tp.edit.mode").set_value("units").run()
    full = at.session_state["tp.workspace"]
    ua = full.rows("unit_assignment", "fy2027")
    savannah = str(ua[ua[s.TERRITORY_ID] == "T-SAV"][s.UNIT_ID].iloc[0])
    marietta = str(ua[ua[s.TERRITORY_ID] == "T-MAR"][s.UNIT_ID].iloc[0])
    at.selectbox(key="tp.edit.unit_pick").set_value(savannah)
    _button(at, "Add or remove it").click().run()
    assert at.error and "Access denied" in at.error[0].value and "T-SAV" in at.error[0].value
    assert str(full.rows("unit_assignment", "fy2027").set_index(s.UNIT_ID).loc[savannah,
               s.TERRITORY_ID]) == "T-SAV"  # fmt: skip
    at.selectbox(key="tp.edit.unit_pick").set_value(marietta)
    _button(at, "Add or remove it").click().run()
    _no_exceptions(at)
    assert not at.error, [e.value for e in at.error]
    assert any(f"Added unit {marietta} to T-ATL" in m.value for m in at.success)
    assert set(full.audit["user"].iloc[-2:]) == {"ga-mgr-d-metro"}


def test_a_rep_cannot_open_the_editor(fake_map: FakeMap, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reps get no edit page at all, and the hierarchy page without its edit forms."""
    at = _app_on(_sample("helsinki"), monkeypatch)
    at.run()
    _sign_in(at, "hel-rep-1")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/territories.py")  # not in a rep's navigation at all
    _open(at, "app_pages/hierarchy.py")
    _no_exceptions(at)
    assert not at.error and any("may look at the hierarchy" in i.value for i in at.info)
