"""Sign-in state of a browser session: who is signed in, until when, and what they may see.

A workspace whose ``reps`` table holds at least one password hash needs a
sign-in; one without any opens in *local mode*, as a planner who sees
everything (a single user's own file stays simple). Pages ask::

    scope = auth.current_scope()        # planner.access.AccessScope of the user
    auth.require("set_target")           # stops the page with "access denied"

and read data through :func:`ui.state.current_workspace`, which already holds
only what the user may see. The session times out after
``$PLANNER_SESSION_TIMEOUT_MIN`` minutes without interaction (30 by default).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import cast

import pandas as pd
import streamlit as st
from streamlit.navigation.page import StreamlitPage

from planner import schema as s
from planner.access import AccessDeniedError, AccessScope, Action, build_scope, restrict_workspace
from planner.auth import (
    DEFAULT_GUARD,
    DEFAULT_MAX_AGE_S,
    Session,
    User,
    authenticate,
    start_session,
    upgraded_hash,
)
from planner.errors import PlannerError
from planner.hierarchy import descendants
from planner.models import UserRole
from planner.workspace import Workspace
from ui import display, keys
from ui import session as stored

__all__ = [
    "DEFAULT_TIMEOUT_MIN",
    "LOCAL_USER_ID",
    "PAGE_ACTIONS",
    "SIGN_IN_FAILED",
    "TIMEOUT_ENV",
    "Focus",
    "apply_query_focus",
    "current_scope",
    "current_user",
    "is_local_mode",
    "navigation",
    "needs_sign_in",
    "query_focus",
    "require",
    "requires_sign_in",
    "session",
    "sign_in",
    "sign_in_as",
    "sign_in_form",
    "sign_out",
    "timeout_s",
    "visible_view",
]

logger = logging.getLogger(__name__)

#: Idle minutes before a session ends (a number; 30 by default).
TIMEOUT_ENV = "PLANNER_SESSION_TIMEOUT_MIN"
DEFAULT_TIMEOUT_MIN = 30.0
#: The one message of every failed sign-in (it never tells which part was wrong).
SIGN_IN_FAILED = "Sign-in failed: the user or the password is not right."
#: The user id of local mode.
LOCAL_USER_ID = "local"
#: What every refused query parameter shows.
ACCESS_DENIED = "Access denied"

#: Pages that need more than ``view``, by ``url_path``; every other page is open
#: to every signed-in user (and shows only what that user may see).
PAGE_ACTIONS: dict[str, Action] = {
    "export": "export",
    "balance": "manage_scenarios",
    "scenarios": "manage_scenarios",
    "compare": "manage_scenarios",
    "import": "import_data",
    "edit": "edit",
    "team": "edit",
    "users": "manage_users",
}

SIGN_IN_PAGE = "app_pages/signin.py"
SIGN_IN_URL = "signin"


# -- settings ------------------------------------------------------------------------------


def timeout_s() -> float:
    """Return the idle timeout in seconds, from ``$PLANNER_SESSION_TIMEOUT_MIN`` (30 min)."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_MIN * 60.0
    try:
        minutes = float(raw)
    except ValueError:
        minutes = -1.0
    if not minutes > 0:
        logger.warning("%s=%r is not a positive number of minutes; using 30", TIMEOUT_ENV, raw)
        minutes = DEFAULT_TIMEOUT_MIN
    return minutes * 60.0


# -- sign-in state -------------------------------------------------------------------------


def requires_sign_in(ws: Workspace | None) -> bool:
    """Tell whether ``ws`` has a user with a password hash (then everyone must sign in)."""
    if ws is None or s.PASSWORD_HASH not in ws.reps.columns:
        return False
    hashes = ws.reps[s.PASSWORD_HASH]
    return bool((hashes.notna() & (hashes.astype(str).str.strip() != "")).any())


def _source_key() -> str | None:
    source = stored.workspace_source()
    return None if source is None else source.key


def _workspace() -> Workspace | None:
    return stored.workspace_or_none()


def sign_out(notice: str | None = None) -> None:
    """End the session's sign-in; ``notice`` is shown on the sign-in form next."""
    current = st.session_state.get(keys.AUTH_SESSION)
    if current is not None:
        logger.info("user %s signed out (%s)", current.user_id, notice or "sign-out")
    for key in (keys.AUTH_SESSION, keys.AUTH_SOURCE, keys.AUTH_VIEW):
        st.session_state.pop(key, None)
    st.session_state[keys.AUTH_NOTICE] = notice


def sign_in(login: str, password: str) -> User | None:
    """Check ``login`` (user id or e-mail) and ``password`` against the open workspace.

    Returns
    -------
    planner.auth.User or None
        The user, now signed in; ``None`` if the sign-in failed (show
        :data:`SIGN_IN_FAILED`, never the reason).
    """
    ws = _workspace()
    if ws is None:
        return None
    user = authenticate(ws.reps, login, password, client=_client())
    if user is None:
        return None
    _store_stronger_hash(ws, user.user_id, password)
    sign_in_as(user)
    return user


def _client() -> str | None:
    """The signing-in browser's address, for the per-client lockout (when Streamlit knows it)."""
    try:
        address = getattr(st.context, "ip_address", None)
    except Exception:  # outside a browser session (AppTest)
        return None
    return str(address) if address else None


def retry_after(login: str) -> float:
    """Seconds until ``login`` may try again from this browser (0 when not locked out)."""
    return float(DEFAULT_GUARD.retry_after(login, _client()))


def _store_stronger_hash(ws: Workspace, user_id: str, password: str) -> None:
    """After a good sign-in, replace a weaker stored hash (older scheme or cost) at once."""
    new_hash = upgraded_hash(ws.reps, user_id, password)
    if new_hash is None or ws.store is None or ws.has_changes():
        return
    reps = ws.reps.copy()
    reps.loc[reps[s.REP_ID].astype(str) == user_id, s.PASSWORD_HASH] = new_hash
    ws.set_table("reps", reps, validate=False)
    try:
        ws.commit("upgrade password hash", user=user_id)
    except PlannerError:  # a conflict or a read-only store: try again at the next sign-in
        logger.info("could not store the stronger hash of %s", user_id, exc_info=True)
        ws.reload()


def sign_in_as(user: User) -> Session:
    """Start a session for a user whom something else has authenticated.

    For an identity provider: after ``st.login()``, look the user up with
    ``planner.auth.find_user(ws.reps, st.user.email)``, refuse ``None``, and
    call this (see the README's section on production sign-in).
    """
    timeout = timeout_s()
    started = start_session(user, timeout_s=timeout, max_age_s=max(DEFAULT_MAX_AGE_S, timeout))
    st.session_state[keys.AUTH_SESSION] = started
    st.session_state[keys.AUTH_SOURCE] = _source_key()
    st.session_state[keys.AUTH_NOTICE] = None
    st.session_state.pop(keys.AUTH_VIEW, None)
    logger.info("user %s signed in", user.user_id)
    return started


def session() -> Session | None:
    """Return the live session, or ``None``.

    A session that has been idle too long, or that belongs to another
    workspace than the open one, is ended here (with a notice for the form).
    Each call restarts the idle clock: call it once per run (the sidebar does).
    """
    current = cast("Session | None", st.session_state.get(keys.AUTH_SESSION))
    if current is None:
        return None
    if st.session_state.get(keys.AUTH_SOURCE) != _source_key():
        sign_out("You opened another workspace: sign in to it.")
        return None
    if current.is_expired():
        minutes = current.timeout_s / 60
        sign_out(f"Your session ended after {minutes:g} minutes without activity: sign in again.")
        return None
    touched = current.touch()
    st.session_state[keys.AUTH_SESSION] = touched
    return touched


def _signed_in() -> Session | None:
    """The stored session as it is (no expiry check, no touch)."""
    return cast("Session | None", st.session_state.get(keys.AUTH_SESSION))


def is_local_mode() -> bool:
    """Tell whether the open workspace needs no sign-in (the user works as a local planner)."""
    ws = _workspace()
    return ws is not None and not requires_sign_in(ws)


def needs_sign_in() -> bool:
    """Tell whether the open workspace needs a sign-in that has not happened (yet)."""
    ws = _workspace()
    return ws is not None and requires_sign_in(ws) and _signed_in() is None


def current_user() -> User | None:
    """Return the signed-in user, the local planner in local mode, or ``None``."""
    current = _signed_in()
    if current is not None:
        return current.user
    if is_local_mode():
        return User(LOCAL_USER_ID, UserRole.PLANNER, name="Local user")
    return None


def notice() -> str | None:
    """Return the message left by the last sign-out (timeout, workspace change), if any."""
    return cast("str | None", st.session_state.get(keys.AUTH_NOTICE))


# -- scope and the visible view -------------------------------------------------------------


def _chosen_scenario(ws: Workspace) -> str | None:
    sid = stored.scenario_choice()
    known = set(ws.scenarios[s.SCENARIO_ID].astype(str))
    if sid in known:
        return sid
    try:
        return ws.active_scenario_id()
    except PlannerError:
        return None


def _scope_of(ws: Workspace, user: User, sid: str | None) -> AccessScope:
    if user.user_id == LOCAL_USER_ID and not requires_sign_in(ws):
        return AccessScope(
            user=user,
            scenario_id=sid,
            as_of=date.today(),
            territory_ids=None,
            account_ids=None,
            rep_ids=None,
            editable_territory_ids=None,
            own_territory_ids=frozenset(),
            subordinate_ids=frozenset(),
        )
    if sid is None:
        return build_scope(
            user.user_id,
            reps=ws.reps,
            territories=s.empty_frame("territories"),
            associations=s.empty_frame("associations"),
            accounts=ws.accounts,
        )
    return build_scope(
        user.user_id,
        reps=ws.reps,
        territories=ws.rows("territories", sid),
        associations=ws.rows("associations", sid),
        accounts=ws.accounts,
        memberships=ws.rows("memberships", sid),
        scenario_id=sid,
    )


@dataclass(frozen=True)
class _View:
    key: tuple[object, ...]
    scope: AccessScope
    workspace: Workspace


def visible_view() -> tuple[AccessScope, Workspace] | None:
    """Return the user's scope and the part of the open workspace they may see.

    Planners, admins and local mode get the session's full workspace itself
    (edits to it stick); everyone else gets a restricted in-memory copy, rebuilt
    when the workspace, the scenario, the user or the day changes. ``None``
    when no workspace is open or nobody is signed in.
    """
    ws = stored.workspace_or_none()
    user = current_user()
    if ws is None or user is None:
        return None
    sid = _chosen_scenario(ws)
    key = (_source_key(), stored.workspace_version(), sid, user.user_id, date.today())
    cached = cast("_View | None", st.session_state.get(keys.AUTH_VIEW))
    if cached is not None and cached.key == key:
        return cached.scope, cached.workspace
    try:
        scope = _scope_of(ws, user, sid)
    except AccessDeniedError:  # the user was removed from the workspace
        sign_out("Your user is no longer in this workspace.")
        return None
    view = ws if scope.unrestricted else restrict_workspace(ws, scope)
    st.session_state[keys.AUTH_VIEW] = _View(key, scope, view)
    return scope, view


def current_scope() -> AccessScope | None:
    """Return what the signed-in (or local) user may see and do, or ``None``."""
    view = visible_view()
    return None if view is None else view[0]


def require(action: Action) -> AccessScope:
    """Return the user's scope; stop the page with "access denied" unless ``action`` is allowed."""
    scope = current_scope()
    if scope is None:
        st.warning("Sign in to see this page.")
        st.stop()
        raise AssertionError("unreachable")
    if not scope.can(action):
        st.error(
            f"{ACCESS_DENIED}: your role ({scope.role}) may not "
            f"{action.replace('_', ' ')}. Ask a planner or an admin."
        )
        st.stop()
    return scope


# -- query parameters ------------------------------------------------------------------------


@dataclass(frozen=True)
class Focus:
    """What ``?territory=`` and ``?account=`` ask a page to focus on (checked, visible)."""

    territory_id: str | None = None
    account_id: str | None = None

    @property
    def active(self) -> bool:
        """Whether anything is focused."""
        return self.territory_id is not None or self.account_id is not None


def _param(name: str) -> str | None:
    value = st.query_params.get(name)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _deny(kind: str) -> None:
    st.error(
        f"{ACCESS_DENIED}: this {kind} does not exist in the chosen scenario or is outside "
        "what you may see."
    )
    st.stop()


def query_focus(ws: Workspace, scenario_id: str) -> Focus:
    """Read ``?territory=<id>`` and ``?account=<id>`` and check them against the user's scope.

    An id the user may not see, or one that does not exist, stops the page
    with the same "access denied" message (so probing ids tells nothing),
    before anything of it is drawn.
    """
    scope = current_scope()
    territory = _param("territory")
    account = _param("account")
    if territory is not None:
        known = set(ws.territories(scenario_id)[s.TERRITORY_ID].astype(str))
        if scope is None or not scope.can_view_territory(territory) or territory not in known:
            logger.info("query parameter refused: territory %r", territory)
            _deny("territory")
    if account is not None:
        known = set(ws.accounts[s.ACCOUNT_ID].astype(str))
        if scope is None or not scope.can_view_account(account) or account not in known:
            logger.info("query parameter refused: account %r", account)
            _deny("account")
    return Focus(territory, account)


def _focused(ws: Workspace, scope: AccessScope, scenario_id: str, focus: Focus) -> Workspace:
    """The part of ``ws`` under the focused territory (and/or the focused account)."""

    terr = ws.territories(scenario_id)
    territories: frozenset[str] | None = None
    accounts: frozenset[str] | None = None
    if focus.territory_id is not None:
        territories = frozenset([focus.territory_id, *descendants(terr, focus.territory_id)])
        members = ws.memberships(scenario_id)
        inside = members[members[s.TERRITORY_ID].astype(str).isin(territories)]
        accounts = frozenset(inside[s.ACCOUNT_ID].astype(str))
    if focus.account_id is not None:
        accounts = (
            frozenset([focus.account_id]) if accounts is None else (accounts & {focus.account_id})
        )
    narrow = replace(
        scope,
        scenario_id=scenario_id,
        territory_ids=territories if territories is not None else scope.territory_ids,
        account_ids=accounts if accounts is not None else scope.account_ids,
    )
    return cast(Workspace, restrict_workspace(ws, narrow))


def apply_query_focus(ws: Workspace, scenario_id: str) -> Workspace:
    """Return ``ws`` narrowed to the page's ``?territory=`` / ``?account=``, after checking them.

    Without those parameters ``ws`` comes back unchanged. With one the user
    may see, a note and a button to clear the focus are shown; with one they
    may not, the page stops with "access denied".
    """
    focus = query_focus(ws, scenario_id)
    scope = current_scope()
    if not focus.active or scope is None:
        return ws
    what = " and ".join(
        f"{kind} `{ident}`"
        for kind, ident in (("territory", focus.territory_id), ("account", focus.account_id))
        if ident is not None
    )
    note, clear = st.columns([5, 1], vertical_alignment="center")
    note.info(f"Showing only {what} (from the page address).")
    if clear.button("Show all", key=keys.CLEAR_FOCUS):
        st.query_params.clear()
        st.rerun()
    return _focused(ws, scope, scenario_id, focus)


# -- navigation and the sign-in form --------------------------------------------------------


def _flat(pages: Mapping[str, Sequence[StreamlitPage]]) -> list[StreamlitPage]:
    return [p for group in pages.values() for p in group]


def allowed(page: StreamlitPage, scope: AccessScope) -> bool:
    """Tell whether the user of ``scope`` may open ``page`` (see :data:`PAGE_ACTIONS`)."""
    action = PAGE_ACTIONS.get(page.url_path)
    return action is None or scope.can(action)


def navigation(pages: Mapping[str, Sequence[StreamlitPage]]) -> StreamlitPage:
    """Call ``st.navigation`` with the pages the session's user may open and return the page.

    When the workspace needs a sign-in that has not happened, no menu is shown
    and the sign-in form takes the place of the page asked for; its address
    (and query parameters) stay, so after signing in the user lands on it.
    """
    if needs_sign_in():
        signin = st.Page(SIGN_IN_PAGE, title="Sign in", url_path=SIGN_IN_URL)
        page = st.navigation([*_flat(pages), signin], position="hidden")
        if page.url_path != SIGN_IN_URL:
            sign_in_form()
            st.stop()
        return page
    scope = current_scope()
    if scope is None:  # no workspace open: every page explains how to open one
        return st.navigation(pages, expanded=True)
    shown = {section: [p for p in group if allowed(p, scope)] for section, group in pages.items()}
    # expanded: every page is listed; none hides behind "View more"
    return st.navigation(
        {section: group for section, group in shown.items() if group}, expanded=True
    )


def _demo_hint(ws: Workspace) -> None:
    """List a few demo users of a bundled sample (their password is public: "demo")."""
    reps = ws.reps
    rows = []
    for role in ("rep", "manager", "planner", "admin"):
        of_role = reps[reps[s.ROLE].astype(str) == role]
        for _, row in of_role.head(2 if role in ("rep", "manager") else 1).iterrows():
            rows.append({s.REP_ID: str(row[s.REP_ID]), s.ROLE: role, s.NAME: row[s.NAME]})
    if not rows:
        return
    st.info(
        "This is a bundled sample: every user's password is **demo** (demo-only "
        "credentials, see data/README.md). For example:"
    )
    display.show_table(pd.DataFrame(rows), width="content")  # human headers, blank names


def sign_in_form() -> None:
    """Draw the sign-in form (and, for bundled samples, the demo users)."""
    ws = stored.workspace_or_none()
    st.title("Sign in")
    message = notice()
    if message:
        st.warning(message)
    if ws is None:
        st.info("Open a workspace in the sidebar first.")
        return
    st.caption(f"Workspace **{ws.name}**: its users sign in with their user id or e-mail.")
    with st.form(keys.SIGN_IN_FORM, clear_on_submit=False, width=420):
        login = st.text_input("User id or e-mail", key=keys.LOGIN, autocomplete="username")
        password = st.text_input(
            "Password", type="password", key=keys.PASSWORD, autocomplete="current-password"
        )
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        if sign_in(login, password) is None:
            wait = retry_after(login)
            if wait > 0:
                st.error(f"Too many failed sign-ins: try again in {wait:,.0f} seconds.")
            else:
                st.error(SIGN_IN_FAILED)
        else:
            st.rerun()
    source = stored.workspace_source()
    if source is not None and source.key.startswith("sample:"):
        _demo_hint(ws)
