"""Generate the sample walkability inputs: OSM streets, MLIT people flow, districts.

Writes, next to the PLATEAU sample made by ``make_sample.py``::

    sample_data/omiya/
      streets.osm                              the street centre lines of streets.geojson
                                               as OSM XML (crossings as shared nodes), plus
                                               a motorway and a building outline that the
                                               walk filter must drop
      peopleflow/mlit_peopleflow_omiya.csv     MLIT 全国の人流オープンデータ style 1 km mesh
                                               stay population for the four tiles
      districts.geojson                        three district polygons (大宮駅西口, 大宮駅東口,
                                               大宮駅北) for the per-district summary
      stops.geojson                            Omiya Station at its real place and four
                                               generated bus stops on the main streets
      peopleflow/counters_omiya.csv            generated hourly pedestrian counts of four
                                               counters on main streets, one week (weekdays
                                               and a weekend) in each month 3, 6, 8, 12

The people flow is made up but shaped like the real table: columns ``mesh1kmid,
prefcode, citycode, year, month, dayflag, timezone, population``; months 3, 6, 8 and 12
(the months of the default seasons); ``dayflag`` 0 holiday / 1 weekday / 2 all days;
``timezone`` 0 midday (11-14 h) / 1 late night (1-4 h) / 2 all day. Late-night values
of the quiet north-west tile fall under 10 and are published as empty cells or left
out, as MLIT suppresses them.

The counters and bus stops are generated too (fixed seed): plausible, not measured. The
counts follow a made-up daily curve (a morning, a lunch and an evening peak on weekdays,
one broad afternoon peak at weekends) scaled by the counter's closeness to the station,
with Poisson noise. Only Omiya Station's position is real: 35.906139 N, 139.624944 E
(the coordinate Japanese Wikipedia gives for the station, article 錦町 (さいたま市)).
Deterministic; run ``python sample_data/make_flow_and_streets.py``.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from itertools import combinations
from pathlib import Path

import numpy as np
import shapely.ops
from shapely.geometry import LineString, Point, shape

ROOT = Path(__file__).resolve().parent / "omiya"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.walkability.network import write_osm_xml  # noqa: E402
from tiles.atomic import write_text_atomic  # noqa: E402

TILES = (53396489, 53396499, 53396580, 53396590)
CORNER_LAT, CORNER_LON = 35.0 + 55.0 / 60.0 - 0.5 / 60.0, 139.625  # the four tiles' corner
PREFCODE, CITYCODE = 11, 11103  # Saitama, さいたま市大宮区
YEAR = 2021
MONTHS = (3, 6, 8, 12)
#: Midday weekday stay population per tile (persons): busiest at the station's east side.
MIDDAY_WEEKDAY = {53396489: 5200.0, 53396499: 2400.0, 53396580: 8600.0, 53396590: 3100.0}
#: Seasonal factor per month (hot August days keep people indoors; December shopping).
MONTH_FACTOR = {3: 1.0, 6: 0.95, 8: 0.85, 12: 1.1}
#: Day-type factor relative to weekdays, per MLIT dayflag.
DAYFLAG_FACTOR = {0: 0.8, 1: 1.0, 2: 0.94}
#: Timezone factor relative to midday, per MLIT timezone code.
TIMEZONE_FACTOR = {0: 1.0, 1: 0.12, 2: 0.55}


def write_streets_osm(root: Path = ROOT) -> str:
    """``streets.osm`` from ``streets.geojson`` plus two ways the walk filter must drop."""
    features = json.loads((root / "streets.geojson").read_text(encoding="utf-8"))["features"]
    ways = []
    for feature in features:
        props = feature["properties"]
        tags = {"highway": props["highway"], "name": props["name"], "width": f"{props['width_m']:g}"}
        if props.get("sidewalk"):
            tags["sidewalk"] = props["sidewalk"]
        ways.append((shape(feature["geometry"]), tags))
    ways = _noded(ways)
    lons = [c[0] for f in features for c in f["geometry"]["coordinates"]]
    lats = [c[1] for f in features for c in f["geometry"]["coordinates"]]
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    # an elevated expressway crossing the district diagonally (a bridge: no shared nodes)
    ways.append(
        (
            LineString([(west - 0.001, south + 0.0012), (east + 0.001, north - 0.0009)]),
            {"highway": "motorway", "name": "Expressway", "oneway": "yes", "bridge": "yes", "layer": "1"},
        )
    )
    # a building outline drawn as a closed way with no highway tag
    x0, y0 = west + 0.0004, south + 0.0003
    ways.append(
        (
            LineString(
                [(x0, y0), (x0 + 0.0003, y0), (x0 + 0.0003, y0 + 0.0002), (x0, y0 + 0.0002), (x0, y0)]
            ),
            {"building": "yes", "name": "Station building"},
        )
    )
    return write_osm_xml(root / "streets.osm", ways, node_crossings=False)


def _noded(ways: list[tuple[LineString, dict]]) -> list[tuple[LineString, dict]]:
    """Each street with its crossings with the other streets as vertices (OSM junction nodes).

    A crossing is computed once per pair of streets, so both get the very same point.
    """
    lines = [line for line, _ in ways]
    crossings: dict[int, list[Point]] = {i: [] for i in range(len(lines))}
    for i, j in combinations(range(len(lines)), 2):
        if lines[i].distance(lines[j]) > 1e-6:  # degrees, about 0.1 m
            continue
        point = lines[i].intersection(lines[j])
        if point.geom_type != "Point":  # ends 1e-7 degrees short of the other street
            point = shapely.ops.nearest_points(lines[i], lines[j])[0]
        # a street ending on another: use its end point itself, not a float-noisy copy
        ends = [Point(c) for k in (i, j) for c in (lines[k].coords[0], lines[k].coords[-1])]
        point = min(ends + [point], key=lambda e: (e.distance(point) > 1e-6, e.distance(point)))
        crossings[i].append(point)
        crossings[j].append(point)
    noded = []
    for i, (line, tags) in enumerate(ways):
        vertices = [Point(c) for c in line.coords] + crossings[i]
        vertices.sort(key=line.project)
        coords = [vertices[0].coords[0]]
        for vertex in vertices[1:]:
            if vertex.distance(Point(coords[-1])) > 1e-6:
                coords.append(vertex.coords[0])
            elif vertex in crossings[i]:  # a shared crossing replaces a near-equal own vertex
                coords[-1] = vertex.coords[0]
        noded.append((LineString(coords), tags))
    return noded


def mlit_rows(
    midday_weekday: dict[int, float] = MIDDAY_WEEKDAY,
    quiet: tuple[int, ...] = (53396499,),
    prefcode: int = PREFCODE,
    citycode: int = CITYCODE,
) -> list[tuple]:
    """Rows of the MLIT-style CSV (``population`` '' where suppressed).

    ``midday_weekday`` is the midday weekday stay population per 1 km mesh; ``quiet``
    meshes fall under the suppression threshold at night.
    """
    rows = []
    for mesh in midday_weekday:
        for month in MONTHS:
            for dayflag in (0, 1, 2):
                for timezone in (0, 1, 2):
                    value = (
                        midday_weekday[mesh]
                        * MONTH_FACTOR[month]
                        * DAYFLAG_FACTOR[dayflag]
                        * TIMEZONE_FACTOR[timezone]
                    )
                    if mesh in quiet and timezone == 1:
                        value = 4.0 + month % 5  # a quiet residential cell at night: under 10
                    if value < 10 and dayflag == 0:
                        continue  # MLIT leaves some suppressed records out altogether
                    text = "" if value < 10 and month == 12 else f"{value:.0f}"
                    rows.append((mesh, prefcode, citycode, YEAR, month, dayflag, timezone, text))
    return rows


def write_mlit_csv(
    root: Path = ROOT, rows: list[tuple] | None = None, name: str = "mlit_peopleflow_omiya.csv"
) -> str:
    """``root/peopleflow/<name>``: the MLIT-format table of ``rows`` (default: the sample's)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["mesh1kmid", "prefcode", "citycode", "year", "month", "dayflag", "timezone", "population"]
    )
    writer.writerows(mlit_rows() if rows is None else rows)
    path = root / "peopleflow" / name
    write_text_atomic(path, buffer.getvalue())
    return str(path)


def write_districts(root: Path = ROOT) -> str:
    """Three districts around the station: west exit, east exit, north (lon/lat polygons)."""
    d = 0.006  # generous: the districts reach beyond the streets
    lon, lat = CORNER_LON, CORNER_LAT

    def box(w, s, e, n):
        return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}

    districts = [
        ("大宮駅西口", "west exit", box(lon - d, lat - d, lon, lat + 0.0015)),
        ("大宮駅東口", "east exit", box(lon, lat - d, lon + d, lat + 0.0015)),
        ("大宮駅北", "north", box(lon - d, lat + 0.0015, lon + d, lat + d)),
    ]
    collection = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"name": name, "name_en": en}, "geometry": geom}
            for name, en, geom in districts
        ],
    }
    path = root / "districts.geojson"
    write_text_atomic(path, json.dumps(collection, ensure_ascii=False, indent=1) + "\n")
    return str(path)


#: Omiya Station (JR), lat/lon degrees (module docstring).
OMIYA_STATION = (35.906139, 139.624944)
#: Seed of the generated counters and bus stops.
SEED = 20240806
#: Main streets carrying a counter (``name`` in streets.geojson) and where along them (0..1).
COUNTER_STREETS = (
    ("East-West street 3", 0.35),
    ("North-South street 3", 0.6),
    ("East-West street 9", 0.5),
    ("North-South street 9", 0.3),
)
#: Main streets with a bus stop, and where along them.
BUS_STOP_STREETS = (
    ("East-West street 6", 0.2),
    ("East-West street 6", 0.8),
    ("North-South street 6", 0.25),
    ("North-South street 12", 0.7),
)


def _street_point(features: list[dict], name: str, fraction: float) -> Point:
    line = next(shape(f["geometry"]) for f in features if f["properties"]["name"] == name)
    return line.interpolate(fraction, normalized=True)


def write_stops(root: Path = ROOT) -> str:
    """``stops.geojson``: Omiya Station (real place) and generated bus stops (``kind``, ``weight``)."""
    features = json.loads((root / "streets.geojson").read_text(encoding="utf-8"))["features"]
    lat, lon = OMIYA_STATION
    stops = [
        {
            "type": "Feature",
            "properties": {"name": "大宮駅", "kind": "station", "weight": 1.0},
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
        }
    ]
    for k, (street, fraction) in enumerate(BUS_STOP_STREETS, start=1):
        point = _street_point(features, street, fraction)
        stops.append(
            {
                "type": "Feature",
                "properties": {"name": f"bus stop {k} (generated)", "kind": "bus_stop", "weight": 1.0},
                "geometry": {"type": "Point", "coordinates": [round(point.x, 7), round(point.y, 7)]},
            }
        )
    path = root / "stops.geojson"
    write_text_atomic(
        path,
        json.dumps({"type": "FeatureCollection", "features": stops}, ensure_ascii=False, indent=1) + "\n",
    )
    return str(path)


def _daily_curve(hours: np.ndarray, holiday: bool) -> np.ndarray:
    """Made-up relative pedestrian volume by hour (module docstring): peaks, low at night."""

    def bump(centre, height, width):
        return height * np.exp(-0.5 * ((hours + 0.5 - centre) / width) ** 2)

    if holiday:
        return 0.03 + bump(14.5, 0.9, 3.2) + bump(19.0, 0.3, 1.5)
    return 0.03 + bump(8.3, 1.0, 0.9) + bump(12.5, 0.65, 1.4) + bump(18.3, 0.85, 1.5)


def counter_rows(root: Path = ROOT, seed: int = SEED) -> list[tuple]:
    """Rows ``counter_id, lat, lon, timestamp, count`` of the generated hourly counts."""
    features = json.loads((root / "streets.geojson").read_text(encoding="utf-8"))["features"]
    rng = np.random.default_rng(seed)
    rows = []
    for k, (street, fraction) in enumerate(COUNTER_STREETS, start=1):
        point = _street_point(features, street, fraction)
        # closer to the station, busier: 1,400 walkers/h at the peak next to it, 400 at 800 m
        metres = np.hypot((point.x - OMIYA_STATION[1]) * 90_000, (point.y - OMIYA_STATION[0]) * 111_000)
        peak = 400.0 + 1000.0 * np.exp(-metres / 400.0)
        for month in MONTHS:
            first = np.datetime64(f"{YEAR}-{month:02d}-01")
            monday = first + (7 - (first.astype("datetime64[D]").view("int64") - 4) % 7) % 7
            for day in range(7):
                date = monday + day
                holiday = day >= 5
                hours = np.arange(24)
                expected = (
                    peak * _daily_curve(hours, holiday) * MONTH_FACTOR[month] * (0.85 if holiday else 1.0)
                )
                counts = rng.poisson(expected)
                for hour, count in zip(hours, counts):
                    rows.append(
                        (f"C{k}", f"{point.y:.7f}", f"{point.x:.7f}", f"{date} {hour:02d}:00:00", int(count))
                    )
    return rows


def write_counters(root: Path = ROOT) -> str:
    """``peopleflow/counters_omiya.csv``: the generated counts (``read_counters`` format)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["counter_id", "lat", "lon", "timestamp", "count"])
    writer.writerows(counter_rows(root))
    path = root / "peopleflow" / "counters_omiya.csv"
    write_text_atomic(path, buffer.getvalue())
    return str(path)


def write(root: Path = ROOT) -> dict[str, str]:
    return {
        "streets": write_streets_osm(root),
        "peopleflow": write_mlit_csv(root),
        "districts": write_districts(root),
        "stops": write_stops(root),
        "counters": write_counters(root),
    }


if __name__ == "__main__":
    for kind, written in write().items():
        print(f"{kind}: {written}")
