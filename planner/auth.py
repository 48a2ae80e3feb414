"""Users, password hashing and sign-in sessions.

Passwords are stored only as salted scrypt hashes (:func:`hashlib.scrypt`,
memory-hard) in the ``password_hash`` column of the ``reps`` table. A stored
hash names its own cost parameters, so raising the cost later does not lock
anyone out: :func:`needs_rehash` tells the app to re-hash at the next sign-in.
Verification compares digests in constant time, and :func:`authenticate` spends
the same work whether or not the user exists, so timing does not reveal which
logins are valid.

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

import base64
import functools
import hashlib
import hmac
import logging
import secrets
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from planner import schema as s
from planner.errors import InputError, Problem
from planner.models import UserRole

__all__ = [
    "DEFAULT_MAX_AGE_S",
    "DEFAULT_PARAMS",
    "DEFAULT_TIMEOUT_S",
    "MIN_PASSWORD_LENGTH",
    "ScryptParams",
    "Session",
    "User",
    "authenticate",
    "check_password_policy",
    "find_user",
    "hash_password",
    "needs_rehash",
    "set_password",
    "start_session",
    "verify_password",
]

logger = logging.getLogger(__name__)

#: Prefix of every hash this module writes.
_SCHEME = "scrypt"
#: Length of the random salt and of the derived key, in bytes.
_SALT_BYTES = 16
_KEY_BYTES = 32
#: Upper bounds accepted when *reading* a stored hash, so a tampered row cannot
#: make a sign-in allocate gigabytes or spin for minutes.
_MAX_LOG2_N = 20
_MAX_R = 32
_MAX_P = 16

#: Shortest password :func:`set_password` accepts (NIST SP 800-63B minimum).
MIN_PASSWORD_LENGTH = 8
_MAX_PASSWORD_LENGTH = 1024

#: Idle time after which a session expires (30 minutes).
DEFAULT_TIMEOUT_S = 30 * 60.0
#: Absolute lifetime of a session however active it is (12 hours).
DEFAULT_MAX_AGE_S = 12 * 3600.0


@dataclass(frozen=True)
class ScryptParams:
    """Cost parameters of scrypt.

    The default (N = 2**15, r = 8, p = 3: 32 MiB, about 0.35 s here) is one of
    the OWASP-recommended scrypt settings.

    Parameters
    ----------
    log2_n
        Base-2 logarithm of the CPU/memory cost N.
    r
        Block size.
    p
        Parallelisation.
    """

    log2_n: int = 15
    r: int = 8
    p: int = 3

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.log2_n <= _MAX_LOG2_N:
            problems.append(
                Problem(f"log2_n={self.log2_n} is out of range", fix=f"use 1..{_MAX_LOG2_N}")
            )
        if not 1 <= self.r <= _MAX_R:
            problems.append(Problem(f"r={self.r} is out of range", fix=f"use 1..{_MAX_R}"))
        if not 1 <= self.p <= _MAX_P:
            problems.append(Problem(f"p={self.p} is out of range", fix=f"use 1..{_MAX_P}"))
        if problems:
            raise InputError("invalid scrypt parameters", problems)

    @property
    def n(self) -> int:
        """The cost N itself."""
        return 1 << self.log2_n

    @property
    def maxmem(self) -> int:
        """Memory limit handed to OpenSSL, with headroom over the need of 128 r (N + p + 2)."""
        return 2 * 128 * self.r * (self.n + self.p + 2) + (1 << 20)

    def encode(self) -> str:
        """Return the parameter field of a stored hash, e.g. ``ln=15,r=8,p=3``."""
        return f"ln={self.log2_n},r={self.r},p={self.p}"


#: Parameters of new hashes.
DEFAULT_PARAMS = ScryptParams()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _password_bytes(password: str) -> bytes:
    """Encode a password after NFC normalisation, so composed and decomposed accents match."""
    return unicodedata.normalize("NFC", password).encode("utf-8")


def _derive(password: str, salt: bytes, params: ScryptParams) -> bytes:
    return hashlib.scrypt(
        _password_bytes(password),
        salt=salt,
        n=params.n,
        r=params.r,
        p=params.p,
        maxmem=params.maxmem,
        dklen=_KEY_BYTES,
    )


def hash_password(
    password: str, *, params: ScryptParams = DEFAULT_PARAMS, salt: bytes | None = None
) -> str:
    """Return a salted scrypt hash of ``password`` for storage.

    The result reads ``$scrypt$ln=15,r=8,p=3$<salt>$<key>`` (base64 without
    padding): it carries its own parameters and a fresh random salt, so hashing
    the same password twice gives two different strings.

    Parameters
    ----------
    password
        The plain-text password; never stored or logged.
    params
        scrypt cost; keep the default outside tests.
    salt
        A fixed salt of at least 8 bytes, only for reproducible files such as
        the bundled samples' demo users; a fresh random salt by default.

    Raises
    ------
    InputError
        If ``salt`` is shorter than 8 bytes.
    """
    if salt is None:
        salt = secrets.token_bytes(_SALT_BYTES)
    elif len(salt) < 8:
        raise InputError(
            "the salt is too short",
            [Problem(f"the salt has {len(salt)} bytes", fix="use at least 8 (16 is the default)")],
        )
    key = _derive(password, salt, params)
    return f"${_SCHEME}${params.encode()}${_b64(salt)}${_b64(key)}"


def _parse(stored: str) -> tuple[ScryptParams, bytes, bytes] | None:
    """Split a stored hash into parameters, salt and key; ``None`` if malformed."""
    parts = stored.split("$")
    if len(parts) != 5 or parts[0] != "" or parts[1] != _SCHEME:
        return None
    try:
        fields = dict(item.split("=", 1) for item in parts[2].split(","))
        params = ScryptParams(int(fields["ln"]), int(fields["r"]), int(fields["p"]))
        salt, key = _unb64(parts[3]), _unb64(parts[4])
    except (ValueError, KeyError, InputError):
        return None
    if len(salt) < 8 or len(key) != _KEY_BYTES:
        return None
    return params, salt, key


def verify_password(password: str, stored: str | None) -> bool:
    """Tell whether ``password`` matches the stored hash, comparing in constant time.

    Parameters
    ----------
    password
        The password typed at sign-in.
    stored
        A hash from :func:`hash_password`. A missing or malformed hash never
        matches (and is logged without its content).
    """
    if not isinstance(stored, str) or not stored:
        return False
    parsed = _parse(stored)
    if parsed is None:
        logger.warning("a stored password hash is malformed; the sign-in is refused")
        return False
    params, salt, key = parsed
    return hmac.compare_digest(_derive(password, salt, params), key)


def needs_rehash(stored: str, *, params: ScryptParams = DEFAULT_PARAMS) -> bool:
    """Tell whether a stored hash is weaker than ``params`` (re-hash it at next sign-in)."""
    parsed = _parse(stored)
    if parsed is None:
        return True
    old = parsed[0]
    weaker_memory = old.n * old.r < params.n * params.r
    weaker_work = old.n * old.r * old.p < params.n * params.r * params.p
    return weaker_memory or weaker_work


@functools.lru_cache(maxsize=4)
def _dummy_hash(params: ScryptParams) -> str:
    """A hash of a random password, verified when the login is unknown (same work)."""
    return hash_password(secrets.token_urlsafe(16), params=params)


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
    by_id = users[users[s.REP_ID].astype(str) == login]
    if len(by_id) or s.EMAIL not in users.columns:
        return by_id
    emails = users[s.EMAIL].astype(object).where(users[s.EMAIL].notna(), "")
    return users[emails.astype(str).str.strip().str.lower() == login.lower()]


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
    params: ScryptParams = DEFAULT_PARAMS,
) -> User | None:
    """Check a sign-in and return the user, or ``None`` when it fails.

    The same scrypt work is done whether the login is unknown, has no password
    or has a wrong one, so the reply time does not tell them apart; the reason
    is logged (never the password).

    Parameters
    ----------
    users
        The ``reps`` table (with ``password_hash``).
    login
        The user id or email.
    password
        The password typed.
    params
        Cost of the stand-in hash verified for unknown logins; match the cost
        of the stored hashes.
    """
    rows = _match(users, login)
    stored = None
    if len(rows) == 1 and s.PASSWORD_HASH in rows.columns:
        value = rows.iloc[0][s.PASSWORD_HASH]
        stored = value if isinstance(value, str) and value else None
    ok = verify_password(password, stored if stored is not None else _dummy_hash(params))
    if stored is None:
        logger.info("sign-in refused: unknown login or no password set")
        return None
    if not ok:
        logger.info("sign-in refused: wrong password for user %s", rows.iloc[0][s.REP_ID])
        return None
    return User.from_row(rows.iloc[0])


def set_password(
    users: pd.DataFrame,
    user_id: str,
    password: str,
    *,
    params: ScryptParams = DEFAULT_PARAMS,
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
