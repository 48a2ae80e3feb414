"""Balance: design territories of even workload, or rebalance the chosen scenario, and save it."""

from __future__ import annotations

import streamlit as st

from planner.services.balance_inputs import variable_options
from ui import audit_view, auth, balance_controls, balance_result, scenarios, state

auth.require("manage_scenarios")  # planners and admins
ws = state.current_workspace()
sid = state.current_scenario_id()
st.title("Balance territories")
inputs = scenarios.inputs_or_stop(ws, sid, "balanced")
variables = variable_options(inputs.units)
scenarios.show_inputs(ws.scenario(sid), inputs, variables)

recommended = scenarios.sizing_advice(ws, inputs.units)  # how many reps the workload needs
balance_controls.plan_form(ws, sid, inputs, variables, recommended)  # "Run" shows the result

run = scenarios.last_run(ws, sid)
if run is not None:
    balance_result.show_result(run, inputs, variables)
    balance_result.save_controls(run)

audit_view.audit_section(ws, sid, inputs, variables, run)  # the plan among sampled valid plans
