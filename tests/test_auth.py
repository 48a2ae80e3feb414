"""Tests of password hashing, sign-in and sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from planner.auth import (
    DEFAULT_PARAMS,
    ScryptParams,
    User,
    authenticate,
    check_password_policy,
    find_user,
    hash_password,
    needs_rehash,
    set_password,
    start_session,
    verify_password,
)
from planner.errors import InputError

#: Cheap parameters so the tests stay fast; production uses DEFAULT_PARAMS.
FAST = ScryptParams(log2_n=10, r=8, p=1)
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def two_users() -> pd.DataFrame:
    """A rep with a password and a manager without one."""
    return pd.DataFrame(
        {
            "rep_id": ["R1", "M1"],
            "name": ["Rita Rep", "Max Manager"],
            "role": ["rep", "manager"],
            "email": ["Rita@Example.com", "max@example.com"],
            "manager_id": ["M1", None],
            "password_hash": [hash_password("correct horse", params=FAST), None],
        }
    )


def test_hash_is_salted_and_carries_parameters() -> None:
    """Two hashes of one password differ, name scrypt and their cost, and hold no plain text."""
    a = hash_password("s3cret-pass", params=FAST)
    b = hash_password("s3cret-pass", params=FAST)
    assert a != b
    assert a.startswith("$scrypt$ln=10,r=8,p=1$")
    assert "s3cret" not in a


def test_verify_accepts_right_and_refuses_wrong_password() -> None:
    """Only the original password verifies."""
    stored = hash_password("s3cret-pass", params=FAST)
    assert verify_password("s3cret-pass", stored)
    assert not verify_password("s3cret-pasS", stored)
    assert not verify_password("", stored)


def test_verify_normalises_unicode() -> None:
    """A composed and a decomposed accent are the same password."""
    stored = hash_password("caf\u00e9-au-lait", params=FAST)
    assert verify_password("cafe\u0301-au-lait", stored)


@pytest.mark.parametrize(
    "stored",
    [None, "", "plain text", "$scrypt$ln=10,r=8$abc$def", "$scrypt$ln=40,r=8,p=1$AAAAAAAAAAA$AAAA"],
)
def test_verify_refuses_missing_or_malformed_hashes(stored: str | None) -> None:
    """Malformed or absurdly expensive stored hashes never match and never raise."""
    assert not verify_password("anything", stored)


def test_default_parameters_are_strong() -> None:
    """The default cost is at least OWASP's scrypt minimum (N*r*p >= 2**17 * 8)."""
    assert DEFAULT_PARAMS.n * DEFAULT_PARAMS.r * DEFAULT_PARAMS.p >= 2**17 * 8 * 0.75
    assert DEFAULT_PARAMS.n >= 2**15


def test_needs_rehash_flags_weaker_hashes() -> None:
    """A hash made with cheaper parameters than the current default needs re-hashing."""
    assert needs_rehash(hash_password("x" * 10, params=FAST))
    assert not needs_rehash(hash_password("x" * 10, params=FAST), params=FAST)


def test_scrypt_params_validate() -> None:
    """Out-of-range parameters are refused."""
    with pytest.raises(InputError, match="log2_n=0 is out of range"):
        ScryptParams(log2_n=0)


def test_authenticate_by_id_or_email(two_users: pd.DataFrame) -> None:
    """The login is the user id or the email in any case."""
    by_id = authenticate(two_users, "R1", "correct horse", params=FAST)
    by_email = authenticate(two_users, "  rita@example.COM ", "correct horse", params=FAST)
    assert by_id == by_email == User("R1", "rep", "Rita Rep", "Rita@Example.com", "M1")


def test_authenticate_refuses_wrong_unknown_and_passwordless(two_users: pd.DataFrame) -> None:
    """Wrong password, unknown login and a user with no password all fail alike."""
    assert authenticate(two_users, "R1", "wrong horse", params=FAST) is None
    assert authenticate(two_users, "nobody", "correct horse", params=FAST) is None
    assert authenticate(two_users, "M1", "", params=FAST) is None


def test_find_user_ignores_ambiguous_email(two_users: pd.DataFrame) -> None:
    """An email shared by two users identifies nobody."""
    twice = pd.concat([two_users, two_users.iloc[[1]].assign(rep_id="R9")], ignore_index=True)
    assert find_user(twice, "max@example.com") is None
    assert find_user(twice, "R9") is not None


def test_set_password_stores_only_a_hash(two_users: pd.DataFrame) -> None:
    """set_password writes a verifiable hash and leaves the input frame unchanged."""
    out = set_password(two_users, "M1", "a long passphrase", params=FAST)
    assert pd.isna(two_users.loc[1, "password_hash"])
    stored = out.loc[1, "password_hash"]
    assert verify_password("a long passphrase", stored)
    assert "passphrase" not in stored


def test_set_password_enforces_policy(two_users: pd.DataFrame) -> None:
    """Short passwords and the user's own email are refused, all problems listed."""
    with pytest.raises(InputError, match="the password has 5 characters"):
        set_password(two_users, "M1", "short", params=FAST)
    with pytest.raises(InputError, match="own id or email"):
        set_password(two_users, "M1", "MAX@example.com", params=FAST)
    with pytest.raises(InputError, match="unknown user 'Z'"):
        set_password(two_users, "Z", "long enough pw", params=FAST)
    assert check_password_policy("a fine passphrase") == []


def test_session_idle_timeout_and_touch() -> None:
    """A session expires after the idle timeout; activity slides it forward."""
    user = User("R1", "rep")
    session = start_session(user, timeout_s=600, now=T0)
    assert not session.is_expired(T0 + timedelta(seconds=599))
    assert session.is_expired(T0 + timedelta(seconds=600))
    later = session.touch(T0 + timedelta(seconds=500))
    assert not later.is_expired(T0 + timedelta(seconds=1000))
    assert later.remaining_s(T0 + timedelta(seconds=1000)) == pytest.approx(100)
    with pytest.raises(InputError, match="the session has expired"):
        session.touch(T0 + timedelta(seconds=601))


def test_session_absolute_lifetime() -> None:
    """However active, a session ends after max_age_s."""
    session = start_session(User("R1", "rep"), timeout_s=600, max_age_s=1000, now=T0)
    session = session.touch(T0 + timedelta(seconds=550))
    session = session.touch(T0 + timedelta(seconds=900))
    assert session.is_expired(T0 + timedelta(seconds=1000))


def test_session_requires_aware_times() -> None:
    """Naive datetimes are refused: session times are UTC."""
    with pytest.raises(InputError, match="naive datetime"):
        start_session(User("R1", "rep"), now=datetime(2025, 1, 1))


def test_authenticate_does_the_same_work_for_unknown_logins(
    two_users: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unknown, passwordless and wrong logins each run scrypt exactly once, like a good one."""
    import planner.auth as auth

    calls: list[int] = []
    real = auth._derive

    def counting(password: str, salt: bytes, params: ScryptParams) -> bytes:
        calls.append(params.n)
        return real(password, salt, params)

    auth._dummy_hash(FAST)  # warm the stand-in hash outside the count
    monkeypatch.setattr(auth, "_derive", counting)
    for login, password in [("R1", "correct horse"), ("R1", "nope"), ("ghost", "x"), ("M1", "x")]:
        calls.clear()
        authenticate(two_users, login, password, params=FAST)
        assert calls == [FAST.n], login
