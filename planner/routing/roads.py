"""Road network basics: speeds by road class, network parameters, distances on the sphere."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np

from planner.errors import InputError

__all__ = [
    "DEFAULT_SPEEDS_KPH",
    "DRIVABLE_HIGHWAYS",
    "NetworkParams",
    "haversine_m",
    "unit_xyz",
]

#: Typical free-flow speeds (km/h) by OSM ``highway`` class, used where a road
#: has no ``maxspeed`` tag.
DEFAULT_SPEEDS_KPH: Mapping[str, float] = MappingProxyType(
    {
        "motorway": 100.0,
        "motorway_link": 60.0,
        "trunk": 80.0,
        "trunk_link": 50.0,
        "primary": 60.0,
        "primary_link": 45.0,
        "secondary": 50.0,
        "secondary_link": 40.0,
        "tertiary": 40.0,
        "tertiary_link": 35.0,
        "unclassified": 35.0,
        "residential": 30.0,
        "road": 30.0,
        "living_street": 10.0,
        "service": 15.0,
    }
)

#: OSM ``highway`` values a car may use.
DRIVABLE_HIGHWAYS = frozenset(DEFAULT_SPEEDS_KPH)

_EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class NetworkParams:
    """How a drivable network is built from OSM data.

    Parameters
    ----------
    speeds_kph
        Free-flow speed by OSM ``highway`` class for roads without a
        ``maxspeed`` tag; classes missing here get ``fallback_speed_kph``.
    fallback_speed_kph
        Speed of roads whose class has no entry in ``speeds_kph``.
    include_service
        Whether ``highway=service`` roads (business access roads, not parking
        aisles or driveways) are drivable; they bring accounts closer to the
        network.
    engine
        Reader of ``.pbf`` files: ``"pyrosm"``, ``"osmium"`` or ``"auto"``
        (pyrosm, falling back to pyosmium when pyrosm cannot read the file).
    """

    speeds_kph: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_SPEEDS_KPH))
    fallback_speed_kph: float = 30.0
    include_service: bool = True
    engine: Literal["auto", "pyrosm", "osmium"] = "auto"

    def __post_init__(self) -> None:
        bad = [k for k, v in self.speeds_kph.items() if not (v > 0 and math.isfinite(v))]
        if bad or not (self.fallback_speed_kph > 0 and math.isfinite(self.fallback_speed_kph)):
            raise InputError(
                "road speeds must be positive numbers of km/h",
                source=f"speeds for {', '.join(bad) or 'fallback_speed_kph'}",
            )
        if self.engine not in ("auto", "pyrosm", "osmium"):
            raise InputError(
                f"unknown OSM reader engine {self.engine!r}: use auto, pyrosm or osmium"
            )
        object.__setattr__(self, "speeds_kph", MappingProxyType(dict(self.speeds_kph)))

    def fingerprint(self) -> str:
        """Return a short hash of the parameters, used in cache file names."""
        text = repr(
            (sorted(self.speeds_kph.items()), self.fallback_speed_kph, self.include_service)
        )
        return hashlib.sha1(text.encode()).hexdigest()[:10]


def unit_xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on the unit sphere (for nearest-neighbour queries in 3-D)."""
    la = np.radians(np.asarray(lat, dtype=float))
    lo = np.radians(np.asarray(lon, dtype=float))
    return np.column_stack((np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)))


def haversine_m(
    lat1: np.ndarray | float,
    lon1: np.ndarray | float,
    lat2: np.ndarray | float,
    lon2: np.ndarray | float,
) -> np.ndarray:
    """Return great-circle distances in metres (broadcasting like numpy)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


