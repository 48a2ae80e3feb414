"""Crash and race drills on a stored workspace, shared by the tests and the benchmark.

Processes are forked (the planner is imported once), so a drill of a
hundred kills takes seconds, not minutes. Each process opens its own
connections after the fork.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing as mp
import os
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import shapely

from planner import schema as s
from planner.errors import ConflictError
from planner.models import Scenario, ScenarioState, TerritoryType
from planner.store import create_store, history_frame
from planner.workspace import Workspace

SID = "plan"
TERRITORIES = [f"T{i}" for i in range(6)]
WRITERS = ("w1", "w2")

Opener = Callable[[], Workspace]


def drill_workspace() -> Workspace:
    """A small workspace: one scenario, six territories, a territory type per writer."""
    ws = Workspace(name="drill")
    ws.add_scenario(Scenario(SID, name="Plan", state=ScenarioState.ACTIVE))
    terr = pd.DataFrame(
        {
            s.TERRITORY_ID: TERRITORIES,
            s.NAME: ["start"] * len(TERRITORIES),
            s.LEVEL: 0,
            s.TYPE_ID: "geographic",
            s.SOURCE: "drawn",
            "geometry": [shapely.box(i, 0, i + 1, 1) for i in range(len(TERRITORIES))],
        }
    )
    ws.set_rows("territories", SID, terr)
    for w in WRITERS:
        ws.add_territory_type(TerritoryType(w, w, priority=0))
    return ws


def store_drill(target: str, name: str) -> None:
    """Write the drill workspace to ``target`` (a path or a server URL)."""
    create_store(target, drill_workspace().tables, name=name, overwrite=True).dispose()


def _priority(ws: Workspace, writer: str) -> int:
    types = ws.territory_types
    return int(types.loc[types[s.TYPE_ID] == writer, s.PRIORITY].iloc[0])


def _edit(ws: Workspace, writer: str, territories: list[str], marker: str) -> None:
    """One multi-table edit: rename territories, count in the writer's type row, log it."""
    terr = ws.territories(SID).copy()
    terr.loc[terr[s.TERRITORY_ID].isin(territories), s.NAME] = marker
    ws.set_rows("territories", SID, terr)
    types = ws.territory_types.copy()
    types.loc[types[s.TYPE_ID] == writer, s.PRIORITY] = _priority(ws, writer) + 1
    ws.set_table("territory_types", types)
    ws.log("drill", {"marker": marker}, user=writer, scenario_id=SID)


def consistent(ws: Workspace) -> str | None:
    """Return why a snapshot is torn, or ``None`` when it is whole.

    Every committed edit renamed its territories, raised its writer's count
    and logged one audit row, all at once: so the count of each writer
    equals its audit rows, and every rename marker has its audit row.
    """
    audit = ws.audit[ws.audit[s.ACTION] == "drill"]
    for w in WRITERS:
        rows = int((audit[s.USER] == w).sum())
        if rows != _priority(ws, w):
            return f"{w}: {rows} audit rows but count {_priority(ws, w)}"
    markers = {json.loads(d)["marker"] for d in audit[s.DETAIL]}
    names = set(ws.territories(SID)[s.NAME]) - {"start"}
    if not names <= markers:
        return f"territory names {sorted(names - markers)} have no audit row"
    return None


# -- the kill drill -----------------------------------------------------------
def _commit_forever(opener: Opener, ready: mp.synchronize.Event) -> None:
    ws = opener()
    rng = random.Random(os.getpid())
    ready.set()
    n = 0
    while True:
        n += 1
        _edit(ws, "w1", rng.sample(TERRITORIES, 3), f"k{os.getpid()}-{n}")
        ws.commit("drill", user="w1")


@dataclass
class KillReport:
    """What a kill drill saw."""

    kills: int = 0
    torn: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)


def kill_drill(
    opener: Opener, kills: int, *, seed: int = 0, folder: str | None = None
) -> KillReport:
    """SIGKILL a committing process ``kills`` times at random moments; check each time.

    After every kill the workspace must open, hold every change entirely or
    not at all, and (for a file) leave nothing but the file itself in
    ``folder`` once closed.
    """
    ctx = mp.get_context("fork")
    rng = random.Random(seed)
    report = KillReport()
    for _ in range(kills):
        ready = ctx.Event()
        child = ctx.Process(target=_commit_forever, args=(opener, ready), daemon=True)
        child.start()
        ready.wait(30)
        time.sleep(rng.uniform(0.0, 0.25))
        os.kill(child.pid or 0, signal.SIGKILL)
        child.join()
        ws = opener()
        report.kills += 1
        report.versions.append(ws.version)
        why = consistent(ws)
        if why:
            report.torn.append(why)
        if ws.store is not None:
            ws.store.dispose()
        if folder is not None:
            report.leftovers.extend(
                f for f in os.listdir(folder) if not f.endswith(".gpkg") or f.startswith(".")
            )
    return report


# -- the race drill -----------------------------------------------------------
def _write_many(opener: Opener, writer: str, edits: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    ws = opener()
    rng = random.Random(writer)
    done = conflicts = 0
    for i in range(edits):
        _edit(ws, writer, [rng.choice(TERRITORIES)], f"{writer}-{i}")
        try:
            ws.commit("drill", user=writer)
            done += 1
        except ConflictError:
            conflicts += 1
            ws.reload()
    out.put((writer, done, conflicts))


def _read_many(
    opener: Opener,
    stop: mp.synchronize.Event,
    min_opens: int,
    out: mp.Queue,  # type: ignore[type-arg]
) -> None:
    opens, torn = 0, []
    while not stop.is_set() or opens < min_opens:
        ws = opener()
        opens += 1
        why = consistent(ws)
        if why:
            torn.append(why)
        if ws.store is not None:
            ws.store.dispose()
    out.put(("reader", opens, torn))


@dataclass
class RaceReport:
    """What a race drill saw."""

    committed: dict[str, int]
    conflicts: dict[str, int]
    opens: int
    torn: list[str]
    lost_updates: int
    head: int


def race_drill(opener: Opener, edits: int, *, min_opens: int = 0) -> RaceReport:
    """Two writers make ``edits`` interleaved edits each while a reader keeps opening.

    A lost update is a committed row change that overwrote another change
    made after the version it was based on; the version check must make
    that count zero, reporting each refused change as a conflict.
    """
    ctx = mp.get_context("fork")
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    stop = ctx.Event()
    reader = ctx.Process(target=_read_many, args=(opener, stop, min_opens, out))
    writers = [ctx.Process(target=_write_many, args=(opener, w, edits, out)) for w in WRITERS]
    reader.start()
    for p in writers:
        p.start()
    results = [out.get(timeout=900) for _ in writers]
    stop.set()
    _, opens, torn = out.get(timeout=1800)
    for p in [*writers, reader]:
        p.join()
    ws = opener()
    return RaceReport(
        committed={w: d for w, d, _ in results},
        conflicts={w: c for w, _, c in results},
        opens=opens,
        torn=list(torn) + ([why] if (why := consistent(ws)) else []),
        lost_updates=lost_updates(ws),
        head=ws.version,
    )


def lost_updates(ws: Workspace) -> int:
    """Count row changes that overwrote a change their author had not seen."""
    assert ws.store is not None
    hist = history_frame(ws.store, table="territories")
    changes = {c.version: c for c in ws.store.changes()}
    lost = 0
    for key, rows in hist.groupby("key"):
        versions = sorted(int(v) for v in rows["version"])
        for earlier, later in itertools.pairwise(versions):
            if changes[later].base_version < earlier and changes[later].undo_of is None:
                lost += 1
        del key
    return lost
