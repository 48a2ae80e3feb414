"""Tests of password hashing, sign-in and sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from planner.auth import (
    DEFAULT_PARAMS,
    Argon2Params,
    ScryptParams,
    User,
    authenticate,
    check_password_policy,
    find_user,
    hash_password,
    needs_rehash,
    set_password,
    start_session,
    upgraded_hash,
    verify_password,
)
from planner.errors import InputError
from planner.lockout import SignInGuard
from planner.passwords import hash_params

#: Cheap parameters so the tests stay fast; production uses DEFAULT_PARAMS.
FAST = ScryptParams(log2_n=10, r=8, p=1)
FAST_ARGON2 = Argon2Params(time_cost=1, memory_kib=1024, parallelism=1)
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


def test_default_hashes_are_argon2id_with_rfc_9106_cost() -> None:
    """New hashes are Argon2id at RFC 9106's low-memory profile (64 MiB, 3 passes, 4 lanes)."""
    assert Argon2Params(time_cost=3, memory_kib=65536, parallelism=4) == DEFAULT_PARAMS
    stored = hash_password("s3cret-pass", params=FAST_ARGON2)
    assert stored.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert verify_password("s3cret-pass", stored)
    assert not verify_password("s3cret-pasS", stored)
    assert verify_password(
        "caf\u00e9-au-lait", hash_password("cafe\u0301-au-lait", params=FAST_ARGON2)
    )


def test_needs_rehash_flags_scrypt_and_weaker_hashes() -> None:
    """Every scrypt hash, and Argon2 hashes cheaper than the target, need re-hashing."""
    assert needs_rehash(hash_password("x" * 10, params=FAST))
    assert not needs_rehash(hash_password("x" * 10, params=FAST), params=FAST)
    assert needs_rehash(hash_password("x" * 10, params=FAST_ARGON2))
    assert not needs_rehash(hash_password("x" * 10, params=FAST_ARGON2), params=FAST_ARGON2)
    assert needs_rehash("garbage")


def test_upgraded_hash_after_sign_in(two_users: pd.DataFrame) -> None:
    """A good sign-in on a scrypt hash yields an Argon2id hash of the same password."""
    fresh = upgraded_hash(two_users, "R1", "correct horse", params=FAST_ARGON2)
    assert fresh is not None and fresh.startswith("$argon2id$")
    assert verify_password("correct horse", fresh)
    assert upgraded_hash(two_users, "R1", "wrong horse", params=FAST_ARGON2) is None
    assert upgraded_hash(two_users, "M1", "anything", params=FAST_ARGON2) is None
    again = two_users.assign(password_hash=[fresh, None])
    assert upgraded_hash(again, "R1", "correct horse", params=FAST_ARGON2) is None


@pytest.mark.parametrize(
    "stored",
    [
        "$argon2id$v=19$m=4194304,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",  # 4 GiB
        "$argon2id$v=19$m=65536,t=99,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        "$argon2id$v=19$m=65536,t=3$c2FsdHNhbHQ$aGFzaA",
        "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
    ],
)
def test_tampered_argon2_hashes_are_refused_without_work(stored: str) -> None:
    """A stored hash naming an absurd cost (or another variant) never matches, at no cost."""
    assert not verify_password("anything", stored)


def test_scrypt_params_validate() -> None:
    """Out-of-range parameters are refused."""
    with pytest.raises(InputError, match="log2_n=0 is out of range"):
        ScryptParams(log2_n=0)


def test_authenticate_by_id_or_email(two_users: pd.DataFrame) -> None:
    """The login is the user id or the email in any case."""
    by_id = authenticate(two_users, "R1", "correct horse", params=FAST, guard=SignInGuard())
    by_email = authenticate(
        two_users, "  rita@example.COM ", "correct horse", params=FAST, guard=SignInGuard()
    )
    assert by_id == by_email == User("R1", "rep", "Rita Rep", "Rita@Example.com", "M1")


def test_authenticate_refuses_wrong_unknown_and_passwordless(two_users: pd.DataFrame) -> None:
    """Wrong password, unknown login and a user with no password all fail alike."""
    assert authenticate(two_users, "R1", "wrong horse", params=FAST, guard=SignInGuard()) is None
    assert (
        authenticate(two_users, "nobody", "correct horse", params=FAST, guard=SignInGuard()) is None
    )
    assert authenticate(two_users, "M1", "", params=FAST, guard=SignInGuard()) is None


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
    """Unknown, passwordless and wrong logins each verify one hash of the table's own cost."""
    import planner.auth as auth

    seen: list[object] = []
    real = auth.verify_password

    def counting(password: str, stored: str | None) -> bool:
        seen.append(hash_params(stored))
        return real(password, stored)

    monkeypatch.setattr(auth, "verify_password", counting)
    for login, password in [("R1", "correct horse"), ("R1", "nope"), ("ghost", "x"), ("M1", "x")]:
        seen.clear()
        authenticate(two_users, login, password, guard=SignInGuard())
        assert seen == [FAST], login


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_lockout_after_five_failures_then_growing_delay(two_users: pd.DataFrame) -> None:
    """Five wrong passwords lock the login; even the right one is refused until the delay ends."""
    clock = _Clock()
    guard = SignInGuard(max_failures=5, lock_s=30, clock=clock)
    for _ in range(5):
        assert authenticate(two_users, "R1", "wrong horse", guard=guard) is None
    assert guard.retry_after("R1") == 30
    assert authenticate(two_users, "R1", "correct horse", guard=guard) is None
    clock.now += 31
    for _ in range(5):
        authenticate(two_users, "r1 ", "wrong", guard=guard)  # same login, other spelling
    assert guard.retry_after("R1") == 60  # the second lockout lasts twice as long
    clock.now += 61
    assert authenticate(two_users, "R1", "correct horse", guard=guard) is not None
    assert guard.retry_after("R1") == 0


def test_lockout_is_the_same_for_unknown_logins(two_users: pd.DataFrame) -> None:
    """An unknown login locks exactly like a real one, so the lockout names no users."""
    guard = SignInGuard(max_failures=3, clock=_Clock())
    for login in ("R1", "ghost"):
        for _ in range(3):
            authenticate(two_users, login, "wrong", guard=guard)
    assert guard.retry_after("R1") == guard.retry_after("ghost") > 0


def test_lockout_per_client_over_many_logins(two_users: pd.DataFrame) -> None:
    """One client trying many logins is locked even if no single login reaches its limit."""
    guard = SignInGuard(max_failures=5, max_client_failures=8, clock=_Clock())
    for i in range(8):
        authenticate(two_users, f"user{i}", "x", guard=guard, client="10.0.0.9")
    assert guard.retry_after("R1", "10.0.0.9") > 0
    assert guard.retry_after("R1", "10.0.0.10") == 0
    assert authenticate(two_users, "R1", "correct horse", guard=guard, client="10.0.0.9") is None


def test_lockout_is_logged(two_users: pd.DataFrame, caplog: pytest.LogCaptureFixture) -> None:
    """A lockout leaves a warning in the log naming the delay, never a password."""
    guard = SignInGuard(max_failures=2, clock=_Clock())
    with caplog.at_level("WARNING", logger="planner.lockout"):
        for _ in range(2):
            authenticate(two_users, "R1", "hunter2-secret", guard=guard)
    assert "sign-in locked for 30 s" in caplog.text
    assert "hunter2" not in caplog.text


def test_guard_validates_itself() -> None:
    """Limits must be positive."""
    with pytest.raises(InputError, match="invalid sign-in guard"):
        SignInGuard(max_failures=0)
