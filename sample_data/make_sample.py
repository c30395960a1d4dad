"""Generate the sample district: a small PLATEAU-style city around Omiya Station.

The district spans the corner of four JIS X 0410 third-level mesh tiles (53396489,
53396499, 53396580, 53396590) next to Omiya Station, Saitama (35.906 N, 139.624 E).
It is laid out as a PLATEAU download is::

    sample_data/omiya/
      codelists/Building_usage.xml ...
      udx/bldg/<mesh>_bldg_6697_op.gml   buildings, LOD0 + LOD1 (+ LOD2 for most)
      udx/veg/<mesh>_veg_6697_op.gml     street trees and park plant cover
      udx/dem/<mesh2>_dem_6697_op.gml    terrain TIN (per second-level mesh)
      udx/tran/<mesh>_tran_6697_op.gml   road surfaces with widths
      udx/urf/<mesh2>_urf_6668_op.gml    use districts (用途地域, i-UR urf 2.0, 2-D, per
                                         second-level mesh, as Kawasaki's files are)
      streets.geojson                    street centre lines (for the walkability stage)
      lidar/omiya_sample.laz             airborne LiDAR simulated from the same scene
                                         (ASPRS classes 2 ground, 5 trees, 6 buildings)

Everything is deterministic (fixed random seed), so the committed output is what this
script writes. Run it with ``python sample_data/make_sample.py``.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from pyproj import Transformer

ROOT = Path(__file__).resolve().parent / "omiya"
CRS_METRIC = "EPSG:6677"  # JGD2011 plane rectangular IX (Saitama)
CORNER_LAT, CORNER_LON = 35.0 + 55.0 / 60.0 - 0.5 / 60.0, 139.625  # 4-tile corner: 35.908333, 139.625
SEED = 20261122
BLOCK = 70.0  # block pitch (m), centre line to centre line
STREET = 12.0  # street width (m), building-free corridor between blocks
HALF_EXTENT = 420.0  # district half size (m) around the corner

USAGE = {  # PLATEAU Building_usage codes and labels
    "401": "業務施設",
    "402": "商業施設",
    "403": "宿泊施設",
    "404": "商業系複合施設",
    "411": "住宅",
    "412": "共同住宅",
    "413": "店舗等併用住宅",
    "414": "店舗等併用共同住宅",
    "421": "官公庁施設",
    "422": "文教厚生施設",
    "431": "運輸倉庫施設",
    "441": "工場",
    "454": "その他",
    "461": "不明",
}
STRUCTURE = {
    "601": "木造・土蔵造",
    "602": "鉄骨鉄筋コンクリート造",
    "603": "鉄筋コンクリート造",
    "604": "鉄骨造",
    "605": "軽量鉄骨造",
    "611": "不明",
}
FLOOD_DESCRIPTION = {"1": "荒川", "2": "鴻沼川", "3": "芝川"}
RANK = {"1": "0.5m未満", "2": "0.5m以上3m未満", "3": "3m以上5m未満"}
TREE_CLASS = {"1000": "高木", "1010": "中木", "1020": "低木"}
#: veg:function of a solitary tree: "常緑又は落葉の区分及び針葉又は広葉の区分" (PLATEAU
#: standard product specification). The numbering here is the sample's own (generated);
#: Machi reads the habit from the label, whatever the number (pipeline.surface.habit).
TREE_FUNCTION = {"1": "常緑針葉樹", "2": "常緑広葉樹", "3": "落葉針葉樹", "4": "落葉広葉樹"}
#: Street-tree species of the sample (generated, plausible for Omiya: ケヤキ is the city
#: tree of さいたま市 and lines 氷川参道), one species per street, with its veg:function
#: code and the share of streets planted with it.
STREET_TREES = (("ケヤキ", "4", 0.4), ("イチョウ", "3", 0.2), ("サクラ", "4", 0.2), ("クスノキ", "2", 0.2))
PLANT_CLASS = {"1": "草地", "4": "樹林地"}
ROAD_FUNCTION = {"1": "一般道路", "2": "歩道", "3": "自転車道"}
CITY_CODE = "11103"  # さいたま市大宮区
PLANNING_CITY = "11100"  # さいたま市: urban planning is the city's decision, not the ward's
#: Common_districtsAndZonesType, the code list PLATEAU's urf:function points at (the codes
#: of the 13 use districts and "none designated"; labels as the PLATEAU list writes them).
DISTRICTS_AND_ZONES = {
    "0": "用途地域の指定をしない区域",
    "1": "第1種低層住居専用地域",
    "2": "第2種低層住居専用地域",
    "3": "第1種中高層住居専用地域",
    "4": "第2種中高層住居専用地域",
    "5": "第1種住居地域",
    "6": "第2種住居地域",
    "7": "準住居地域",
    "8": "田園住居地域",
    "9": "近隣商業地域",
    "10": "商業地域",
    "11": "準工業地域",
    "12": "工業地域",
    "13": "工業専用地域",
}
#: The sample's use districts: (gml:id, urf:function code, floor-area rate, building-coverage
#: rate, outline as metric offsets from the four-tile corner). Boundaries run along the
#: middle of blocks (35 m + a multiple of the 70 m pitch from the corner), never along a
#: street, as zoning lines usually do; neighbours share every vertex, so the districts tile
#: the area without gap or overlap. Commercial around the station (south-west of the
#: corner), neighbourhood commercial along the east, residential to the north and east.
USE_DISTRICTS = (
    (
        "urf_sample_use_commercial",
        "10",
        8.0,
        0.8,
        ((-455, -455), (175, -455), (175, 105), (-105, 105), (-105, 35), (-455, 35)),
    ),
    (
        "urf_sample_use_residential_1",
        "5",
        2.0,
        0.6,
        ((-455, 35), (-105, 35), (-105, 105), (175, 105), (175, 455), (-455, 455)),
    ),
    (
        "urf_sample_use_neighbourhood_commercial",
        "9",
        4.0,
        0.8,
        ((175, -455), (315, -455), (315, 35), (315, 455), (175, 455), (175, 105)),
    ),
    ("urf_sample_use_residential_2", "6", 3.0, 0.6, ((315, -455), (455, -455), (455, 35), (315, 35))),
    (
        "urf_sample_use_medium_high_residential_1",
        "3",
        2.0,
        0.6,
        ((315, 35), (455, 35), (455, 455), (315, 455)),
    ),
)

to_lonlat = Transformer.from_crs(CRS_METRIC, "EPSG:6668", always_xy=True)
to_metric = Transformer.from_crs("EPSG:6668", CRS_METRIC, always_xy=True)
CORNER_X, CORNER_Y = to_metric.transform(CORNER_LON, CORNER_LAT)


def ground_height(x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray | float:
    """Orthometric terrain height (m): the Omiya plateau, ~12 m, sloping gently east."""
    dx, dy = np.asarray(x) - CORNER_X, np.asarray(y) - CORNER_Y
    return 12.0 + 0.004 * dx - 0.002 * dy + 0.8 * np.sin(dx / 150.0) * np.cos(dy / 190.0)


def mesh3(lat: float, lon: float) -> str:
    """Third-level mesh code of a point (JIS X 0410), from the cell it falls in."""
    p, a = divmod(lat * 60.0, 40.0)
    q, b = divmod(a, 5.0)
    r, _ = divmod(b * 60.0, 30.0)
    u = int(lon) - 100
    f = lon - int(lon)
    v, c = divmod(f * 60.0, 7.5)
    w, _ = divmod(c * 60.0, 45.0)
    return f"{int(p):02d}{u:02d}{int(q)}{int(v)}{int(r)}{int(w)}"


# -- GML writing ---------------------------------------------------------------------
NAMESPACES = (
    'xmlns:core="http://www.opengis.net/citygml/2.0" '
    'xmlns:gml="http://www.opengis.net/gml" '
    'xmlns:bldg="http://www.opengis.net/citygml/building/2.0" '
    'xmlns:veg="http://www.opengis.net/citygml/vegetation/2.0" '
    'xmlns:dem="http://www.opengis.net/citygml/relief/2.0" '
    'xmlns:tran="http://www.opengis.net/citygml/transportation/2.0" '
    'xmlns:gen="http://www.opengis.net/citygml/generics/2.0" '
    'xmlns:app="http://www.opengis.net/citygml/appearance/2.0" '
    'xmlns:xlink="http://www.w3.org/1999/xlink" '
    'xmlns:uro="https://www.geospatial.jp/iur/uro/3.1" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)
#: Urban planning files declare the i-UR urf 2.0 namespace, as PLATEAU's (Kawasaki's) do.
URF_NAMESPACES = (
    'xmlns:core="http://www.opengis.net/citygml/2.0" '
    'xmlns:gml="http://www.opengis.net/gml" '
    'xmlns:urf="https://www.geospatial.jp/iur/urf/2.0" '
    'xmlns:xlink="http://www.w3.org/1999/xlink" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)


def pos_list(points_xyz: np.ndarray) -> str:
    """Metric (x, y, h) -> PLATEAU's 'lat lon h' text."""
    lon, lat = to_lonlat.transform(points_xyz[:, 0], points_xyz[:, 1])
    return " ".join(f"{la:.9f} {lo:.9f} {h:.3f}" for la, lo, h in zip(lat, lon, points_xyz[:, 2]))


def polygon(ring: np.ndarray, gml_id: str | None = None, ring_id: str | None = None) -> str:
    closed = np.vstack([ring, ring[:1]])
    pid = f' gml:id="{gml_id}"' if gml_id else ""
    rid = f' gml:id="{ring_id}"' if ring_id else ""
    return (
        f"<gml:Polygon{pid}><gml:exterior><gml:LinearRing{rid}><gml:posList>"
        f"{pos_list(closed)}</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon>"
    )


def document(members: list[str], lower: tuple, upper: tuple) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<core:CityModel {NAMESPACES}>\n"
        '<gml:boundedBy><gml:Envelope srsName="http://www.opengis.net/def/crs/EPSG/0/6697" '
        f'srsDimension="3"><gml:lowerCorner>{lower[0]:.9f} {lower[1]:.9f} {lower[2]:.3f}'
        f"</gml:lowerCorner><gml:upperCorner>{upper[0]:.9f} {upper[1]:.9f} {upper[2]:.3f}"
        "</gml:upperCorner></gml:Envelope></gml:boundedBy>\n"
        + "\n".join(f"<core:cityObjectMember>{m}</core:cityObjectMember>" for m in members)
        + "\n</core:CityModel>\n"
    )


def envelope(points_xyz: np.ndarray) -> tuple[tuple, tuple]:
    lon, lat = to_lonlat.transform(points_xyz[:, 0], points_xyz[:, 1])
    return ((lat.min(), lon.min(), points_xyz[:, 2].min()), (lat.max(), lon.max(), points_xyz[:, 2].max()))


# -- the district --------------------------------------------------------------------
@dataclass
class Building:
    gml_id: str
    footprint: np.ndarray  # (4, 2) metric, counter-clockwise
    ground: float
    height: float
    roof: str  # "flat" | "gable"
    lod2: bool
    usage: str
    storeys: int
    structure: str
    year: int
    flood_depth: float | None


def blocks() -> list[tuple[float, float, float, float]]:
    """Block rectangles (x0, y0, x1, y1) between streets, metric."""
    n = int(HALF_EXTENT // BLOCK)
    result = []
    for i in range(-n, n):
        for j in range(-n, n):
            x0 = CORNER_X + i * BLOCK + STREET / 2
            y0 = CORNER_Y + j * BLOCK + STREET / 2
            result.append((x0, y0, x0 + BLOCK - STREET, y0 + BLOCK - STREET))
    return result


def make_buildings(rng: np.random.Generator, parks: list) -> list[Building]:
    buildings = []
    for bx0, by0, bx1, by1 in blocks():
        distance = math.hypot((bx0 + bx1) / 2 - CORNER_X - 120, (by0 + by1) / 2 - CORNER_Y + 60)
        if rng.random() < 0.12:  # a park block: plant cover, no buildings
            parks.append((bx0, by0, bx1, by1))
            continue
        # Lots: 2 x 2 per block, or one large lot near the station.
        lots = 1 if distance < 180 and rng.random() < 0.5 else 2
        size_x, size_y = (bx1 - bx0) / lots, (by1 - by0) / lots
        for a in range(lots):
            for b in range(lots):
                margin = rng.uniform(2.0, 5.0)
                x0, y0 = bx0 + a * size_x + margin, by0 + b * size_y + margin
                w = size_x - 2 * margin - rng.uniform(0, 4)
                d = size_y - 2 * margin - rng.uniform(0, 4)
                if w < 6 or d < 6:
                    continue
                central = distance < 250
                usage = rng.choice(
                    ["401", "402", "404", "412", "414", "403"]
                    if central
                    else ["411", "411", "412", "413", "422", "421", "431"]
                )
                storeys = int(rng.integers(4, 16) if central else rng.integers(1, 4))
                if usage in ("411", "413"):
                    storeys = min(storeys, 3)
                height = round(storeys * rng.uniform(3.0, 3.6) + rng.uniform(0.3, 1.5), 1)
                fp = np.array([[x0, y0], [x0 + w, y0], [x0 + w, y0 + d], [x0, y0 + d]])
                ground = float(ground_height(fp[:, 0], fp[:, 1]).min())
                index = len(buildings)
                buildings.append(
                    Building(
                        gml_id=f"bldg_omiya_{index:05d}",
                        footprint=fp,
                        ground=round(ground, 3),
                        height=height,
                        roof="gable" if storeys <= 3 and rng.random() < 0.7 else "flat",
                        lod2=rng.random() < 0.8,
                        usage=str(usage),
                        storeys=storeys,
                        structure=rng.choice(["601", "603", "604"] if storeys <= 3 else ["602", "603"]),
                        year=int(rng.integers(1965, 2024)),
                        flood_depth=round(float(rng.uniform(0.1, 2.5)), 2) if rng.random() < 0.3 else None,
                    )
                )
    return buildings


def building_gml(b: Building) -> str:
    fp, g, h = b.footprint, b.ground, b.height
    top = g + h
    edge_x, edge_y = fp[1] - fp[0], fp[3] - fp[0]
    floor_area = float(abs(edge_x[0] * edge_y[1] - edge_x[1] * edge_y[0])) * b.storeys
    base = np.column_stack([fp, np.full(4, g)])
    roof_flat = np.column_stack([fp, np.full(4, top)])
    parts = [
        f'<bldg:Building gml:id="{b.gml_id}">',
        '<gen:stringAttribute name="sample_note"><gen:value>generated for Machi</gen:value></gen:stringAttribute>',
        '<bldg:class codeSpace="../../codelists/Building_class.xml">3001</bldg:class>',
        f'<bldg:usage codeSpace="../../codelists/Building_usage.xml">{b.usage}</bldg:usage>',
        f"<bldg:yearOfConstruction>{b.year}</bldg:yearOfConstruction>",
        f'<bldg:measuredHeight uom="m">{h}</bldg:measuredHeight>',
        f"<bldg:storeysAboveGround>{b.storeys}</bldg:storeysAboveGround>",
        f"<bldg:storeysBelowGround>{1 if b.storeys > 8 else 0}</bldg:storeysBelowGround>",
        "<bldg:lod0FootPrint><gml:MultiSurface><gml:surfaceMember>"
        f"{polygon(base[::-1])}</gml:surfaceMember></gml:MultiSurface></bldg:lod0FootPrint>",
    ]
    # LOD1: a prism (bottom facing down, top up, four walls), outward-facing rings.
    faces = [base[::-1], roof_flat] + [
        np.array([base[i], base[(i + 1) % 4], roof_flat[(i + 1) % 4], roof_flat[i]]) for i in range(4)
    ]
    parts.append(
        "<bldg:lod1Solid><gml:Solid><gml:exterior><gml:CompositeSurface>"
        + "".join(f"<gml:surfaceMember>{polygon(f)}</gml:surfaceMember>" for f in faces)
        + "</gml:CompositeSurface></gml:exterior></gml:Solid></bldg:lod1Solid>"
    )
    if b.lod2:
        parts.append(lod2_gml(b, base, top))
    parts.append(
        "<uro:buildingIDAttribute><uro:BuildingIDAttribute>"
        f"<uro:buildingID>{CITY_CODE}-bldg-{b.gml_id[-5:]}</uro:buildingID>"
        '<uro:prefecture codeSpace="../../codelists/Common_localPublicAuthorities.xml">11</uro:prefecture>'
        f'<uro:city codeSpace="../../codelists/Common_localPublicAuthorities.xml">{CITY_CODE}</uro:city>'
        "</uro:BuildingIDAttribute></uro:buildingIDAttribute>"
        "<uro:buildingDetailAttribute><uro:BuildingDetailAttribute>"
        f'<uro:totalFloorArea uom="m2">{floor_area:.2f}</uro:totalFloorArea>'
        f'<uro:buildingStructureType codeSpace="../../codelists/Building_buildingStructureType.xml">{b.structure}</uro:buildingStructureType>'
        "<uro:surveyYear>2023</uro:surveyYear>"
        "</uro:BuildingDetailAttribute></uro:buildingDetailAttribute>"
    )
    if b.flood_depth is not None:
        rank = "1" if b.flood_depth < 0.5 else "2"
        parts.append(
            "<uro:buildingDisasterRiskAttribute><uro:BuildingRiverFloodingRiskAttribute>"
            '<uro:description codeSpace="../../codelists/RiverFloodingRiskAttribute_description.xml">2</uro:description>'
            f'<uro:rank codeSpace="../../codelists/RiverFloodingRiskAttribute_rank.xml">{rank}</uro:rank>'
            f'<uro:depth uom="m">{b.flood_depth}</uro:depth>'
            '<uro:adminType codeSpace="../../codelists/RiverFloodingRiskAttribute_adminType.xml">2</uro:adminType>'
            '<uro:scale codeSpace="../../codelists/RiverFloodingRiskAttribute_scale.xml">2</uro:scale>'
            "</uro:BuildingRiverFloodingRiskAttribute></uro:buildingDisasterRiskAttribute>"
        )
    parts.append("</bldg:Building>")
    return "".join(parts)


def lod2_gml(b: Building, base: np.ndarray, top: float) -> str:
    """Roof, wall and ground surfaces under boundedBy, and an lod2Solid of xlinks to them."""
    fp = b.footprint
    surfaces: list[tuple[str, np.ndarray]] = [("GroundSurface", base[::-1])]
    if b.roof == "flat":
        eave = top
        roof = np.column_stack([fp, np.full(4, top)])
        surfaces.append(("RoofSurface", roof))
        for i in range(4):
            surfaces.append(
                ("WallSurface", np.array([base[i], base[(i + 1) % 4], roof[(i + 1) % 4], roof[i]]))
            )
    else:
        # Gable along x: ridge at mid-y, eaves 2.4 m below the ridge.
        eave = top - 2.4
        (x0, y0), (x1, _), _, (_, y1) = fp
        ym = (y0 + y1) / 2
        e = [
            np.array([x0, y0, eave]),
            np.array([x1, y0, eave]),
            np.array([x1, y1, eave]),
            np.array([x0, y1, eave]),
        ]
        r0, r1 = np.array([x0, ym, top]), np.array([x1, ym, top])
        surfaces += [
            ("RoofSurface", np.array([e[0], e[1], r1, r0])),
            ("RoofSurface", np.array([e[2], e[3], r0, r1])),
            ("WallSurface", np.array([base[0], base[1], e[1], e[0]])),
            ("WallSurface", np.array([base[2], base[3], e[3], e[2]])),
            ("WallSurface", np.array([base[1], base[2], e[2], r1, e[1]])),
            ("WallSurface", np.array([base[3], base[0], e[0], r0, e[3]])),
        ]
    bounded, links = [], []
    for k, (kind, ring) in enumerate(surfaces):
        pid = f"{b.gml_id}_poly_{k}"
        links.append(f'<gml:surfaceMember xlink:href="#{pid}"/>')
        bounded.append(
            f'<bldg:boundedBy><bldg:{kind} gml:id="{b.gml_id}_{kind}_{k}">'
            f"<bldg:lod2MultiSurface><gml:MultiSurface><gml:surfaceMember>"
            f"{polygon(ring, pid, pid + '_ring')}</gml:surfaceMember></gml:MultiSurface>"
            f"</bldg:lod2MultiSurface></bldg:{kind}></bldg:boundedBy>"
        )
    solid = (
        "<bldg:lod2Solid><gml:Solid><gml:exterior><gml:CompositeSurface>"
        + "".join(links)
        + "</gml:CompositeSurface></gml:exterior></gml:Solid></bldg:lod2Solid>"
    )
    return solid + "".join(bounded)


def make_trees(rng: np.random.Generator, parks: list) -> list[str]:
    """Street trees along every other street, and plant cover on park blocks.

    Each street is planted with one species of :data:`STREET_TREES` (its name as
    ``gml:name``, its habit as ``veg:function``), drawn from a generator of its own so
    that every other random draw, and so every other file, stays as it was.
    """
    species_rng = np.random.default_rng([SEED, 2])
    shares = np.array([share for _, _, share in STREET_TREES])
    members = []
    for k, (x0, y0, x1, y1) in enumerate(parks):
        ring = np.array([[x0 + 3, y0 + 3], [x1 - 3, y0 + 3], [x1 - 3, y1 - 3], [x0 + 3, y1 - 3]])
        z = ground_height(ring[:, 0], ring[:, 1])
        height = round(float(rng.uniform(3.0, 9.0)), 1)
        members.append(
            f'<veg:PlantCover gml:id="veg_park_{k:03d}">'
            '<veg:class codeSpace="../../codelists/PlantCover_class.xml">4</veg:class>'
            f'<veg:averageHeight uom="m">{height}</veg:averageHeight>'
            "<veg:lod1MultiSurface><gml:MultiSurface><gml:surfaceMember>"
            f"{polygon(np.column_stack([ring, z]))}</gml:surfaceMember></gml:MultiSurface>"
            "</veg:lod1MultiSurface></veg:PlantCover>"
        )
    n = int(HALF_EXTENT // BLOCK)
    index = 0
    for j in range(-n, n + 1):
        y = CORNER_Y + j * BLOCK + (STREET / 2 - 1.5) * (1 if j % 2 else -1)
        if j % 2:
            continue
        species, function, _ = STREET_TREES[
            int(species_rng.choice(len(STREET_TREES), p=shares / shares.sum()))
        ]
        for x in np.arange(CORNER_X - HALF_EXTENT + 10, CORNER_X + HALF_EXTENT, 14.0):
            if rng.random() < 0.25:
                continue
            height = round(float(rng.uniform(6.0, 12.0)), 1)
            crown = round(float(rng.uniform(3.5, 6.0)), 1)
            members.append(tree_gml(f"veg_tree_{index:05d}", x, y, height, crown, species, function))
            index += 1
    return members


def tree_gml(
    gml_id: str,
    x: float,
    y: float,
    height: float,
    crown: float,
    species: str | None = None,
    function: str | None = None,
) -> str:
    """A solitary tree: an octagonal crown prism from 40 % of its height to the top; its species
    (``gml:name``) and ``veg:function`` code when given (a tree without them is of unknown habit)."""
    g = float(ground_height(x, y))
    angles = np.linspace(0, 2 * np.pi, 9)[:-1]
    ring = np.column_stack([x + crown / 2 * np.cos(angles), y + crown / 2 * np.sin(angles)])
    low, high = g + 0.4 * height, g + height
    bottom = np.column_stack([ring, np.full(8, low)])
    topring = np.column_stack([ring, np.full(8, high)])
    faces = [bottom[::-1], topring] + [
        np.array([bottom[i], bottom[(i + 1) % 8], topring[(i + 1) % 8], topring[i]]) for i in range(8)
    ]
    surfaces = "".join(f"<gml:surfaceMember>{polygon(f)}</gml:surfaceMember>" for f in faces)
    return (
        f'<veg:SolitaryVegetationObject gml:id="{gml_id}">'
        + (f"<gml:name>{species}</gml:name>" if species else "")
        + '<veg:class codeSpace="../../codelists/SolitaryVegetationObject_class.xml">1000</veg:class>'
        + (
            f'<veg:function codeSpace="../../codelists/SolitaryVegetationObject_function.xml">{function}'
            "</veg:function>"
            if function
            else ""
        )
        + f'<veg:height uom="m">{height}</veg:height>'
        f'<veg:crownDiameter uom="m">{crown}</veg:crownDiameter>'
        f"<veg:lod1Geometry><gml:MultiSurface>{surfaces}</gml:MultiSurface></veg:lod1Geometry>"
        "</veg:SolitaryVegetationObject>"
    )


def make_dem(
    bounds: tuple[float, float, float, float] | None = None,
) -> dict[str, tuple[list[str], np.ndarray]]:
    """Terrain TINs on a 30 m lattice over ``bounds`` (metric; default the district), one
    file per second-level mesh."""
    step = 30.0
    x0, y0, x1, y1 = bounds or (
        CORNER_X - HALF_EXTENT - 60,
        CORNER_Y - HALF_EXTENT - 60,
        CORNER_X + HALF_EXTENT + 60,
        CORNER_Y + HALF_EXTENT + 60,
    )
    xs = np.arange(x0, x1 + 1, step)
    ys = np.arange(y0, y1 + 1, step)
    files: dict[str, list[np.ndarray]] = {}
    for i in range(len(xs) - 1):
        for j in range(len(ys) - 1):
            quad = np.array([[xs[i], ys[j]], [xs[i + 1], ys[j]], [xs[i + 1], ys[j + 1]], [xs[i], ys[j + 1]]])
            z = ground_height(quad[:, 0], quad[:, 1])
            p = np.column_stack([quad, z])
            cx, cy = quad.mean(axis=0)
            lon, lat = to_lonlat.transform(cx, cy)
            mesh2 = mesh3(lat, lon)[:6]
            files.setdefault(mesh2, []).extend([p[[0, 1, 2]], p[[0, 2, 3]]])
    result = {}
    for mesh2, triangles in files.items():
        patches = "".join(
            f"<gml:Triangle><gml:exterior><gml:LinearRing><gml:posList>"
            f"{pos_list(np.vstack([t, t[:1]]))}</gml:posList></gml:LinearRing></gml:exterior></gml:Triangle>"
            for t in triangles
        )
        member = (
            f'<dem:ReliefFeature gml:id="dem_{mesh2}"><gml:name>{mesh2}</gml:name><dem:lod>1</dem:lod>'
            f'<dem:reliefComponent><dem:TINRelief gml:id="dem_tin_{mesh2}"><gml:name>{mesh2}</gml:name>'
            "<dem:lod>1</dem:lod><dem:tin><gml:TriangulatedSurface><gml:trianglePatches>"
            f"{patches}</gml:trianglePatches></gml:TriangulatedSurface></dem:tin></dem:TINRelief>"
            "</dem:reliefComponent></dem:ReliefFeature>"
        )
        result[mesh2] = ([member], np.concatenate(triangles))
    return result


def make_roads() -> tuple[list[tuple[str, np.ndarray, np.ndarray]], list[dict]]:
    """Road surface polygons (metric) and street centre lines (lon/lat GeoJSON features)."""
    n = int(HALF_EXTENT // BLOCK)
    lo, hi = -n * BLOCK, n * BLOCK
    roads, lines = [], []
    for k in range(-n, n + 1):
        main = k % 3 == 0
        width = STREET if main else STREET - 4
        for axis in ("x", "y"):
            c = k * BLOCK
            if axis == "x":  # east-west street at y = c
                seg = np.array([[lo, c], [hi, c]])
            else:
                seg = np.array([[c, lo], [c, hi]])
            seg = seg + [CORNER_X, CORNER_Y]
            normal = np.array([0, 1]) if axis == "x" else np.array([1, 0])
            ring = np.array(
                [
                    seg[0] - normal * width / 2,
                    seg[1] - normal * width / 2,
                    seg[1] + normal * width / 2,
                    seg[0] + normal * width / 2,
                ]
            )
            z = ground_height(ring[:, 0], ring[:, 1])
            roads.append((f"tran_{axis}_{k + n:02d}", np.column_stack([ring, z]), np.array([width])))
            lon, lat = to_lonlat.transform(seg[:, 0], seg[:, 1])
            lines.append(
                {
                    "type": "Feature",
                    "properties": {
                        "name": f"{'East-West' if axis == 'x' else 'North-South'} street {k + n}",
                        "highway": "secondary" if main else "residential",
                        "width_m": width,
                        "sidewalk": "both" if main else "no",
                    },
                    "geometry": {
                        "type": "LineString",
                        "coordinates": [[round(a, 8), round(b, 8)] for a, b in zip(lon, lat)],
                    },
                }
            )
    return roads, lines


def road_gml(gml_id: str, ring: np.ndarray, width: float) -> str:
    return (
        f'<tran:Road gml:id="{gml_id}">'
        '<tran:function codeSpace="../../codelists/Road_function.xml">1</tran:function>'
        f"<tran:lod1MultiSurface><gml:MultiSurface><gml:surfaceMember>{polygon(ring)}"
        "</gml:surfaceMember></gml:MultiSurface></tran:lod1MultiSurface>"
        "<uro:roadStructureAttribute><uro:RoadStructureAttribute>"
        f'<uro:width uom="m">{width:.1f}</uro:width>'
        '<uro:widthType codeSpace="../../codelists/RoadStructureAttribute_widthType.xml">2</uro:widthType>'
        "</uro:RoadStructureAttribute></uro:roadStructureAttribute></tran:Road>"
    )


def codelist(name: str, entries: dict[str, str]) -> str:
    body = "".join(
        f'<gml:dictionaryEntry><gml:Definition gml:id="{name}_{code}">'
        f"<gml:description>{label}</gml:description><gml:name>{code}</gml:name>"
        "</gml:Definition></gml:dictionaryEntry>"
        for code, label in entries.items()
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<gml:Dictionary xmlns:gml="http://www.opengis.net/gml" gml:id="{name}">'
        f"<gml:name>{name}</gml:name>{body}</gml:Dictionary>\n"
    )


def use_district_gml(
    gml_id: str,
    function: str,
    floor_area_rate: float,
    coverage_rate: float,
    ring_lonlat: list[tuple[float, float]],
) -> str:
    """A ``urf:UseDistrict`` as PLATEAU writes it: attributes, then the 2-D outline as an
    lod1MultiSurface whose posList is 'lat lon 0' (Kawasaki's files carry a zero height),
    then the rates (``floorAreaRate`` 8 = 800 %, ``buildingCoverageRate`` 0.8 = 80 %)."""
    closed = list(ring_lonlat) + [ring_lonlat[0]]
    coords = " ".join(f"{lat:.9f} {lon:.9f} 0" for lon, lat in closed)
    zones = "../../codelists/Common_districtsAndZonesType.xml"
    authorities = "../../codelists/Common_localPublicAuthorities.xml"
    return (
        f'<urf:UseDistrict gml:id="{gml_id}">'
        "<core:creationDate>2026-11-22</core:creationDate>"
        f'<urf:function codeSpace="{zones}">{function}</urf:function>'
        "<urf:validFrom>2024-03-29</urf:validFrom>"
        '<urf:validFromType codeSpace="../../codelists/Common_validType.xml">3</urf:validFromType>'
        "<urf:custodian>さいたま市</urf:custodian>"
        "<urf:notificationNumber>さいたま市告示第000号(サンプル)</urf:notificationNumber>"
        '<urf:areaClassificationType codeSpace="../../codelists/Common_areaClassificationType.xml">22'
        "</urf:areaClassificationType>"
        f'<urf:prefecture codeSpace="{authorities}">11</urf:prefecture>'
        f'<urf:city codeSpace="{authorities}">{PLANNING_CITY}</urf:city>'
        "<urf:lod1MultiSurface><gml:MultiSurface><gml:surfaceMember><gml:Polygon><gml:exterior>"
        f"<gml:LinearRing><gml:posList>{coords}</gml:posList></gml:LinearRing>"
        "</gml:exterior></gml:Polygon></gml:surfaceMember></gml:MultiSurface></urf:lod1MultiSurface>"
        f"<urf:floorAreaRate>{floor_area_rate:g}</urf:floorAreaRate>"
        f"<urf:buildingCoverageRate>{coverage_rate:g}</urf:buildingCoverageRate>"
        "</urf:UseDistrict>"
    )


def make_use_districts() -> dict[str, list[tuple[str, list[tuple[float, float]]]]]:
    """The use districts per second-level mesh: (member GML, outline lon/lat) lists.

    PLATEAU keeps a planning decision whole in one file, even where it crosses the mesh
    edge (Kawasaki's ``533915_urf_6668_yoto_op.gml`` reaches past 533915): each district
    goes to the second-level mesh of a point inside it.
    """
    import shapely

    result: dict[str, list[tuple[str, list[tuple[float, float]]]]] = {}
    for gml_id, function, far, coverage, outline in USE_DISTRICTS:
        xy = np.array(outline, float) + [CORNER_X, CORNER_Y]
        lon, lat = to_lonlat.transform(xy[:, 0], xy[:, 1])
        ring = [(float(a), float(b)) for a, b in zip(lon, lat)]
        inside = shapely.Polygon(xy).representative_point()
        mesh2 = tile_of_xy(inside.x, inside.y)[:6]
        result.setdefault(mesh2, []).append((use_district_gml(gml_id, function, far, coverage, ring), ring))
    return dict(sorted(result.items()))


def urf_document(members: list[str], rings: list[list[tuple[float, float]]]) -> str:
    """An urf file: the envelope as PLATEAU writes it (EPSG:6697, 3-D, height 0)."""
    lons = [p[0] for ring in rings for p in ring]
    lats = [p[1] for ring in rings for p in ring]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<core:CityModel {URF_NAMESPACES}>\n"
        '<gml:boundedBy><gml:Envelope srsName="http://www.opengis.net/def/crs/EPSG/0/6697" '
        f'srsDimension="3"><gml:lowerCorner>{min(lats):.9f} {min(lons):.9f} 0</gml:lowerCorner>'
        f"<gml:upperCorner>{max(lats):.9f} {max(lons):.9f} 0</gml:upperCorner></gml:Envelope></gml:boundedBy>\n"
        + "\n".join(f"<core:cityObjectMember>{m}</core:cityObjectMember>" for m in members)
        + "\n</core:CityModel>\n"
    )


def tile_of_xy(x: float, y: float) -> str:
    lon, lat = to_lonlat.transform(x, y)
    return mesh3(lat, lon)


def write_lidar(
    path: Path,
    buildings: list[Building],
    trees: list[tuple[float, float, float, float]],
    rng: np.random.Generator,
    density: float = 0.5,
    bounds: tuple[float, float, float, float] | None = None,
) -> int:
    """Simulate a classified airborne LiDAR survey of the district as LAZ (EPSG:6677).

    Points fall uniformly at ``density`` per m²: on roofs (class 6, at roof height),
    in tree crowns (class 5, between 60 % and 100 % of the tree height), else on the
    ground (class 2, terrain + 3 cm noise); a handful of birds (class 1) float 40-80 m up.
    ``bounds`` (metric x0, y0, x1, y1) default to the district and 40 m around it;
    footprints may be turned rectangles.
    """
    import laspy
    import shapely
    from pyproj import CRS

    if bounds is None:
        cx, cy, half_x = CORNER_X, CORNER_Y, HALF_EXTENT + 40
        half_y = half_x
    else:
        cx, cy = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
        half_x, half_y = (bounds[2] - bounds[0]) / 2, (bounds[3] - bounds[1]) / 2
    n = int((2 * half_x) * (2 * half_y) * density)
    x = cx + rng.uniform(-half_x, half_x, n)
    y = cy + rng.uniform(-half_y, half_y, n)
    ground = ground_height(x, y)
    z = ground + rng.normal(0, 0.03, n)
    classes = np.full(n, 2, dtype=np.uint8)
    for b in buildings:
        (x0, y0), (x1, y1) = b.footprint.min(axis=0), b.footprint.max(axis=0)
        inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        if b.footprint[0, 1] != b.footprint[1, 1] and inside.any():  # a turned rectangle
            inside[inside] = shapely.intersects_xy(shapely.Polygon(b.footprint), x[inside], y[inside])
        top = b.ground + b.height - (1.2 if b.roof == "gable" else 0.0)
        z[inside], classes[inside] = top, 6
    for tx, ty, height, crown in trees:
        inside = (x - tx) ** 2 + (y - ty) ** 2 <= (crown / 2) ** 2
        inside &= classes != 6
        g = float(ground_height(tx, ty))
        z[inside] = g + height * rng.uniform(0.6, 1.0, inside.sum())
        classes[inside] = 5
    birds = rng.choice(n, 5, replace=False)
    z[birds] += rng.uniform(40, 80, 5)
    classes[birds] = 1
    header = laspy.LasHeader(point_format=1, version="1.4")
    header.scales = np.array([0.01, 0.01, 0.01])
    header.offsets = np.array([np.floor(x.min()), np.floor(y.min()), 0.0])
    header.add_crs(CRS.from_epsg(6677))
    header.creation_date = date(2026, 11, 22)  # fixed: laspy writes today's date otherwise
    las = laspy.LasData(header)
    las.x, las.y, las.z = x, y, z
    las.classification = classes
    las.return_number = np.ones(n, dtype=np.uint8)
    las.number_of_returns = np.ones(n, dtype=np.uint8)
    las.intensity = rng.integers(20, 200, n).astype(np.uint16)
    path.parent.mkdir(parents=True, exist_ok=True)
    las.write(str(path))
    return n


CODELISTS = {
    "Building_usage": USAGE,
    "Building_class": {"3001": "普通建物", "3002": "堅ろう建物"},
    "Building_buildingStructureType": STRUCTURE,
    "Common_localPublicAuthorities": {
        "11": "埼玉県",
        PLANNING_CITY: "埼玉県さいたま市",
        CITY_CODE: "埼玉県さいたま市大宮区",
    },
    "RiverFloodingRiskAttribute_description": FLOOD_DESCRIPTION,
    "RiverFloodingRiskAttribute_rank": RANK,
    "RiverFloodingRiskAttribute_adminType": {"1": "国", "2": "都道府県"},
    "RiverFloodingRiskAttribute_scale": {"1": "L1（計画規模）", "2": "L2（想定最大規模）"},
    "SolitaryVegetationObject_class": TREE_CLASS,
    "SolitaryVegetationObject_function": TREE_FUNCTION,
    "PlantCover_class": PLANT_CLASS,
    "Road_function": ROAD_FUNCTION,
    "RoadStructureAttribute_widthType": {"1": "3m未満", "2": "5.5m以上13m未満", "3": "13m以上"},
    "Common_districtsAndZonesType": DISTRICTS_AND_ZONES,
    "Common_validType": {"1": "決定", "2": "廃止", "3": "変更", "4": "不明"},
    "Common_areaClassificationType": {"22": "市街化区域", "23": "市街化調整区域"},
}


def write_codelists(root: Path) -> None:
    """The PLATEAU code lists the generated files point to, under ``root/codelists``."""
    (root / "codelists").mkdir(parents=True, exist_ok=True)
    for name, entries in CODELISTS.items():
        (root / "codelists" / f"{name}.xml").write_text(codelist(name, entries), encoding="utf-8")


def write(root: Path = ROOT) -> dict[str, int]:
    rng = np.random.default_rng(SEED)
    # Only the folders this script writes are replaced: other sample inputs made by
    # sample_data/make_flow_and_streets.py live beside them.
    for folder in ("codelists", "udx", "lidar"):
        if (root / folder).exists():
            shutil.rmtree(root / folder)
    for folder in ("codelists", "udx/bldg", "udx/veg", "udx/dem", "udx/tran", "udx/urf", "lidar"):
        (root / folder).mkdir(parents=True)
    write_codelists(root)

    counts: dict[str, int] = {}
    parks: list = []
    buildings = make_buildings(rng, parks)
    by_tile: dict[str, list[Building]] = {}
    for b in buildings:
        cx, cy = b.footprint.mean(axis=0)
        by_tile.setdefault(tile_of_xy(cx, cy), []).append(b)
    for tile, members in sorted(by_tile.items()):
        points = np.concatenate(
            [np.column_stack([b.footprint, np.full(4, b.ground + b.height)]) for b in members]
        )
        lower, upper = envelope(np.vstack([points, points * [1, 1, 0]]))
        (root / "udx/bldg" / f"{tile}_bldg_6697_op.gml").write_text(
            document([building_gml(b) for b in members], lower, upper), encoding="utf-8"
        )
    counts["buildings"] = len(buildings)
    counts["buildings_lod2"] = sum(b.lod2 for b in buildings)

    trees = make_trees(rng, parks)
    tree_positions = _tree_positions(trees)
    tree_tiles: dict[str, list[str]] = {}
    for member in trees:
        # The crown's first vertex sits inside the tile of its trunk closely enough.
        first = member.split("<gml:posList>")[1].split()[:2]
        tree_tiles.setdefault(mesh3(float(first[0]), float(first[1])), []).append(member)
    for tile, members in sorted(tree_tiles.items()):
        coords = np.array([[float(v) for v in m.split("<gml:posList>")[1].split()[:3]] for m in members])
        lower, upper = tuple(coords.min(axis=0)), tuple(coords.max(axis=0))
        (root / "udx/veg" / f"{tile}_veg_6697_op.gml").write_text(
            document(members, lower, upper), encoding="utf-8"
        )
    counts["trees"] = len(trees)

    for mesh2, (members, triangles) in make_dem().items():
        lower, upper = envelope(triangles.reshape(-1, 3))
        (root / "udx/dem" / f"{mesh2}_dem_6697_op.gml").write_text(
            document(members, lower, upper), encoding="utf-8"
        )
        counts[f"dem_{mesh2}_triangles"] = len(triangles)

    roads, lines = make_roads()
    road_tiles: dict[str, list[str]] = {}
    road_points: dict[str, list[np.ndarray]] = {}
    for gml_id, ring, width in roads:
        cx, cy = ring[:, :2].mean(axis=0)
        tile = tile_of_xy(cx, cy)
        road_tiles.setdefault(tile, []).append(road_gml(gml_id, ring, float(width[0])))
        road_points.setdefault(tile, []).append(ring)
    for tile, members in sorted(road_tiles.items()):
        lower, upper = envelope(np.concatenate(road_points[tile]))
        (root / "udx/tran" / f"{tile}_tran_6697_op.gml").write_text(
            document(members, lower, upper), encoding="utf-8"
        )
    counts["roads"] = len(roads)
    (root / "streets.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": lines}, ensure_ascii=False), encoding="utf-8"
    )
    # Use districts: no random numbers, so the other files stay as they were.
    for mesh2, districts in make_use_districts().items():
        (root / "udx/urf" / f"{mesh2}_urf_6668_op.gml").write_text(
            urf_document([m for m, _ in districts], [r for _, r in districts]), encoding="utf-8"
        )
        counts[f"use_districts_{mesh2}"] = len(districts)
    counts["lidar_points"] = write_lidar(
        root / "lidar" / "omiya_sample.laz", buildings, tree_positions, np.random.default_rng(SEED + 1)
    )
    return counts


def _tree_positions(members: list[str]) -> list[tuple[float, float, float, float]]:
    """(x, y, height, crown diameter) of the solitary trees, back from their GML."""
    positions = []
    for member in members:
        if "SolitaryVegetationObject" not in member:
            continue
        height = float(member.split('<veg:height uom="m">')[1].split("<")[0])
        crown = float(member.split('<veg:crownDiameter uom="m">')[1].split("<")[0])
        coords = np.array(member.split("<gml:posList>")[2].split("<")[0].split(), float).reshape(-1, 3)
        x, y = to_metric.transform(coords[:, 1], coords[:, 0])
        positions.append((float(np.mean(x[:-1])), float(np.mean(y[:-1])), height, crown))
    return positions


if __name__ == "__main__":
    print(write())
