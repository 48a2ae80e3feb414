"""Fixtures of the export tests: a small plan with shapes, users, targets and opportunities."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from planner.export.plan import PlanData


@pytest.fixture
def two_region_plan() -> PlanData:
    """North > (N1 > T1, T2), South > S1 > T3; names with accents, HTML and a formula."""
    return make_two_region_plan()


def make_two_region_plan() -> PlanData:
    """Build the plan of the ``two_region_plan`` fixture (for wider-scoped fixtures)."""
    ids = ["RN", "RS", "DN1", "DS1", "T1", "T2", "T3"]
    territories = gpd.GeoDataFrame(
        {
            "territory_id": ids,
            "name": ["North", "Süd", "District 1", "District S", "=HYPERLINK(\"x\")",
                     "<b>T2</b>", "Tea & co"],
            "parent_id": [None, None, "RN", "RS", "DN1", "DN1", "DS1"],
            "level": [0, 0, 1, 1, 2, 2, 2],
            "level_name": ["region", "region", "district", "district"] + ["territory"] * 3,
            "type_id": ["geographic"] * 6 + ["overlay"],
            "source": ["none"] * 4 + ["drawn"] * 3,
            "rule": [None] * 6 + ["industry == 'Retail'"],
        },
        geometry=[None, None, None, None, box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 1, 2, 2)],
        crs="EPSG:4326",
    )
    accounts = gpd.GeoDataFrame(
        {
            "account_id": ["a1", "a2", "a3", "a4", "+a5"],
            "name": ["Alpha", "-Beta", "@Gamma", "Delta", "Eps"],
            "annual_revenue": [100.0, 200.0, 300.0, 400.0, 500.0],
            "visits_per_month": [2.0, 1.0, 1.0, 4.0, 1.0],
            "visit_minutes": [30.0, 60.0, 60.0, 15.0, 30.0],
            "owner_id": ["R1", "R1", "R2", "R3", "R3"],
            "sf_id": ["001A", "001B", "001C", "001D", "001E"],
        },
        geometry=[Point(0.5, 0.5), Point(0.2, 0.2), Point(1.5, 0.5), Point(1, 1.5), Point(1, 1.8)],
        crs="EPSG:4326",
    )
    memberships = pd.DataFrame(
        {
            "account_id": ["a1", "a2", "a3", "a4", "+a5", "a1"],
            "territory_id": ["T1", "T1", "T2", "T3", "T3", "T3"],
            "cause": ["spatial", "spatial", "manual", "rule", "rule", "rule"],
            "detail": ["inside T1", None, "moved by M1", "industry == 'Retail'", "=1+1", None],
            "is_primary": [True, True, True, True, True, False],
        }
    )
    reps = pd.DataFrame(
        {
            "rep_id": ["A", "M1", "R1", "R2", "R3"],
            "name": ["Admin", "Maria", "Rob", "Rae", "Ravi"],
            "role": ["admin", "manager", "rep", "rep", "rep"],
            "email": ["a@x.org", "m1@x.org", "r1@x.org", "r2@x.org", "r3@x.org"],
            "manager_id": [None, None, "M1", "M1", None],
        }
    )
    associations = pd.DataFrame(
        [
            ("M1", "DN1", "manager", None, None),
            ("R1", "T1", "owner", "2024-01-01", None),
            ("R2", "T2", "owner", None, None),
            ("R2", "T1", "overlay", None, None),
            ("R3", "T3", "owner", None, None),
            ("R1", "T2", "owner", "2020-01-01", "2021-01-01"),
        ],
        columns=["rep_id", "territory_id", "role", "start_date", "end_date"],
    )
    targets = pd.DataFrame(
        {
            "territory_id": ["T1", "T2", "T3", None],
            "rep_id": [None, "R2", None, "R1"],
            "period": ["2025"] * 4,
            "metric": ["revenue"] * 4,
            "value": [100.0, 50.0, 80.0, 90.0],
        }
    )
    types = pd.DataFrame(
        {
            "type_id": ["geographic", "overlay"],
            "name": ["Geographic", "Overlay"],
            "priority": [10, 20],
            "description": [None, "Specialists"],
        }
    )
    opportunities = pd.DataFrame(
        {
            "account_id": ["a1", "a3", "a4"],
            "owner_id": ["R1", "R2", "R3"],
            "amount": ["60", "70", "10"],
            "created_date": ["2025-01-01", "2025-02-01", "2025-03-01"],
            "closed_date": ["2025-02-01", "2025-03-01", ""],
            "stage": ["Closed Won", "Closed Won", "Negotiation"],
        }
    )
    from planner.reports import read_opportunities

    return PlanData(
        scenario_id="plan-2025",
        scenario_name="Plan 2025",
        territories=territories,
        memberships=memberships,
        accounts=accounts,
        reps=reps,
        associations=associations,
        targets=targets,
        territory_types=types,
        opportunities=read_opportunities(opportunities),
        as_of=pd.Timestamp("2025-06-01").date(),
    )
