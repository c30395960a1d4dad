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

The people flow is made up but shaped like the real table: columns ``mesh1kmid,
prefcode, citycode, year, month, dayflag, timezone, population``; months 3, 6, 8 and 12
(the months of the default seasons); ``dayflag`` 0 holiday / 1 weekday / 2 all days;
``timezone`` 0 midday (11-14 h) / 1 late night (1-4 h) / 2 all day. Late-night values
of the quiet north-west tile fall under 10 and are published as empty cells or left
out, as MLIT suppresses them. Deterministic; run ``python sample_data/make_flow_and_streets.py``.
"""
from __future__ import annotations

import csv
import io
import json
import sys
from itertools import combinations
from pathlib import Path

import shapely.ops
from shapely.geometry import LineString, Point, shape

ROOT = Path(__file__).resolve().parent / "omiya"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.geo.atomic import write_text_atomic  # noqa: E402
from pipeline.walkability.network import write_osm_xml  # noqa: E402

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
    ways.append((LineString([(west - 0.001, south + 0.0012), (east + 0.001, north - 0.0009)]),
                 {"highway": "motorway", "name": "Expressway", "oneway": "yes", "bridge": "yes",
                  "layer": "1"}))
    # a building outline drawn as a closed way with no highway tag
    x0, y0 = west + 0.0004, south + 0.0003
    ways.append((LineString([(x0, y0), (x0 + 0.0003, y0), (x0 + 0.0003, y0 + 0.0002),
                             (x0, y0 + 0.0002), (x0, y0)]), {"building": "yes", "name": "Station building"}))
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


def mlit_rows(midday_weekday: dict[int, float] = MIDDAY_WEEKDAY, quiet: tuple[int, ...] = (53396499,),
              prefcode: int = PREFCODE, citycode: int = CITYCODE) -> list[tuple]:
    """Rows of the MLIT-style CSV (``population`` '' where suppressed).

    ``midday_weekday`` is the midday weekday stay population per 1 km mesh; ``quiet``
    meshes fall under the suppression threshold at night.
    """
    rows = []
    for mesh in midday_weekday:
        for month in MONTHS:
            for dayflag in (0, 1, 2):
                for timezone in (0, 1, 2):
                    value = (midday_weekday[mesh] * MONTH_FACTOR[month] * DAYFLAG_FACTOR[dayflag]
                             * TIMEZONE_FACTOR[timezone])
                    if mesh in quiet and timezone == 1:
                        value = 4.0 + month % 5  # a quiet residential cell at night: under 10
                    if value < 10 and dayflag == 0:
                        continue  # MLIT leaves some suppressed records out altogether
                    text = "" if value < 10 and month == 12 else f"{value:.0f}"
                    rows.append((mesh, prefcode, citycode, YEAR, month, dayflag, timezone, text))
    return rows


def write_mlit_csv(root: Path = ROOT, rows: list[tuple] | None = None,
                   name: str = "mlit_peopleflow_omiya.csv") -> str:
    """``root/peopleflow/<name>``: the MLIT-format table of ``rows`` (default: the sample's)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["mesh1kmid", "prefcode", "citycode", "year", "month", "dayflag", "timezone",
                     "population"])
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

    districts = [("大宮駅西口", "west exit", box(lon - d, lat - d, lon, lat + 0.0015)),
                 ("大宮駅東口", "east exit", box(lon, lat - d, lon + d, lat + 0.0015)),
                 ("大宮駅北", "north", box(lon - d, lat + 0.0015, lon + d, lat + d))]
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": name, "name_en": en}, "geometry": geom}
        for name, en, geom in districts]}
    path = root / "districts.geojson"
    write_text_atomic(path, json.dumps(collection, ensure_ascii=False, indent=1) + "\n")
    return str(path)


def write(root: Path = ROOT) -> dict[str, str]:
    return {"streets": write_streets_osm(root), "peopleflow": write_mlit_csv(root),
            "districts": write_districts(root)}


if __name__ == "__main__":
    for kind, written in write().items():
        print(f"{kind}: {written}")
