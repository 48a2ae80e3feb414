"""Each page of the app, run headless with Streamlit's AppTest (no browser)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from planner.samples import SAMPLES, data_dir

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


@pytest.fixture
def app(small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The app opened on the small test workspace, offline basemap, not yet run."""
    monkeypatch.setenv("PLANNER_WORKSPACE", str(small_workspace_file))
    monkeypatch.setenv("PLANNER_TILES", "none")
    return AppTest.from_file(APP, default_timeout=60)


def _no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_overview_shows_counts(app: AppTest) -> None:
    """The default page shows the workspace's name and counts of the active scenario."""
    app.run()
    _no_exceptions(app)
    assert app.title[0].value == "Small Helsinki"
    metrics = _metrics(app)
    assert metrics["Accounts"] == "40"
    assert metrics["Territories"] == "3"  # the leaves; the region above them is in the help
    assert metrics["Reps"] == "1"  # R1; R2 is a manager
    assert metrics["Hierarchy levels"] == "2"
    assert metrics["Scenarios"] == "2"


def test_sidebar_offers_samples_upload_and_scenarios(app: AppTest) -> None:
    """The sidebar picks the workspace (the env file first), the scenario and the basemap."""
    app.run()
    workspace = app.sidebar.selectbox(key="tp.widget.workspace")
    assert workspace.value.endswith("small.gpkg")
    labels = workspace.options  # the labels the user sees
    assert "Helsinki (sample)" in labels and "Georgia (sample)" in labels
    assert labels[-1].startswith("Upload")
    scenario = app.sidebar.selectbox(key="tp.widget.scenario")
    assert scenario.value == "base"
    assert app.sidebar.radio(key="tp.widget.tiles").value == "none"


def test_choosing_a_scenario_changes_every_page(app: AppTest) -> None:
    """Picking the draft scenario shows its three territories (two under the region)."""
    app.run()
    app.sidebar.selectbox(key="tp.widget.scenario").set_value("draft").run()
    _no_exceptions(app)
    assert _metrics(app)["Territories"] == "2"  # the leaves, as in the chart beside it
    app.switch_page("app_pages/data.py").run()
    _no_exceptions(app)
    assert app.sidebar.selectbox(key="tp.widget.scenario").value == "draft"
    assert "3 territories" in " ".join(c.value for c in app.caption)


def test_map_page_draws_the_map(app: AppTest) -> None:
    """The map page runs, credits OpenStreetMap, and shows no asset error when assets exist."""
    from ui.maps import missing_vendor_files

    app.switch_page("app_pages/map.py").run()
    _no_exceptions(app)
    assert app.title[0].value == "Map"
    assert any("OpenStreetMap" in c.value for c in app.caption)
    if not missing_vendor_files():
        assert not app.error, [e.value for e in app.error]


def test_map_page_explains_missing_assets(
    app: AppTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the vendored Leaflet files, the map page says how to install them."""
    import ui.maps

    monkeypatch.setattr(ui.maps, "VENDOR_DIR", tmp_path)
    app.switch_page("app_pages/map.py").run()
    _no_exceptions(app)
    assert "scripts/vendor_assets.py" in app.error[0].value


def test_map_page_toggles(app: AppTest) -> None:
    """Turning layers off reruns the page without errors."""
    app.switch_page("app_pages/map.py").run()
    for toggle in app.toggle:
        toggle.set_value(False)
    app.run()
    _no_exceptions(app)


def test_data_page_filters_accounts(app: AppTest) -> None:
    """The accounts table narrows by text, territory and industry."""
    app.switch_page("app_pages/data.py").run()
    _no_exceptions(app)
    assert app.caption[0].value == "40 of 40 accounts"
    app.text_input[0].set_value("shop 1").run()
    assert app.caption[0].value == "11 of 40 accounts"
    app.text_input[0].set_value("").run()
    app.multiselect[0].set_value(["West"]).run()
    west = int(app.caption[0].value.split()[0])
    app.multiselect[1].set_value(["cafe"]).run()
    west_cafes = int(app.caption[0].value.split()[0])
    assert 0 < west_cafes < west < 40
    assert len(app.dataframe) == 3  # accounts, reps, territories


def test_uploaded_workspace_opens(app: AppTest, small_workspace_file: Path) -> None:
    """Uploading a .gpkg workspace makes it the open workspace."""
    app.run()
    app.sidebar.selectbox(key="tp.widget.workspace").set_value("upload").run()
    uploader = app.sidebar.file_uploader[0]
    uploader.upload("team.gpkg", small_workspace_file.read_bytes()).run()
    _no_exceptions(app)
    assert not app.sidebar.error
    assert "team.gpkg" not in " ".join(e.value for e in app.error)
    assert app.title[0].value == "Small Helsinki"


def test_bad_upload_shows_the_reason(app: AppTest) -> None:
    """A file that is not a workspace gives the library's message, not a traceback."""
    app.run()
    app.sidebar.selectbox(key="tp.widget.workspace").set_value("upload").run()
    app.sidebar.file_uploader[0].upload("notes.gpkg", b"just some text").run()
    _no_exceptions(app)
    assert "not a GeoPackage" in app.sidebar.error[0].value
    # the previous workspace stays open
    assert app.title[0].value == "Small Helsinki"


def test_missing_workspace_file_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    """A $PLANNER_WORKSPACE that does not exist leaves every page with a clear message."""
    monkeypatch.setenv("PLANNER_WORKSPACE", "/nonexistent/plan.gpkg")
    at = AppTest.from_file(APP, default_timeout=60).run()
    _no_exceptions(at)
    assert "does not exist" in at.error[0].value
    assert "Pick a sample" in at.info[0].value


@pytest.mark.skipif(
    not (data_dir() / SAMPLES["helsinki"][0]).is_file(), reason="sample data not built"
)
def test_default_is_the_helsinki_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no setting, the app opens the bundled Helsinki sample."""
    monkeypatch.delenv("PLANNER_WORKSPACE", raising=False)
    at = AppTest.from_file(APP, default_timeout=60).run()
    _no_exceptions(at)
    assert at.sidebar.selectbox(key="tp.widget.workspace").value == "sample:helsinki"
    # the samples' users have (demo) passwords: sign in as the planner, who sees everything
    at.text_input(key="tp.widget.login").input("hel-planner")
    at.text_input(key="tp.widget.password").input("demo")
    at.button(key="FormSubmitter:tp.form.signin-Sign in").click().run()
    _no_exceptions(at)
    assert int(_metrics(at)["Accounts"].replace(",", "")) > 500


def _progress_script() -> None:
    from ui.progress import st_progress

    progress = st_progress("Designing territories")
    for i in range(5):
        progress((i + 1) / 5, f"step {i + 1} of 5")


def test_progress_callback_draws_a_bar() -> None:
    """st_progress turns the library's (fraction, message) calls into a progress bar."""
    at = AppTest.from_function(_progress_script, default_timeout=30).run()
    _no_exceptions(at)
    bar = at.get("progress")[0]
    assert bar.value == 100
    assert bar.proto.text == "step 5 of 5"


def test_sessions_get_their_own_copy(small_workspace_file: Path) -> None:
    """Two reads of one file give independent workspaces: one session's edit stays its own."""
    from ui.cache import read_workspace

    first = read_workspace(small_workspace_file)
    second = read_workspace(small_workspace_file)
    first.accounts.loc[0, "name"] = "edited"
    assert first is not second
    assert second.accounts.loc[0, "name"] != "edited"


def test_save_never_overwrites_the_bundled_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sample opens as a working copy under $PLANNER_SAVE_DIR; "Save a copy as" adds a file
    the picker then offers. The bundled file is never written."""
    from planner.samples import sample_path

    monkeypatch.setenv("PLANNER_SAVE_DIR", str(tmp_path))
    monkeypatch.setenv("PLANNER_WORKSPACE", "helsinki")
    before = sample_path("helsinki").read_bytes()
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.text_input(key="tp.widget.login").input("hel-planner")  # the sample's demo planner
    at.text_input(key="tp.widget.password").input("demo")
    at.button(key="FormSubmitter:tp.form.signin-Sign in").click().run()
    assert (tmp_path / "helsinki.gpkg").is_file(), "the working copy of the sample"
    assert (tmp_path / "helsinki_roads.graphml.gz").is_file(), "with its road network"
    at.text_input(key="tp.widget.copy_name").input("My plan").run()
    at.button(key="tp.widget.save_copy").click().run()
    assert not at.exception
    assert (tmp_path / "My_plan.gpkg").is_file()
    picker = at.sidebar.selectbox(key="tp.widget.workspace")
    assert picker.value == f"file:{(tmp_path / 'My_plan.gpkg').resolve()}"
    assert "My_plan" in picker.options
    assert sample_path("helsinki").read_bytes() == before
