"""The Balance page's form: what to balance and every rule a planner sets, checked as it is set.

The rules (workload bounds, reps' capacities, compactness, kept territories
and units) become one :class:`~planner.services.balance_runs.BalanceRequest`
on every change; the library's validation messages appear under the field
they concern, and "Run" waits until there are none. The form is a
fragment: changing it re-runs only the form.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from planner import schema as s
from planner.balance import BalanceParams, Locks
from planner.balance.params import CompactnessMeasure, DriveLimitKind
from planner.balance.scenario import scenario_assignment, territory_owners
from planner.errors import InputError, PlannerError, Problem
from planner.hierarchy import leaves
from planner.labels import count_of
from planner.services.balance_inputs import (
    DRIVE_H_PER_WEEK,
    BalanceInputs,
    owner_labels,
    territory_labels,
)
from planner.services.balance_locks import scenario_locks
from planner.services.balance_runs import (
    DESIGN,
    MODES,
    REBALANCE,
    BalanceRequest,
    field_reps,
    run_balance,
)
from planner.workspace import Workspace
from ui import keys
from ui.progress import ProgressBar
from ui.scenarios import BalanceRun, set_last_run

__all__ = ["COMPACTNESS", "plan_form"]

#: Compactness passes of a design, with what the user reads.
COMPACTNESS: dict[int, str] = {0: "Off", 2: "Light", 6: "Normal", 12: "Strong"}

#: What a design makes compact, with what the user reads.
_MEASURES: dict[CompactnessMeasure, str] = {"shape": "Shape", "drive": "Drive time from home"}
#: How the longest drive binds, with what the user reads.
_LIMITS: dict[DriveLimitKind, str] = {"hard": "Never beyond", "soft": "Avoid (penalty)"}

#: The field under which a problem naming a parameter is shown.
_FIELD_OF = {
    "weight": "variables",
    "tolerance": "tolerance",
    "seed": "tolerance",
    "k": "size",
    "mode": "size",
    "min_workload": "bounds",
    "max_workload": "bounds",
    "max_moved": "budget",
    "max_moved_accounts": "budget",
    "max_moved_share": "budget",
    "curve": "budget",
    "compactness_sweeps": "compactness",
    "compactness": "compactness",
    "max_drive_h": "drive",
    "drive_limit": "drive",
    "drive_penalty": "drive",
    "capacity_column": "size",
    s.CAPACITY_H_PER_WEEK: "size",
    "keep": "locks",
    "locked": "locks",
}


@dataclass
class _Form:
    """The form's values, and a container under each field for its messages."""

    mode: str
    chosen: list[str]
    weights: dict[str, float]
    tolerance_pct: float
    seed: int
    slots: dict[str, DeltaGenerator] = field(default_factory=dict)
    k: int | None = None
    reps: gpd.GeoDataFrame | None = None
    max_moved_accounts: int | None = None
    curve: bool = False
    min_workload: float | None = None
    max_workload: float | None = None
    compactness_sweeps: int = 6
    compactness: CompactnessMeasure = "shape"
    max_drive_h: float | None = None
    drive_limit: DriveLimitKind = "hard"
    drive_penalty: float = 1.0
    keep: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)


@st.fragment
def plan_form(
    ws: Workspace,
    scenario_id: str,
    inputs: BalanceInputs,
    variables: dict[str, str],
    recommended: int | None,
) -> None:
    """Ask what to balance and under which rules; "Run" balances and shows the result."""
    base_terr = ws.territories(scenario_id)
    leaf_ids = [str(t) for t in leaves(base_terr)] if len(base_terr) else []
    st.subheader("What to balance")
    mode = st.radio(
        "Mode", list(MODES), format_func=MODES.__getitem__, horizontal=True, key=keys.BAL_MODE,
        label_visibility="collapsed",
    )  # fmt: skip
    if mode == REBALANCE and not leaf_ids:
        st.info("This scenario has no territories yet: design them from scratch first.")
    left, right = st.columns(2)
    form = _basics(left, mode, inputs, variables)
    if mode == DESIGN:
        _design_options(right, form, ws, scenario_id, inputs, leaf_ids, recommended)
    else:
        _rebalance_options(right, form, ws)
    st.subheader("Rules")
    _rules(form, ws, scenario_id, inputs, variables, leaf_ids)
    request, problems = _request(form, ws, scenario_id)
    for text in _place(problems, form.slots):
        st.error(text)  # a problem no field owns
    disabled = request is None or (mode == REBALANCE and not leaf_ids)
    if st.button("Run", type="primary", key=keys.BAL_RUN, disabled=disabled) and request:
        _run(ws, scenario_id, inputs, request)


def _basics(
    left: DeltaGenerator, mode: str, inputs: BalanceInputs, variables: dict[str, str]
) -> _Form:
    """The variables to balance, the tolerance and the seed."""
    chosen = left.multiselect(
        "Balance", list(variables), default=[next(iter(variables))],
        format_func=variables.__getitem__, key=keys.BAL_VARIABLES,
        help="Several variables are balanced together, each by its weight.",
    )  # fmt: skip
    if DRIVE_H_PER_WEEK in chosen and inputs.drive_note:
        left.caption(inputs.drive_note)
    if inputs.drive_error:
        left.caption(inputs.drive_error)  # why drive hours are not offered
    weights: dict[str, float] = {}
    if len(chosen) > 1:
        for col, name in zip(left.columns(len(chosen)), chosen, strict=True):
            weights[name] = col.number_input(
                f"Weight of {variables[name]}", min_value=0.1, max_value=10.0, value=1.0,
                step=0.1, key=keys.bal_weight(name),
            )  # fmt: skip
    slots = {"variables": left.container()}
    tolerance_pct = left.slider(
        "Tolerance (± % of target)", 0.5, 20.0, 2.0, step=0.5, key=keys.BAL_TOLERANCE
    )
    seed = left.number_input(
        "Seed", min_value=0, value=0, step=1, key=keys.BAL_SEED,
        help="Same inputs and seed give the same plan.",
    )  # fmt: skip
    slots["tolerance"] = left.container()
    return _Form(mode, list(chosen), weights, float(tolerance_pct), int(seed), slots)


def _design_options(
    right: DeltaGenerator,
    form: _Form,
    ws: Workspace,
    scenario_id: str,
    inputs: BalanceInputs,
    leaf_ids: list[str],
    recommended: int | None,
) -> None:
    """How many territories, or which reps to centre them on (and whether capacity sets targets)."""
    centre = right.checkbox(
        "Centre territories on where the reps live", key=keys.BAL_CENTRE,
        help="One territory per rep, around the rep's home.",
    )  # fmt: skip
    if centre:
        form.reps = _picked_reps(right, ws, scenario_id)
        form.slots["size"] = right.container()
        return
    n_units = len(inputs.units)
    default_k = recommended or len(leaf_ids) or 4
    k = right.number_input(
        "Number of territories", min_value=1, max_value=max(n_units, 1),
        value=min(default_k, n_units), step=1, key=keys.BAL_K,
        help="Territories of equal target; centre them on the reps for targets by capacity.",
    )  # fmt: skip
    form.slots["size"] = right.container()
    form.k = int(k)


def _picked_reps(right: DeltaGenerator, ws: Workspace, scenario_id: str) -> gpd.GeoDataFrame:
    """The reps to centre territories on; without "capacity sets targets", no capacities."""
    staff = field_reps(ws)
    homes = staff[staff.geometry.notna() & ~staff.geometry.is_empty]
    owners = set(territory_owners(ws, scenario_id).values())
    ids = homes[s.REP_ID].astype(str)
    names = dict(zip(ids, homes[s.NAME].astype(str), strict=True))
    picked = right.multiselect(
        "Reps", list(names), default=[r for r in ids if r in owners] or None,
        format_func=lambda r: names.get(r, r), key=keys.BAL_REPS,
    )  # fmt: skip
    reps = homes[ids.isin(picked)]
    by_capacity = right.checkbox(
        "Targets follow each rep's capacity", value=True, key=keys.BAL_BY_CAPACITY,
        help="A rep with 32 h a week gets 80 % of the workload of a rep with 40 h.",
    )  # fmt: skip
    capacity = pd.to_numeric(reps[s.CAPACITY_H_PER_WEEK], errors="coerce")
    if not by_capacity:
        right.caption(f"{count_of(len(reps), 'territory')}, one per rep, equal targets.")
        return reps.assign(**{s.CAPACITY_H_PER_WEEK: float("nan")})  # equal targets
    if len(reps) and (capacity.isna() | (capacity <= 0)).any():
        right.caption(
            f"{count_of(len(reps), 'territory')}, one per rep; equal targets, because not every "
            "rep has a capacity (set it on the team page)."
        )
        return reps
    total = float(capacity.sum()) or 1.0
    shares = ", ".join(
        f"{names.get(r, r)} {c:g} h ({c / total:.0%})"
        for r, c in zip(reps[s.REP_ID].astype(str), capacity, strict=True)
    )
    right.caption(
        f"{count_of(len(reps), 'territory')}, one per rep; share of the workload: {shares}."
    )
    return reps


def _rebalance_options(right: DeltaGenerator, form: _Form, ws: Workspace) -> None:
    """The move budget, targets by the owners' capacities, and the trade-off curve."""
    max_moved = right.number_input(
        "Most accounts that may move", min_value=0, value=None, step=10, key=keys.BAL_MAX_MOVED,
        placeholder="no limit", help="Leave empty for no limit.",
    )  # fmt: skip
    curve = right.checkbox(
        "Draw the trade-off curve (deviation against accounts moved)",
        value=True,
        key=keys.BAL_CURVE,
    )
    form.slots["budget"] = right.container()
    form.max_moved_accounts = None if max_moved is None else int(max_moved)
    form.curve = bool(curve)
    by_capacity = right.checkbox(
        "Targets follow each owner's capacity", value=False, key=keys.BAL_REBALANCE_CAPACITY,
        help="Each territory's share of the workload is its owner's share of the reps' "
        "weekly hours (set them on the team page); otherwise targets are equal.",
    )  # fmt: skip
    form.reps = field_reps(ws) if by_capacity else None


def _rules(
    form: _Form,
    ws: Workspace,
    scenario_id: str,
    inputs: BalanceInputs,
    variables: dict[str, str],
    leaf_ids: list[str],
) -> None:
    """Bounds and compactness (a design), drive time, kept territories and units."""
    c1, c2, c3 = st.columns(3)
    if form.mode == DESIGN:
        _bounds(c1, form, inputs, variables)
        _compactness(c2, form)
    else:
        c1.caption(
            "A rebalance keeps each territory's target and moves few accounts: workload "
            "bounds and compactness apply when designing from scratch."
        )
    _drive(c3, form)
    k1, k2 = st.columns(2)
    form.keep, form.units = _locks((k1, k2), ws, scenario_id, inputs, leaf_ids)
    form.slots["locks"] = st.container()


def _compactness(col: DeltaGenerator, form: _Form) -> None:
    """How hard a design works on compactness, and what compact means (shape or drive time)."""
    sweeps = col.select_slider(
        "Compactness", options=list(COMPACTNESS), value=6, format_func=COMPACTNESS.get,
        key=keys.BAL_COMPACTNESS,
        help="How hard the design works on tight territories once balanced "
        "(Off: balance only; Strong takes longer).",
    )  # fmt: skip
    form.compactness_sweeps = int(sweeps)
    if form.reps is not None:
        measure = col.radio(
            "Compact by", list(_MEASURES), format_func=_MEASURES.__getitem__,
            key=keys.BAL_COMPACT_BY, horizontal=True,
            help="Round outlines, or less driving from each rep's home to the territory.",
        )  # fmt: skip
        form.compactness = measure
    form.slots["compactness"] = col.container()


def _drive(col: DeltaGenerator, form: _Form) -> None:
    """The longest drive from the rep's home, as a hard limit or a soft penalty."""
    if form.mode == DESIGN and form.reps is None:
        col.caption(
            "Drive time is measured from each rep's home: centre the territories on the "
            "reps to limit it."
        )
        return
    hours = col.number_input(
        "Longest drive from the rep's home (hours)", min_value=0.0, max_value=24.0,
        value=None, step=0.25, key=keys.BAL_MAX_DRIVE_H, placeholder="no limit",
        help="On the road network saved beside the workspace, else estimated from "
        "straight lines (1.3 × the distance at 40 km/h).",
    )  # fmt: skip
    form.max_drive_h = None if hours is None else float(hours)
    if hours is not None:
        limit = col.radio(
            "Drive limit", list(_LIMITS), format_func=_LIMITS.__getitem__, horizontal=True,
            key=keys.BAL_DRIVE_LIMIT,
        )  # fmt: skip
        form.drive_limit = limit
        if limit == "soft":
            penalty = col.number_input(
                "Weight of the drive limit", min_value=0.1, max_value=100.0, value=1.0,
                step=0.5, key=keys.BAL_DRIVE_PENALTY,
                help="A unit 10 % beyond the limit costs as much as this times 10 % "
                "of deviation from a target.",
            )  # fmt: skip
            form.drive_penalty = float(penalty)
    form.slots["drive"] = col.container()


def _bounds(
    col: DeltaGenerator, form: _Form, inputs: BalanceInputs, variables: dict[str, str]
) -> None:
    """The smallest and largest workload a territory may have, in the balanced variable."""
    name = form.chosen[0] if len(form.chosen) == 1 else None
    unit = variables.get(name, "the weighted workload") if name else "the weighted workload"
    help_text = f"In {unit.lower()}; leave empty for no bound."
    n = form.k if form.k is not None else (len(form.reps) if form.reps is not None else 0)
    if name and n:
        mean = float(pd.to_numeric(inputs.units[name], errors="coerce").fillna(0).sum()) / n
        help_text += f" The mean territory gets {mean:,.1f}."
    lo = col.number_input(
        "Smallest territory", min_value=0.0, value=None, key=keys.BAL_MIN_WORKLOAD,
        placeholder="no minimum", help=help_text,
    )  # fmt: skip
    hi = col.number_input(
        "Largest territory", min_value=0.0, value=None, key=keys.BAL_MAX_WORKLOAD,
        placeholder="no maximum", help=help_text,
    )  # fmt: skip
    form.slots["bounds"] = col.container()
    form.min_workload = None if lo is None else float(lo)
    form.max_workload = None if hi is None else float(hi)


def _locks(
    cols: tuple[DeltaGenerator, DeltaGenerator],
    ws: Workspace,
    scenario_id: str,
    inputs: BalanceInputs,
    leaf_ids: list[str],
) -> tuple[list[str], list[str]]:
    """Territories kept as they are, and units kept in their territory."""
    labels = owner_labels(ws, scenario_id)
    keep = cols[0].multiselect(
        "Keep these territories as they are", leaf_ids, format_func=lambda t: labels.get(t, t),
        key=keys.BAL_LOCKED, help="Their units stay put and nothing joins them.",
    )  # fmt: skip
    unit_names = _unit_labels(ws, scenario_id, inputs) if leaf_ids else {}
    units = cols[1].multiselect(
        "Keep these units in their territory", list(unit_names),
        format_func=lambda u: unit_names.get(u, u), key=keys.BAL_LOCKED_UNITS,
        help="Each stays in the territory it has now; other units may still join or leave.",
        disabled=not leaf_ids, placeholder="none" if leaf_ids else "no territories yet",
    )  # fmt: skip
    return list(keep), list(units)


def _unit_labels(ws: Workspace, scenario_id: str, inputs: BalanceInputs) -> dict[str, str]:
    """Label each unit "unit name · territory name", for the unit picker."""
    assignment = scenario_assignment(ws, scenario_id).astype(str)
    names = territory_labels(ws, scenario_id, sorted(set(assignment)))
    units = inputs.units
    unit_name = (
        units["name"].astype(str) if "name" in units.columns else units[s.UNIT_ID].astype(str)
    )
    return {
        str(u): f"{n} · {names.get(assignment.get(str(u), ''), 'no territory')}"
        for u, n in zip(units[s.UNIT_ID].astype(str), unit_name, strict=True)
    }


def _request(
    form: _Form, ws: Workspace, scenario_id: str
) -> tuple[BalanceRequest | None, list[Problem]]:
    """Build the request as the library checks it; ``None`` and the problems when it is invalid."""
    if not form.chosen:
        return None, [Problem("nothing to balance", column="weight", fix="choose a variable")]
    problems: list[Problem] = []
    try:
        locks = scenario_locks(
            ws, scenario_id, keep=form.keep, units=form.units,
            around_reps=form.mode == DESIGN and form.reps is not None,
        )  # fmt: skip
    except InputError as exc:
        problems += [_owned(p, "locked") for p in exc.problems]
        locks = None
    try:
        params = BalanceParams(
            weight=form.chosen[0] if len(form.chosen) == 1 else form.weights,
            tolerance=form.tolerance_pct / 100, seed=form.seed,
            locked=locks if locks is not None else Locks(),
            k=form.k, max_moved_accounts=form.max_moved_accounts,
            min_workload=form.min_workload, max_workload=form.max_workload,
            compactness_sweeps=form.compactness_sweeps, compactness=form.compactness,
            max_drive_h=form.max_drive_h, drive_limit=form.drive_limit,
            drive_penalty=form.drive_penalty,
        )  # fmt: skip
        request = BalanceRequest(
            mode=DESIGN if form.mode == DESIGN else REBALANCE, params=params,
            reps=form.reps, curve=form.curve,
        )  # fmt: skip
    except InputError as exc:
        return None, problems + exc.problems
    return (None if problems else request), problems


def _owned(problem: Problem, column: str) -> Problem:
    """``problem``, naming ``column`` when it names none (so it shows under that field)."""
    if problem.column:
        return problem
    return Problem(problem.message, problem.rows, column, problem.fix, problem.severity)


def _place(problems: list[Problem], slots: dict[str, DeltaGenerator]) -> list[str]:
    """Show each problem under its field; return the text of those no field owns."""
    rest = []
    for p in problems:
        text = _sentence(p.message) + (f" {_sentence(p.fix)}" if p.fix else "")
        slot = slots.get(_FIELD_OF.get(p.column or "", ""))
        if slot is None:
            rest.append(text)
        else:
            slot.error(text)
    return rest


def _sentence(text: str) -> str:
    """``text`` as a sentence: a capital first letter and a full stop."""
    text = text.strip().rstrip(".")
    return f"{text[:1].upper()}{text[1:]}."


def _run(ws: Workspace, scenario_id: str, inputs: BalanceInputs, request: BalanceRequest) -> None:
    """Balance with a progress bar; keep the run and re-draw the page (or show why it failed)."""
    bar = ProgressBar("Designing territories…" if request.mode == DESIGN else "Rebalancing…")
    try:
        result = run_balance(ws, scenario_id, inputs, request, progress=bar)
    except PlannerError as exc:
        bar.clear()
        st.error(str(exc))
    else:
        bar.clear()
        set_last_run(BalanceRun(ws, scenario_id, result))
        st.rerun()  # the page draws the result, below the form
