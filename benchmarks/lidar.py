"""LiDAR stage throughput and memory: LAZ -> DTM/DSM/nDSM/canopy/density of one tile.

Generates a classified synthetic city as LAZ (ground with a gentle slope, box buildings,
trees with two returns, a few birds), written chunk by chunk so the generator itself is
bounded, and cached under the temp dir. Each measurement runs in its own subprocess
and reports its peak resident memory (``VmHWM``, see ``peak_memory.py``):

- ``read``: a bare ``laspy.open(...).chunk_iterator`` pass decoding x, y, z: the I/O floor;
- ``rasters``: :func:`pipeline.lidar.lidar_rasters_for_tile` on one grid covering the file
  (1 m cells), i.e. read + reproject-free filter + noise + ground + five rasters.

Then a per-phase table of CPU seconds (``time.process_time``, all threads of one
process: the machine may be shared, CPU time is what the per-core target counts) of
``lidar_rasters_for_tile``: read (decode + keep the tile's points), the noise filter's
statistical outliers, and the rest (classes, ground, the five rasters). Each phase is the
median of ``--repeats`` runs, after a warm-up run (numba's cache). ``--baseline ROOT``
measures another checkout (e.g. ``main``) the same way, runs alternating, for a
before/after table on the same machine state.

Usage::

    .venv/bin/python benchmarks/lidar.py                 # 5M points
    .venv/bin/python benchmarks/lidar.py --points 5e6 20e6
    .venv/bin/python benchmarks/lidar.py --baseline ../main --repeats 5
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from peak_memory import peak_rss_mb

CRS = "EPSG:6677"
DENSITY_PER_M2 = 16.0
CHUNK = 1_000_000
MEMORY_LIMIT_MB = 1536


def _extent_m(n_points: int) -> float:
    return math.sqrt(n_points / DENSITY_PER_M2)


def generate_laz(n_points: int, path: Path, seed: int = 0) -> Path:
    """Write ``n_points`` of a synthetic classified city to ``path`` in 1M-point chunks."""
    import laspy
    from pyproj import CRS as PyprojCRS

    side = _extent_m(n_points)
    header = laspy.LasHeader(point_format=6, version="1.4")
    header.scales = np.array([0.001, 0.001, 0.001])
    header.offsets = np.array([0.0, 0.0, 0.0])
    header.add_crs(PyprojCRS.from_user_input(CRS))
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".tmp.laz")
    with laspy.open(tmp, mode="w", header=header) as writer:
        for start in range(0, n_points, CHUNK):
            n = min(CHUNK, n_points - start)
            x, y = rng.uniform(0, side, n), rng.uniform(0, side, n)
            ground = 20.0 + 0.01 * x + 0.005 * y
            # 50 m blocks: a 30 m building in every other block, a tree in the others.
            bx, by = np.floor(x / 50), np.floor(y / 50)
            fx, fy = x - bx * 50, y - by * 50
            is_building_block = (bx + by) % 2 == 0
            on_roof = is_building_block & (fx > 10) & (fx < 40) & (fy > 10) & (fy < 40)
            in_tree = ~is_building_block & (np.hypot(fx - 25, fy - 25) < 6)
            canopy = in_tree & (rng.random(n) < 0.6)
            z = ground.copy()
            z[on_roof] += 10 + (bx[on_roof] % 5) * 6
            z[canopy] += 8 + rng.uniform(0, 4, canopy.sum())
            cls = np.full(n, 2, np.uint8)
            cls[on_roof], cls[canopy] = 6, 5
            returns = np.where(in_tree, 2, 1).astype(np.uint8)
            birds = rng.random(n) < 2e-6
            z[birds] += 60
            cls[birds] = 1
            points = laspy.ScaleAwarePointRecord.zeros(n, header=header)
            points.x, points.y, points.z = x, y, z
            points.classification = cls
            points.number_of_returns = returns
            points.return_number = np.where(canopy, 1, returns).astype(np.uint8)
            points.intensity = rng.integers(0, 65535, n, dtype=np.uint16)
            writer.write_points(points)
    tmp.rename(path)
    return path


def cached_laz(n_points: int) -> Path:
    folder = Path(tempfile.gettempdir()) / "machi-bench-lidar"
    folder.mkdir(exist_ok=True)
    path = folder / f"synthetic_{n_points}.laz"
    if not path.exists():
        started = time.perf_counter()
        generate_laz(n_points, path)
        print(
            f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
    return path


PHASES = ("read", "noise", "rest")


def _phases(path: str, n_points: int, repeats: int) -> dict:
    """CPU seconds per phase of ``lidar_rasters_for_tile`` (runs inside the subprocess)."""
    from pipeline.geo.raster import Grid
    from pipeline.lidar import tile

    spent: dict[str, float] = {}

    def timed(function, phase):
        def wrapper(*args, **kwargs):
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[phase] = spent.get(phase, 0.0) + time.process_time() - started

        return wrapper

    tile.collect_tile_points = timed(tile.collect_tile_points, "read")
    tile.statistical_outlier_mask = timed(tile.statistical_outlier_mask, "noise")
    side = _extent_m(n_points)
    grid = Grid.from_bounds(0.0, 0.0, side, side, 1.0, CRS).buffered(1.0)
    runs = []
    for _ in range(repeats + 1):
        spent.clear()
        started = time.process_time()
        result = tile.lidar_rasters_for_tile([path], grid, backend="laspy", chunk_size=CHUNK)
        total = time.process_time() - started
        runs.append(
            {
                "read": spent["read"],
                "noise": spent["noise"],
                "rest": total - spent["read"] - spent["noise"],
                "total": total,
            }
        )
    return {"runs": runs[1:], "points": result.stats.points_in_tile}


def run_phases(path: Path, n_points: int, roots: list[str], repeats: int) -> dict[str, dict]:
    """Per-phase CPU seconds of each code root, one run at a time, alternating roots."""
    found: dict[str, dict] = {root: {"runs": []} for root in roots}
    for _ in range(repeats):
        for root in roots:
            out = subprocess.run(
                [sys.executable, __file__, "--measure", "phases", str(path), str(n_points), "--root", root],
                capture_output=True,
                text=True,
                check=True,
            )
            got = json.loads(out.stdout.strip().splitlines()[-1])
            found[root]["runs"] += got["runs"]
            found[root]["points"] = got["points"]
    return found


def print_phases(n_points: int, found: dict[str, dict]) -> None:
    roots = list(found)
    print(
        f"\nCPU seconds per phase, {n_points:,} points (median of "
        f"{len(found[roots[0]]['runs'])} runs; M pts/s = points / CPU s)"
    )
    print(f"{'phase':>8} | " + " | ".join(f"{Path(r).name or r:>20}" for r in roots))
    for phase in (*PHASES, "total"):
        cells = []
        for root in roots:
            seconds = float(np.median([run[phase] for run in found[root]["runs"]]))
            cells.append(f"{seconds:6.2f} s {found[root]['points'] / seconds / 1e6:6.2f} M/s")
        print(f"{phase:>8} | " + " | ".join(f"{c:>20}" for c in cells))


def _measure(mode: str, path: str, n_points: int, repeats: int = 1) -> dict:
    """Runs inside the subprocess."""
    if mode == "phases":
        return _phases(path, n_points, repeats)
    started = time.perf_counter()
    if mode == "read":
        import laspy

        total = 0
        with laspy.open(path) as reader:
            for points in reader.chunk_iterator(CHUNK):
                x, _y, _z = np.asarray(points.x), np.asarray(points.y), np.asarray(points.z)
                total += x.size
        stats = {"points": total}
    else:
        from pipeline.geo.raster import Grid
        from pipeline.lidar import lidar_rasters_for_tile

        side = _extent_m(n_points)
        grid = Grid.from_bounds(0.0, 0.0, side, side, 1.0, CRS).buffered(1.0)
        result = lidar_rasters_for_tile([path], grid, backend="laspy", chunk_size=CHUNK)
        s = result.stats
        stats = {"points": s.points_in_tile, "outliers": s.outlier_points, "ground": s.ground_points}
    stats["seconds"] = time.perf_counter() - started
    stats["peak_mb"] = peak_rss_mb()
    return stats


def run(mode: str, path: Path, n_points: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", mode, str(path), str(n_points), "--root", str(ROOT)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=float, nargs="+", default=[5e6])
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs per code root in the phase table (default 3)"
    )
    parser.add_argument("--baseline", help="another checkout to measure phase by phase too")
    parser.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--root", default=str(ROOT), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        mode, path, n = args.measure
        print(json.dumps(_measure(mode, path, int(n))))
        return
    rows, phases = [], []
    roots = ([str(Path(args.baseline).resolve())] if args.baseline else []) + [str(ROOT)]
    for n in (int(p) for p in args.points):
        path = cached_laz(n)
        floor, full = run("read", path, n), run("rasters", path, n)
        rows.append((n, floor, full))
        phases.append((n, run_phases(path, n, roots, args.repeats)))
    print(f"\nLAZ -> 5 rasters (1 m cells, one tile), laspy backend; memory limit {MEMORY_LIMIT_MB} MB")
    print(
        f"{'points':>11} | {'read Mpt/s':>10} {'read MB':>8} | {'rasters Mpt/s':>13} "
        f"{'rasters MB':>10} {'seconds':>8} | {'slowdown vs read':>16} | within limit"
    )
    for n, floor, full in rows:
        r_rate = floor["points"] / floor["seconds"] / 1e6
        f_rate = full["points"] / full["seconds"] / 1e6
        ok = "yes" if full["peak_mb"] < MEMORY_LIMIT_MB else "NO"
        print(
            f"{n:>11,} | {r_rate:>10.2f} {floor['peak_mb']:>8.0f} | {f_rate:>13.2f} "
            f"{full['peak_mb']:>10.0f} {full['seconds']:>8.1f} | "
            f"{full['seconds'] / floor['seconds']:>15.1f}x | {ok}"
        )
    for n, found in phases:
        print_phases(n, found)


ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    # the code measured: this checkout, or the one named by --root (a baseline)
    root = sys.argv[sys.argv.index("--root") + 1] if "--root" in sys.argv else str(ROOT)
    sys.path.insert(0, root)
    main()
