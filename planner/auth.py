"""Users, sign-in (with lockout) and sessions.

Passwords are stored only as salted hashes in the ``password_hash`` column of
the ``reps`` table: Argon2id through argon2-cffi for new hashes, scrypt
hashes of earlier versions still verified (:mod:`planner.passwords`). A stored
hash names its own cost, so raising the cost later does not lock anyone out:
after a good sign-in :func:`upgraded_hash` gives the stronger hash to store.
:func:`authenticate` verifies a stand-in hash of the same scheme and cost as
the table's own hashes when the login is unknown or has no password, so the
answer time does not reveal which logins exist; after repeated failures a
:class:`~planner.lockout.SignInGuard` refuses further tries for a growing
delay, per login (existing or not) and per client. Hashes are never imported
from files: the readers drop a ``password_hash`` column.

Production: sign-in through an identity provider
------------------------------------------------
The built-in password sign-in suits a laptop or a small team. Behind an
identity provider (Okta, Microsoft Entra ID, Google, Keycloak...) use
Streamlit's OpenID Connect support instead (Streamlit 1.42 or later):

1. Register the app with the provider; its redirect URI is
   ``https://<your host>/oauth2callback``.
2. Put the provider's settings in ``.streamlit/secrets.toml`` (never in git)::

       [auth]
       redirect_uri = "https://planner.example.com/oauth2callback"
       cookie_secret = "<a long random string>"
       client_id = "<from the provider>"
       client_secret = "<from the provider>"
       server_metadata_url = "https://<provider>/.well-known/openid-configuration"

3. In the app, call ``st.login()`` when ``st.user.is_logged_in`` is false,
   then map the identity to a planner user with
   ``find_user(workspace.reps, st.user.email)``; refuse users not in the
   ``reps`` table. The planner role (rep, manager, planner, admin) still comes
   from that table, so :mod:`planner.access` applies unchanged.
   ``st.logout()`` signs out. Leave ``password_hash`` empty for such users.
4. Serve the app over HTTPS only (a reverse proxy such as nginx or Caddy).

The session timeout of :class:`Session` applies in both cases.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from planner import schema as s
from planner.errors import InputError, Problem
from planner.lockout import SignInGuard
from planner.models import UserRole
from planner.passwords import (
    DEFAULT_PARAMS,
    Argon2Params,
    HashParams,
    ScryptParams,
    hash_password,
    needs_rehash,
    stand_in_hash,
    verify_password,
)

__all__ = [
    "DEFAULT_GUARD",
    "DEFAULT_MAX_AGE_S",
    "DEFAULT_PARAMS",
    "DEFAULT_TIMEOUT_S",
    "MIN_PASSWORD_LENGTH",
    "Argon2Params",
    "ScryptParams",
    "Session",
    "SignInGuard",
    "User",
    "authenticate",
    "check_password_policy",
    "find_user",
    "hash_password",
    "needs_rehash",
    "set_password",
    "start_session",
    "upgraded_hash",
    "verify_password",
]

logger = logging.getLogger(__name__)

#: Shortest password :func:`set_password` accepts (NIST SP 800-63B minimum).
MIN_PASSWORD_LENGTH = 8
_MAX_PASSWORD_LENGTH = 1024

#: Idle time after which a session expires (30 minutes).
DEFAULT_TIMEOUT_S = 30 * 60.0
#: Absolute lifetime of a session however active it is (12 hours).
DEFAULT_MAX_AGE_S = 12 * 3600.0

#: The lockout of this process's sign-ins, used when no other guard is given.
DEFAULT_GUARD = SignInGuard()


def check_password_policy(password: str, *, user: User | None = None) -> list[Problem]:
    """Return the problems that forbid ``password`` as a new password (empty when fine).

    The policy follows NIST SP 800-63B: at least :data:`MIN_PASSWORD_LENGTH`
    characters, at most 1024, and not the user's own id or email.
    """
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(
            Problem(
                f"the password has {len(password)} characters",
                fix=f"use at least {MIN_PASSWORD_LENGTH} characters (a passphrase is best)",
            )
        )
    if len(password) > _MAX_PASSWORD_LENGTH:
        problems.append(
            Problem("the password is too long", fix=f"use at most {_MAX_PASSWORD_LENGTH}")
        )
    if user is not None:
        lowered = password.strip().lower()
        own = {user.user_id.lower(), (user.email or "").lower()} - {""}
        if lowered in own:
            problems.append(
                Problem("the password is the user's own id or email", fix="choose another one")
            )
    return problems


@dataclass(frozen=True)
class User:
    """A signed-in or listed user: one row of the ``reps`` table without its hash.

    Parameters
    ----------
    user_id
        The ``rep_id``.
    role
        Organisation role: rep, manager, planner or admin.
    name
        Display name.
    email
        Email, also the login (and the Salesforce username in exports).
    manager_id
        The user's manager, if any.
    """

    user_id: str
    role: UserRole
    name: str = ""
    email: str | None = None
    manager_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", UserRole(self.role))

    @classmethod
    def from_row(cls, row: pd.Series | dict[str, Any]) -> User:
        """Build a user from a ``reps`` row (the password hash is left behind)."""
        get = row.get

        def text(v: Any) -> str | None:
            return None if v is None or (isinstance(v, float) and v != v) else str(v)

        return cls(
            user_id=str(get(s.REP_ID)),
            role=UserRole(str(get(s.ROLE) or "rep")),
            name=text(get(s.NAME)) or "",
            email=text(get(s.EMAIL)),
            manager_id=text(get(s.MANAGER_ID)),
        )


def _match(users: pd.DataFrame, login: str) -> pd.DataFrame:
    login = login.strip()
    if not login or users.empty:
        return users.iloc[0:0]
    by_id = users[s.REP_ID].astype(str) == login
    if s.EMAIL not in users.columns:
        return users[by_id]
    # Both columns are compared for every login, so a known id answers no faster.
    emails = users[s.EMAIL].astype(object).where(users[s.EMAIL].notna(), "")
    by_email = emails.astype(str).str.strip().str.lower() == login.lower()
    return users[by_id] if by_id.any() else users[by_email]


def find_user(users: pd.DataFrame, login: str) -> User | None:
    """Return the user whose id or email (any case) is ``login``, or ``None``.

    An email shared by several users matches nobody: it cannot identify one.
    """
    rows = _match(users, login)
    if len(rows) != 1:
        return None
    return User.from_row(rows.iloc[0])


def authenticate(
    users: pd.DataFrame,
    login: str,
    password: str,
    *,
    params: HashParams = DEFAULT_PARAMS,
    guard: SignInGuard | None = None,
    client: str | None = None,
) -> User | None:
    """Check a sign-in and return the user, or ``None`` when it fails.

    An unknown login, one without a password and a wrong password all cost
    one verification of the same scheme and cost (a stand-in hash like the
    table's own), so the answer time does not tell them apart. A login or
    client locked by ``guard`` is refused without checking the password. The
    reason is logged, never the password.

    Parameters
    ----------
    users
        The ``reps`` table (with ``password_hash``).
    login
        The user id or email.
    password
        The password typed.
    params
        Cost of the stand-in hash when the table holds no hash at all.
    guard
        The lockout; :data:`DEFAULT_GUARD` (this process's) when ``None``.
    client
        Who is signing in (e.g. the address), for the per-client lockout.
    """
    guard = DEFAULT_GUARD if guard is None else guard
    wait = guard.retry_after(login, client)
    if wait > 0:
        logger.warning("sign-in refused: locked for another %.0f s", wait)
        return None
    rows = _match(users, login)
    stored = None
    if len(rows) == 1 and s.PASSWORD_HASH in rows.columns:
        value = rows.iloc[0][s.PASSWORD_HASH]
        stored = value if isinstance(value, str) and value else None
    hashes = users[s.PASSWORD_HASH] if s.PASSWORD_HASH in users.columns else ()
    stand_in = stand_in_hash(hashes, default=params)  # found on every path: same time
    checked = stored if stored is not None else stand_in
    ok = verify_password(password, checked)
    if stored is None or not ok:
        guard.failed(login, client)
        if stored is None:
            logger.info("sign-in refused: unknown login or no password set")
        else:
            logger.info("sign-in refused: wrong password for user %s", rows.iloc[0][s.REP_ID])
        return None
    guard.succeeded(login)
    return User.from_row(rows.iloc[0])


def upgraded_hash(
    users: pd.DataFrame, user_id: str, password: str, *, params: HashParams = DEFAULT_PARAMS
) -> str | None:
    """After a good sign-in, return a new hash to store if the stored one is weaker.

    Scrypt hashes of earlier versions, and Argon2 hashes of a lower cost,
    are re-hashed with ``params``; ``None`` when the stored hash is fine (or
    the password does not match it).
    """
    mask = users[s.REP_ID].astype(str) == user_id
    if not mask.any() or s.PASSWORD_HASH not in users.columns:
        return None
    stored = users.loc[mask, s.PASSWORD_HASH].iloc[0]
    if not isinstance(stored, str) or not needs_rehash(stored, params=params):
        return None
    if not verify_password(password, stored):
        return None
    return hash_password(password, params=params)


def set_password(
    users: pd.DataFrame,
    user_id: str,
    password: str,
    *,
    params: HashParams = DEFAULT_PARAMS,
) -> pd.DataFrame:
    """Return a copy of the ``reps`` table with ``user_id``'s password set.

    Raises
    ------
    InputError
        If the user is unknown or the password breaks the policy (every
        problem listed).
    """
    mask = users[s.REP_ID].astype(str) == user_id
    if not mask.any():
        raise InputError(
            f"unknown user '{user_id}'",
            [Problem(f"no user has rep_id '{user_id}'", column=s.REP_ID, fix="add the user first")],
        )
    user = User.from_row(users[mask].iloc[0])
    problems = check_password_policy(password, user=user)
    if problems:
        raise InputError(f"the new password of user '{user_id}' is not accepted", problems)
    out = users.copy()
    if s.PASSWORD_HASH not in out.columns:
        out[s.PASSWORD_HASH] = None
    out[s.PASSWORD_HASH] = out[s.PASSWORD_HASH].astype(object)
    out.loc[mask, s.PASSWORD_HASH] = hash_password(password, params=params)
    return out


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise InputError(
            "a naive datetime was given",
            [Problem("session times must carry a time zone", fix="use datetime.now(UTC)")],
        )
    return now


@dataclass(frozen=True)
class Session:
    """A signed-in session with an idle timeout and an absolute lifetime.

    Keep it in the app's per-browser state; sign-out discards it. Call
    :meth:`touch` on every interaction to slide the idle timeout.

    Parameters
    ----------
    user
        Who is signed in.
    issued_at
        When the session began (UTC).
    expires_at
        When it expires if idle (never after ``issued_at + max_age_s``).
    timeout_s
        Idle timeout, seconds.
    max_age_s
        Absolute lifetime, seconds.
    token
        Random id of the session, for audit lines.
    """

    user: User
    issued_at: datetime
    expires_at: datetime
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_age_s: float = DEFAULT_MAX_AGE_S
    token: str = field(default_factory=lambda: secrets.token_urlsafe(16))

    def __post_init__(self) -> None:
        problems = []
        if self.timeout_s <= 0:
            problems.append(Problem("timeout_s must be positive", fix="use e.g. 1800"))
        if self.max_age_s < self.timeout_s:
            problems.append(Problem("max_age_s is shorter than timeout_s", fix="raise max_age_s"))
        if self.issued_at.tzinfo is None or self.expires_at.tzinfo is None:
            problems.append(Problem("session times need a time zone", fix="use UTC datetimes"))
        if problems:
            raise InputError("invalid session", problems)

    @property
    def user_id(self) -> str:
        """The signed-in user's id."""
        return self.user.user_id

    @property
    def hard_expiry(self) -> datetime:
        """The moment after which no activity keeps the session alive."""
        return self.issued_at + timedelta(seconds=self.max_age_s)

    def is_expired(self, now: datetime | None = None) -> bool:
        """Tell whether the session has expired (idle too long or too old)."""
        return _now(now) >= min(self.expires_at, self.hard_expiry)

    def remaining_s(self, now: datetime | None = None) -> float:
        """Seconds left before expiry (0 once expired)."""
        left = (min(self.expires_at, self.hard_expiry) - _now(now)).total_seconds()
        return max(0.0, left)

    def touch(self, now: datetime | None = None) -> Session:
        """Return the session with its idle timeout restarted at ``now``.

        Raises
        ------
        InputError
            If the session has already expired: sign in again.
        """
        moment = _now(now)
        if self.is_expired(moment):
            raise InputError(
                "the session has expired",
                [Problem("the session has expired", fix="sign in again")],
            )
        expires = min(moment + timedelta(seconds=self.timeout_s), self.hard_expiry)
        return replace(self, expires_at=expires)


def start_session(
    user: User,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_age_s: float = DEFAULT_MAX_AGE_S,
    now: datetime | None = None,
) -> Session:
    """Open a session for ``user`` after a successful :func:`authenticate`.

    Parameters
    ----------
    user
        The authenticated user.
    timeout_s
        Idle timeout, seconds.
    max_age_s
        Absolute lifetime, seconds.
    now
        The current time (UTC), for tests.
    """
    moment = _now(now)
    return Session(
        user=user,
        issued_at=moment,
        expires_at=moment + timedelta(seconds=min(timeout_s, max_age_s)),
        timeout_s=timeout_s,
        max_age_s=max_age_s,
    )
