"""Targets page: quotas proposed, edited, saved; Reports page: opportunities stored (AppTest)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from planner import schema as s
from planner.workspace import Workspace, open_workspace
from tests.app.test_access_pages import PASSWORD, SUBMIT, build_team_workspace
from ui import keys

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def app(small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """A local-mode session (no passwords: a planner's rights) on the small workspace."""
    monkeypatch.setenv("PLANNER_WORKSPACE", str(small_workspace_file))
    monkeypatch.setenv("PLANNER_TILES", "none")
    return AppTest.from_file(APP, default_timeout=60).run()


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _propose(at: AppTest, *, basis: str, total: float, period: str, step: int) -> pd.DataFrame:
    at.selectbox(key=keys.TARGETS_PROPOSE_BASIS).set_value(basis)
    at.number_input(key=keys.TARGETS_PROPOSE_TOTAL).set_value(total)
    at.text_input(key=keys.TARGETS_PROPOSE_PERIOD).set_value(period)
    at.selectbox(key=keys.TARGETS_PROPOSE_STEP).set_value(step)
    at.button(key=f"FormSubmitter:{keys.TARGETS_PROPOSE_FORM}-Propose").click().run()
    _ok(at)
    frames = [d.value for d in at.dataframe if "proposed" in d.value.columns]
    assert len(frames) == 1
    return frames[0]


def _opportunities_csv(ws: Workspace) -> bytes:
    ids = ws.accounts[s.ACCOUNT_ID].tolist()[:30]
    return (
        pd.DataFrame(
            {
                "Id": [f"O{i}" for i in range(len(ids))],
                "AccountId": ids,
                "OwnerId": "R1",
                "Amount": [1000.0 + i for i in range(len(ids))],
                "CreatedDate": "2026-01-05",
                "CloseDate": "2026-02-10",
                "StageName": ["Closed Won" if i % 3 else "Closed Lost" for i in range(len(ids))],
            }
        )
        .to_csv(index=False)
        .encode()
    )


def test_a_proposal_is_edited_and_saved_as_one_change(
    app: AppTest, small_workspace_file: Path
) -> None:
    """Accounts basis over T1..T3 sums to the total; an edited row is saved as edited."""
    app.switch_page("app_pages/targets.py").run()
    proposal = _propose(app, basis="accounts", total=3000.0, period="2027-Q1", step=1)
    assert list(proposal[s.TERRITORY_ID]) == ["T1", "T2", "T3"]
    assert proposal["proposed"].sum() == 3000
    members = open_workspace(small_workspace_file).memberships("base")
    counts = members.groupby(s.TERRITORY_ID).size()
    assert proposal.set_index(s.TERRITORY_ID)["basis_value"].to_dict() == counts.to_dict()
    assert "add up to 3,000" in " ".join(c.value for c in app.caption)
    before = open_workspace(small_workspace_file).version
    app.session_state[keys.TARGETS_PROPOSE_EDITOR] = {
        "edited_rows": {0: {"proposed": 1500.0}}, "added_rows": [], "deleted_rows": []
    }  # fmt: skip
    app.run()
    assert any("not the total 3,000" in w.value for w in app.warning)
    app.button(key=keys.TARGETS_PROPOSE_SAVE).click().run()
    _ok(app)
    ws = open_workspace(small_workspace_file)
    assert ws.version == before + 1
    saved = ws.rows("targets", "base").set_index(s.TERRITORY_ID)
    assert saved.loc["T1", "value"] == 1500.0
    assert saved.loc["T2", "value"] == proposal.set_index(s.TERRITORY_ID).loc["T2", "proposed"]
    assert set(saved["period"]) == {"2027-Q1"}


def test_a_bad_request_shows_one_clear_error(app: AppTest) -> None:
    """History without opportunities and an unknown period are explained, nothing is shown."""
    app.switch_page("app_pages/targets.py").run()
    app.selectbox(key=keys.TARGETS_PROPOSE_BASIS).set_value("history")
    app.text_input(key=keys.TARGETS_PROPOSE_PERIOD).set_value("soon")
    app.button(key=f"FormSubmitter:{keys.TARGETS_PROPOSE_FORM}-Propose").click().run()
    assert not app.exception
    assert len(app.error) == 1 and "unknown period 'soon'" in app.error[0].value
    app.text_input(key=keys.TARGETS_PROPOSE_PERIOD).set_value("2027")
    app.button(key=f"FormSubmitter:{keys.TARGETS_PROPOSE_FORM}-Propose").click().run()
    assert "no opportunities are stored" in app.error[0].value


def test_uploaded_opportunities_are_stored_and_drive_history(
    app: AppTest, small_workspace_file: Path
) -> None:
    """The upload is stored once (one change), reported, and a new session proposes from it."""
    ws = open_workspace(small_workspace_file)
    app.switch_page("app_pages/reports.py").run()
    app.file_uploader(key=keys.OPPORTUNITIES_UPLOAD).upload(
        "Opportunity.csv", _opportunities_csv(ws)
    ).run()
    _ok(app)
    assert "Stored 30 opportunities from Opportunity.csv" in app.success[0].value
    app.run()  # the uploader still holds the file: not stored a second time
    stored = open_workspace(small_workspace_file)
    assert stored.version == ws.version + 1 and len(stored.opportunities) == 30
    report = app.dataframe[0].value.set_index(s.TERRITORY_ID)
    won = 20 * 1000 + sum(i for i in range(30) if i % 3)
    assert report.loc["R", "won_amount"] == won
    fresh = AppTest.from_file(APP, default_timeout=60).run()
    fresh.switch_page("app_pages/targets.py").run()
    proposal = _propose(fresh, basis="history", total=won, period="2026-Q2", step=1)
    assert proposal["proposed"].to_list() == proposal["last_actual"].to_list()


@pytest.fixture
def team_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The team workspace of the access tests (reps, a manager, passwords), a copy of our own."""
    path = tmp_path / "team.gpkg"
    build_team_workspace().save(path)
    monkeypatch.setenv("PLANNER_WORKSPACE", str(path))
    monkeypatch.setenv("PLANNER_TILES", "none")
    monkeypatch.delenv("PLANNER_SESSION_TIMEOUT_MIN", raising=False)
    return AppTest.from_file(APP, default_timeout=60).run()


def _sign_in(at: AppTest, login: str) -> None:
    at.text_input(key="tp.widget.login").input(login)
    at.text_input(key="tp.widget.password").input(PASSWORD)
    at.button(key=SUBMIT).click().run()
    assert not at.exception, [e.value for e in at.exception]


def test_a_manager_splits_a_total_over_their_territories(team_app: AppTest, tmp_path: Path) -> None:
    """M1 sees T1 and T2 only; the whole total goes to them and is saved in their scope."""
    _sign_in(team_app, "M1")
    team_app.switch_page("app_pages/targets.py").run()
    proposal = _propose(team_app, basis="revenue", total=10_000.0, period="2026-Q2", step=100)
    assert list(proposal[s.TERRITORY_ID]) == ["T1", "T2"]
    assert proposal["proposed"].sum() == 10_000
    team_app.button(key=keys.TARGETS_PROPOSE_SAVE).click().run()
    _ok(team_app)
    saved = open_workspace(tmp_path / "team.gpkg").rows("targets", "base")
    saved = saved[saved["period"] == "2026-Q2"]
    assert set(saved[s.TERRITORY_ID]) == {"T1", "T2"} and saved[s.VALUE].sum() == 10_000


def test_a_rep_reads_a_proposal_but_cannot_save_it(team_app: AppTest) -> None:
    """R1's proposal covers T1 alone; there is no Save button for a rep."""
    _sign_in(team_app, "R1")
    team_app.switch_page("app_pages/targets.py").run()
    proposal = _propose(team_app, basis="accounts", total=500.0, period="2026-Q2", step=1)
    assert list(proposal[s.TERRITORY_ID]) == ["T1"] and proposal["proposed"].sum() == 500
    assert not [b for b in team_app.button if b.key == keys.TARGETS_PROPOSE_SAVE]
    assert any("read proposals" in c.value for c in team_app.caption)
