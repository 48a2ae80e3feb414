"""`planner rule` and `planner override`: rules and overrides saved at once, rights, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from planner import schema as s
from planner.access import scope_for
from planner.cli import main
from planner.workspace import open_workspace
from tests.app.conftest import build_small_workspace


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, json.loads(out.out)


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """The small workspace: R1 (rep) owns T1, R2 (manager) manages R, M3 (manager) only T3."""
    path = tmp_path / "small.gpkg"
    ws = build_small_workspace()
    reps = ws.reps
    m3 = gpd.GeoDataFrame(
        {s.REP_ID: ["M3"], s.NAME: ["Maija"], s.ROLE: ["manager"], s.CAPACITY_H_PER_WEEK: [0.0]},
        geometry=[None],
        crs=reps.crs,
    )
    ws.set_table("reps", pd.concat([reps, m3], ignore_index=True))
    assoc = ws.rows("associations", "base")
    extra = pd.DataFrame({s.REP_ID: ["M3"], s.TERRITORY_ID: ["T3"], s.ROLE: ["manager"]})
    ws.set_rows("associations", "base", pd.concat([assoc, extra], ignore_index=True))
    ws.save(path)
    if ws.store is not None:
        ws.store.dispose()
    return path


def _version(path: Path) -> int:
    return open_workspace(path).version


def _members(path: Path, territory_id: str) -> set[str]:
    mem = open_workspace(path).memberships("base")
    return set(mem.loc[mem[s.TERRITORY_ID] == territory_id, s.ACCOUNT_ID].astype(str))


def test_rule_set_show_and_clear_each_saved_as_a_change(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The count `rule show --try` gives is what `rule set` then stores; clear gives it back."""
    w = ["-w", str(small), "-t", "T2"]
    code, shown = run(capsys, "rule", "show", *w, "--try", 'industry == "cafe"')
    assert code == 0 and shown["count"]["matched"] < shown["count"]["candidates"]
    code, out = run(capsys, "rule", "set", 'industry == "cafe"', *w, "--as-user", "R2")
    assert code == 0 and out["version"] == 2 and out["rule"] == 'industry == "cafe"'
    assert out["accounts"] == shown["count"]["matched"] == len(_members(small, "T2"))
    code, listed = run(capsys, "rule", "show", "-w", str(small))
    assert listed["rules"] == [{"territory_id": "T2", "rule": 'industry == "cafe"'}]
    code, chain = run(capsys, "rule", "show", "-w", str(small), "-t", "R")
    assert [(c["territory_id"], c["relation"], c["rule"]) for c in chain["chain"]] == [
        ("R", "this", None), ("T1", "below", None),
        ("T2", "below", 'industry == "cafe"'), ("T3", "below", None),
    ]  # fmt: skip
    code, out = run(capsys, "rule", "clear", *w, "--as-user", "R2")
    assert code == 0 and out["rule"] is None and out["version"] == 3
    assert out["accounts"] == shown["count"]["candidates"]
    ws = open_workspace(small)
    assert ws.store is not None
    changes = ws.store.changes()
    assert [(c.action, c.user) for c in changes[:2]] == [
        ("rule clear T2", "R2"),
        ("rule set T2", "R2"),
    ]


def test_a_rule_that_does_not_parse_names_the_position_and_changes_nothing(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _version(small)
    code, out = run(capsys, "rule", "set", "industry == cafe", "-w", str(small), "-t", "T2")
    assert code == 2 and out["error"] == "RuleError"
    assert (
        "position 13" in out["message"]
        and out["problems"][0]["fix"] == 'put text in quotes: "cafe"'
    )
    assert _version(small) == before
    code, out = run(capsys, "rule", "show", "-w", str(small), "-t", "T2", "--try", "industy > 1")
    assert code == 2 and "did you mean 'industry'" in out["problems"][0]["fix"]


@pytest.mark.parametrize(
    ("user", "territory", "error"),
    [("R1", "T1", "may not edit"), ("R1", "T2", "does not exist or is outside"),
     ("M3", "T1", "does not exist or is outside")],
)  # fmt: skip
def test_rule_changes_outside_the_users_rights_are_refused(
    small: Path, capsys: pytest.CaptureFixture[str], user: str, territory: str, error: str
) -> None:
    before = _version(small)
    for verb in (["set", 'industry == "cafe"'], ["clear"]):
        argv = ["rule", *verb, "-w", str(small), "-t", territory, "--as-user", user]
        code, out = run(capsys, *argv)
        assert code == 2 and out["error"] == "AccessDeniedError" and error in out["message"]
    assert _version(small) == before


def test_a_manager_sees_and_sets_only_their_territories_rules(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """M3 sets T3's rule; `rule show` as M3 lists T3's but not T1's; samples only T3's accounts."""
    assert run(capsys, "rule", "set", "annual_revenue > 0", "-w", str(small), "-t", "T1")[0] == 0
    code, out = run(capsys, "rule", "set", 'industry != "cafe"', "-w", str(small), "-t", "T3",
                    "--as-user", "M3")  # fmt: skip
    assert code == 0
    code, out = run(capsys, "rule", "show", "-w", str(small), "--as-user", "M3")
    assert [r["territory_id"] for r in out["rules"]] == ["T3"]
    code, out = run(capsys, "rule", "show", "-w", str(small), "-t", "T3", "--as-user", "M3")
    assert set(out["count"]["sample"]) <= _members(small, "T3")


def test_override_add_list_remove(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Include two of T1's accounts in T3 with a reason, list them, remove one."""
    moving = sorted(_members(small, "T1"))[:2]
    w = ["-w", str(small), "-t", "T3"]
    code, out = run(capsys, "override", "add", *moving, *w, "--action", "include",
                    "--reason", "served from the port", "--as-user", "R2")  # fmt: skip
    assert code == 0 and out["message"] == "Included 2 accounts in T3 (served from the port)."
    assert set(moving) <= _members(small, "T3")
    code, out = run(capsys, "override", "list", "-w", str(small))
    assert [(o["account_id"], o["action"], o["set_by"]) for o in out["overrides"]] == [
        (moving[0], "include", "R2"), (moving[1], "include", "R2"),
    ]  # fmt: skip
    code, out = run(capsys, "override", "remove", moving[0], *w)
    assert code == 0 and moving[0] not in _members(small, "T3")
    code, out = run(capsys, "override", "list", "-w", str(small), "-t", "T3")
    assert [o["account_id"] for o in out["overrides"]] == [moving[1]]


def test_override_bad_ids_are_named_by_position_and_change_nothing(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _version(small)
    first = sorted(_members(small, "T1"))[0]
    code, out = run(capsys, "override", "add", first, "NOPE", "-w", str(small), "-t", "T3",
                    "--action", "exclude", "--reason", "x")  # fmt: skip
    assert (
        code == 2
        and out["problems"][0]["rows"] == [2]
        and "NOPE" in out["message"] + str(out["problems"])
    )
    code, out = run(capsys, "override", "remove", first, "-w", str(small), "-t", "T3")
    assert code == 2 and "no override on T3" in out["message"]
    assert _version(small) == before


def test_override_outside_the_scope_is_refused_and_the_list_is_the_scopes(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """M3 may not include T1's account in T3 (unseen account), nor touch T1; lists only T3's."""
    before = _version(small)
    other = sorted(_members(small, "T1"))[0]
    code, out = run(capsys, "override", "add", other, "-w", str(small), "-t", "T3",
                    "--action", "include", "--reason", "x", "--as-user", "M3")  # fmt: skip
    assert (
        code == 2
        and out["error"] == "AccessDeniedError"
        and "do not exist or are" in out["message"]
    )
    code, out = run(capsys, "override", "add", other, "-w", str(small), "-t", "T1",
                    "--action", "exclude", "--reason", "x", "--as-user", "M3")  # fmt: skip
    assert code == 2 and out["error"] == "AccessDeniedError"
    assert _version(small) == before
    mine = sorted(_members(small, "T3"))[0]
    assert run(capsys, "override", "add", other, "-w", str(small), "-t", "T1",
               "--action", "exclude", "--reason", "x")[0] == 0  # fmt: skip
    code, out = run(capsys, "override", "add", mine, "-w", str(small), "-t", "T3",
                    "--action", "exclude", "--reason", "closed", "--as-user", "M3")  # fmt: skip
    assert code == 0
    code, out = run(capsys, "override", "list", "-w", str(small), "--as-user", "M3")
    assert [(o["account_id"], o["territory_id"]) for o in out["overrides"]] == [(mine, "T3")]


# -- the Georgia sample as a rep and as the other region's manager ---------------------------


@pytest.mark.slow
def test_rule_and_override_commands_keep_to_the_scope_on_the_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As a rep and as the other region's manager: listings name nothing outside the scope,
    changes outside it are refused with the workspace at its version (as in test_cli_rights)."""
    path = tmp_path / "ga.gpkg"
    assert main(["sample", "georgia", str(path)]) == 0
    capsys.readouterr()
    ws = open_workspace(path)
    sid = ws.active_scenario_id()
    everything = set(ws.accounts[s.ACCOUNT_ID].astype(str))
    assert main(["override", "add", "GA-00001", "-w", str(path), "-t", "T-SAV",
                 "--action", "exclude", "--reason", "x"]) == 0  # fmt: skip
    assert main(["override", "add", "GA-00002", "-w", str(path), "-t", "T-ATL",
                 "--action", "exclude", "--reason", "x"]) == 0  # fmt: skip
    assert main(["rule", "set", "annual_revenue >= 0", "-w", str(path), "-t", "T-ATL"]) == 0
    assert main(["rule", "set", "annual_revenue >= 0", "-w", str(path), "-t", "T-SAV"]) == 0
    capsys.readouterr()
    for user, outside in (("ga-rep-sav", "T-ATL"), ("ga-mgr-r-north", "T-SAV")):
        scope = scope_for(open_workspace(path), user, scenario_id=sid)
        mine = scope.territory_ids or frozenset()
        for argv in (["rule", "show"], ["override", "list"]):
            code, out = run(capsys, *argv, "-w", str(path), "--as-user", user)
            text = str(out)
            assert code == 0 and outside not in text
            assert set(re.findall(r"[RDT]-[A-Z]+", text)) <= set(mine)
        before = _version(path)
        code, out = run(capsys, "rule", "set", "annual_revenue >= 1", "-w", str(path),
                        "-t", outside, "--as-user", user)  # fmt: skip
        assert code == 2 and out["error"] == "AccessDeniedError"
        stranger = sorted(everything - set(scope.account_ids or ()))[0]
        inside = sorted(mine)[-1]
        code, out = run(capsys, "override", "add", stranger, "-w", str(path), "-t", inside,
                        "--action", "include", "--reason", "x", "--as-user", user)  # fmt: skip
        assert code == 2 and out["error"] == "AccessDeniedError"
        assert _version(path) == before
