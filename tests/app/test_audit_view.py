"""The Balance page's fairness audit, run headless with AppTest: the plan among sampled plans.

Small ensembles (a few dozen plans) keep the tests quick; the default size
the page offers is checked separately.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from planner.balance.audit import AuditResult
from planner.services.balance_audit import (
    AUDIT_MEASURES,
    audit_report_bytes,
    audit_table,
    audit_verdict,
    default_ensemble_size,
    shown_metrics,
)
from tests.app.conftest import no_errors, open_page

BALANCE = "app_pages/balance.py"
AUDIT_KEY = "tp.balance.audit"


def _audit(at: AppTest, n_plans: int) -> AuditResult:
    at.number_input(key="bal.audit.plans").set_value(n_plans).run()
    at.button(key="bal.audit.run").click().run()
    no_errors(at)
    result = at.session_state[AUDIT_KEY][1]
    assert isinstance(result, AuditResult)
    return result


def _plan_marks(at: AppTest) -> dict[str, tuple[float, str]]:
    """Per chart title: where the red rule marks the plan, and its label (from the chart data)."""
    out = {}
    for chart in at.get("vega_lite_chart"):
        title = json.loads(chart.proto.spec).get("title", "")
        title = str(title.get("text", "") if isinstance(title, dict) else title)
        for dataset in chart.proto.datasets:
            frame = pa.ipc.open_stream(dataset.data.data).read_all().to_pandas()
            if "text" in frame.columns:
                out[title] = (float(frame["start"].iloc[0]), str(frame["text"].iloc[0]))
    return out


@pytest.mark.slow
def test_scenario_audit_shows_each_measure_with_the_plan_marked(
    helsinki_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a run the scenario is audited: a histogram per measure, the plan in red."""
    at = open_page(helsinki_file, monkeypatch, BALANCE)
    assert any("Audits scenario **2026 plan** as it is" in c.value for c in at.caption)
    assert at.number_input(key="bal.audit.plans").value == 1000  # 137 units: a small map
    result = _audit(at, 40)
    assert len(result.ensemble) == 40
    metrics = shown_metrics(result)
    assert metrics[:2] == ["max_abs_deviation", "polsby_popper_mean"]
    assert {"spread_annual_revenue", "spread_drive_h_per_week"} <= set(metrics)
    marks = _plan_marks(at)
    assert len(marks) == len(metrics)  # every measure's histogram marks the plan
    ranks = result.ranks().set_index("metric")
    for metric, (label, _fmt) in AUDIT_MEASURES.items():
        if metric in metrics:
            where, text = marks[label]
            assert where == pytest.approx(result.plan[metric])
            assert text == f"this plan: beats or ties {ranks.loc[metric, 'as_good_as_share']:.0%}"
    assert {
        "Workload spread (largest deviation from target)",
        "Revenue potential spread (largest deviation from mean)",
        "Drive time spread (weekly drive hours, estimate)",
    } <= set(marks)
    verdicts = [
        m.value for m in (*at.success, *at.warning) if "plans that keep the same" in m.value
    ]
    assert verdicts == [audit_verdict(result)[1]]
    table = next(d.value for d in at.dataframe if "beats or ties" in d.value.columns)
    assert len(table) == len(metrics)


@pytest.mark.slow
def test_audit_of_a_new_design_uses_its_rules(
    helsinki_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a design the plan above is audited under its own tolerance and workload."""
    at = open_page(helsinki_file, monkeypatch, BALANCE)
    at.number_input(key="bal.k").set_value(4).run()
    at.slider(key="bal.tolerance").set_value(3.0).run()
    at.button(key="bal.run").click().run()
    no_errors(at)
    plan = at.session_state["tp.balance.run"].plan
    assert at.radio(key="bal.audit.which").value == "run"
    result = _audit(at, 30)
    assert result.tolerance == pytest.approx(max(0.03, plan.metrics.max_abs_deviation), abs=1e-6)
    assert result.plan["max_abs_deviation"] == pytest.approx(plan.metrics.max_abs_deviation)
    assert (result.ensemble["max_abs_deviation"] <= result.tolerance + 1e-9).all()
    assert result.rules  # the run's own rules went to the chain, and the page lists them
    shown = " ".join(m.value for m in at.markdown)
    assert "Every sampled plan keeps these rules" in shown
    assert all(rule in shown for rule in result.rules_text())
    # switching to the scenario drops the design's audit (it was of another plan)
    at.radio(key="bal.audit.which").set_value("scenario").run()
    assert _plan_marks(at) == {}


@pytest.mark.slow
def test_bad_ensemble_or_plan_gets_the_librarys_message(
    helsinki_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A one-territory plan cannot be recombined: the library's message, no traceback."""
    at = open_page(helsinki_file, monkeypatch, BALANCE)
    at.number_input(key="bal.k").set_value(1).run()
    at.button(key="bal.run").click().run()
    at.number_input(key="bal.audit.plans").set_value(10).run()
    at.button(key="bal.audit.run").click().run()
    assert not at.exception
    assert any("one territory: there is nothing to recombine" in e.value for e in at.error)


@pytest.mark.slow
def test_report_files_hold_the_plan_and_the_ensemble(
    helsinki_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The HTML report marks the plan on every histogram; the CSV has the plan, then each plan."""
    at = open_page(helsinki_file, monkeypatch, BALANCE)
    result = _audit(at, 25)
    html = audit_report_bytes(result, "html").decode("utf-8")
    assert html.count("<svg") == len(result.senses) and "Fairness audit" in html
    csv = audit_report_bytes(result, "csv").decode("utf-8").splitlines()
    assert len(csv) == 1 + 1 + 25 and csv[1].startswith("True")
    table = audit_table(result)
    assert table["beats or ties"].between(0, 1).all()


@pytest.mark.parametrize(
    ("n_units", "size"), [(137, 1000), (1000, 1000), (3000, 300), (33_000, 100)]
)
def test_default_ensemble_is_smaller_on_large_maps(n_units: int, size: int) -> None:
    """1,000 plans up to 1,000 units, fewer above (each plan costs more)."""
    assert default_ensemble_size(n_units) == size
