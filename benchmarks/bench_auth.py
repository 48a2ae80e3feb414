"""Sign-in answer times: a known login with a wrong password beside an unknown login.

Run: python benchmarks/bench_auth.py [--users 31] [--rounds 31]

The peer is the shortcut many sign-in forms take: refuse an unknown login at
once, without verifying any hash. Its answer time tells an attacker which
logins exist; ours verifies a stand-in hash of the table's own scheme and
cost, so the two times should match (ratio near 1.00). The table is hashed
at costs other than the default, as the sample workspaces are.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planner.auth import Argon2Params, ScryptParams, authenticate, hash_password
from planner.lockout import SignInGuard
from planner.passwords import HashParams


def _users(n: int, cost: HashParams) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rep_id": [f"R{i}" for i in range(n)],
            "role": "rep",
            "email": None,
            "password_hash": [hash_password(f"pw-{i}-long", params=cost) for i in range(n)],
        }
    )


SignIn = Callable[[pd.DataFrame, str, str, SignInGuard], object]


def _planner(users: pd.DataFrame, login: str, password: str, guard: SignInGuard) -> object:
    return authenticate(users, login, password, guard=guard)


def _shortcut(users: pd.DataFrame, login: str, password: str, guard: SignInGuard) -> object:
    """The peer: an unknown login is refused before any hash is checked."""
    if not (users["rep_id"] == login).any():
        return None
    return authenticate(users, login, password, guard=guard)


def _time(fn: SignIn, users: pd.DataFrame, login: str, guard: SignInGuard) -> float:
    start = time.perf_counter()
    fn(users, login, "wrong", guard)
    return time.perf_counter() - start


def measure(users: pd.DataFrame, rounds: int, fn: SignIn) -> tuple[float, float]:
    """Median seconds of a wrong password for a known login and for an unknown one."""
    guard = SignInGuard(max_failures=10**6, max_client_failures=10**6)
    known: list[float] = []
    unknown: list[float] = []
    for i in range(rounds):  # alternate the order so machine load hits both alike
        pair = [(known, f"R{i % len(users)}"), (unknown, f"ghost{i}")]
        for out, login in pair if i % 2 else pair[::-1]:
            out.append(_time(fn, users, login, guard))
    return statistics.median(known), statistics.median(unknown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=31)
    parser.add_argument("--rounds", type=int, default=31)
    args = parser.parse_args()
    costs: list[tuple[str, HashParams]] = [
        ("argon2id t=2 m=32 MiB", Argon2Params(time_cost=2, memory_kib=32768, parallelism=1)),
        ("scrypt n=2^15", ScryptParams(log2_n=15, r=8, p=1)),
    ]
    print(f"{'table cost':24} {'solver':10} {'known ms':>9} {'unknown ms':>11} {'ratio':>6}")
    for label, cost in costs:
        users = _users(args.users, cost)
        for name, fn in (("planner", _planner), ("shortcut", _shortcut)):
            known, unknown = measure(users, args.rounds, fn)
            ms = f"{known * 1e3:9.1f} {unknown * 1e3:11.1f}"
            print(f"{label:24} {name:10} {ms} {unknown / known:6.2f}")


if __name__ == "__main__":
    main()
