"""Throughput and peak memory of the 3D Tiles writers on generated inputs.

    .venv/bin/python benchmarks/tiles.py                     # 10k buildings, 5M points
    .venv/bin/python benchmarks/tiles.py --full              # also 100k buildings, 20M points
    .venv/bin/python benchmarks/tiles.py --py3dtiles         # also `py3dtiles convert` on the same LAS

py3dtiles lives in its own environment, on PATH when the benchmark runs:
``python3 -m venv .py3d && .py3d/bin/pip install 'py3dtiles[las]'`` then
``PATH=.py3d/bin:$PATH .venv/bin/python benchmarks/tiles.py --py3dtiles``.

Each case runs in its own process so that its peak RSS is its own. The table gives
buildings (or points) per second, GLB MB/s, peak RSS, and the ratio of each rate to
the baseline row of its kind (the smallest size; for points, py3dtiles when run).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from peak_memory import peak_rss_mb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LON0, LAT0, GROUND_H = 139.70, 35.68, 40.0
M_LAT = 110_940.0


def buildings(n: int, gabled: bool, seed: int = 0):
    """``n`` houses on a square grid with ~25 m spacing: boxes (LOD1) or gabled (LOD2)."""
    from tiles import MeshFeature

    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    m_lon = M_LAT * np.cos(np.radians(LAT0))
    for i in range(n):
        lon = LON0 + (i % side) * 25.0 / m_lon
        lat = LAT0 + (i // side) * 25.0 / M_LAT
        w, d, eave = rng.uniform(8, 16), rng.uniform(8, 14), rng.uniform(6, 30)
        xy = np.array([[0, 0], [w, 0], [w, d], [0, d]])
        ll = np.column_stack([lon + xy[:, 0] / m_lon, lat + xy[:, 1] / M_LAT])
        v = np.vstack(
            [np.column_stack([ll, np.full(4, GROUND_H)]), np.column_stack([ll, np.full(4, GROUND_H + eave)])]
        )
        t = [
            [0, 2, 1],
            [0, 3, 2],
            [0, 1, 5],
            [0, 5, 4],
            [1, 2, 6],
            [1, 6, 5],
            [2, 3, 7],
            [2, 7, 6],
            [3, 0, 4],
            [3, 4, 7],
        ]
        if gabled:
            ridge_lat = lat + d / 2 / M_LAT
            ridge = [[ll[0, 0], ridge_lat, GROUND_H + eave + 3], [ll[1, 0], ridge_lat, GROUND_H + eave + 3]]
            v = np.vstack([v, ridge])
            t += [[4, 5, 9], [4, 9, 8], [6, 7, 8], [6, 8, 9], [5, 6, 9], [7, 4, 8]]
        else:
            t += [[4, 5, 6], [4, 6, 7]]
        yield MeshFeature.single(
            f"b{i}",
            "bldg:Building",
            v,
            np.array(t),
            properties={
                "measuredHeight": eave,
                "uro:建物ID": f"13101-bldg-{i}",
                "storeysAboveGround": int(eave // 3),
            },
        )


def point_chunks(n: int, chunk: int = 1_000_000, seed: int = 0):
    """``n`` points over a 2 km x 2 km undulating surface, in 1M-point chunks."""
    from tiles import PointChunk

    rng = np.random.default_rng(seed)
    m_lon = M_LAT * np.cos(np.radians(LAT0))
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        x, y = rng.uniform(0, 2000, m), rng.uniform(0, 2000, m)
        h = GROUND_H + 15 * np.sin(x / 200) * np.cos(y / 300) + rng.exponential(2, m)
        yield PointChunk(
            np.column_stack([LON0 + x / m_lon, LAT0 + y / M_LAT, h]),
            rgb=None,
            classification=rng.choice([2, 5, 6], m).astype(np.uint8),
            intensity=rng.integers(0, 4000, m).astype(np.uint16),
            return_number=rng.integers(1, 3, m).astype(np.uint8),
        )


def run_case(kind: str, n: int, out: Path) -> dict:
    """Run one case in this process; returns its figures."""
    from tiles import write_mesh_tileset, write_point_tileset

    peak_mb = None
    if kind in ("lod1", "lod2"):
        features = list(buildings(n, gabled=kind == "lod2"))
        started = time.perf_counter()
        summary = write_mesh_tileset(features, out, max_features_per_tile=1000)
    elif kind == "points":
        started = time.perf_counter()
        summary = write_point_tileset(point_chunks(n), out, max_points_per_tile=100_000)
    elif kind == "py3dtiles":
        las = out.parent / "bench.las"
        _write_las(las, n)
        started = time.perf_counter()
        subprocess.run(
            ["py3dtiles", "convert", str(las), "--out", str(out), "--overwrite"],
            check=True,
            capture_output=True,
        )
        summary = None
        # py3dtiles works in child processes: their largest peak, not this process's.
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    else:
        raise ValueError(kind)
    seconds = time.perf_counter() - started
    size = summary.bytes_written if summary else sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {
        "kind": kind,
        "n": n,
        "seconds": seconds,
        "mb": size / 1e6,
        "peak_rss_mb": peak_mb or peak_rss_mb(),
        "tiles": summary.content_count if summary else None,
    }


def _write_las(path: Path, n: int) -> None:
    """The same points as :func:`point_chunks`, as LAS in JGD2011 zone IX (EPSG:6677)."""
    import laspy
    from pyproj import CRS, Transformer

    to_plane = Transformer.from_crs("EPSG:4979", "EPSG:6677", always_xy=True)
    header = laspy.LasHeader(point_format=3, version="1.2")
    header.scales, header.offsets = [0.001] * 3, [-10000, -40000, 0]
    header.add_crs(CRS.from_epsg(6677))
    with laspy.open(path, mode="w", header=header) as writer:
        for chunk in point_chunks(n):
            x, y = to_plane.transform(chunk.xyz[:, 0], chunk.xyz[:, 1])
            record = laspy.ScaleAwarePointRecord.zeros(len(x), header=header)
            record.x, record.y, record.z = x, y, chunk.xyz[:, 2]
            record.classification, record.intensity = chunk.classification, chunk.intensity
            record.return_number = chunk.return_number
            writer.write_points(record)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--full", action="store_true", help="add 100k buildings and 20M points")
    parser.add_argument(
        "--py3dtiles", action="store_true", help="also time `py3dtiles convert` on the same LAS"
    )
    parser.add_argument("--case", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case[0], int(args.case[1]), Path(args.out))))
        return

    cases = [("lod1", 10_000), ("lod2", 10_000), ("points", 5_000_000)]
    if args.full:
        cases[2:2] = [("lod1", 100_000), ("lod2", 100_000)]
        cases.append(("points", 20_000_000))
    notes = []
    if args.py3dtiles:
        if shutil.which("py3dtiles"):
            cases.insert(cases.index(("points", 5_000_000)), ("py3dtiles", 5_000_000))
        else:
            notes.append("py3dtiles not installed in this environment: its baseline row was skipped")
    rows = []
    for kind, n in cases:
        with tempfile.TemporaryDirectory(prefix="tiles-bench-") as tmp:
            done = subprocess.run(
                [sys.executable, __file__, "--case", kind, str(n), "--out", f"{tmp}/out"],
                check=True,
                capture_output=True,
                text=True,
            )
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"  {kind} {n}: {rows[-1]['seconds']:.1f} s", file=sys.stderr)

    baselines = {}
    print(
        f"{'case':<10} {'n':>11} {'seconds':>8} {'items/s':>10} {'MB':>8} {'MB/s':>7} {'peak RSS MB':>12} "
        f"{'rate vs base':>13}"
    )
    for row in rows:
        group = "points" if row["kind"] in ("points", "py3dtiles") else row["kind"]
        rate = row["n"] / row["seconds"]
        baselines.setdefault(group, rate)
        print(
            f"{row['kind']:<10} {row['n']:>11,} {row['seconds']:>8.1f} {rate:>10,.0f} {row['mb']:>8.1f} "
            f"{row['mb'] / row['seconds']:>7.1f} {row['peak_rss_mb']:>12.0f} {rate / baselines[group]:>12.2f}x"
        )
    for note in notes:
        print(f"note: {note}")


if __name__ == "__main__":
    main()
