"""The state of a local search: an assignment with workload, area and outline per territory.

Moving one boundary unit is evaluated in time proportional to the unit's
number of neighbours. A move never splits the territory it leaves (checked
by a search of that territory without the unit) and only enters a territory
the unit touches, so a contiguous plan stays contiguous.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from planner.balance.drive import DriveCosts
from planner.balance.units import BalanceUnits

__all__ = ["Move", "StateCore", "UnitArrays"]

_FOUR_PI = 4.0 * math.pi


@dataclass(frozen=True)
class Move:
    """One unit moving from territory ``source`` to ``dest``."""

    unit: int
    source: int
    dest: int


@dataclass(frozen=True)
class UnitArrays:
    """The fixed per-unit values of a state as arrays, for vectorised measures.

    ``edge_u``, ``edge_v``, ``edge_len`` list every adjacency once with
    ``edge_u < edge_v``, ordered by ``edge_u`` and then as ``shared_m[edge_u]``
    lists its neighbours (the order the pair re-splits have always used).
    """

    w: np.ndarray
    area: np.ndarray
    perim: np.ndarray
    x: np.ndarray
    y: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_len: np.ndarray
    #: both ends of every adjacency, as in ``bu.adjacency.pairs``
    pair_a: np.ndarray
    pair_b: np.ndarray
    #: every adjacency once, ``nb_u < nb_v``, ordered by ``nb_u`` then ``nb_v``
    nb_u: np.ndarray
    nb_v: np.ndarray


class StateCore:
    """Mutable assignment with incremental workload, area and perimeter per territory.

    The bookkeeping and move evaluation shared by the searches of
    :class:`~planner.balance.search.SearchState`.

    Parameters
    ----------
    bu
        Prepared units.
    values
        Balance value per unit.
    labels
        Initial territory index per unit.
    targets
        Target workload per territory (positive).
    movable
        Per unit, whether it may change territory (False for pinned units).
    open_territories
        Per territory, whether it may gain or lose units (False when frozen).
    """

    def __init__(
        self,
        bu: BalanceUnits,
        values: np.ndarray,
        labels: np.ndarray,
        targets: np.ndarray,
        movable: np.ndarray,
        open_territories: np.ndarray,
    ) -> None:
        self.k = len(targets)
        self.bu = bu
        self.nb: list[list[int]] = bu.neighbours
        self.sh: list[dict[int, float]] = bu.shared_m
        self.w: list[float] = [float(v) for v in values]
        self.ua: list[float] = bu.area_m2.tolist()
        self.up: list[float] = bu.perimeter_m.tolist()
        self.cx: list[float] = bu.x_m.tolist()
        self.cy: list[float] = bu.y_m.tolist()
        self.tgt: list[float] = [float(t) for t in targets]
        self.movable: list[bool] = [bool(m) for m in movable]
        self.open: list[bool] = [bool(o) for o in open_territories]
        self.lab: list[int] = [int(x) for x in labels]
        self.members: list[set[int]] = [set() for _ in range(self.k)]
        for u, t in enumerate(self.lab):
            self.members[t].add(u)
        self.load = [0.0] * self.k
        self.area = [0.0] * self.k
        self.perim = [0.0] * self.k
        self.recompute()
        self.moves_done = 0
        #: units that may not move for now (the unit a kick just forced)
        self.tabu: set[int] = set()
        #: exponent of the balance objective sum |deviation|**power: 2 evens out
        #: everyone; higher values chase the worst territory first
        self.power = 2
        #: drive hours from the reps' homes and their limit (see :meth:`use_drive`)
        self.drive: DriveCosts | None = None
        self._ok: np.ndarray | None = None  # hard limit: (k, n) may unit enter territory
        self._ex: np.ndarray | None = None  # soft limit: (k, n) relative excess
        self._hours: np.ndarray | None = None  # drive compactness: (k, n) hours
        self._h_scale = 1.0
        self._arrays: UnitArrays | None = None

    def arrays(self) -> UnitArrays:
        """The fixed per-unit values as arrays (built on first use)."""
        if self._arrays is None:
            eu, ev, el = [], [], []
            for u, shared in enumerate(self.sh):
                for v, length in shared.items():
                    if v > u:
                        eu.append(u)
                        ev.append(v)
                        el.append(length)
            pairs = np.asarray(self.bu.adjacency.pairs, dtype=np.int64).reshape(-1, 2)
            upper = [(u, v) for u, near in enumerate(self.nb) for v in near if v > u]
            nb_uv = np.asarray(upper, dtype=np.int64).reshape(-1, 2)
            self._arrays = UnitArrays(
                w=np.asarray(self.w, dtype=float), area=np.asarray(self.ua, dtype=float),
                perim=np.asarray(self.up, dtype=float), x=np.asarray(self.cx, dtype=float),
                y=np.asarray(self.cy, dtype=float), edge_u=np.asarray(eu, dtype=np.int64),
                edge_v=np.asarray(ev, dtype=np.int64), edge_len=np.asarray(el, dtype=float),
                pair_a=pairs[:, 0], pair_b=pairs[:, 1], nb_u=nb_uv[:, 0], nb_v=nb_uv[:, 1])
        return self._arrays

    def use_drive(self, drive: DriveCosts | None, ok: np.ndarray | None = None) -> None:
        """Honour a drive limit (hard: moves never leave reach; soft: a penalty) from now on.

        ``ok`` is the ``(k, n)`` mask of units each territory may hold (by
        default the units within the limit).
        """
        self.drive = drive
        self._ok = self._ex = self._hours = None
        if drive is None:
            return
        if drive.by_drive:
            self._hours = drive.hours
            finite = drive.hours[np.isfinite(drive.hours)]
            self._h_scale = float(finite.mean()) if finite.size and finite.mean() > 0 else 1.0
        if drive.limit_h is not None and drive.hard:
            self._ok = drive.reach if ok is None else ok
        elif drive.limit_h is not None:
            self._ex = drive.excess

    def reach_mask(self) -> np.ndarray | None:
        """``(k, n)``: which units each territory may hold under a hard drive limit (or None)."""
        return self._ok

    def reachable(self, u: int, d: int) -> bool:
        """Whether ``u`` may enter ``d`` without breaking the drive limit.

        Hard limit: ``u`` within reach of ``d``'s home; soft limit: ``u`` no
        further beyond the limit than where it is (only the descent trades
        the penalty against balance, see :meth:`admits`).
        """
        if self._ok is not None:
            return bool(self._ok[d, u])
        if self._ex is not None:
            return bool(self._ex[d, u] <= self._ex[self.lab[u], u] + 1e-12)
        return True

    def admits(self, u: int, d: int) -> bool:
        """Whether the descent may consider moving ``u`` to ``d`` (the hard limit only)."""
        return self._ok is None or bool(self._ok[d, u])

    def drive_delta(self, u: int, s: int, d: int) -> float:
        """Change of the soft drive penalty if ``u`` goes from ``s`` to ``d``."""
        ex = self._ex
        if ex is None or self.drive is None:
            return 0.0
        a, b = float(ex[s, u]), float(ex[d, u])
        return self.drive.penalty ** 2 * (b * b - a * a)

    def beyond_reach(self) -> list[int]:
        """Units where the drive limit is broken (hard) or penalised (soft)."""
        lab = self.lab
        if self._ok is not None:
            ok = self._ok
            return [u for u in range(len(lab)) if not ok[lab[u], u]]
        if self._ex is not None:
            ex = self._ex
            return [u for u in range(len(lab)) if ex[lab[u], u] > 0]
        return []

    # --- bookkeeping -----------------------------------------------------------
    def recompute(self) -> None:
        """Recompute workload, area and perimeter of every territory from scratch."""
        k = self.k
        self.load = [0.0] * k
        self.area = [0.0] * k
        self.perim = [0.0] * k
        for u, t in enumerate(self.lab):
            self.load[t] += self.w[u]
            self.area[t] += self.ua[u]
            self.perim[t] += self.up[u]
            for v, s in self.sh[u].items():
                if self.lab[v] == t:
                    self.perim[t] -= s  # each inner border is seen from both sides

    def labels(self) -> np.ndarray:
        """Return the current territory index per unit."""
        return np.asarray(self.lab, dtype=np.int64)

    def dev(self, t: int) -> float:
        """Relative deviation of territory ``t`` from its target."""
        return (self.load[t] - self.tgt[t]) / self.tgt[t]

    def devs(self) -> list[float]:
        """Relative deviation of every territory."""
        return [self.dev(t) for t in range(self.k)]

    def max_abs_dev(self) -> float:
        """Largest absolute deviation over the open territories."""
        d = [abs(self.dev(t)) for t in range(self.k) if self.open[t]]
        return max(d) if d else 0.0

    def pp(self, t: int) -> float:
        """Polsby-Popper compactness of territory ``t``."""
        p = self.perim[t]
        return _FOUR_PI * self.area[t] / (p * p) if p > 0 else 0.0

    def mean_pp(self) -> float:
        """Mean Polsby-Popper compactness of the territories."""
        return sum(self.pp(t) for t in range(self.k)) / self.k

    def shared_with(self, u: int, t: int) -> float:
        """Border length unit ``u`` shares with territory ``t``."""
        lab = self.lab
        return sum(s for v, s in self.sh[u].items() if lab[v] == t)

    def can_leave(self, u: int) -> bool:
        """Whether ``u`` may leave its territory without splitting it."""
        t = self.lab[u]
        if not self.movable[u] or not self.open[t]:
            return False
        mem = self.members[t]
        if len(mem) <= 1:
            return False
        lab = self.lab
        inside = [v for v in self.nb[u] if lab[v] == t]
        if len(inside) <= 1:
            return True
        targets = set(inside)
        start = inside[0]
        seen = {start, u}
        stack = [start]
        targets.discard(start)
        nb = self.nb
        while stack and targets:
            x = stack.pop()
            for y in nb[x]:
                if y not in seen and lab[y] == t:
                    seen.add(y)
                    targets.discard(y)
                    stack.append(y)
        return not targets

    def move(self, u: int, d: int) -> None:
        """Move unit ``u`` to territory ``d`` (no checks)."""
        s = self.lab[u]
        ls = self.shared_with(u, s)
        ld = self.shared_with(u, d)
        w = self.w[u]
        self.load[s] -= w
        self.load[d] += w
        self.area[s] -= self.ua[u]
        self.area[d] += self.ua[u]
        self.perim[s] += -self.up[u] + 2.0 * ls
        self.perim[d] += self.up[u] - 2.0 * ld
        self.members[s].discard(u)
        self.members[d].add(u)
        self.lab[u] = d
        self.moves_done += 1

    def border_units(self, a: int, b: int) -> list[int]:
        """Units of ``a`` touching ``b``, in index order."""
        lab, nb = self.lab, self.nb
        out = []
        for u in self.members[a]:
            for v in nb[u]:
                if lab[v] == b:
                    out.append(u)
                    break
        out.sort()
        return out

    def neighbour_territories(self, u: int, *, trade: bool = False) -> list[int]:
        """Open territories other than its own that unit ``u`` touches and may enter.

        With ``trade`` a soft drive limit does not filter (the caller prices it).
        """
        lab = self.lab
        own = lab[u]
        out = sorted({lab[v] for v in self.nb[u]} - {own})
        if trade:
            return [t for t in out if self.open[t] and self.admits(u, t)]
        return [t for t in out if self.open[t] and self.reachable(u, t)]

    def neighbour_territories_of(self, t: int) -> list[int]:
        """Open territories other than ``t`` that touch it."""
        lab = self.lab
        out = {lab[v] for u in self.members[t] for v in self.nb[u]} - {t}
        return sorted(x for x in out if self.open[x])

    def territory_graph(self) -> list[tuple[int, int]]:
        """Pairs ``(a, b)``, ``a < b``, of open territories that touch."""
        arr = self.arrays()
        lab = np.asarray(self.lab, dtype=np.int64)
        la, lb = lab[arr.pair_a], lab[arr.pair_b]
        is_open = np.asarray(self.open, dtype=bool)
        cross = (la != lb) & is_open[la] & is_open[lb]
        lo, hi = np.minimum(la[cross], lb[cross]), np.maximum(la[cross], lb[cross])
        codes = np.unique(lo * self.k + hi).tolist()
        return [divmod(int(code), self.k) for code in codes]

    # --- objective helpers ------------------------------------------------------
    def sq_delta(self, u: int, s: int, d: int) -> float:
        """Change of the balance objective (sum of deviation**power) if ``u`` goes to ``d``."""
        w = self.w[u]
        ts, td = self.tgt[s], self.tgt[d]
        ds0 = (self.load[s] - ts) / ts
        dd0 = (self.load[d] - td) / td
        ds1 = (self.load[s] - w - ts) / ts
        dd1 = (self.load[d] + w - td) / td
        extra = self.drive_delta(u, s, d) if self._ex is not None else 0.0
        if self.power == 2:
            return ds1 * ds1 + dd1 * dd1 - ds0 * ds0 - dd0 * dd0 + extra
        p = self.power
        return abs(ds1) ** p + abs(dd1) ** p - abs(ds0) ** p - abs(dd0) ** p + extra

    def pp_delta(self, u: int, s: int, d: int) -> float:
        ls = self.shared_with(u, s)
        ld = self.shared_with(u, d)
        ps = self.perim[s] - self.up[u] + 2.0 * ls
        pd_ = self.perim[d] + self.up[u] - 2.0 * ld
        as_ = self.area[s] - self.ua[u]
        ad = self.area[d] + self.ua[u]
        new = (_FOUR_PI * as_ / (ps * ps) if ps > 0 else 0.0) + (
            _FOUR_PI * ad / (pd_ * pd_) if pd_ > 0 else 0.0
        )
        return new - self.pp(s) - self.pp(d)


    def compact_gain(self, u: int, s: int, d: int) -> float:
        """Gain of compactness if ``u`` goes from ``s`` to ``d`` (shape, or drive from home)."""
        h = self._hours
        if h is None:
            return self.pp_delta(u, s, d)
        return float(h[s, u] - h[d, u]) / self._h_scale

    def compactness_of(self, t: int) -> float:
        """Compactness of ``t`` as the search raises it (Polsby-Popper, or minus drive time)."""
        h = self._hours
        if h is None:
            return self.pp(t)
        return -sum(float(h[t, u]) for u in self.members[t]) / self._h_scale

    def candidate_moves(self, t: int) -> list[tuple[float, int, int]]:
        """Improving moves touching ``t`` (out of it when heavy, into it when light)."""
        out: list[tuple[float, int, int]] = []
        lab = self.lab
        if self.dev(t) > 0:
            for u in self.members[t]:
                if not self.movable[u] or self.w[u] <= 0 or u in self.tabu:
                    continue
                for d in self.neighbour_territories(u, trade=True):
                    delta = self.sq_delta(u, t, d)
                    if delta < -1e-15:
                        out.append((delta, u, d))
        else:
            seen: set[int] = set()
            for x in self.members[t]:
                for u in self.nb[x]:
                    s = lab[u]
                    if s == t or u in seen or not self.open[s] or not self.movable[u]:
                        continue
                    seen.add(u)
                    if self.w[u] <= 0 or u in self.tabu or not self.admits(u, t):
                        continue
                    delta = self.sq_delta(u, s, t)
                    if delta < -1e-15:
                        out.append((delta, u, t))
        out.sort()
        return out


    def snapshot(self) -> list[int]:
        """Return a copy of the labels to restore later."""
        return list(self.lab)

    def restore(self, labels: list[int]) -> None:
        """Return to a snapshot taken with :meth:`snapshot`."""
        self.lab = list(labels)
        self.members = [set() for _ in range(self.k)]
        for u, t in enumerate(self.lab):
            self.members[t].add(u)
        self.recompute()

    def balance_score(self) -> tuple[float, float]:
        """Largest absolute deviation, then the sum of squared deviations (smaller is better)."""
        d = [self.dev(t) for t in range(self.k) if self.open[t]]
        return (max((abs(x) for x in d), default=0.0), sum(x * x for x in d))


    def forced_moves(self, t: int) -> list[tuple[int, int]]:
        lab = self.lab
        moves: list[tuple[float, int, int]] = []
        if self.dev(t) > 0:
            for u in sorted(self.members[t]):
                if self.movable[u] and self.w[u] > 0:
                    for d in self.neighbour_territories(u):
                        moves.append((self.dev(d), u, d))
        else:
            seen: set[int] = set()
            for x in sorted(self.members[t]):
                for u in self.nb[x]:
                    s = lab[u]
                    if s != t and u not in seen and self.open[s] and self.movable[u]:
                        seen.add(u)
                        if self.w[u] > 0 and self.reachable(u, t):
                            moves.append((-self.dev(s), u, t))
        moves.sort()
        return [(u, d) for _, u, d in moves]

