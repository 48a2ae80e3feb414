"""Contiguity-preserving local search over unit-to-territory assignments.

The state keeps, per territory, its units, workload, area and outline length,
so that moving one boundary unit is evaluated in time proportional to the
unit's number of neighbours. A move never splits the territory it leaves
(checked by a search of that territory without the unit) and only enters a
territory the unit touches, so a contiguous plan stays contiguous.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from planner.balance.state import StateCore

__all__ = ["SearchState"]

logger = logging.getLogger(__name__)



class SearchState(StateCore):
    """Contiguity-preserving searches on a :class:`~planner.balance.state.StateCore`.

    Parameters are those of :class:`~planner.balance.state.StateCore`: prepared
    units, balance value per unit, initial labels, targets, per unit whether
    it may move, per territory whether it is open.
    """

    # --- phase 1: flow-guided transfers -------------------------------------------
    def flow_balance(self, goal: float, *, rounds: int = 30) -> None:
        """Move workload along the territory graph where a min-cost flow says it should go.

        Parameters
        ----------
        goal
            Stop once every open territory is within this relative deviation.
        rounds
            Most flow computations.
        """
        for _ in range(rounds):
            if self.max_abs_dev() <= goal:
                return
            flows = self._flows()
            before = self.moves_done
            for a, b, amount in flows:
                self._transfer(a, b, amount)
            if self.moves_done == before:
                return

    def _flows(self) -> list[tuple[int, int, float]]:
        """Transfers along territory borders that would even out the workload.

        An electrical flow: potentials solve the territory graph's Laplacian
        (conductance = number of unit pairs across a border) against each
        territory's surplus, and the flow over a border is the potential
        difference times its conductance. It spreads transfers over parallel
        paths, so each border has a modest amount to realise.
        """
        lab = self.lab
        k = self.k
        cond: dict[tuple[int, int], int] = {}
        for u in range(len(lab)):
            a = lab[u]
            if not self.open[a]:
                continue
            for v in self.nb[u]:
                b = lab[v]
                if b > a and self.open[b]:
                    cond[(a, b)] = cond.get((a, b), 0) + 1
        if not cond:
            return []
        lap = np.zeros((k, k))
        for (a, b), c in cond.items():
            lap[a, b] -= c
            lap[b, a] -= c
            lap[a, a] += c
            lap[b, b] += c
        supply = np.array(
            [self.load[t] - self.tgt[t] if self.open[t] else 0.0 for t in range(k)]
        )
        phi = np.linalg.lstsq(lap, supply, rcond=None)[0]
        out = []
        for (a, b), c in sorted(cond.items()):
            f = c * (phi[a] - phi[b])
            if f > 1e-12:
                out.append((a, b, float(f)))
            elif f < -1e-12:
                out.append((b, a, float(-f)))
        out.sort(key=lambda x: (-x[2], x[0], x[1]))
        return out

    def _transfer(self, a: int, b: int, amount: float) -> None:
        remaining = amount
        lab = self.lab
        candidates = set(self.border_units(a, b))
        gains: dict[int, float] = {}  # border gain per candidate, dropped when a neighbour moves
        while remaining > 0 and candidates:
            best: tuple[float, int] | None = None
            for u in candidates:
                if not self.movable[u] or u in self.tabu or not self.reachable(u, b):
                    continue
                w = self.w[u]
                if w <= 0 or w >= 2.0 * remaining:
                    continue
                gain = gains.get(u)
                if gain is None:
                    gain = (self.shared_with(u, b) - self.shared_with(u, a)) / max(self.up[u],
                                                                                   1e-12)
                    gains[u] = gain
                score = abs(remaining - w) / remaining - 0.5 * gain
                if best is None or score < best[0] or (score == best[0] and u < best[1]):
                    best = (score, u)
            if best is None:
                return
            u = best[1]
            candidates.discard(u)
            if not self.can_leave(u):
                continue
            self.move(u, b)
            remaining -= self.w[u]
            for v in self.nb[u]:
                gains.pop(v, None)
            candidates.update(v for v in self.nb[u] if lab[v] == a)

    def fix_reach(self, *, rounds: int = 50) -> int:
        """Move units beyond the drive limit into a touching territory that reaches them.

        Units are taken from the outside in (a unit moves only where it does
        not split its territory), nearest home first; returns how many remain.
        """
        bad = self.beyond_reach()
        for _ in range(rounds):
            moved = False
            for u in bad:
                s = self.lab[u]
                options = [d for d in self.neighbour_territories(u) if self._closer(u, s, d)]
                if options and self.can_leave(u):
                    self.move(u, min(options, key=lambda d: (self._excess_at(u, d), d)))
                    moved = True
            bad = self.beyond_reach()
            if not bad or not moved:
                break
        return len(bad)

    def _excess_at(self, u: int, d: int) -> float:
        if self._ok is not None:
            return 0.0 if self._ok[d, u] else 1.0
        return float(self._ex[d, u]) if self._ex is not None else 0.0

    def _closer(self, u: int, s: int, d: int) -> bool:
        return self._excess_at(u, d) < self._excess_at(u, s)

    # --- phase 2: descent on squared deviation ------------------------------------
    def descend(self, goal: float, *, max_moves: int = 100_000, swaps: bool = True) -> None:
        """Apply improving single moves (and swaps) to the worst territories first.

        Parameters
        ----------
        goal
            Stop once every open territory is within this relative deviation.
        max_moves
            Cap on accepted moves.
        swaps
            Whether to try exchanging two units when no single move helps.
        """
        done = 0
        while done < max_moves:
            if self.max_abs_dev() <= goal:
                return
            order = sorted(
                (t for t in range(self.k) if self.open[t]), key=lambda t: (-abs(self.dev(t)), t)
            )
            moved = False
            for t in order:
                if abs(self.dev(t)) <= goal * 0.5:
                    break
                if self._best_single(t) or (swaps and self._best_swap(t)):
                    moved = True
                    break
            if not moved:
                return
            done += 1


    def _best_single(self, t: int) -> bool:
        for _delta, u, d in self.candidate_moves(t):
            if self.can_leave(u):
                self.move(u, d)
                return True
        return False

    def _best_swap(self, t: int, *, tries: int = 60) -> bool:
        """Exchange a unit of ``t`` with one of a neighbouring territory to cut deviation."""
        heavy = self.dev(t) > 0
        lab = self.lab
        options: list[tuple[float, int, int, int]] = []
        for n in sorted({lab[v] for u in self.members[t] for v in self.nb[u]} - {t}):
            if not self.open[n]:
                continue
            mine = [u for u in self.border_units(t, n) if self.movable[u]]
            theirs = [v for v in self.border_units(n, t) if self.movable[v]]
            if not mine or not theirs:
                continue
            cur = self.dev(t) ** 2 + self.dev(n) ** 2
            for u in mine:
                for v in theirs:
                    net = self.w[u] - self.w[v]  # workload leaving t
                    if (net <= 0) if heavy else (net >= 0):
                        continue
                    dt = (self.load[t] - net - self.tgt[t]) / self.tgt[t]
                    dn = (self.load[n] + net - self.tgt[n]) / self.tgt[n]
                    delta = dt * dt + dn * dn - cur
                    if delta < -1e-15:
                        options.append((delta, u, v, n))
        options.sort()
        return any(self._try_swap(u, v, t, n) for _delta, u, v, n in options[:tries])

    def _try_swap(self, u: int, v: int, t: int, n: int) -> bool:
        if not self.can_leave(u) or not self.reachable(u, n):
            return False
        self.move(u, n)
        if (self.lab[v] == n and self.can_leave(v) and self.reachable(v, t)
                and any(self.lab[x] == t for x in self.nb[v])):
            self.move(v, t)
            return True
        self.move(u, t)
        self.moves_done -= 2
        return False


    # --- kicks: a forced move, then re-balancing, kept only when better ------------
    def kick(self, goal: float, *, rounds: int = 20, tries: int = 24) -> None:
        """Escape a balance dead end by forcing one move at the worst territory.

        Each try forces a boundary move at the worst territory (out of it when
        heavy, into it when light), re-balances with flows and descent, and is
        kept only if the largest deviation (then the squared sum) improved.

        Parameters
        ----------
        goal
            Relative deviation that counts as balanced.
        rounds
            Most kicks kept.
        tries
            Forced moves tried per round.
        """
        for _ in range(rounds):
            score = self.balance_score()
            if score[0] <= goal:
                return
            open_t = (x for x in range(self.k) if self.open[x])
            t = max(open_t, key=lambda x: (abs(self.dev(x)), -x))
            forced = self.forced_moves(t)[:tries]
            start = self.snapshot()
            best: tuple[tuple[float, float], list[int]] | None = None
            for u, d in forced:
                if not self.can_leave(u):
                    continue
                self.move(u, d)
                self.tabu = {u}
                self.flow_balance(goal, rounds=4)
                self.descend(goal, max_moves=200, swaps=False)
                self.tabu = set()
                trial = self.balance_score()
                if trial < score and (best is None or trial < best[0]):
                    best = (trial, self.snapshot())
                self.restore(start)
            if best is None:
                return
            self.restore(best[1])
            self.descend(goal)


    # --- phase 3: compactness within the tolerance ---------------------------------
    def compact(self, cap: float, *, sweeps: int = 8, min_gain: float = 1e-6) -> int:
        """Move boundary units to raise the sum of Polsby-Popper scores, keeping balance.

        Parameters
        ----------
        cap
            A move may not leave either territory beyond this relative
            deviation, unless it brings that pair closer to balance.
        sweeps
            Passes over all units.
        min_gain
            Smallest accepted gain in summed Polsby-Popper.

        Returns
        -------
        int
            Moves made.
        """
        made = 0
        n = len(self.lab)
        for _ in range(sweeps):
            changed = 0
            for u in range(n):
                if not self.movable[u]:
                    continue
                s = self.lab[u]
                if not self.open[s]:
                    continue
                for d in self.neighbour_territories(u):
                    if not self._balance_ok(u, s, d, cap):
                        continue
                    if self.compact_gain(u, s, d) > min_gain and self.can_leave(u):
                        self.move(u, d)
                        changed += 1
                        break
            changed += self._compact_swaps(cap, min_gain)
            made += changed
            if changed == 0:
                break
        return made

    def _compact_swaps(self, cap: float, min_gain: float, *, per_pair: int = 6) -> int:
        """Exchange units across each border where that raises compactness within balance."""
        made = 0
        for a, b in self.territory_graph():
            mine = self._best_for_compactness(a, b)
            theirs = self._best_for_compactness(b, a)
            options: list[tuple[float, int, int]] = []
            for u, gu in mine:
                for v, gv in theirs:
                    net = self.w[u] - self.w[v]
                    da = abs((self.load[a] - net - self.tgt[a]) / self.tgt[a])
                    db = abs((self.load[b] + net - self.tgt[b]) / self.tgt[b])
                    if max(da, db) > cap and max(da, db) >= max(abs(self.dev(a)), abs(self.dev(b))):
                        continue
                    gain = gu + gv
                    if gain > min_gain:
                        options.append((-gain, u, v))
            options.sort()
            for _gain, u, v in options[:per_pair]:
                if self.lab[u] != a or self.lab[v] != b:
                    continue
                before = self.compactness_of(a) + self.compactness_of(b)
                if not self._try_swap(u, v, a, b):
                    continue
                if self.compactness_of(a) + self.compactness_of(b) - before > min_gain:
                    made += 1
                    break
                self.move(u, a)
                self.move(v, b)
                self.moves_done -= 4
        return made

    def _best_for_compactness(self, a: int, b: int, *, keep: int = 24) -> list[tuple[int, float]]:
        """Movable units of ``a`` on its border with ``b`` and their compactness gain, best first.

        Only the ``keep`` best are returned, so long borders (thousands of
        units) cost no more than short ones in the swap search.
        """
        scored = [(u, self.compact_gain(u, a, b)) for u in self.border_units(a, b)
                  if self.movable[u] and self.reachable(u, b)]
        scored.sort(key=lambda x: (-x[1], x[0]))
        return scored[:keep]

    def _balance_ok(self, u: int, s: int, d: int, cap: float) -> bool:
        w = self.w[u]
        if w == 0:
            return True
        ds = abs((self.load[s] - w - self.tgt[s]) / self.tgt[s])
        dd = abs((self.load[d] + w - self.tgt[d]) / self.tgt[d])
        worst_new = max(ds, dd)
        return worst_new <= cap or worst_new < max(abs(self.dev(s)), abs(self.dev(d)))

    # --- rebalancing with a move budget ----------------------------------------
    def budget_descent(
        self,
        baseline: Sequence[int],
        cost: Sequence[float],
        budget: float,
        goal: float,
        *,
        on_step: Callable[[float, float], None] | None = None,
        max_moves: int = 1_000_000,
    ) -> float:
        """Greedy: apply the move with the best deviation cut per account moved, within budget.

        Moving a unit away from its ``baseline`` territory spends its ``cost``;
        moving it back refunds it; moving an already moved unit again is free.

        Parameters
        ----------
        baseline
            Baseline territory index per unit.
        cost
            Accounts per unit.
        budget
            Accounts that may be moved in total.
        goal
            Stop once every open territory is within this relative deviation.
        on_step
            Called after each move with ``(spent, max deviation)``.
        max_moves
            Cap on accepted moves.

        Returns
        -------
        float
            Accounts moved (spent budget).
        """
        spent = self.spent(baseline, cost)
        for _ in range(max_moves):
            if self.max_abs_dev() <= goal:
                break
            best: tuple[float, float, int, int] | None = None
            order = sorted(
                (t for t in range(self.k) if self.open[t]), key=lambda t: (-abs(self.dev(t)), t)
            )
            options: list[tuple[float, float, int, int]] = []
            for t in order[: max(4, self.k // 3)]:
                for delta, u, d in self.candidate_moves(t):
                    s = self.lab[u]
                    c = self._move_cost(u, s, d, baseline, cost)
                    if spent + c > budget + 1e-9:
                        continue
                    ratio = delta / max(c, 1e-3) if c > 0 else delta * 1e6
                    options.append((ratio, c, u, d))
            options.sort()
            for ratio, c, u, d in options:
                if self.lab[u] != d and self.can_leave(u):
                    best = (ratio, c, u, d)
                    break
            if best is None:
                break
            _, c, u, d = best
            self.move(u, d)
            spent += c
            if on_step is not None:
                on_step(spent, self.max_abs_dev())
        return spent

    def budget_kick(
        self,
        baseline: Sequence[int],
        cost: Sequence[float],
        budget: float,
        goal: float,
        *,
        rounds: int = 30,
        tries: int = 16,
    ) -> float:
        """Escape a dead end of :meth:`budget_descent` by forcing one affordable move.

        Each try forces a boundary move at the worst territory, continues the
        budgeted descent, and is kept only if the largest deviation (then the
        squared sum) improved within the budget.

        Returns
        -------
        float
            Accounts moved (spent budget).
        """
        spent = self.spent(baseline, cost)
        for _ in range(rounds):
            score = self.balance_score()
            if score[0] <= goal:
                break
            open_t = (x for x in range(self.k) if self.open[x])
            t = max(open_t, key=lambda x: (abs(self.dev(x)), -x))
            start = self.snapshot()
            best: tuple[tuple[float, float], list[int], float] | None = None
            for u, d in self.forced_moves(t)[:tries]:
                c = self._move_cost(u, self.lab[u], d, baseline, cost)
                if spent + c > budget + 1e-9 or not self.can_leave(u):
                    continue
                self.move(u, d)
                self.tabu = {u}
                got = self.budget_descent(baseline, cost, budget, goal, max_moves=200)
                self.tabu = set()
                trial = self.balance_score()
                if trial < score and (best is None or trial < best[0]):
                    best = (trial, self.snapshot(), got)
                self.restore(start)
            if best is None:
                break
            self.restore(best[1])
            spent = best[2]
        return spent

    def spent(self, baseline: Sequence[int], cost: Sequence[float]) -> float:
        """Accounts in units that are not in their baseline territory."""
        return sum(cost[u] for u in range(len(self.lab)) if self.lab[u] != baseline[u])

    def _move_cost(
        self, u: int, s: int, d: int, baseline: Sequence[int], cost: Sequence[float]
    ) -> float:
        if s == baseline[u]:
            return cost[u]
        if d == baseline[u]:
            return -cost[u]
        return 0.0
