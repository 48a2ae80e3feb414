"""CRM round trip in the app: a Salesforce ETM export imported, the delta by Id, Zoho exported."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from planner.auth import ScryptParams, hash_password
from planner.export.etm_read import EtmOptions
from planner.models import Scenario, ScenarioState
from planner.services import crm_export
from planner.services.crm_import import import_salesforce
from planner.workspace import Workspace
from tests.export.etm_fixtures import ETM_EXPORT, etm_workspace

APP = str(Path(__file__).resolve().parents[2] / "app.py")
SF = "tp.import.salesforce"

pytestmark = pytest.mark.slow


def _zip(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"etm/{path.name}")
    return buffer.getvalue()


def _app(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, page: str, *, sign_in: bool = False
) -> AppTest:
    monkeypatch.setenv("PLANNER_WORKSPACE", str(path))
    monkeypatch.setenv("PLANNER_TILES", "none")
    monkeypatch.setenv("PLANNER_SAVE_DIR", str(tmp_path / "saved"))
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page(page).run()
    if sign_in:  # as the admin: the Salesforce load set needs their right
        at.text_input(key="tp.widget.login").input("admin")
        at.text_input(key="tp.widget.password").input("pw")
        at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    """The fixture's users and accounts, with an empty active scenario."""
    ws = etm_workspace()
    ws.add_scenario(Scenario("base", "Base", state=ScenarioState.ACTIVE))
    return ws.save(tmp_path / "fresh.gpkg")


def test_import_page_reads_a_salesforce_export_zip(
    fresh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The zip becomes a scenario with its 5 territories; a bad zip changes nothing."""
    at = _app(fresh, tmp_path, monkeypatch, "app_pages/import_data.py")
    at.file_uploader(key=f"{SF}.file").upload("etm.zip", _zip(ETM_EXPORT)).run()
    # account Ids are in sf_id: with the default column every account is unknown
    at.button(key=f"{SF}.go").click().run()
    assert not at.exception
    assert any("names accounts not in the workspace" in e.value for e in at.error)
    ws = at.session_state["tp.workspace"]
    assert isinstance(ws, Workspace) and list(ws.scenarios["scenario_id"]) == ["base"]
    at.selectbox(key=f"{SF}.accounts").set_value("sf_id").run()
    at.text_input(key=f"{SF}.name").input("From Salesforce").run()
    at.button(key=f"{SF}.go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Imported Salesforce model FY26_Sales" in s.value for s in at.success)
    ws = at.session_state["tp.workspace"]
    assert len(ws.rows("territories", "from-salesforce")) == 5
    assert len(ws.rows("memberships", "from-salesforce")) == 5


@pytest.fixture
def edited(tmp_path: Path) -> Path:
    """A scenario imported from Salesforce, and an active copy without account A-3."""
    result = import_salesforce(
        etm_workspace(), ETM_EXPORT, options=EtmOptions(account_id_column="sf_id")
    )
    ws = result.workspace
    assert result.scenario_id == "fy26-sales"
    ws.copy_scenario("fy26-sales", "edit", name="Edited")
    members = ws.rows("memberships", "edit")
    ws.set_rows("memberships", "edit", members[members["account_id"] != "A-3"])
    ws.promote("edit")
    fast = ScryptParams(log2_n=4, r=8, p=1)
    ws.set_table("reps", ws.reps.assign(password_hash=hash_password("pw", params=fast)))
    return ws.save(tmp_path / "edited.gpkg")


def test_export_page_writes_the_delta_against_the_imported_scenario(
    edited: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The delta's delete file lists the Salesforce Id of A-3's association."""
    made: list[bytes] = []
    real = crm_export.salesforce_delta_zip

    def recording(*args: object, **kwargs: object) -> bytes:
        data = real(*args, **kwargs)  # type: ignore[arg-type]
        made.append(data)
        return data

    monkeypatch.setattr(crm_export, "salesforce_delta_zip", recording)
    at = _app(edited, tmp_path, monkeypatch, "app_pages/export.py", sign_in=True)
    at.radio(key="tp.widget.export_format").set_value("salesforce").run()
    at.selectbox(key="tp.widget.export_account_column").set_value("sf_id").run()
    mode = at.radio(key="tp.widget.export_salesforce_mode")
    assert "Changes since an imported Salesforce scenario" in mode.options
    mode.set_value("Changes since an imported Salesforce scenario").run()
    assert at.selectbox(key="tp.widget.export_since_scenario").value == "fy26-sales"
    at.button(key="tp.widget.export_prepare").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.get("download_button")
    (data,) = made
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        (delete,) = [n for n in names if n.endswith("ObjectTerritory2Association_delete.csv")]
        frame = pd.read_csv(archive.open(delete), dtype=str)
    assert list(frame["Id"]) == ["0R15g000000b1AcCAI"]


def test_export_page_offers_zoho(
    edited: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = _app(edited, tmp_path, monkeypatch, "app_pages/export.py", sign_in=True)
    at.radio(key="tp.widget.export_format").set_value("zoho").run()
    at.button(key="tp.widget.export_prepare").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    (button,) = at.get("download_button")
    assert button.label == "Download Zoho CRM accounts (.zip)"
