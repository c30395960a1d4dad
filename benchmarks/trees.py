"""Trees from LiDAR: speed per core, accuracy on the sample and on generated harder stands.

Three tables:

1. **Speed**, one process (one core, single-threaded BLAS): trees per second and points per
   second of :func:`pipeline.trees.tile.trees_for_tile` (reading, canopy, tops, crowns,
   metrics) on the sample's four tiles and on a generated dense stand (300 m square, 8
   returns/m²); the GML writing is timed apart.
   The ``trees`` stage's task per sample tile is timed apart (wall and CPU seconds).
2. **The sample** (``sample_data/omiya``, 0.5 returns/m²): F-score, height and crown
   diameter RMSE against the sample's 323 known trees (its veg layer), per window.
3. **Harder stands** (``pipeline.trees.stand.harder_stand``, seeds 1-3: 120 trees on
   100 m x 100 m, heights 5-25 m, overlapping crowns of three shapes, 4 returns/m²):
   F-score of the variable window (Popescu & Wynne 2004, deciduous) against fixed 3 m and
   6 m windows.

Usage::

    python benchmarks/trees.py
    python benchmarks/trees.py --quick      # the sample and one stand only
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from pipeline.geo.raster import Grid  # noqa: E402
from pipeline.trees.canopy import canopy_surface  # noqa: E402
from pipeline.trees.detect import detect_trees  # noqa: E402
from pipeline.trees.existing import read_existing_trees  # noqa: E402
from pipeline.trees.gml import write_veg  # noqa: E402
from pipeline.trees.matching import detection_accuracy  # noqa: E402
from pipeline.trees.parameters import TreeParameters  # noqa: E402
from pipeline.trees.stand import harder_stand, survey, tile_points  # noqa: E402

SAMPLE = ROOT / "sample_data/omiya"


def sample_tiles(params: TreeParameters):
    """trees_for_tile on each of the sample's tiles, as a stage runs them."""
    import pandas as pd

    from pipeline.commands.trees import _meshes
    from pipeline.trees.tile import mesh_grid, trees_for_tile

    laz = SAMPLE / "lidar/omiya_sample.laz"
    results = []
    for mesh, files in _meshes([laz], None).items():
        results.append(trees_for_tile(files, mesh_grid(mesh, "EPSG:6677", params), mesh, params=params))
    trees = pd.concat([r.trees for r in results if len(r.trees)], ignore_index=True)
    return results, trees


def speed_table(quick: bool) -> None:
    print("## Speed, one core\n")
    print("| case | points | trees | seconds | trees/s | points/s |")
    print("|---|---:|---:|---:|---:|---:|")
    params = TreeParameters()
    sample_tiles(params)  # warm numba caches and imports
    started = time.perf_counter()
    results, trees = sample_tiles(params)
    seconds = time.perf_counter() - started
    n_points = sum(r.stats.points_in_tile for r in results)  # tiles read with their halo
    print(
        f"| sample, 4 tiles (read + detect) | {n_points:,} | {len(trees)} | {seconds:.2f} | "
        f"{len(trees) / seconds:.0f} | {n_points / seconds:,.0f} |"
    )
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        write_veg(trees, "EPSG:6677", tmp, acquisition="benchmark")
        seconds = time.perf_counter() - started
    print(f"| sample, GML writing | | {len(trees)} | {seconds:.2f} | {len(trees) / seconds:.0f} | |")
    if quick:
        return
    stand = harder_stand(11, size_m=300.0, n_trees=900)
    pts = survey(stand, (-10, -10, 310, 310), 8.0, np.random.default_rng(11))
    grid = Grid.from_bounds(-10, -10, 310, 310, 0.5, "EPSG:6677")
    tp = tile_points(pts, grid)
    started = time.perf_counter()
    found = detect_trees(canopy_surface(tp, grid), params)
    seconds = time.perf_counter() - started
    print(
        f"| generated stand 320 m, 8 returns/m² (detect) | {len(tp):,} | {len(found)} | "
        f"{seconds:.2f} | {len(found) / seconds:.0f} | {len(tp) / seconds:,.0f} |"
    )


def stage_table() -> None:
    """The ``trees`` stage's task per tile, as a run calls it (read, detect, GML, GeoParquet)."""
    from pipeline.stages.trees import TreesSettings, trees_tile

    print("\n## The `trees` stage's tasks on the sample, one process\n")
    print("| tile | trees | wall seconds | CPU seconds |")
    print("|---|---:|---:|---:|")
    laz = str(SAMPLE / "lidar/omiya_sample.laz")
    settings = TreesSettings(enabled=True)
    with tempfile.TemporaryDirectory() as tmp:
        trees_tile([laz], "53396489", "EPSG:6677", tmp, settings=settings, source_crs=None)  # warm
        walls, cpus = [], []
        for tile in ("53396489", "53396499", "53396580", "53396590"):
            wall, cpu = time.perf_counter(), time.process_time()
            result = trees_tile([laz], tile, "EPSG:6677", tmp, settings=settings, source_crs=None)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            print(f"| {tile} | {result.counts['trees']} | {walls[-1]:.2f} | {cpus[-1]:.2f} |")
    print(f"| all four | | {sum(walls):.2f} | {sum(cpus):.2f} |")


def sample_table() -> None:
    print("\n## The sample against its 323 known trees (0.5 returns/m²)\n")
    print(
        "| window | detected | matched | precision | recall | F | height RMSE (m) | crown diameter RMSE (m) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    known = read_existing_trees(SAMPLE / "udx/veg", "EPSG:6677")
    for name, params in [
        ("variable, deciduous (default)", TreeParameters()),
        ("variable, pines", TreeParameters(window="pines")),
        ("fixed 3 m", TreeParameters(fixed_window_m=3.0)),
        ("fixed 6 m", TreeParameters(fixed_window_m=6.0)),
    ]:
        _, trees = sample_tiles(params)
        a = detection_accuracy(trees, known)
        print(
            f"| {name} | {a.detected} | {a.matched} | {a.precision:.3f} | {a.recall:.3f} | "
            f"{a.f_score:.3f} | {a.height_rmse_m:.2f} | {a.crown_diameter_rmse_m:.2f} |"
        )


def stand_table(quick: bool) -> None:
    print("\n## Harder generated stands (120 trees, 100 m square, 4 returns/m²)\n")
    print(
        "| seed | variable (deciduous) F | fixed 3 m F | fixed 6 m F | variable height RMSE (m) | variable crown RMSE (m) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for seed in (1,) if quick else (1, 2, 3):
        trees = harder_stand(seed)
        pts = survey(trees, (-10, -10, 110, 110), 4.0, np.random.default_rng(seed))
        grid = Grid.from_bounds(-10, -10, 110, 110, 0.5, "EPSG:6677")
        surface = canopy_surface(tile_points(pts, grid), grid)
        variable = detection_accuracy(detect_trees(surface), trees)
        fixed3 = detection_accuracy(detect_trees(surface, TreeParameters(fixed_window_m=3.0)), trees)
        fixed6 = detection_accuracy(detect_trees(surface, TreeParameters(fixed_window_m=6.0)), trees)
        print(
            f"| {seed} | {variable.f_score:.3f} | {fixed3.f_score:.3f} | {fixed6.f_score:.3f} | "
            f"{variable.height_rmse_m:.2f} | {variable.crown_diameter_rmse_m:.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    speed_table(args.quick)
    stage_table()
    sample_table()
    stand_table(args.quick)


if __name__ == "__main__":
    main()
