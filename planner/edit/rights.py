"""Who may make an edit: the check the app and the CLI run before editing."""

from __future__ import annotations

from planner.access import AccessDeniedError, AccessScope
from planner.errors import format_ids

__all__ = ["require_edit_rights"]


def require_edit_rights(
    scope: AccessScope | None, *territory_ids: str | None, everything: bool = False
) -> None:
    """Raise unless a user with ``scope`` may edit every territory named.

    Parameters
    ----------
    scope
        The user's access scope; ``None`` (nobody signed in) may edit nothing.
    territory_ids
        The territories the edit changes (``None`` entries are skipped).
    everything
        The edit reaches beyond single territories (a new top-level
        territory, the territory types, a rep's whole book): only users who
        see everything (planners, admins, local mode) may make it.

    Raises
    ------
    planner.access.AccessDeniedError
        Naming what the user may not change.
    """
    if scope is None or not scope.can("edit"):
        raise AccessDeniedError(
            "Access denied: your role may not edit territories; ask a manager or a planner"
        )
    if everything and not scope.unrestricted:
        raise AccessDeniedError(
            "Access denied: only planners and admins may make this change (it reaches "
            "beyond your territories)"
        )
    denied = sorted({t for t in territory_ids if t is not None and not scope.can_edit_territory(t)})
    if denied:
        raise AccessDeniedError(
            f"Access denied: {format_ids(denied)} is outside the territories you may edit; "
            "ask a planner"
        )
