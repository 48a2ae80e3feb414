"""Standard instances: read (VRPLIB, Solomon), solve with the engine, check, refuse bad files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import vrplib

from planner.cli import main
from planner.errors import InputError
from planner.routing.instances import check_routes, read_instance, solve_instance

SOLOMON = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "solomon"


def _solomon_text(tmp_path: Path, customers: int = 25) -> Path:
    """The first customers of C101 written in Solomon's own text format."""
    raw = vrplib.read_instance(str(SOLOMON / "C101.vrp"))
    lines = ["C101-25", "", "VEHICLE", "NUMBER     CAPACITY", "  5         200", "",
             "CUSTOMER",
             "CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME", ""]
    for i in range(customers + 1):
        x, y = raw["node_coord"][i]
        a, b = raw["time_window"][i]
        service = 0 if i == 0 else raw["service_time"]
        lines.append(f"{i:5d} {x:8.0f} {y:8.0f} {raw['demand'][i]:8.0f} {a:8.0f} {b:8.0f} "
                     f"{service:8.0f}")
    path = tmp_path / "c101_25.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_best_known_solution_checks_out():
    """C101's best-known routes cost 827.3 under DIMACS rounding and keep every constraint."""
    inst = read_instance(SOLOMON / "C101.vrp", rounding="dimacs", vehicles=10)
    sol = vrplib.read_solution(str(SOLOMON / "C101.sol"))
    cost, violations = check_routes(inst, sol["routes"])
    assert violations == [] and cost == pytest.approx(827.3)


def test_checker_finds_broken_routes():
    """Swapping two customers of a tight route breaks a window; dropping one is a missing visit."""
    inst = read_instance(SOLOMON / "C101.vrp", rounding="dimacs", vehicles=10)
    routes = [list(r) for r in vrplib.read_solution(str(SOLOMON / "C101.sol"))["routes"]]
    routes[0][0], routes[0][-1] = routes[0][-1], routes[0][0]
    _, violations = check_routes(inst, routes)
    assert any("after its window closes" in v for v in violations)
    _, violations = check_routes(inst, [r[1:] for r in routes])
    assert any("not visited" in v for v in violations)


def test_engine_solves_a_solomon_file(tmp_path):
    """A 25-customer cut of C101 in Solomon's text format: feasible, every customer once."""
    inst = read_instance(_solomon_text(tmp_path), format="solomon", rounding="dimacs")
    assert inst.n_clients == 25 and inst.vehicles == 5 and inst.has_windows
    result = solve_instance(inst, time_limit_s=1.0, seed=1)
    assert result.feasible, result.violations
    assert sorted(c for r in result.routes for c in r) == list(range(1, 26))
    # The search stops at its time limit (wide slack: CI's two cores are shared by two workers).
    assert result.runtime_s < 1.0 + 2.0


@pytest.mark.slow
def test_cli_reproduces_the_best_known_cost_of_c201(capsys):
    """`planner route --instance` on C201 with the benchmark's settings prints the best known."""
    code = main(["route", "--instance", str(SOLOMON / "C201.vrp"), "--round", "dimacs",
                 "--vehicles", "3", "--time-limit", "5", "--seed", "0", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["feasible"] and payload["violations"] == []
    assert payload["cost"] == pytest.approx(589.1, rel=0.01)
    assert sorted(c for r in payload["routes"] for c in r) == list(range(1, 101))


def test_bad_instances_name_the_problem(tmp_path, capsys):
    """Unknown format, missing sections, closed-before-open windows: clear errors, exit 2."""
    broken = tmp_path / "broken.vrp"
    broken.write_text("NAME : x\nTYPE : CVRP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EUC_2D\n"
                      "NODE_COORD_SECTION\n1 0 0\n2 1 1\n3 2 2\nDEPOT_SECTION\n1\n-1\nEOF\n")
    with pytest.raises(InputError, match="not a valid instance") as info:
        read_instance(broken)
    assert "DEMAND" in str(info.value) and "CAPACITY" in str(info.value)
    text = _solomon_text(tmp_path, customers=5).read_text().splitlines()
    row = text[-2].split()
    row[4], row[5] = "500", "100"  # ready after due
    text[-2] = " ".join(row)
    shut = tmp_path / "shut.txt"
    shut.write_text("\n".join(text) + "\n")
    with pytest.raises(InputError, match="close before they open at customers 4"):
        read_instance(shut, format="solomon")
    with pytest.raises(InputError, match="cannot read"):
        read_instance(SOLOMON / "C101.vrp", format="solomon")
    with pytest.raises(InputError, match="fractional"):
        read_instance(SOLOMON / "C101.vrp", rounding="none")
    code = main(["route", "--instance", str(tmp_path / "missing.vrp")])
    assert code == 2 and "does not exist" in capsys.readouterr().err
    code = main(["route", "--time-limit", "1"])
    assert code == 2 and "--stops" in capsys.readouterr().err


def test_rounding_conventions_scale_consistently():
    """dimacs is ten times trunc; exact a thousand times round; costs come back in file units."""
    trunc = read_instance(SOLOMON / "R101.vrp", rounding="trunc")
    dimacs = read_instance(SOLOMON / "R101.vrp", rounding="dimacs")
    exact = read_instance(SOLOMON / "R101.vrp", rounding="exact")
    assert np.all(dimacs.distance // 10 >= trunc.distance)
    assert dimacs.capacity == 10 * trunc.capacity and exact.capacity == 1000 * trunc.capacity
    assert dimacs.scale == 10 and exact.scale == 1000


def test_too_small_a_fleet_says_which_constraint_binds(capsys):
    """C201 with one vehicle cannot be served: exit 1 and the broken constraints are listed."""
    code = main(["route", "--instance", str(SOLOMON / "C201.vrp"), "--round", "dimacs",
                 "--vehicles", "1", "--time-limit", "0.5", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 1 and not payload["feasible"]
    assert any(("capacity" in v) or ("window" in v) or ("not visited" in v) or ("depot" in v)
               for v in payload["violations"])
