"""Generate an N-tile PLATEAU-style district for benchmarks: ``make_city.py --tiles N [--out DIR]``.

Tiles are JIS X 0410 third-level meshes (about 1 km) laid out in a near-square block
starting at mesh 53396489 (Omiya, Saitama). Every tile gets its own street grid: block
pitch 50-110 m, streets 8-16 m wide, turned by 0-35 degrees (a third of the tiles keep
north-up streets and gable roofs), a centre where towers rise (up to 30 storeys) and
low houses around it, and 5-20 % of the blocks as parks. The files follow the PLATEAU
layout of :mod:`make_sample` (whose writers they reuse)::

    DIR/codelists/*.xml
    DIR/udx/bldg/<mesh>_bldg_6697_op.gml     LOD0 footprint, LOD1 solid, LOD2 surfaces
    DIR/udx/veg/<mesh>_veg_6697_op.gml       street trees and park plant cover
    DIR/udx/dem/<mesh2>_dem_6697_op.gml      terrain TIN per second-level mesh
    DIR/udx/tran/<mesh>_tran_6697_op.gml     road surfaces with widths
    DIR/streets.geojson                      street centre lines
    DIR/peopleflow/mlit_peopleflow_city.csv  MLIT-format stay population per tile
    DIR/lidar/<mesh>.laz                     classified airborne LiDAR per tile
    DIR/city.yaml                            the run definition (``machi run DIR/city.yaml``)

Deterministic for a ``--seed``. Default ``DIR`` is ``sample_data/city<N>`` (not committed).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_flow_and_streets as flow  # noqa: E402  (puts the project root on sys.path too)
import make_sample as sample  # noqa: E402

from pipeline.geo import meshcode  # noqa: E402

BASE_MESH = 53396489
SEED = 20261201


def tile_codes(n_tiles: int) -> list[int]:
    """``n_tiles`` third-level meshes in rows of ``ceil(sqrt(n))``, north-east of the base."""
    lat_min, lon_min, lat_max, lon_max = (float(v[0]) for v in meshcode.decode_bounds([BASE_MESH]))
    columns = math.ceil(math.sqrt(n_tiles))
    codes = []
    for k in range(n_tiles):
        row, col = divmod(k, columns)
        lat = (lat_min + lat_max) / 2 + row * (lat_max - lat_min)
        lon = (lon_min + lon_max) / 2 + col * (lon_max - lon_min)
        codes.append(int(meshcode.encode(lat, lon, 3)))
    return codes


def tile_bounds(code: int) -> tuple[float, float, float, float]:
    """Metric (EPSG:6677) bounds of a mesh."""
    lat_min, lon_min, lat_max, lon_max = (float(v[0]) for v in meshcode.decode_bounds([code]))
    x, y = sample.to_metric.transform(
        [lon_min, lon_max, lon_min, lon_max], [lat_min, lat_min, lat_max, lat_max]
    )
    return min(x), min(y), max(x), max(y)


def _turned(points: np.ndarray, angle: float, origin: np.ndarray) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return origin + points @ np.array([[c, s], [-s, c]])


def make_tile(code: int, rng: np.random.Generator, first_id: int):
    """Buildings, trees, parks, road rings and centre lines of one tile's district."""
    x0, y0, x1, y1 = tile_bounds(code)
    north_up = rng.random() < 1 / 3
    angle = 0.0 if north_up else math.radians(rng.uniform(5, 35))
    pitch, street = rng.uniform(50, 110), rng.uniform(8, 16)
    park_share = rng.uniform(0.05, 0.2)
    centre = np.array([rng.uniform(x0 + 200, x1 - 200), rng.uniform(y0 + 200, y1 - 200)])
    origin = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    reach = int(math.hypot(x1 - x0, y1 - y0) / 2 / pitch) + 1
    tile = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    inside = lambda p: x0 <= p[0] < x1 and y0 <= p[1] < y1  # noqa: E731
    buildings, parks, roads, lines = [], [], [], []
    for i in range(-reach, reach):
        for j in range(-reach, reach):
            block = np.array([[i, j], [i + 1, j], [i + 1, j + 1], [i, j + 1]]) * pitch
            block = block + [
                [street / 2, street / 2],
                [-street / 2, street / 2],
                [-street / 2, -street / 2],
                [street / 2, -street / 2],
            ]
            middle = _turned(block.mean(axis=0)[None], angle, origin)[0]
            if not inside(middle):
                continue
            if rng.random() < park_share:
                parks.append(_turned(block, angle, origin))
                continue
            near = math.hypot(*(middle - centre)) < 250
            lots = int(rng.integers(1, 3)) if near else int(rng.integers(2, 4))
            size = (pitch - street) / lots
            for a in range(lots):
                for b in range(lots):
                    margin = rng.uniform(1.5, 4.0)
                    w, d = size - 2 * margin - rng.uniform(0, 3), size - 2 * margin - rng.uniform(0, 3)
                    if w < 5 or d < 5:
                        continue
                    lo = block[0] + [a * size + margin, b * size + margin]
                    fp = _turned(np.array([lo, lo + [w, 0], lo + [w, d], lo + [0, d]]), angle, origin)
                    storeys = int(rng.integers(6, 31) if near and rng.random() < 0.6 else rng.integers(1, 5))
                    usage = str(
                        rng.choice(
                            ["401", "402", "404", "412"]
                            if storeys > 5
                            else ["411", "411", "412", "413", "422"]
                        )
                    )
                    buildings.append(
                        sample.Building(
                            gml_id=f"bldg_city_{first_id + len(buildings):06d}",
                            footprint=fp,
                            ground=round(float(sample.ground_height(fp[:, 0], fp[:, 1]).min()), 3),
                            height=round(storeys * rng.uniform(3.0, 3.6) + rng.uniform(0.3, 1.5), 1),
                            roof="gable" if north_up and storeys <= 3 and rng.random() < 0.6 else "flat",
                            lod2=rng.random() < 0.8,
                            usage=usage,
                            storeys=storeys,
                            structure=str(rng.choice(["601", "603"] if storeys <= 3 else ["602", "603"])),
                            year=int(rng.integers(1965, 2025)),
                            flood_depth=round(float(rng.uniform(0.1, 2.5)), 2)
                            if rng.random() < 0.2
                            else None,
                        )
                    )
    # streets: every grid line, clipped to the tile, as a road surface and a centre line
    tile_polygon = shapely.Polygon(tile)
    for axis in (0, 1):
        for k in range(-reach, reach + 1):
            ends = np.array([[k * pitch, -reach * pitch], [k * pitch, reach * pitch]])
            segment = shapely.LineString(_turned(ends if axis else ends[:, ::-1], angle, origin))
            clipped = segment.intersection(tile_polygon)
            if clipped.is_empty or clipped.length < pitch:
                continue
            width = street if k % 3 == 0 else street * 0.7
            line = np.asarray(clipped.coords)
            normal = np.array([-(line[1, 1] - line[0, 1]), line[1, 0] - line[0, 0]]) / clipped.length
            ring = np.array(
                [
                    line[0] - normal * width / 2,
                    line[1] - normal * width / 2,
                    line[1] + normal * width / 2,
                    line[0] + normal * width / 2,
                ]
            )
            z = sample.ground_height(ring[:, 0], ring[:, 1])
            roads.append((f"tran_{code}_{axis}_{k + reach:03d}", np.column_stack([ring, z]), width))
            lon, lat = sample.to_lonlat.transform(line[:, 0], line[:, 1])
            lines.append(
                {
                    "type": "Feature",
                    "properties": {
                        "name": f"{code} street {axis}-{k + reach}",
                        "highway": "secondary" if k % 3 == 0 else "residential",
                        "width_m": round(width, 1),
                    },
                    "geometry": {
                        "type": "LineString",
                        "coordinates": [[round(a, 8), round(b, 8)] for a, b in zip(lon, lat)],
                    },
                }
            )
    # street trees along the secondary streets, every 14 m, 1.5 m in from the kerb
    trees = []
    for _, ring, width in roads:
        if width < street:
            continue
        start, end = ring[0, :2], ring[1, :2]
        length = float(np.hypot(*(end - start)))
        for t in np.arange(10.0, length - 10.0, 14.0):
            if rng.random() < 0.3:
                continue
            x, y = start + (end - start) * t / length
            trees.append(
                (
                    float(x),
                    float(y),
                    round(float(rng.uniform(6, 12)), 1),
                    round(float(rng.uniform(3.5, 6.0)), 1),
                )
            )
    return buildings, parks, trees, roads, lines


def _write_gml(folder: Path, name: str, members: list[str], points: np.ndarray) -> None:
    lower, upper = sample.envelope(points)
    (folder / name).write_text(sample.document(members, lower, upper), encoding="utf-8")


def write(n_tiles: int, out: Path, *, seed: int = SEED, lidar_density: float = 0.5) -> dict[str, int]:
    """Write the district of ``n_tiles`` meshes under ``out``; returns counts."""
    rng = np.random.default_rng(seed)
    codes = tile_codes(n_tiles)
    for folder in ("udx/bldg", "udx/veg", "udx/dem", "udx/tran", "lidar", "peopleflow"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    sample.write_codelists(out)
    counts = {"tiles": n_tiles, "buildings": 0, "trees": 0, "parks": 0, "roads": 0, "lidar_points": 0}
    features, populations = [], {}
    for code in codes:
        buildings, parks, trees, roads, lines = make_tile(code, rng, counts["buildings"])
        tops = np.concatenate(
            [np.column_stack([b.footprint, np.full(4, b.ground + b.height)]) for b in buildings]
        )
        _write_gml(
            out / "udx/bldg",
            f"{code}_bldg_6697_op.gml",
            [sample.building_gml(b) for b in buildings],
            np.vstack([tops, tops * [1, 1, 0]]),
        )
        members = [sample.tree_gml(f"veg_tree_{code}_{k:05d}", *tree) for k, tree in enumerate(trees)]
        for k, park in enumerate(parks):
            ring = park + (park.mean(axis=0) - park) * 0.08  # 4 % in from the kerb
            z = sample.ground_height(ring[:, 0], ring[:, 1])
            members.append(
                f'<veg:PlantCover gml:id="veg_park_{code}_{k:03d}">'
                '<veg:class codeSpace="../../codelists/PlantCover_class.xml">4</veg:class>'
                f'<veg:averageHeight uom="m">{round(float(rng.uniform(3, 9)), 1)}</veg:averageHeight>'
                "<veg:lod1MultiSurface><gml:MultiSurface><gml:surfaceMember>"
                f"{sample.polygon(np.column_stack([ring, z]))}</gml:surfaceMember></gml:MultiSurface>"
                "</veg:lod1MultiSurface></veg:PlantCover>"
            )
        if members:
            points = np.array([[x, y, 0.0] for x, y, *_ in trees] or [[*parks[0][0], 0.0]])
            _write_gml(out / "udx/veg", f"{code}_veg_6697_op.gml", members, points)
        _write_gml(
            out / "udx/tran",
            f"{code}_tran_6697_op.gml",
            [sample.road_gml(gml_id, ring, width) for gml_id, ring, width in roads],
            np.concatenate([ring for _, ring, _ in roads]),
        )
        counts["lidar_points"] += sample.write_lidar(
            out / "lidar" / f"{code}.laz",
            buildings,
            trees,
            np.random.default_rng(seed + code),
            density=lidar_density,
            bounds=tile_bounds(code),
        )
        features += lines
        populations[code] = float(rng.uniform(1000, 9000))
        counts["buildings"] += len(buildings)
        counts["trees"] += len(trees)
        counts["parks"] += len(parks)
        counts["roads"] += len(roads)
    bounds = np.array([tile_bounds(c) for c in codes])
    dem_area = (
        bounds[:, 0].min() - 60,
        bounds[:, 1].min() - 60,
        bounds[:, 2].max() + 60,
        bounds[:, 3].max() + 60,
    )
    for mesh2, (members, triangles) in sample.make_dem(dem_area).items():
        _write_gml(out / "udx/dem", f"{mesh2}_dem_6697_op.gml", members, triangles.reshape(-1, 3))
    (out / "streets.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), encoding="utf-8"
    )
    flow.write_mlit_csv(out, flow.mlit_rows(populations, quiet=()), "mlit_peopleflow_city.csv")
    write_run_definition(out, codes)
    return counts


def write_run_definition(out: Path, codes: list[int]) -> Path:
    """``out/city.yaml``: every stage over the district's tiles, output in ``out/run``."""
    lidar = "\n".join(f"    - lidar/{code}.laz" for code in codes)
    text = f"""# A generated {len(codes)}-tile district (sample_data/make_city.py); paths relative to this file.
name: city-{len(codes)}
inputs:
  citygml: .
  types: [bldg, veg, dem, tran]
  lidar:
{lidar}
  peopleflow:
    - {{kind: mlit, path: peopleflow/mlit_peopleflow_city.csv}}
  streets: streets.geojson
area:
  meshes: [{", ".join(str(c) for c in codes)}]
crs: EPSG:6677
timezone: Asia/Tokyo
output: run
dask:
  workers: 2
  threads_per_worker: 1
  memory_limit: 4GiB
"""
    path = out / "city.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, required=True, help="number of third-level mesh tiles")
    parser.add_argument("--out", type=Path, help="output folder (default sample_data/city<N>)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--lidar-density", type=float, default=0.5, help="LiDAR points per m²")
    args = parser.parse_args()
    if args.tiles < 1:
        parser.error("--tiles must be at least 1")
    out = args.out or Path(__file__).resolve().parent / f"city{args.tiles}"
    print(write(args.tiles, out, seed=args.seed, lidar_density=args.lidar_density))


if __name__ == "__main__":
    main()
