"""Point cloud tilesets: streamed chunks -> an octree of GLB point tiles (refine ADD).

Memory stays bounded by the chunk size and the tile size, whatever the cloud's size:

1. Each chunk is placed in an east/north/up frame (fixed by the first chunk), binned
   into a fixed 4 m (``histogram_cell_m``) Morton grid whose counts accumulate, and
   spilled to a scratch file.
2. The octree is decided from the counts alone: a cell is a leaf when the points
   expected to reach it fit ``max_points_per_tile``; an internal cell keeps a uniform
   random subsample of about ``max_points_per_tile`` of the points reaching it and
   passes the rest down, so no point is written twice (ADD refinement).
3. The spilled chunks are read again and every point appended to its tile's bin file.
4. One Dask task per tile turns its bin into a GLB (POINTS, COLOR_0 and the
   per-point properties classification, intensity and return number as
   EXT_structural_metadata property attributes); tileset.json is written last.
"""

from __future__ import annotations

import logging
import math
import shutil
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import write_bytes_atomic
from .geodesy import ecef_to_enu, ecef_to_lonlath, enu_to_ecef_matrix, to_ecef, z_up_to_y_up
from .gltf import MODE_POINTS, GlbBuilder
from .mesh_content import ContentResult
from .records import PointChunk, TilesetSummary
from .tasks import run_tile_tasks
from .tileset import TileNode, write_tileset_json

log = logging.getLogger(__name__)

# Side of the fixed octree cube around the first chunk (m): 2**18 m = 262 km, so one
# tileset spans up to +-131 km around its first points.
CUBE_SIDE_M = float(2**18)

POINT_DTYPE = np.dtype(
    [
        ("enu", "<f8", (3,)),
        ("rgb", "u1", (3,)),
        ("classification", "u1"),
        ("intensity", "<u2"),
        ("return_number", "u1"),
    ]
)
_SPILL_DTYPE = np.dtype(POINT_DTYPE.descr + [("code", "<u8")])

# ASPRS LAS 1.4 standard classes -> display colour (sRGB)
ASPRS_COLORS = {
    0: (160, 160, 160),
    1: (190, 190, 190),
    2: (166, 122, 79),
    3: (173, 221, 142),
    4: (95, 181, 92),
    5: (30, 120, 50),
    6: (222, 93, 63),
    7: (255, 0, 255),
    8: (255, 255, 0),
    9: (64, 128, 230),
    10: (120, 80, 60),
    11: (90, 90, 90),
    12: (200, 200, 0),
    13: (255, 200, 0),
    14: (255, 160, 0),
    15: (200, 100, 0),
    16: (200, 150, 100),
    17: (150, 150, 200),
    18: (255, 0, 128),
}


def classification_colors(classification: np.ndarray) -> np.ndarray:
    """(N, 3) uint8 colours of ASPRS classes; unknown classes are grey."""
    lut = np.full((256, 3), 128, dtype=np.uint8)
    for code, rgb in ASPRS_COLORS.items():
        lut[code] = rgb
    return lut[np.asarray(classification, dtype=np.uint8)]


def morton_encode(ix: np.ndarray, iy: np.ndarray, iz: np.ndarray, bits: int) -> np.ndarray:
    """Interleave integer cell indices (x lowest) into uint64 Morton codes."""
    code = np.zeros(len(ix), dtype=np.uint64)
    ix, iy, iz = (np.asarray(a, dtype=np.uint64) for a in (ix, iy, iz))
    for b in range(bits):
        bit = np.uint64(b)
        shift = np.uint64(3 * b)
        code |= ((ix >> bit) & np.uint64(1)) << shift
        code |= ((iy >> bit) & np.uint64(1)) << (shift + np.uint64(1))
        code |= ((iz >> bit) & np.uint64(1)) << (shift + np.uint64(2))
    return code


@dataclass
class OctreePlan:
    """Which octree cells are tiles and how many points each internal cell keeps.

    Per depth ``d`` (0 = the fixed cube), sorted Morton prefixes of the cells on the
    tree with the probability that a point reaching the cell stays there.
    """

    bits: int  # histogram depth
    root_depth: int
    prefixes: dict[int, np.ndarray]  # depth -> sorted prefixes
    keep: dict[int, np.ndarray]  # depth -> keep probability (1 at leaves)
    tile_index: dict[int, np.ndarray]  # depth -> tile number
    tiles: list[tuple[int, int]]  # tile number -> (depth, prefix)
    children: dict[int, list[int]]  # tile number -> child tile numbers


def plan_octree(codes: np.ndarray, counts: np.ndarray, bits: int, max_points: int) -> OctreePlan:
    """Decide the octree from the point count per histogram cell (sorted Morton ``codes``)."""
    cumulative = np.concatenate([[0], np.cumsum(counts)])
    prefixes: dict[int, list[int]] = {}
    keep: dict[int, list[float]] = {}
    tiles: list[tuple[int, int]] = []
    children: dict[int, list[int]] = {}

    def add(depth: int, prefix: int, p: float) -> int:
        prefixes.setdefault(depth, []).append(prefix)
        keep.setdefault(depth, []).append(p)
        tiles.append((depth, prefix))
        return len(tiles) - 1

    def child_ranges(depth: int, prefix: int, lo: int, hi: int) -> list[tuple[int, int, int]]:
        shift = np.uint64(3 * (bits - depth - 1))
        sub = (codes[lo:hi] >> shift) & np.uint64(7)
        bounds = lo + np.searchsorted(sub, np.arange(9, dtype=np.uint64))
        return [
            (prefix * 8 + c, int(bounds[c]), int(bounds[c + 1]))
            for c in range(8)
            if bounds[c + 1] > bounds[c]
        ]

    # the tree's root: the deepest cell holding every point
    depth, prefix, lo, hi = 0, 0, 0, len(codes)
    while depth < bits and cumulative[hi] - cumulative[lo] > max_points:
        ranges = child_ranges(depth, prefix, lo, hi)
        if len(ranges) > 1:
            break
        depth, (prefix, lo, hi) = depth + 1, ranges[0]

    def build(depth: int, prefix: int, lo: int, hi: int, survival: float) -> int:
        reaching = (cumulative[hi] - cumulative[lo]) * survival
        if reaching <= max_points or depth == bits:
            return add(depth, prefix, 1.0)
        p = max_points / reaching
        tile = add(depth, prefix, p)
        children[tile] = [
            build(depth + 1, c, clo, chi, survival * (1.0 - p))
            for c, clo, chi in child_ranges(depth, prefix, lo, hi)
        ]
        return tile

    build(depth, prefix, lo, hi, 1.0)
    order = {d: np.argsort(np.array(prefixes[d], dtype=np.uint64), kind="stable") for d in prefixes}
    tile_numbers: dict[int, list[int]] = {}
    for number, (d, _) in enumerate(tiles):
        tile_numbers.setdefault(d, []).append(number)
    return OctreePlan(
        bits,
        depth,
        {d: np.array(prefixes[d], dtype=np.uint64)[order[d]] for d in prefixes},
        {d: np.array(keep[d])[order[d]] for d in keep},
        {d: np.array(tile_numbers[d])[order[d]] for d in tile_numbers},
        tiles,
        children,
    )


def assign_tiles(codes: np.ndarray, plan: OctreePlan, rng: np.random.Generator) -> np.ndarray:
    """Tile number of each point: descend from the root, staying at a cell with its keep probability."""
    tile = np.full(len(codes), -1, dtype=np.int64)
    active = np.arange(len(codes))
    for depth in range(plan.root_depth, plan.bits + 1):
        if not len(active):
            break
        prefix = codes[active] >> np.uint64(3 * (plan.bits - depth))
        where = np.searchsorted(plan.prefixes[depth], prefix)
        stays = rng.random(len(active)) < plan.keep[depth][where]
        tile[active[stays]] = plan.tile_index[depth][where[stays]]
        active = active[~stays]
    return tile


def _chunk_records(chunk: PointChunk, frame: np.ndarray, crs: str) -> np.ndarray:
    records = np.zeros(len(chunk.xyz), dtype=_SPILL_DTYPE)
    records["enu"] = ecef_to_enu(to_ecef(chunk.xyz, crs), frame)
    if chunk.rgb is not None:
        rgb = np.asarray(chunk.rgb)
        # LAS stores 16-bit colour; scale it down when it is not already 8-bit
        records["rgb"] = (rgb >> 8) if rgb.dtype.itemsize > 1 and rgb.max(initial=0) > 255 else rgb
    elif chunk.classification is not None:
        records["rgb"] = classification_colors(chunk.classification)
    else:
        records["rgb"] = 200
    for name in ("classification", "intensity", "return_number"):
        value = getattr(chunk, name)
        if value is not None:
            records[name] = value
    return records


def _write_point_tile(bin_path: Path, path: Path, uri: str) -> ContentResult:
    points = np.fromfile(bin_path, dtype=POINT_DTYPE)
    glb, lo, hi = build_point_glb(points)
    write_bytes_atomic(path, glb)
    return ContentResult(uri, lo, hi, len(points), len(glb))


def build_point_glb(points: np.ndarray) -> tuple[bytes, np.ndarray, np.ndarray]:
    """GLB with one POINTS primitive from a ``POINT_DTYPE`` array (ENU metres in the tileset frame)."""
    enu = points["enu"]
    lo, hi = enu.min(axis=0), enu.max(axis=0)
    origin = np.round((lo + hi) / 2.0, 3)
    gltf = GlbBuilder()
    gltf.use_extension("EXT_structural_metadata")
    attributes = {
        "POSITION": gltf.add_accessor(z_up_to_y_up(enu - origin).astype(np.float32), min_max=True),
        "COLOR_0": gltf.add_accessor(np.ascontiguousarray(points["rgb"]), normalized=True),
        "_CLASSIFICATION": gltf.add_accessor(np.ascontiguousarray(points["classification"])),
        "_INTENSITY": gltf.add_accessor(np.ascontiguousarray(points["intensity"])),
        "_RETURN_NUMBER": gltf.add_accessor(np.ascontiguousarray(points["return_number"])),
    }
    primitive = {
        "attributes": attributes,
        "mode": MODE_POINTS,
        "material": gltf.add_material(unlit=True),
        "extensions": {"EXT_structural_metadata": {"propertyAttributes": [0]}},
    }
    gltf.gltf["extensions"] = {
        "EXT_structural_metadata": {
            "schema": {
                "id": "machi_points",
                "classes": {
                    "point": {
                        "name": "LiDAR point",
                        "properties": {
                            "classification": {
                                "type": "SCALAR",
                                "componentType": "UINT8",
                                "description": "ASPRS classification code",
                            },
                            "intensity": {"type": "SCALAR", "componentType": "UINT16"},
                            "return_number": {"type": "SCALAR", "componentType": "UINT8"},
                        },
                    }
                },
            },
            "propertyAttributes": [
                {
                    "class": "point",
                    "properties": {
                        "classification": {"attribute": "_CLASSIFICATION"},
                        "intensity": {"attribute": "_INTENSITY"},
                        "return_number": {"attribute": "_RETURN_NUMBER"},
                    },
                }
            ],
        }
    }
    gltf.add_root_node(gltf.add_mesh([primitive]), translation=z_up_to_y_up(origin[None, :])[0])
    return gltf.to_bytes(), lo, hi


def write_point_tileset(
    chunks: Iterable[PointChunk],
    out_dir: str | Path,
    *,
    crs: str = "EPSG:4979",
    max_points_per_tile: int = 100_000,
    histogram_cell_m: float = 4.0,
    work_dir: str | Path | None = None,
    seed: int = 0,
    client: Any = None,
    scheduler: str | None = None,
) -> TilesetSummary:
    """Write streamed point chunks as a 3D Tiles 1.1 point cloud tileset.

    Parameters
    ----------
    chunks : iterable of PointChunk
        Read once, one at a time (e.g. ``laspy`` ``chunk_iterator`` converted to
        lon/lat/ellipsoidal height); the iterable may be a generator.
    out_dir : path
        Folder receiving ``tileset.json`` and ``tiles/{depth}/{morton}.glb``.
    crs : {"EPSG:4979", "EPSG:4978"}
        CRS of ``PointChunk.xyz``.
    max_points_per_tile : int
        Leaf capacity and the size of each internal tile's subsample.
    histogram_cell_m : float
        Finest octree cell (m); a cell this small is a leaf whatever its count.
    work_dir : path, optional
        Scratch folder for spilled chunks and tile bins (about 40 bytes a point),
        removed at the end; default ``out_dir/.points-work-<random>``.
    seed : int
        Seed of the subsampling; the same chunks and seed give the same tiles.
    client, scheduler
        As for :func:`tiles.write_mesh_tileset`.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    work = Path(work_dir) if work_dir is not None else out_dir / f".points-work-{uuid.uuid4().hex[:8]}"
    work.mkdir(parents=True, exist_ok=True)
    try:
        bits = int(math.floor(math.log2(CUBE_SIDE_M / histogram_cell_m)))
        if not 1 <= bits <= 21:
            raise ValueError(
                f"histogram_cell_m={histogram_cell_m} gives {bits} octree levels; use 0.2 m to 100 km"
            )
        spilled = _spill_chunks(chunks, work, crs, bits)
        plan = plan_octree(spilled.codes, spilled.counts, bits, max_points_per_tile)
        log.info(
            "%d points in %d chunks: octree of %d tiles from depth %d",
            spilled.total,
            len(spilled.paths),
            len(plan.tiles),
            plan.root_depth,
        )
        bins = _bin_points(spilled.paths, plan, work / "bins", np.random.default_rng(seed))
        root, results = _write_point_tiles(plan, bins, out_dir, client=client, scheduler=scheduler)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    root.compute_bounds()
    _assign_point_errors(root, plan)
    tileset_path = write_tileset_json(root, out_dir, spilled.frame)
    seconds = time.perf_counter() - started
    written = sum(r.feature_count for r in results)
    if written != spilled.total:
        raise RuntimeError(f"point tileset lost points: {spilled.total} read, {written} written")
    log.info(
        "wrote %s: %d points in %d tiles, %.1f MB in %.1f s",
        tileset_path,
        spilled.total,
        len(results),
        sum(r.byte_length for r in results) / 1e6,
        seconds,
    )
    return TilesetSummary(
        tileset_path,
        sum(1 for n in root.walk() if n.enu_min is not None),
        len(results),
        spilled.total,
        sum(r.byte_length for r in results),
        max(n.key[0] for n in root.walk()) - plan.root_depth,
        seconds,
    )


@dataclass
class _Spilled:
    """Pass 1's result: the tileset frame, the Morton histogram and the spilled chunks."""

    frame: np.ndarray
    codes: np.ndarray
    counts: np.ndarray
    paths: list[Path]
    total: int


def _spill_chunks(chunks: Iterable[PointChunk], work: Path, crs: str, bits: int) -> _Spilled:
    """Pass 1: frame (at the first chunk's centre), Morton codes, histogram; chunks to disk."""
    cell = CUBE_SIDE_M / 2**bits
    frame = None
    hist_codes = np.zeros(0, dtype=np.uint64)
    hist_counts = np.zeros(0, dtype=np.int64)
    spills: list[Path] = []
    total = 0
    for number, chunk in enumerate(chunks):
        if len(chunk.xyz) == 0:
            continue
        if frame is None:
            centre = ecef_to_lonlath(to_ecef(chunk.xyz.mean(axis=0, keepdims=True), crs))[0]
            frame = enu_to_ecef_matrix(centre[0], centre[1], 0.0)
        records = _chunk_records(chunk, frame, crs)
        cells = np.floor((records["enu"] + CUBE_SIDE_M / 2) / cell).astype(np.int64)
        if cells.min() < 0 or cells.max() >= 2**bits:
            raise ValueError(
                f"point chunk {number}: points lie more than {CUBE_SIDE_M / 2 / 1000:.0f} km from "
                "the first chunk; split the cloud into several tilesets"
            )
        records["code"] = morton_encode(cells[:, 0], cells[:, 1], cells[:, 2], bits)
        codes, counts = np.unique(records["code"], return_counts=True)
        merged, inverse = np.unique(np.concatenate([hist_codes, codes]), return_inverse=True)
        hist_counts = np.bincount(
            inverse, weights=np.concatenate([hist_counts, counts]), minlength=len(merged)
        ).astype(np.int64)
        hist_codes = merged
        spill = work / f"chunk{number:06d}.bin"
        records.tofile(spill)
        spills.append(spill)
        total += len(records)
    if frame is None:
        raise ValueError("write_point_tileset: no points in the chunks")
    return _Spilled(frame, hist_codes, hist_counts, spills, total)


def _bin_points(spills: list[Path], plan: OctreePlan, bins: Path, rng: np.random.Generator) -> Path:
    """Pass 2: every point to exactly one tile's bin file (``bins/<tile number>.bin``)."""
    bins.mkdir()
    for spill in spills:
        records = np.fromfile(spill, dtype=_SPILL_DTYPE)
        tile = assign_tiles(records["code"], plan, rng)
        order = np.argsort(tile, kind="stable")
        numbers, starts = np.unique(tile[order], return_index=True)
        points = np.empty(len(records), dtype=POINT_DTYPE)
        for name in POINT_DTYPE.names:
            points[name] = records[name]
        points = points[order]
        for number, lo, hi in zip(numbers, starts, list(starts[1:]) + [len(order)]):
            with open(bins / f"{number}.bin", "ab") as handle:
                handle.write(points[lo:hi].tobytes())
        spill.unlink()
    return bins


def _write_point_tiles(
    plan: OctreePlan, bins: Path, out_dir: Path, *, client: Any, scheduler: str | None
) -> tuple[TileNode, list[ContentResult]]:
    """Pass 3: one task per tile bin; returns the root node (contents attached)."""
    jobs: list[tuple] = []
    nodes: dict[int, TileNode] = {}
    by_uri: dict[str, TileNode] = {}
    for number, (depth, prefix) in enumerate(plan.tiles):
        node = TileNode((depth, int(prefix)))
        nodes[number] = node
        bin_path = bins / f"{number}.bin"
        if bin_path.exists():
            uri = f"tiles/{depth}/{int(prefix)}.glb"
            jobs.append((bin_path, out_dir / uri, uri))
            by_uri[uri] = node
    for number, kids in plan.children.items():
        nodes[number].children = [nodes[k] for k in kids]
    results = run_tile_tasks(_write_point_tile, jobs, client=client, scheduler=scheduler)
    for result in results:
        by_uri[result.uri].content = result
    return nodes[0], results  # plan_octree numbers the root first


def _assign_point_errors(node: TileNode, plan: OctreePlan) -> float:
    """Leaves 0; an internal tile errs by the spacing of its subsample (horizontal size of
    its content over the square root of its point count, as for a surface), kept above
    its children's."""
    child_max = max((_assign_point_errors(c, plan) for c in node.children), default=0.0)
    if node.children and node.enu_min is not None:
        side = float(np.linalg.norm((node.enu_max - node.enu_min)[:2]))
        kept = node.content.feature_count if node.content is not None else 1
        own = side / math.sqrt(max(kept, 1))
        node.geometric_error = own if own > child_max else max(child_max * 1.5, child_max + 0.01)
    return node.geometric_error
