"""The rule editor's live count: how long one keystroke takes, beside two peers.

Run: python benchmarks/bench_rules.py [--accounts 100000] [--rounds 7]

On the small Helsinki test geography with N uniformly spread accounts, the
editor counts what a rule would give territory T2 (a third of the area):

- **ours, first keystroke**: ``rule_candidates`` (the accounts T2 could hold)
  then ``count_matches``;
- **ours, each further keystroke**: ``count_matches`` on the kept candidates
  (parse, type check, column-wise evaluation);
- **peer, pandas query**: ``DataFrame.query`` of the same condition on the same
  candidates (pandas' own expression engine, no position-naming errors);
- **peer, assign and count**: set the rule and re-run the whole assignment,
  then count T2's members (what one does without a live count).

Every method must give the same number (printed); timings are medians.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planner import edit
from planner import schema as s
from tests.app.conftest import build_small_workspace

RULE = 'industry == "cafe" OR annual_revenue >= 1000000 AND NOT industry == "office"'
QUERY = 'industry == "cafe" or (annual_revenue >= 1000000 and not industry == "office")'


def _median(fn: Callable[[], int], rounds: int) -> tuple[float, int]:
    times, result = [], 0
    for _ in range(rounds):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _assign_and_count(n_accounts: int) -> tuple[float, int]:
    """The peer without a live count: set the rule, re-assign everything, count T2's members."""
    trial = build_small_workspace(n_accounts, seed=1)
    start = time.perf_counter()
    edit.set_rule(trial, "base", "T2", RULE)
    mem = trial.memberships("base")
    return time.perf_counter() - start, int((mem[s.TERRITORY_ID] == "T2").sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    ws = build_small_workspace(args.accounts, seed=1)
    pool = edit.rule_candidates(ws, "base", "T2")

    def first() -> int:
        return edit.count_matches(ws, "base", "T2", RULE).matched

    def further() -> int:
        return edit.count_matches(ws, "base", "T2", RULE, candidates=pool).matched

    def query() -> int:
        return len(pool.query(QUERY))

    rows = [
        ("ours, first keystroke", *_median(first, args.rounds)),
        ("ours, each further keystroke", *_median(further, args.rounds)),
        ("peer: pandas DataFrame.query", *_median(query, args.rounds)),
    ]
    assigned = [_assign_and_count(args.accounts) for _ in range(max(1, args.rounds // 3))]
    seconds = statistics.median(t for t, _ in assigned)
    rows.append(("peer: set the rule, re-assign, count", seconds, assigned[-1][1]))
    print(f"{args.accounts:,} accounts; T2 could hold {len(pool):,}; rule: {RULE}")
    print(f"{'method':<40} {'median ms':>10} {'count':>8}")
    for name, seconds, count in rows:
        print(f"{name:<40} {seconds * 1000:>10.1f} {count:>8,}")
    counts = {count for _, _, count in rows}
    print("same count everywhere:", "yes" if len(counts) == 1 else f"NO {sorted(counts)}")


if __name__ == "__main__":
    main()
