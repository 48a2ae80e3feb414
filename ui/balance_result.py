"""The Balance page's result: whether the plan meets the tolerance, its figures, map, charts, save.

The trade-off curve of a rebalance is drawn with the plan shown among its
points (:func:`planner.services.balance_views.tradeoff_chart`): every point
is a plan found under the same settings, so the plan lies on the frontier.
"""

from __future__ import annotations

import copy
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from planner.errors import PlannerError
from planner.services.balance_inputs import BalanceInputs, plan_table, territory_labels
from planner.services.balance_runs import DESIGN, SAVE_LABEL, default_scenario_name, save_balance
from planner.services.balance_views import plan_map, tradeoff_chart, workload_chart
from ui import auth, cache, display, keys, maps, state
from ui.scenarios import BalanceRun

__all__ = ["save_controls", "show_result"]


def show_result(run: BalanceRun, inputs: BalanceInputs, variables: dict[str, str]) -> None:
    """Show a run: whether it met the tolerance, its figures, map, charts and table."""
    plan = run.plan
    tolerance = float(plan.parameters.get("tolerance", 0.02))
    st.subheader("Result")
    _headline(run, tolerance)
    _figures(run)
    ws, sid = run.workspace, run.base_scenario_id
    names = territory_labels(ws, sid, list(plan.territories))
    table = plan_table(plan, inputs.units, names, tolerance)
    weight_used = plan.parameters.get("weight")
    unit_label = (
        variables.get(weight_used, str(weight_used))
        if isinstance(weight_used, str)
        else "Weighted workload"
    )
    tabs = st.tabs(["Map", "Workload per territory", "Trade-off curve", "Table"])
    with tabs[0]:
        table_key = _table_key(table)
        parts, colors = _plan_map(run, table, table_key, tolerance)
        maps.show_parts(parts, key=keys.BAL_MAP, height=560)
        maps.attribution_caption()
    with tabs[1]:
        spec = cache.by_frames(
            f"balance-chart|{unit_label}|{tolerance}|{table_key}|{sorted(colors.items())}",
            (run,),
            lambda: _vega_lite(
                workload_chart(table, colors, unit=unit_label, tolerance=tolerance)
            ),
        )  # once per run and table (a save reruns the page)
        st.vega_lite_chart(spec=copy.deepcopy(spec), width="content")
        st.caption(
            "Grey band: the tolerance around each territory's target (black tick); "
            "red outline: outside the band."
        )
    with tabs[2]:
        _curve(run)
    with tabs[3]:
        _table(table)


def _plan_map(
    run: BalanceRun, table: pd.DataFrame, table_key: int, tolerance: float
) -> tuple[maps.MapParts, dict[str, str]]:
    """The plan's map, rendered once per run and basemap (a save reruns the page: no redraw)."""
    tiles = state.tile_source()

    def build() -> tuple[maps.MapParts, dict[str, str]]:
        fmap, colors = plan_map(
            run.workspace.units,
            run.plan,
            table,
            tiles=tiles,
            tolerance=tolerance,
            reps=run.result.request.reps,
        )
        return maps.map_parts(fmap), dict(colors)

    return cache.by_frames(f"balance-map|{tiles}|{tolerance}|{table_key}", (run,), build)


def _vega_lite(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The chart's Vega-Lite spec as Streamlit draws it (without altair's default view size).

    Made once per run and kept: altair's conversion (and its schema check)
    costs a tenth of a second or more at each rerun of the page.
    """
    spec: dict[str, Any] = chart.to_dict()
    theme = alt.theme.get()
    default = theme().get("config") if theme is not None else None
    if default is not None and spec.get("config") == default:
        del spec["config"]  # as st.altair_chart does: Streamlit's theme sizes the chart
    return spec


def _table_key(table: pd.DataFrame) -> int:
    """What the plan's table holds (the territories' names may change between runs)."""
    return int(pd.util.hash_pandas_object(table, index=False).sum())


def _headline(run: BalanceRun, tolerance: float) -> None:
    m = run.plan.metrics
    if run.result.tolerance_met:
        st.success(
            f"Every territory is within ±{tolerance:.1%} of its target "
            f"({m.n_territories} territories, {run.result.elapsed_s:.1f} s)."
        )
    elif run.result.request.mode == DESIGN:
        st.warning(
            f"No plan within ±{tolerance:.1%} was found; this is the best one "
            f"({m.max_abs_deviation:.1%} at worst). Raise the tolerance, use fewer "
            "territories or fewer locks."
        )
    else:
        st.warning(
            f"The move budget does not allow ±{tolerance:.1%}; this plan gets as close "
            f"as the budget allows ({m.max_abs_deviation:.1%} at worst)."
        )


def _figures(run: BalanceRun) -> None:
    m = run.plan.metrics
    d = m.disruption
    cells = st.columns(6)
    cells[0].metric("Worst deviation", f"{m.max_abs_deviation:.1%}")
    cells[1].metric("Mean deviation", f"{m.mean_abs_deviation:.1%}")
    cells[2].metric("Contiguous", "Yes" if m.all_contiguous else f"No ({len(m.noncontiguous)})")
    cells[3].metric(
        "Polsby-Popper",
        f"{m.polsby_popper_mean:.2f}",
        help=f"Compactness, mean over territories (min {m.polsby_popper_min:.2f}); 1 is a disc.",
    )
    cells[4].metric(
        "Accounts moved",
        "–" if d is None or d.moved_accounts is None else f"{d.moved_accounts:,}",
        help=None
        if d is None
        else f"{d.moved_units:,} units, {d.moved_workload_share:.0%} of the workload",
    )
    cells[5].metric("Run time", f"{run.result.elapsed_s:.1f} s")
    if m.home_distance_mean_km is not None:
        st.caption(
            f"Distance from the workload to the rep's home: mean "
            f"{m.home_distance_mean_km:.1f} km, worst {m.home_distance_max_km:.1f} km."
        )
    _drive_caption(run.plan.parameters.get("drive"))


def _drive_caption(drive: object) -> None:
    """Say how far the longest drive from home is, against the limit when one was set."""
    if not isinstance(drive, dict) or drive.get("max_drive_h") is None:
        return
    kind = "never beyond" if drive.get("drive_limit") == "hard" else "avoided"
    status = (
        "met"
        if drive.get("met")
        else f"{drive.get('units_beyond', 0)} units beyond it, in "
        + ", ".join(str(t) for t in drive.get("binds", []))
    )
    (st.caption if drive.get("met") else st.warning)(
        f"Longest drive from a rep's home: {float(drive.get('drive_max_h', 0.0)):.2f} h; "
        f"limit {float(drive['max_drive_h']):g} h ({kind}): {status}. "
        f"Drive times: {drive.get('method', 'estimate')}."
    )


def _curve(run: BalanceRun) -> None:
    """The trade-off curve, traced under the plan's own settings, with the plan on it."""
    curve = run.result.curve
    if curve is None:
        st.info("The trade-off curve is drawn for a rebalance (tick “Draw the trade-off curve”).")
        return
    m = run.plan.metrics
    d = m.disruption
    shown = (
        None
        if d is None or d.moved_accounts is None
        else (float(d.moved_accounts), m.max_abs_deviation)
    )
    tolerance = float(run.plan.parameters.get("tolerance", 0.02))
    spec = cache.by_frames(
        f"balance-curve|{shown}|{tolerance}",
        (run,),
        lambda: _vega_lite(tradeoff_chart(curve, chosen=shown, tolerance=tolerance)),
    )  # once per run (a save reruns the page)
    st.vega_lite_chart(spec=copy.deepcopy(spec), width="stretch")
    st.caption(
        "Each blue dot is a rebalance of this scenario under the same settings as the plan "
        "shown (variable, tolerance, kept territories and units), each with a different "
        "limit on the accounts it may move: across, the accounts it moves; up, its worst "
        "territory's deviation from target. The dot at 0 is the scenario as it is. The "
        "line is the frontier: for each number of accounts moved, the least deviation any "
        "of these plans reaches. The red diamond is the plan shown, on the line (or above "
        "it when a plan moving fewer accounts does as well); the dashed line is the "
        f"tolerance (±{tolerance:.1%}): each run stops once every territory is within it."
    )


def _table(table: pd.DataFrame) -> None:
    display.show_table(
        table.drop(columns=["lower", "upper"]),
        hide_index=True,
        width="stretch",
        column_config={
            "deviation": st.column_config.NumberColumn(format="percent"),
            "workload": st.column_config.NumberColumn(format="%.1f"),
            "target": st.column_config.NumberColumn(format="%.1f"),
            "polsby_popper": st.column_config.NumberColumn("Polsby-Popper", format="%.2f"),
        },
    )


def save_controls(run: BalanceRun) -> None:
    """Name the plan and save it as a planning scenario.

    A form: typing the name runs nothing; "Save as scenario" saves in its
    callback, before the one run of the page it causes, so that run draws
    the sidebar with the new scenario and the saved message at once (no
    second run after the save).
    """
    st.subheader("Save")
    if run.saved_as is not None:
        st.success(
            f"Saved as planning scenario **{run.saved_as}**: everybody on this workspace "
            "sees it now. Open it from the sidebar, or compare it with the active plan on "
            "the compare page."
        )
        return
    if error := st.session_state.pop(keys.BAL_SAVE_ERROR, None):
        st.error(error)
    default_name = default_scenario_name(run.result, run.workspace.scenario(run.base_scenario_id))
    # one name field per run, so a new run proposes its own name
    name_key = keys.bal_save_name(id(run))
    with st.form(keys.BAL_SAVE_FORM, border=False):
        st.text_input("Scenario name", value=default_name, key=name_key)
        st.form_submit_button(
            "Save as scenario", key=keys.BAL_SAVE, on_click=_save,
            args=(run, name_key, default_name),
        )  # fmt: skip


def _save(run: BalanceRun, name_key: str, default_name: str) -> None:
    """Save the run's plan under the typed name (the form's callback, before the page runs)."""
    user = auth.current_user()
    try:
        saved = save_balance(
            run.workspace,
            run.result,
            base_scenario_id=run.base_scenario_id,
            name=st.session_state.get(name_key) or default_name,
            user=None if user is None else user.user_id,
        )
    except PlannerError as exc:
        st.session_state[keys.BAL_SAVE_ERROR] = str(exc)
        return
    run.saved_as = saved.scenario_id
    state.mark_changed(SAVE_LABEL)
