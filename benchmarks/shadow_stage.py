"""Benchmark: the shadow stage's task on one tile of a run, by shade method, CPU seconds.

Runs :func:`pipeline.stages.shadow.shadow_tile` (what a Dask worker runs per tile: read the
surface rasters, shade every scenario and season's day, write the COGs and the
per-building table) on a tile whose surface stage is done, once with ``method: horizon``
(the default) and once with ``method: sweep`` (the exact reference), with one numba
thread as inside a Dask worker. CPU seconds are the process's (``time.process_time``),
so other engineers' load on the machine inflates the wall clock but hardly the CPU time.
Then the share of each scenario's cell-time on which the two methods' shade hours differ
(mean |difference| / slot hours; sun hours / day length), median and worst.

Defaults: the sample run at ``out/sample`` (``make demo``: 1 m cells, 200 m halo, the
default 12 scenarios and 4 seasons' sun hours at 10-minute steps), tile 53396489.

    PYTHONPATH=. .venv/bin/python benchmarks/shadow_stage.py [--run out/sample] [--tile 53396489]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from pipeline.core.task import Record
from pipeline.geo.raster import Grid, read_raster
from pipeline.shade.sun import default_scenarios
from pipeline.stages.common import numba_threads
from pipeline.stages.shadow import ShadowSettings, shadow_tile

ROOT = Path(__file__).resolve().parents[1]


def surface_record(run: Path, tile: str) -> tuple[Record, dict]:
    """The tile's surface record and the run's definition, from the run's manifest."""
    manifest = json.loads((run / "manifest.json").read_text())
    [record] = [r for r in manifest["tasks"].values() if r["stage"] == "surface" and r["tile"] == tile]
    outputs = {k: str(run / v) if not Path(v).is_absolute() else v
               for k, v in record["outputs"].items() if isinstance(v, str)}
    return Record(stage="surface", tile=tile, outputs=outputs), manifest["definition"]


def inner_grid(outer: Grid, halo_m: float) -> Grid:
    """The tile grid inside ``outer`` (its halo removed)."""
    cells = int(round(halo_m / outer.resolution))
    return Grid(outer.x_min + cells * outer.resolution, outer.y_max - cells * outer.resolution,
                outer.resolution, outer.width - 2 * cells, outer.height - 2 * cells, outer.crs)


def timed_task(method: str, tile: str, inner: Grid, out: Path, surface: Record, definition: dict):
    """(CPU s, wall s, result) of one shadow task with one numba thread."""
    settings = ShadowSettings(method=method, **{k: v for k, v in definition["stages"]["shadow"].items()
                                                if k in ("step_minutes", "sun_hours")})
    scenarios = default_scenarios()
    with numba_threads(1):
        cpu, wall = time.process_time(), time.perf_counter()
        result = shadow_tile(tile, inner, str(out / method), settings=settings, scenarios=scenarios,
                             year=int(definition.get("scenarios", definition["stages"]["shadow"])["year"]),
                             halo_m=float(definition["grid"]["halo_m"]),
                             timezone=definition.get("timezone", "Asia/Tokyo"), surface=[surface])
        return time.process_time() - cpu, time.perf_counter() - wall, result


def disagreement(horizon, sweep) -> list[float]:
    """Per scenario and season: mean |horizon - sweep| over the tile / the period's hours."""
    shares = []
    for kind in ("shade_hours", "sun_hours"):
        for name, path in sweep.outputs[kind].items():
            exact, _, _ = read_raster(path)
            fast, _, _ = read_raster(horizon.outputs[kind][name])
            period = 3.0 if kind == "shade_hours" else float(np.nanmax(exact))
            shares.append(float(np.nanmean(np.abs(fast - exact))) / period)
    return shares


def warm_up(inner: Grid) -> None:
    """Load (or compile) every numba kernel of both methods on a small raster, untimed."""
    from pipeline.shade.shadow import tile_shade

    small = Grid(inner.x_min, inner.y_max, inner.resolution, 32, 32, inner.crs)
    dsm = np.zeros((72, 72))
    dsm[30:40, 30:40] = 10.0
    canopy = np.full(dsm.shape, np.nan)
    canopy[45:48, 20:50] = 8.0
    for method in ("horizon", "sweep"):
        tile_shade(dsm, small.buffered(20 * inner.resolution), small, default_scenarios()[:1], 2026,
                   canopy_top=canopy, step_minutes=60, sun_hours=False, method=method,
                   max_distance_m=20 * inner.resolution)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=ROOT / "out" / "sample")
    parser.add_argument("--tile", default="53396489")
    args = parser.parse_args()
    surface, definition = surface_record(args.run, args.tile)
    _, outer, _ = read_raster(surface.outputs["dsm"])
    inner = inner_grid(outer, float(definition["grid"]["halo_m"]))
    print(f"date {dt.date.today()}, run {args.run}, tile {args.tile}: {inner.width} x {inner.height} "
          f"cells of {inner.resolution} m plus a {definition['grid']['halo_m']} m halo; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        warm_up(inner)
        results = {}
        print("| shadow task, one tile | CPU s | wall s | of which shading, wall s |")
        print("|---|---:|---:|---:|")
        for method in ("horizon", "sweep"):
            cpu, wall, result = timed_task(method, args.tile, inner, out, surface, definition)
            results[method] = result
            print(f"| `method: {method}` | {cpu:.1f} | {wall:.1f} | {result.details['shade_seconds']:.1f} |")
        shares = disagreement(results["horizon"], results["sweep"])
    print(f"cell-time where the methods differ: median {np.median(shares):.2%}, worst {max(shares):.2%} "
          f"over {len(shares)} scenarios and seasons")


if __name__ == "__main__":
    main()
