"""Assignment of a workspace scenario's accounts, optionally stored with an audit entry."""

from __future__ import annotations

from planner.assign.engine import assign_accounts
from planner.assign.results import Assignment
from planner.progress import Progress, Stop
from planner.workspace import Workspace

__all__ = ["assign_workspace"]


def assign_workspace(
    workspace: Workspace,
    scenario_id: str | None = None,
    *,
    store: bool = False,
    user: str | None = None,
    progress: Progress | None = None,
    stop: Stop | None = None,
) -> Assignment:
    """Assign the workspace's accounts for a scenario; optionally store the memberships.

    Parameters
    ----------
    workspace
        A :class:`~planner.workspace.Workspace`.
    scenario_id
        The scenario (the active one by default).
    store
        Replace the scenario's ``memberships`` rows with the result and
        write an audit entry.
    user
        Who ran it, for the audit log.
    progress, stop
        As for :func:`~planner.assign.assign_accounts`.

    Returns
    -------
    Assignment
    """
    sid = scenario_id or workspace.active_scenario_id()
    territories = workspace.territories(sid)
    overrides = workspace.rows("overrides", sid)
    result = assign_accounts(
        workspace.accounts,
        territories,
        overrides=overrides,
        territory_types=workspace.territory_types,
        progress=progress,
        stop=stop,
    )
    if store:
        workspace.set_rows("memberships", sid, result.memberships)
        workspace.log(
            "assignment.run",
            {
                "memberships": len(result.memberships),
                "unassigned": len(result.unassigned),
            },
            user=user,
            scenario_id=sid,
        )
    return result
