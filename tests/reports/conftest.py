"""Shared fixtures of the reports tests: the Helsinki sample and opportunities on it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from planner.cli import main
from planner.workspace import Workspace, open_workspace

SCENARIO = "2026-plan"
LEAVES = ("HEL-1", "HEL-2", "HEL-3", "HEL-4")


@pytest.fixture(scope="session")
def helsinki_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reports-sample") / "h.gpkg"
    assert main(["sample", "helsinki", str(out)]) == 0
    return out


@pytest.fixture
def helsinki_path(
    helsinki_sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Path:
    """A fresh copy of the Helsinki sample (HEL with leaves HEL-1..HEL-4, one owner each)."""
    capsys.readouterr()
    copy = tmp_path / "h.gpkg"
    shutil.copy2(helsinki_sample, copy)
    return copy


@pytest.fixture
def helsinki(helsinki_path: Path) -> Workspace:
    return open_workspace(helsinki_path)


def first_account(ws: Workspace, territory_id: str) -> str:
    """An account whose primary territory is ``territory_id``."""
    m = ws.memberships(SCENARIO)
    return str(m.loc[m["territory_id"] == territory_id, "account_id"].iloc[0])


@pytest.fixture
def opportunities(helsinki: Workspace) -> pd.DataFrame:
    """Salesforce-shaped: won in 2026-Q3 (HEL-1 300, HEL-2 100) and 2026-Q2; open; lost."""
    a1, a2, a3 = (first_account(helsinki, t) for t in LEAVES[:3])
    return pd.DataFrame(
        {
            "Id": ["006A", "006B", "006C", "006D", "006E", "006F"],
            "AccountId": [a1, a1, a2, a3, a3, a2],
            "OwnerId": ["hel-rep-1", "hel-rep-1", "hel-rep-2", "hel-rep-3", "hel-rep-3",
                        "hel-rep-2"],
            "Amount": ["200", "100", "100", "1000", "50", "70"],
            "CreatedDate": ["2026-01-05"] * 6,
            "CloseDate": ["2026-07-10", "2026-09-30", "2026-08-01", "2026-05-01", "", "2026-08-02"],
            "StageName": ["Closed Won", "Closed Won", "Closed Won", "Closed Won", "Prospecting",
                          "Closed Lost"],
        }
    )  # fmt: skip
