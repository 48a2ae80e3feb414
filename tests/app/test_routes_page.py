"""The routes page (AppTest, no browser) and what it shows from planner.services."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from planner import schema as s
from planner.access import scope_for
from planner.errors import InputError
from planner.io.limits import ReadLimits
from planner.routing import RouteParams, plan_routes, visits_due
from planner.samples import SAMPLES, data_dir, sample_path
from planner.services import rep_accounts, rep_routes, route_map, route_tables, team_routes
from planner.services.network_upload import store_uploaded_network
from planner.workspace import open_workspace
from tests.app.conftest import HOSTILE_NAME, build_small_workspace

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "app_pages/routes.py"
#: A Monday, so that every test sees the same week's visits.
MONDAY = date(2026, 1, 5)


def _sample(name: str) -> bool:
    return (data_dir() / SAMPLES[name][0]).is_file()


def _no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _text(at: AppTest) -> str:
    parts = [c.value for c in at.caption] + [w.value for w in at.warning]
    parts += [i.value for i in at.info] + [e.value for e in at.error]
    return "\n".join(parts)


def _open(workspace: str, monkeypatch: pytest.MonkeyPatch, user: str | None = None) -> AppTest:
    """Run the routes page on ``workspace``, signed in as ``user`` (password "demo") if asked."""
    monkeypatch.setenv("PLANNER_WORKSPACE", workspace)
    monkeypatch.setenv("PLANNER_TILES", "none")
    at = AppTest.from_file(APP, default_timeout=90)
    at.switch_page(PAGE).run()
    if at.title and at.title[0].value == "Sign in":
        assert user is not None, "this workspace needs a sign-in"
        at.text_input(key="tp.widget.login").input(user)
        at.text_input(key="tp.widget.password").input("demo")
        at.button[0].click().run()
    _no_exceptions(at)
    at.date_input(key="tp.widget.routes.date").set_value(MONDAY).run()
    _no_exceptions(at)
    return at


@pytest.fixture
def small(small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The routes page on the small test workspace (local mode, no road network)."""
    return _open(str(small_workspace_file), monkeypatch)


# -- the page ---------------------------------------------------------------------------------


@pytest.mark.skipif(not _sample("helsinki"), reason="the Helsinki sample is not built")
def test_helsinki_route_follows_the_roads(monkeypatch: pytest.MonkeyPatch) -> None:
    """A planner sees a Helsinki rep's Monday along the roads: ETA table, totals, downloads."""
    at = _open("helsinki", monkeypatch, user="hel-planner")
    assert at.title[0].value == "Routes"
    text = _text(at)
    assert "roads of helsinki_roads.graphml.gz" in text
    assert "Estimated drive times" not in text
    metrics = _metrics(at)
    assert int(metrics["Visits"]) > 0
    assert "Drive time" in metrics and "Drive time (estimate)" not in metrics
    eta = at.dataframe[0].value
    assert {"arrive", "leave", "wait (min)", "drive from previous (min)"} <= set(eta.columns)
    assert eta["account"].iloc[-1] == "back home"
    assert list(eta["#"].iloc[:-1]) == list(range(1, len(eta)))
    labels = [b.label for b in at.download_button]
    assert "GPX for your phone" in labels and "ETA table (CSV)" in labels
    assert "Directions links open Google Maps" in text  # offline basemap: no link


@pytest.mark.skipif(not _sample("helsinki"), reason="the Helsinki sample is not built")
def test_signed_in_rep_sees_only_their_route(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rep can choose only themself and gets no planner tab."""
    at = _open("helsinki", monkeypatch, user="hel-rep-2")
    rep = at.selectbox(key="tp.widget.routes.rep")
    assert rep.options == ["Mikko Korhonen (hel-rep-2)"]
    assert not at.tabs
    assert "HEL-2" in _text(at)
    assert int(_metrics(at)["Visits"]) > 0


@pytest.mark.skipif(not _sample("georgia"), reason="the Georgia sample is not built")
def test_georgia_route_is_labelled_as_an_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a road network the page says the figures are straight-line estimates."""
    at = _open("georgia", monkeypatch, user="ga-mgr-d-metro")
    rep = at.selectbox(key="tp.widget.routes.rep")
    assert rep.options == [
        "David Nguyen (ga-rep-law)",
        "Emily Carter (ga-rep-mar)",
        "Marcus Johnson (ga-rep-atl)",
    ]  # the metro manager's reps only
    assert any("Estimated drive times" in w.value for w in at.warning)
    assert "Drive time (estimate)" in _metrics(at)
    assert len(at.dataframe[0].value) > 1


def test_due_visits_route_shows_eta_and_week_totals(small: AppTest) -> None:
    """On the small workspace the week's due visits make a plan with day and week totals."""
    _no_exceptions(small)
    assert small.selectbox(key="tp.widget.routes.rep").options == ["Aino Virtanen (R1)"]
    assert "visits due" in _text(small)
    labels = [m.label for m in small.metric]
    assert labels.count("Visits") == 2  # the day's and the week's
    assert "Not visited" in labels
    eta = small.dataframe[0].value
    assert eta["account"].iloc[-1] == "back home"


def test_choosing_accounts_routes_them_on_the_date(small: AppTest) -> None:
    """Picking three accounts plans one day visiting exactly those, in a numbered order."""
    small.radio(key="tp.widget.routes.mode").set_value("chosen").run()
    _no_exceptions(small)
    assert "pick the accounts to visit" in _text(small)
    picker = small.multiselect(key="tp.widget.routes.accounts")
    chosen = picker.options[:3]
    ids = [label.rsplit("(", 1)[1].rstrip(")") for label in chosen]
    picker.set_value(ids)
    small.button(key="tp.widget.routes.route_chosen").click().run()
    _no_exceptions(small)
    eta = small.dataframe[0].value
    assert sorted(eta["account id"].iloc[:-1]) == sorted(ids)
    assert _metrics(small)["Visits"] == "3"
    assert "Week totals" not in " ".join(m.value for m in small.markdown)


def test_changing_the_day_window_replans(small: AppTest) -> None:
    """A shorter day replans: the route ends by the new end of the day."""
    from datetime import time

    small.time_input(key="tp.widget.routes.end").set_value(time(12, 0)).run()
    _no_exceptions(small)
    back = _metrics(small)["Back home"]
    assert back == "—" or back <= "12:00"


def test_workload_tab_estimates_and_simulates(small: AppTest) -> None:
    """The travel workload tab shows weekly drive hours and spread, then simulated hours."""
    table = small.dataframe[-1].value
    assert {"drive h / week (estimate)", "spread (km)", "spread out?"} <= set(table.columns)
    assert list(table["territory"]) == ["West", "Centre & <b>Port</b>", "East"]
    assert (table["drive h / week (estimate)"] > 0).all()
    small.slider(key="tp.widget.routes.sim_weeks").set_value(1)
    small.slider(key="tp.widget.routes.sim_search").set_value(1)
    small.button(key="tp.widget.routes.simulate").click().run()
    _no_exceptions(small)
    table = small.dataframe[-1].value
    assert "drive h / week (simulated)" in table.columns
    assert table["drive h / week (simulated)"].notna().all()


# -- the glue ---------------------------------------------------------------------------------


def test_visits_due_follow_the_frequencies() -> None:
    """Over a year each account is due about as often as its visits per month ask, steadily."""
    accounts = pd.DataFrame(
        {
            s.ACCOUNT_ID: [f"A{i}" for i in range(400)],
            s.VISITS_PER_MONTH: np.repeat([0.25, 0.5, 1.0, 2.0, 8.0, 0.0, np.nan, 30.0], 50),
        }
    )
    weeks = [
        rep_routes.week_start(MONDAY) + pd.Timedelta(weeks=w).to_pytimedelta() for w in range(52)
    ]
    counts = pd.Series(0, index=accounts[s.ACCOUNT_ID])
    for monday in weeks:
        due = visits_due(accounts, monday)
        counts[due[s.ACCOUNT_ID]] += due["visits_this_week"].to_numpy()
    per_year = counts.groupby(np.repeat(np.arange(8), 50)).mean().to_numpy()
    expected = np.array([0.25, 0.5, 1.0, 2.0, 8.0, 0.0, 1.0, 30.0]) * 12
    expected[-1] = 5 * 52  # at most one visit a working day
    assert np.allclose(per_year[:7], expected[:7], atol=1.0)  # each frequency met, give or take one
    assert per_year[7] == expected[7]
    again = visits_due(accounts, weeks[3])
    assert again.equals(visits_due(accounts, weeks[3]))  # the same week, the same visits


def test_next_working_day_skips_the_weekend() -> None:
    """A Saturday becomes the next Monday; a weekday stays."""
    assert rep_routes.next_working_day(date(2026, 1, 10)) == date(2026, 1, 12)
    assert rep_routes.next_working_day(date(2026, 1, 7)) == date(2026, 1, 7)
    assert rep_routes.week_start(date(2026, 1, 11)) == MONDAY


def test_routable_reps_follow_the_scope() -> None:
    """Reps see themselves, managers their team, planners everyone who owns a territory."""
    ws = build_small_workspace()
    reps = ws.reps.copy()
    reps.loc[len(reps)] = {
        s.REP_ID: "R3",
        s.NAME: "Other rep",
        s.ROLE: "rep",
        s.CAPACITY_H_PER_WEEK: 40.0,
        "geometry": reps.geometry.iloc[0],
    }
    reps.loc[len(reps)] = {
        s.REP_ID: "P1",
        s.NAME: "Planner",
        s.ROLE: "planner",
        s.CAPACITY_H_PER_WEEK: None,
        "geometry": None,
    }
    reps.loc[len(reps)] = {
        s.REP_ID: "M2",
        s.NAME: "Team lead",
        s.ROLE: "manager",
        s.CAPACITY_H_PER_WEEK: None,
        "geometry": None,
    }
    reps[s.MANAGER_ID] = [None, None, "M2", None, None]
    ws.set_table("reps", reps)
    assoc = ws.rows("associations", "base").copy()
    assoc.loc[len(assoc)] = {**assoc.iloc[0].to_dict(), s.REP_ID: "R3", s.TERRITORY_ID: "T3"}
    ws.set_rows("associations", "base", assoc.drop(columns=[s.SCENARIO_ID], errors="ignore"))

    def ids(user: str) -> list[str]:
        scope = scope_for(ws, user, scenario_id="base")
        return list(rep_accounts.routable_reps(ws, "base", scope, on=MONDAY)[s.REP_ID])

    assert ids("R1") == ["R1"]
    assert ids("R2") == ["R1", "R3"]  # manager of the region: every owner below it
    assert ids("M2") == ["R3"]  # a team lead without territories: their reports
    assert ids("R3") == ["R3"]
    assert ids("P1") == ["R1", "R3"]
    assert rep_accounts.routable_reps(ws, "base", None, on=MONDAY).empty


def test_rep_accounts_are_the_owned_territory_members() -> None:
    """A rep's stops are the members of the territories they own, with coordinates."""
    ws = build_small_workspace()
    stops = rep_accounts.rep_accounts(ws, "base", "R1", on=MONDAY)
    members = ws.memberships("base")
    expected = set(members.loc[members[s.TERRITORY_ID] == "T1", s.ACCOUNT_ID])
    assert set(stops[s.ACCOUNT_ID]) == expected
    assert stops[[s.LATITUDE, s.LONGITUDE]].notna().all().all()
    assert rep_accounts.rep_accounts(ws, "base", "R2", on=MONDAY).empty  # a manager owns nothing
    assert rep_accounts.rep_home(ws, "R1") == pytest.approx((60.17, 24.92))


def test_route_map_draws_numbered_stops_and_escapes_names() -> None:
    """The map has the route line, one numbered marker per stop, home, and no raw HTML names."""
    from planner.viz import map_html

    ws = build_small_workspace()
    stops = rep_accounts.rep_accounts(ws, "base", "R1", on=MONDAY).head(4)
    stops.loc[stops.index[0], s.NAME] = HOSTILE_NAME
    stops.loc[stops.index[1], s.NAME] = "Bad`);alert(1);//${x}\\"
    plan = plan_routes(stops, (60.17, 24.92), params=RouteParams(time_limit_s=0.2))
    assert len(plan.days[0].stops) == 4
    html = map_html(route_map.route_map(plan, 0))
    assert html.count('"className": "tp-route"') == 5  # four legs out, one home
    assert html.count('"className": "tp-stop"') == 4
    for n in range(1, 5):
        assert f'"html": "\\u003cdiv\\u003e{n}\\u003c/div\\u003e"' in html
    assert '"className": "tp-home"' in html
    assert "<img src=x" not in html and "&lt;img src=x" in html
    assert "Bad`" not in html and "${x}" not in html
    assert "Bad&#96;);alert(1);//&#36;{x}&#92;" in html
    assert "Straight-line estimate" in html  # no network: the legend says so
    eta = route_tables.eta_frame(plan, 0)
    assert list(eta["#"].iloc[:4]) == [1, 2, 3, 4] and eta["account"].iloc[-1] == "back home"


def test_account_drive_hours_split_each_territory_total() -> None:
    """Accounts share their territory's weekly drive hours; far-out accounts carry more."""
    from planner.routing import travel_workload

    ws = build_small_workspace()
    hours = rep_accounts.account_drive_hours(ws, "base", on=MONDAY)
    assert hours.index.equals(ws.accounts.index) and (hours >= 0).all()
    assert hours.iloc[-1] == 0.0  # the last account is in no territory
    table = travel_workload(
        rep_accounts.territory_accounts(ws, "base"),
        homes=rep_accounts.territory_homes(ws, "base", on=MONDAY),
    )
    members = ws.memberships("base").set_index(s.ACCOUNT_ID)[s.TERRITORY_ID]
    by_territory = hours.groupby(ws.accounts[s.ACCOUNT_ID].map(members)).sum()
    expected = table.set_index(s.TERRITORY_ID)["drive_h_per_week"]
    assert by_territory.reindex(expected.index).to_numpy() == pytest.approx(expected.to_numpy())
    t1 = ws.accounts[ws.accounts[s.ACCOUNT_ID].map(members) == "T1"]
    away = np.hypot(t1.geometry.x - 24.92, (t1.geometry.y - 60.17) * 2)  # R1's home
    assert hours[away.idxmax()] > hours[away.idxmin()]


def test_directions_links_only_with_the_online_basemap(small: AppTest) -> None:
    """Offline a note explains the missing link; with OpenStreetMap tiles the links appear."""
    assert not small.get("link_button")
    assert "Directions links open Google Maps" in _text(small)
    small.sidebar.radio(key="tp.widget.tiles").set_value("osm").run()
    _no_exceptions(small)
    links = small.get("link_button")
    assert links and all(
        link.proto.url.startswith("https://www.google.com/maps/dir/") for link in links
    )


# -- team plans -------------------------------------------------------------------------------


def _team_plan(at: AppTest, pool: str, territories: list[str], reps: list[str] | None) -> None:
    """Fill the Team plan tab and plan (search time at its 2 s minimum)."""
    at.radio(key="tp.widget.team.pool").set_value(pool).run()
    if territories:
        at.multiselect(key=f"tp.widget.team.territories.{pool}").set_value(territories).run()
    if reps is not None:
        at.multiselect(key=f"tp.widget.team.reps.{','.join(territories)}").set_value(reps).run()
    at.slider(key="tp.widget.team.search").set_value(2).run()
    at.button(key="tp.widget.team.plan").click().run()
    _no_exceptions(at)


def test_team_plan_covers_a_vacant_territory(small: AppTest) -> None:
    """Two reps cover the vacant Centre territory: one plan, a map per rep, tables and files."""
    _team_plan(small, "vacant", ["T2"], ["R1", "R2"])
    metrics = _metrics(small)
    assert metrics["Reps"] == "2"
    visits = int(metrics["Visits"])
    assert visits > 0
    summary = next(d.value for d in small.dataframe if "days with visits" in d.value.columns)
    assert list(summary["rep_id"]) == ["R1", "R2"]
    assert int(summary["visits"].sum()) == visits
    table = next(d.value for d in small.dataframe if {"rep", "account id"} <= set(d.value.columns))
    ws = build_small_workspace()
    centre = set(ws.memberships("base").query("territory_id == 'T2'")[s.ACCOUNT_ID])
    assert set(table["account id"]) <= centre  # only the pool's accounts
    labels = [b.label for b in small.get("download_button")]
    assert labels.count("GPX") == 2 and labels.count("CSV") == 2


def test_team_plan_asks_for_reps_and_territories(small: AppTest) -> None:
    """Nothing is planned until reps and territories are chosen; the tab says what is missing."""
    small.radio(key="tp.widget.team.pool").set_value("territory").run()
    _no_exceptions(small)
    assert "Pick the reps to plan together." in _text(small)
    small.multiselect(key="tp.widget.team.reps.").set_value(["R1"]).run()
    assert "no territory chosen" in _text(small)
    assert not [b for b in small.button if b.key == "tp.widget.team.plan"]


@pytest.mark.slow
@pytest.mark.skipif(not _sample("helsinki"), reason="the Helsinki sample is not built")
def test_manager_plans_two_reps_week(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Helsinki manager pools two territories; their owners share the week along the roads."""
    at = _open("helsinki", monkeypatch, user="hel-mgr")
    options = at.multiselect(key="tp.widget.team.reps.").options
    assert "hel-planner" not in " ".join(options)
    _team_plan(at, "territory", ["HEL-1", "HEL-2"], None)  # the owners are picked for us
    summary = next(d.value for d in at.dataframe if "days with visits" in d.value.columns)
    assert list(summary["rep_id"]) == ["hel-rep-1", "hel-rep-2"]
    assert (summary["visits"] > 0).all(), "both reps should get visits"
    assert "Estimated" not in " ".join(str(m.label) for m in at.metric)


def test_team_reps_and_pools_follow_the_scope() -> None:
    """A rep plans only themself; a manager their reps; unassigned and vacant pools are right."""
    ws = build_small_workspace()
    rep = scope_for(ws, "R1", scenario_id="base")
    manager = scope_for(ws, "R2", scenario_id="base")
    assert list(team_routes.team_reps(ws, "base", rep, on=MONDAY)[s.REP_ID]) == ["R1"]
    assert set(team_routes.team_reps(ws, "base", manager, on=MONDAY)[s.REP_ID]) == {"R1", "R2"}
    assert team_routes.team_reps(ws, "base", None, on=MONDAY).empty
    terr = team_routes.pool_territories(ws, "base", manager, on=MONDAY)
    assert dict(zip(terr[s.TERRITORY_ID], terr["vacant"], strict=True)) == {
        "T1": False,
        "T2": True,
        "T3": True,
    }
    vacant = team_routes.pool_accounts(ws, "base", manager, "vacant", on=MONDAY)
    assert set(vacant[s.TERRITORY_ID]) == {"T2", "T3"}
    planner = scope_for(ws, "R2", scenario_id="base")
    loose = team_routes.pool_accounts(ws, "base", planner, "unassigned", on=MONDAY)
    assert set(loose[s.ACCOUNT_ID]) <= {"A0039"}
    request = team_routes.TeamRequest(
        rep_ids=("R1", "R2"),
        pool="territory",
        territory_ids=("T1",),
        first_monday=MONDAY,
        route=RouteParams(time_limit_s=1.0),
    )
    with pytest.raises(InputError, match="cannot be planned") as err:
        team_routes.plan_team_routes(ws, "base", rep, request)
    assert "R2" in err.value.problems[0].message
    with pytest.raises(InputError, match="invalid team plan request"):
        team_routes.TeamRequest(rep_ids=(), pool="territory")


def test_team_plan_of_the_small_workspace_uses_each_reps_shift() -> None:
    """Shifts given for the plan are kept: no visit outside a rep's own hours or days."""
    ws = build_small_workspace()
    scope = scope_for(ws, "R2", scenario_id="base")
    request = team_routes.TeamRequest(
        rep_ids=("R1", "R2"),
        pool="territory",
        territory_ids=("T1", "T2", "T3"),
        first_monday=MONDAY,
        use_frequencies=False,
        route=RouteParams(time_limit_s=2.0),
        shifts=(("R1", "09:00", "13:00", "Mo,Tu"), ("R2", "12:00", "17:00", "We")),
    )
    team = team_routes.plan_team_routes(ws, "base", scope, request)
    visits = team_routes.team_visits(team)
    r1 = visits[visits[s.REP_ID] == "R1"]
    r2 = visits[visits[s.REP_ID] == "R2"]
    assert set(r1["date"].str[:2]) <= {"Mo", "Tu"} and set(r2["date"].str[:2]) <= {"We"}
    assert (r1["arrive"] >= "09:00").all() and (r1["leave"] <= "13:00").all()
    assert (r2["arrive"] >= "12:00").all() and (r2["leave"] <= "17:00").all()
    done = len(visits) + len(team.plan.unvisited)
    assert done == len(team.pool)  # every account visited or its reason given
    m = route_map.team_map(team.plan).get_root().render()
    assert "tp-rep-0" in m and "tp-rep-1" in m


# -- a road network from the user's own extract -----------------------------------------------

#: 52 KB of Monaco (© OpenStreetMap contributors, ODbL 1.0; see tests/data/README.md).
MONACO_PBF = ROOT / "tests" / "data" / "osm" / "monaco_centre.osm.pbf"


def test_planner_uploads_an_extract_and_routes_follow_it(
    small: AppTest, small_workspace_file: Path
) -> None:
    """The extract is built, saved beside the workspace, its dropped parts and coverage reported."""
    assert rep_accounts.saved_network_file(small_workspace_file) is None
    upload = small.file_uploader(key="tp.widget.network.file")
    upload.upload(MONACO_PBF.name, MONACO_PBF.read_bytes()).run()
    small.button(key="tp.widget.network.build").click().run()
    _no_exceptions(small)
    saved = rep_accounts.saved_network_file(small_workspace_file)
    assert saved is not None and saved.name == "small_roads.graphml.gz"
    text = "\n".join([_text(small), *(x.value for x in small.success)])
    assert "Road network saved as small_roads.graphml.gz" in text
    assert "dropped as unreachable" in text and "parts" in text
    assert "Only 0 of the workspace's 40 located accounts" in text  # Monaco is not Helsinki
    assert "roads of small_roads.graphml.gz" in text  # the page now reads the stored network


def test_uploads_that_are_not_extracts_are_refused(small: AppTest) -> None:
    """An empty file and a corrupt PBF each get a clear error, and nothing is saved."""
    for name, data, expected in [
        ("empty.osm.pbf", b"", "the file is empty"),
        ("broken.osm.pbf", b"\x00\x00\x00\x0dnot a pbf at all", "broken.osm.pbf"),
    ]:
        small.file_uploader(key="tp.widget.network.file").set_value(
            (name, data, "application/octet-stream")
        ).run()
        small.button(key="tp.widget.network.build").click().run()
        _no_exceptions(small)
        assert expected in _text(small), name
        assert not small.success


def test_network_upload_checks_the_size_limit(tmp_path: Path) -> None:
    """A file above ReadLimits.max_file_bytes, or not OSM, is refused before it is read."""
    with pytest.raises(InputError, match="too large"):
        store_uploaded_network(
            MONACO_PBF.read_bytes(),
            MONACO_PBF.name,
            tmp_path / "w.gpkg",
            limits=ReadLimits(max_file_bytes=1000),
        )
    with pytest.raises(InputError, match="not an OpenStreetMap extract"):
        store_uploaded_network(b"a,b\n1,2\n", "accounts.csv", tmp_path / "w.gpkg")
    with pytest.raises(InputError, match="no file to store"):
        store_uploaded_network(MONACO_PBF.read_bytes(), MONACO_PBF.name, None)
    assert not list(tmp_path.iterdir())


@pytest.mark.skipif(not _sample("helsinki"), reason="the Helsinki sample is not built")
def test_stops_far_from_a_road_are_listed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Stops moved out to sea are named with their distance to the road network."""
    copy = tmp_path / "helsinki.gpkg"
    shutil.copyfile(sample_path("helsinki"), copy)
    shutil.copyfile(
        sample_path("helsinki").with_name("helsinki_roads.graphml.gz"),
        tmp_path / "helsinki_roads.graphml.gz",
    )
    ws = open_workspace(copy)
    sid = ws.active_scenario_id()
    members = ws.memberships(sid)
    held = set(members.loc[members["territory_id"] == "HEL-2", "account_id"])
    accounts = ws.accounts.copy()
    at_sea = accounts["account_id"].isin(held)
    n = int(at_sea.sum())
    accounts.loc[at_sea, "geometry"] = gpd.points_from_xy(  # 1-2 km off the shore, south
        np.linspace(24.93, 24.99, n), np.full(n, 60.125), crs=accounts.crs
    )
    ws.set_table("accounts", accounts)
    ws.commit("move HEL-2's accounts out to sea", user="hel-planner")
    at = _open(str(copy), monkeypatch, user="hel-rep-2")
    _no_exceptions(at)
    warned = "\n".join(w.value for w in at.warning)
    assert "far from a drivable road" in warned, warned
    far = next(e for e in at.expander if e.label == "Stops far from a road").dataframe[0].value
    assert set(far["Stop"]) <= held and len(far) > 0
    assert (far["To the nearest road (km)"] > 0.5).all()
