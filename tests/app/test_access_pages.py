"""Sign-in, sessions and who sees what in the app, run headless with AppTest."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from planner import schema as s
from planner.access import AccessDeniedError, scope_for
from planner.auth import ScryptParams, hash_password
from planner.models import Target
from planner.reports import set_targets
from planner.services import reporting
from planner.workspace import Workspace, open_workspace
from tests.app.conftest import build_small_workspace
from ui.auth import SIGN_IN_FAILED

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
#: Cheap scrypt cost: the tests check the flow, not the hash strength.
FAST = ScryptParams(log2_n=4, r=8, p=1)
PASSWORD = "correct horse battery"
SUBMIT = "FormSubmitter:tp.form.signin-Sign in"
#: A territory name a spreadsheet would run as a formula if exports did not neutralise it.
FORMULA_NAME = '=HYPERLINK("http://evil.example","East")'


def build_team_workspace() -> Workspace:
    """The small workspace with a team: reps R1, R3 (under manager M1), R4; R2 over the region.

    R1 owns T1, R3 owns T2, R4 owns T3, R2 manages the region R; M1 has no
    territory of their own, so they see their reps' T1 and T2. P1 is a
    planner and AD an admin. Every user's password is :data:`PASSWORD`.
    """
    ws = build_small_workspace()
    reps = pd.DataFrame(
        {
            s.REP_ID: ["R1", "R2", "R3", "R4", "M1", "P1", "AD"],
            s.NAME: ["Aino", "Mikko", "Laura", "Juha", "<b>Maija</b>", "Pekka", "Elina"],
            s.ROLE: ["rep", "manager", "rep", "rep", "manager", "planner", "admin"],
            s.EMAIL: [f"{r.lower()}@example.com" for r in ["R1", "R2", "R3", "R4", "M1", "P1",
                                                             "AD"]],
            s.MANAGER_ID: ["M1", None, "M1", "R2", "R2", None, None],
            s.CAPACITY_H_PER_WEEK: [40.0, 20.0, 40.0, 40.0, 20.0, 0.0, 0.0],
            s.PASSWORD_HASH: [hash_password(PASSWORD, params=FAST) for _ in range(7)],
        }
    )  # fmt: skip
    ws.set_table("reps", reps.assign(geometry=None))
    terr = ws.territories("base").copy()
    terr.loc[terr[s.TERRITORY_ID] == "T3", s.NAME] = FORMULA_NAME
    for sid in ("base", "draft"):
        ws.set_rows("territories", sid, terr[terr[s.TERRITORY_ID].isin(
            ws.territories(sid)[s.TERRITORY_ID])])  # fmt: skip
        ws.set_rows(
            "associations",
            sid,
            pd.DataFrame(
                {
                    s.REP_ID: ["R1", "R3", "R4", "R2"],
                    s.TERRITORY_ID: ["T1", "T2", "T3", "R"],
                    s.ROLE: ["owner", "owner", "owner", "manager"],
                }
            ),
        )
    ws.set_rows(
        "targets",
        "base",
        pd.DataFrame(
            {
                s.TERRITORY_ID: ["T1", "T2", "T3", "R", None],
                s.REP_ID: [None, None, None, None, "R1"],
                s.PERIOD: "2026-Q1",
                s.METRIC: "revenue",
                s.VALUE: [100.0, 200.0, 300.0, 650.0, 90.0],
            }
        ),
    )
    return ws


@pytest.fixture(scope="module")
def team_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The team workspace saved once for this module (read-only)."""
    path = tmp_path_factory.mktemp("team") / "team.gpkg"
    build_team_workspace().save(path)
    return path


@pytest.fixture(scope="module")
def team(team_file: Path) -> Workspace:
    """The team workspace as the app reads it."""
    return open_workspace(team_file)


@pytest.fixture
def app(team_file: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The app on the team workspace, not yet run."""
    monkeypatch.setenv("PLANNER_WORKSPACE", str(team_file))
    monkeypatch.setenv("PLANNER_TILES", "none")
    monkeypatch.delenv("PLANNER_SESSION_TIMEOUT_MIN", raising=False)
    return AppTest.from_file(APP, default_timeout=60)


def _no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _sign_in(at: AppTest, login: str, password: str = PASSWORD) -> AppTest:
    if not at.text_input:
        at.run()
    at.text_input(key="tp.widget.login").input(login)
    at.text_input(key="tp.widget.password").input(password)
    at.button(key=SUBMIT).click().run()
    _no_exceptions(at)
    return at


def _accounts_shown(at: AppTest) -> set[str]:
    """Account ids of the data page's accounts table."""
    return set(at.dataframe[0].value[s.ACCOUNT_ID].astype(str))


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


# -- sign-in ---------------------------------------------------------------------------------


def test_sign_in_is_required_when_users_have_passwords(app: AppTest) -> None:
    """Nothing of the workspace shows before signing in: only the form and the workspace picker."""
    app.run()
    _no_exceptions(app)
    assert [t.value for t in app.title] == ["Sign in"]
    assert not app.metric and not app.dataframe
    assert not [w for w in app.sidebar.selectbox if w.key == "tp.widget.scenario"]
    assert not app.sidebar.caption  # no counts before sign-in
    assert not app.info  # no demo hint: this is not a bundled sample


def test_failed_sign_ins_show_one_generic_message(app: AppTest) -> None:
    """A wrong password and an unknown user give the same message, and nobody is signed in."""
    _sign_in(app, "R1", "wrong password")
    wrong = _errors(app)
    _sign_in(app, "nobody", PASSWORD)
    unknown = _errors(app)
    assert wrong == unknown == [SIGN_IN_FAILED]
    assert [t.value for t in app.title] == ["Sign in"]


def test_sign_in_by_email_then_sign_out(app: AppTest) -> None:
    """The e-mail works as login; signing out brings the form back with a note."""
    _sign_in(app, "P1@example.com")
    assert app.title[0].value == "Small Helsinki"
    assert "Pekka" in " ".join(x.value for x in app.sidebar.text)
    app.sidebar.button(key="tp.widget.signout").click().run()
    _no_exceptions(app)
    assert [t.value for t in app.title] == ["Sign in"]
    assert app.warning[0].value == "You signed out."


def test_idle_session_times_out(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    """After $PLANNER_SESSION_TIMEOUT_MIN without activity the next interaction asks to sign in."""
    monkeypatch.setenv("PLANNER_SESSION_TIMEOUT_MIN", "0.02")  # 1.2 s
    _sign_in(app, "P1")
    assert app.title[0].value == "Small Helsinki"
    app.run()  # activity restarts the clock
    assert app.title[0].value == "Small Helsinki"
    time.sleep(1.5)
    app.run()
    _no_exceptions(app)
    assert [t.value for t in app.title] == ["Sign in"]
    assert "without activity" in app.warning[0].value


def test_workspace_without_passwords_opens_in_local_mode(
    small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No user has a password: no sign-in, the sidebar says local mode, everything is visible."""
    monkeypatch.setenv("PLANNER_WORKSPACE", str(small_workspace_file))
    at = AppTest.from_file(APP, default_timeout=60).run()
    _no_exceptions(at)
    assert at.title[0].value == "Small Helsinki"
    assert "Local mode" in " ".join(c.value for c in at.sidebar.caption)
    at.switch_page("app_pages/data.py").run()
    assert len(_accounts_shown(at)) == 40


def test_bundled_sample_lists_demo_users(monkeypatch: pytest.MonkeyPatch) -> None:
    """The form of a bundled sample names demo users of each role; "demo" signs them in."""
    monkeypatch.setenv("PLANNER_WORKSPACE", "helsinki")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert "password is **demo**" in at.info[0].value
    hint = at.dataframe[0].value
    assert set(hint["role"]) == {"rep", "manager", "planner", "admin"}
    _sign_in(at, "hel-rep-1", "demo")
    assert at.title[0].value == "Helsinki sample"


# -- who sees what -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("login", "territories"),
    [("R1", {"T1"}), ("M1", {"T1", "T2"}), ("R2", {"R", "T1", "T2", "T3"}), ("P1", None)],
)
def test_data_page_shows_only_the_users_scope(
    app: AppTest, team: Workspace, login: str, territories: set[str] | None
) -> None:
    """A rep sees their territory, a manager their team's subtree, a planner everything."""
    scope = scope_for(team, login, scenario_id="base")
    assert scope.territory_ids == (None if territories is None else frozenset(territories))
    _sign_in(app, login)
    app.switch_page("app_pages/data.py").run()
    _no_exceptions(app)
    expected = set(team.accounts[s.ACCOUNT_ID]) if scope.account_ids is None else scope.account_ids
    assert _accounts_shown(app) == expected
    shown_territories = set(app.dataframe[2].value[s.TERRITORY_ID])
    assert shown_territories == (territories or {"R", "T1", "T2", "T3"})
    reps = set(app.dataframe[1].value[s.REP_ID])
    assert reps == (set(team.reps[s.REP_ID]) if scope.rep_ids is None else scope.rep_ids)


def test_rep_sees_own_counts_on_overview_and_sidebar(app: AppTest, team: Workspace) -> None:
    """Counts on the overview and in the sidebar are those of the rep's scope."""
    scope = scope_for(team, "R1", scenario_id="base")
    assert scope.account_ids is not None
    _sign_in(app, "R1")
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Accounts"] == str(len(scope.account_ids))
    assert metrics["Territories"] == "1"
    assert f"{len(scope.account_ids)} accounts" in app.sidebar.caption[-1].value


def test_rep_picking_another_scenario_still_sees_only_their_area(
    app: AppTest, team: Workspace
) -> None:
    """The scope follows the chosen scenario."""
    _sign_in(app, "R1")
    app.sidebar.selectbox(key="tp.widget.scenario").set_value("draft").run()
    app.switch_page("app_pages/data.py").run()
    _no_exceptions(app)
    scope = scope_for(team, "R1", scenario_id="draft")
    assert scope.account_ids is not None and _accounts_shown(app) == scope.account_ids


@pytest.mark.parametrize(
    ("query", "denied"),
    [
        ({"territory": "T2"}, True),  # another rep's territory
        ({"territory": "R"}, True),  # the region above
        ({"territory": "NOPE"}, True),  # unknown: the same answer
        ({"account": "A0039"}, True),  # the account of no territory
        ({"territory": "T1"}, False),
    ],
)
@pytest.mark.parametrize("page", ["app_pages/data.py", "app_pages/map.py"])
def test_query_parameters_outside_the_scope_are_refused(
    app: AppTest, team: Workspace, page: str, query: dict[str, str], denied: bool
) -> None:
    """?territory= / ?account= beyond the rep's scope stop the page with "access denied"."""
    _sign_in(app, "R1")
    for key, value in query.items():
        app.query_params[key] = value
    app.switch_page(page).run()
    _no_exceptions(app)
    if denied:
        assert len(_errors(app)) == 1 and _errors(app)[0].startswith("Access denied")
        assert not app.title and not app.dataframe  # nothing of the page is drawn
    else:
        assert not _errors(app)
        assert "Showing only territory `T1`" in app.info[0].value


def test_focus_on_a_visible_account(app: AppTest, team: Workspace) -> None:
    """A planner's ?account= narrows the data page to that account."""
    _sign_in(app, "P1")
    app.query_params["account"] = "A0001"
    app.switch_page("app_pages/data.py").run()
    _no_exceptions(app)
    assert _accounts_shown(app) == {"A0001"}


def test_sign_in_keeps_the_address_asked_for(app: AppTest) -> None:
    """Opening ?territory=T2 before signing in: after the sign-in the page still refuses it."""
    app.query_params["territory"] = "T2"
    app.run()
    app.switch_page("app_pages/data.py").run()
    assert [t.value for t in app.title] == ["Sign in"]
    _sign_in(app, "R1")
    assert _errors(app)[0].startswith("Access denied")


# -- pages by role -----------------------------------------------------------------------------

PAGES = ["overview", "map", "data", "targets", "reports", "export"]


@pytest.mark.parametrize("login", ["R1", "M1", "P1", "AD"])
def test_every_page_renders_for_each_role(app: AppTest, login: str) -> None:
    """Each page the role may open runs without an exception or an error."""
    _sign_in(app, login)
    for name in PAGES:
        app.switch_page(f"app_pages/{name}.py").run()
        _no_exceptions(app)
        assert not _errors(app), (name, _errors(app))


def test_navigation_depends_on_the_role(app: AppTest) -> None:
    """Planner-only pages are not in a rep's navigation; Salesforce export is for admins."""
    _sign_in(app, "R1")
    if (ROOT / "app_pages/balance.py").is_file():
        with pytest.raises(ValueError, match=r"not a registered page|Could not find"):
            app.switch_page("app_pages/balance.py")
    app.switch_page("app_pages/export.py").run()
    assert "salesforce" not in app.radio(key="tp.widget.export_format").options
    assert not [b for b in app.sidebar.button if b.key == "tp.widget.save"]  # reps cannot edit


def test_admin_may_export_to_salesforce(app: AppTest) -> None:
    """The admin's export page offers the Salesforce load files and prepares them."""
    _sign_in(app, "AD")
    app.switch_page("app_pages/export.py").run()
    radio = app.radio(key="tp.widget.export_format")
    assert "Salesforce Enterprise Territory Management" in radio.options
    radio.set_value("salesforce").run()
    app.button(key="tp.widget.export_prepare").click().run()
    _no_exceptions(app)
    assert not _errors(app), _errors(app)
    assert app.success[0].value.startswith("Ready: 4 territories")


# -- targets -----------------------------------------------------------------------------------


def test_rep_reads_targets_but_cannot_set_them(app: AppTest) -> None:
    """A rep sees their territory's and their own targets, without the form."""
    _sign_in(app, "R1")
    app.switch_page("app_pages/targets.py").run()
    _no_exceptions(app)
    rollup = app.dataframe[0].value
    assert list(rollup[s.TERRITORY_ID]) == ["T1"]
    assert list(app.dataframe[1].value[s.REP_ID]) == ["R1"]
    assert not [b for b in app.button if "Set target" in b.label]


def test_manager_sets_a_target_in_their_subtree(app: AppTest) -> None:
    """M1 may set targets on T1/T2 and for their reps, not on T3 or for themselves."""
    _sign_in(app, "M1")
    app.switch_page("app_pages/targets.py").run()
    territory = next(b for b in app.selectbox if b.label == "Territory")
    user = next(b for b in app.selectbox if b.label == "User")
    assert set(territory.options) - {"(none: a user's own target)"} == {
        "West (T1)",
        "Centre & <b>Port</b> (T2)",
    }
    assert not [o for o in user.options if "(M1)" in o]
    territory.set_value("T2")
    next(n for n in app.number_input if n.label == "Value").set_value(250.0)
    app.button(key="FormSubmitter:tp.form.target-Set target").click().run()
    _no_exceptions(app)
    assert not _errors(app), _errors(app)
    rollup = app.dataframe[0].value.set_index(s.TERRITORY_ID)
    assert rollup.at["T2", "target"] == 250.0


def test_set_targets_refuses_outside_the_scope(team: Workspace) -> None:
    """The library call the page makes refuses T3 for manager M1 (the form never offers it)."""
    scope = scope_for(team, "M1", scenario_id="base")
    with pytest.raises(AccessDeniedError, match="may not set the targets"):
        set_targets(
            team.rows("targets", "base"),
            [Target("2026-Q1", 1.0, territory_id="T3")],
            scenario_id="base",
            scope=scope,
        )


# -- reports and downloads ---------------------------------------------------------------------


def _opportunities_csv(team: Workspace) -> bytes:
    ids = team.accounts[s.ACCOUNT_ID].tolist()[:30]
    frame = pd.DataFrame(
        {
            "opportunity_id": [f"O{i}" for i in range(len(ids))],
            "account_id": ids,
            "owner_id": ["R1" if i % 2 else "R3" for i in range(len(ids))],
            "amount": [1000.0 + i for i in range(len(ids))],
            "created_date": "2026-01-05",
            "closed_date": "2026-02-10",
            "stage": ["Closed Won" if i % 3 else "Closed Lost" for i in range(len(ids))],
        }
    )
    return frame.to_csv(index=False).encode()


def test_reports_with_opportunities_for_a_manager(app: AppTest, team: Workspace) -> None:
    """Opportunities add won revenue, star performers and sales cycle, within the scope only."""
    _sign_in(app, "M1")
    app.switch_page("app_pages/reports.py").run()
    app.file_uploader(key="tp.widget.opportunities").upload(
        "opps.csv", _opportunities_csv(team)
    ).run()
    _no_exceptions(app)
    assert not _errors(app), _errors(app)
    report, stars, cycle = (d.value for d in app.dataframe[:3])
    assert set(report[s.TERRITORY_ID]) == {"T1", "T2"}
    assert report["won_amount"].sum() > 0
    assert set(stars[s.REP_ID]) <= {"R1", "R3"}
    assert set(cycle[s.TERRITORY_ID]) == {"T1", "T2"}
    assert report[reporting.DRIVE_COLUMN].notna().all()


def test_rep_export_holds_only_their_records(team: Workspace) -> None:
    """The export the page prepares for R1 lists only R1's accounts, territories and users."""
    scope = scope_for(team, "R1", scenario_id="base")
    plan = reporting.visible_plan(team, "base", scope)
    with zipfile.ZipFile(io.BytesIO(reporting.export_zip(plan, "csv"))) as archive:
        membership = pd.read_csv(archive.open("membership.csv"), dtype=str)
        users = pd.read_csv(archive.open("users.csv"), dtype=str)
        hierarchy = pd.read_csv(archive.open("hierarchy.csv"), dtype=str)
    assert scope.account_ids is not None
    assert set(membership[s.ACCOUNT_ID]) == scope.account_ids
    assert set(hierarchy[s.TERRITORY_ID]) == {"T1"}
    assert set(users[s.REP_ID]) == {"R1"}
    assert "password_hash" not in users.columns


def test_rep_export_page_counts_match_the_scope(app: AppTest, team: Workspace) -> None:
    """Preparing an export as R1 reports the scope's counts."""
    scope = scope_for(team, "R1", scenario_id="base")
    assert scope.account_ids is not None
    _sign_in(app, "R1")
    app.switch_page("app_pages/export.py").run()
    app.button(key="tp.widget.export_prepare").click().run()
    _no_exceptions(app)
    assert app.success[0].value.startswith("Ready: 1 territory")
    assert f"{len(scope.account_ids)} accounts" in app.success[0].value


def test_exports_neutralise_formula_names(team: Workspace) -> None:
    """A territory named like a formula is written as text in CSV and XLSX downloads."""
    from openpyxl import load_workbook

    from planner.export.files import csv_bytes, xlsx_bytes
    from planner.reports import territory_report

    report = territory_report(team.territories("base"), team.memberships("base"), team.accounts)
    text = csv_bytes(report).decode()
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    book = load_workbook(io.BytesIO(xlsx_bytes({"By territory": report})))
    cells = [c.value for row in book.active.iter_rows() for c in row]
    assert "'" + FORMULA_NAME in cells and FORMULA_NAME not in cells
