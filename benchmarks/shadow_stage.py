"""Benchmark: the shadow stage's task on one tile of a run, by shade method, CPU seconds.

Runs :func:`pipeline.stages.shadow.shadow_tile` (what a Dask worker runs per tile: read the
surface rasters, shade every scenario and season's day, write the COGs and the
per-building table) on a tile whose surface stage is done, once with ``method: horizon``
(the default) and once with ``method: sweep`` (the exact reference), with one numba
thread as inside a Dask worker. CPU seconds are the process's (``time.process_time``),
so other engineers' load on the machine inflates the wall clock but hardly the CPU time.
Then the share of each scenario's cell-time on which the two methods' shade hours differ
(mean |difference| / slot hours; sun hours / day length), median and worst.

A phase table follows (CPU seconds per phase of the task, by wrapping the functions each
phase runs; ``other`` is the rest: imports, the schedule's bookkeeping, array copies).
With ``--per-position`` the horizon method's shade codes are also compared with the
sweep's at every sun position of the tile above the horizon (share of the tile's cells
with the same code: mean, time-weighted mean, 5th percentile, worst).

Defaults: the sample run at ``out/sample`` (``make demo``: 1 m cells, 200 m halo, the
default 12 scenarios and 4 seasons' sun hours at 10-minute steps), tile 53396489.

    PYTHONPATH=. .venv/bin/python benchmarks/shadow_stage.py [--run out/sample] [--tile 53396489]
        [--methods horizon sweep] [--per-position]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
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
from pipeline.stages.surface import SurfaceOutputs

ROOT = Path(__file__).resolve().parents[1]


def surface_record(run: Path, tile: str) -> tuple[Record, dict]:
    """The tile's surface record and the run's definition, from the run's manifest."""
    manifest = json.loads((run / "manifest.json").read_text())
    [record] = [r for r in manifest["tasks"].values() if r["stage"] == "surface" and r["tile"] == tile]
    outputs = {
        k: str(run / v) if not Path(v).is_absolute() else v
        for k, v in record["outputs"].items()
        if isinstance(v, str)
    }
    return Record(stage="surface", tile=tile, outputs=SurfaceOutputs.from_json(outputs)), manifest[
        "definition"
    ]


def inner_grid(outer: Grid, halo_m: float) -> Grid:
    """The tile grid inside ``outer`` (its halo removed)."""
    cells = int(round(halo_m / outer.resolution))
    return Grid(
        outer.x_min + cells * outer.resolution,
        outer.y_max - cells * outer.resolution,
        outer.resolution,
        outer.width - 2 * cells,
        outer.height - 2 * cells,
        outer.crs,
    )


#: Phases of the task: label and the functions (``module:attribute``, the attribute may be
#: ``Class.method``) whose calls' CPU time is summed into it. A missing module or function is skipped,
#: so the table survives renames (its row then reads 0).
PHASES = (
    ("read surface rasters", ["pipeline.geo.raster:read_raster"]),
    ("sun schedule", ["pipeline.shade.shadow:tile_schedule"]),
    ("sector horizons", ["pipeline.shade.horizon:_sector_horizons"]),
    (
        "light per position",
        ["pipeline.shade.horizon:_accumulate_light", "pipeline.shade.shadow:_accumulate_sweep"],
    ),
    ("write COGs", ["pipeline.geo.raster:write_cog"]),
    (
        "per-building table",
        [
            "pipeline.shade.shadow:building_shade_summary",
            "pipeline.shade.buildings:building_zones",
            "pipeline.shade.buildings:zone_means",
            "geopandas:read_parquet",
            "geopandas:GeoDataFrame.to_parquet",
        ],
    ),
)


@contextlib.contextmanager
def phase_clock(totals: dict[str, float]):
    """Sum the process CPU time spent inside each :data:`PHASES` function into ``totals``
    (outermost call only, so a phase calling another's function is not counted twice)."""
    patched, depth = [], [0]

    def wrap(label, func):
        def timed(*args, **kwargs):
            if depth[0]:
                return func(*args, **kwargs)
            depth[0] += 1
            start = time.process_time()
            try:
                return func(*args, **kwargs)
            finally:
                totals[label] += time.process_time() - start
                depth[0] -= 1

        return timed

    for label, targets in PHASES:
        totals[label] = 0.0
        for target in targets:
            module, _, path = target.partition(":")
            *classes, attribute = path.split(".")
            try:
                owner = importlib.import_module(module)
            except ModuleNotFoundError:
                continue
            for name in classes:
                owner = getattr(owner, name)
            if not hasattr(owner, attribute):
                continue
            original = getattr(owner, attribute)
            patched.append((owner, attribute, original))
            setattr(owner, attribute, wrap(label, original))
    try:
        yield totals
    finally:
        for owner, attribute, original in reversed(patched):
            setattr(owner, attribute, original)


def timed_task(method: str, tile: str, inner: Grid, out: Path, surface: Record, definition: dict):
    """(CPU s, wall s, result) of one shadow task with one numba thread."""
    settings = ShadowSettings(
        method=method,
        **{k: v for k, v in definition["stages"]["shadow"].items() if k in ("step_minutes", "sun_hours")},
    )
    scenarios = default_scenarios()
    phases: dict[str, float] = {}
    with numba_threads(1), phase_clock(phases):
        cpu, wall = time.process_time(), time.perf_counter()
        result = shadow_tile(
            tile,
            inner,
            str(out / method),
            settings=settings,
            scenarios=scenarios,
            year=int(definition.get("scenarios", definition["stages"]["shadow"])["year"]),
            halo_m=float(definition["grid"]["halo_m"]),
            timezone=definition.get("timezone", "Asia/Tokyo"),
            surface=[surface],
        )
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    phases["other"] = cpu - sum(phases.values())
    return cpu, wall, result, phases


def disagreement(horizon, sweep) -> list[float]:
    """Per scenario and season: mean |horizon - sweep| over the tile / the period's hours."""
    shares = []
    for kind in ("shade_hours", "sun_hours"):
        for name, path in getattr(sweep.outputs, kind).items():
            exact, _, _ = read_raster(path)
            fast, _, _ = read_raster(getattr(horizon.outputs, kind)[name])
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
        tile_shade(
            dsm,
            small.buffered(20 * inner.resolution),
            small,
            default_scenarios()[:1],
            2026,
            canopy_top=canopy,
            step_minutes=60,
            sun_hours=False,
            method=method,
            max_distance_m=20 * inner.resolution,
        )


def per_position_agreement(surface: Record, inner: Grid, definition: dict) -> dict[str, float]:
    """Share of the tile's cells where the horizon method's shade code equals the sweep's,
    over every sun position of the tile's schedule above the horizon (the stage's own
    surface, settings and schedule; numba's default threads, not timed)."""
    from pipeline.shade.horizon import HorizonCaster
    from pipeline.shade.schedule import tile_schedule
    from pipeline.shade.shadow import inner_window
    from pipeline.shade.sun import grid_centre_lonlat, meridian_convergence_deg
    from pipeline.shade.sweep import ShadeCaster

    shadow = definition["stages"]["shadow"]
    settings = ShadowSettings(
        **{k: v for k, v in shadow.items() if k in ("step_minutes", "sun_hours", "sector_deg")}
    )
    dsm, outer, _ = read_raster(surface.outputs["dsm"])
    canopy, _, _ = read_raster(surface.outputs["canopy"])
    window = inner_window(outer, inner)
    lon, lat = grid_centre_lonlat(inner)
    schedule = tile_schedule(
        default_scenarios(),
        int(definition.get("scenarios", shadow)["year"]),
        lat,
        lon,
        step_minutes=settings.step_minutes,
        timezone=definition.get("timezone", "Asia/Tokyo"),
        sun_hours=settings.sun_hours,
    )
    azimuths = schedule.grid_azimuth_deg(meridian_convergence_deg(outer.crs, lon, lat))
    altitudes = schedule.sun_altitude_deg
    halo_m = float(definition["grid"]["halo_m"])
    sweep = ShadeCaster(dsm, outer.resolution, canopy_top=canopy, max_distance_m=halo_m, window=window)
    horizon = HorizonCaster(
        dsm,
        outer.resolution,
        canopy_top=canopy,
        max_distance_m=halo_m,
        window=window,
        sector_deg=settings.sector_deg,
    )
    up = np.flatnonzero(altitudes > 0)
    up = up[np.argsort(azimuths[up], kind="stable")]  # each sector computed once
    same = np.array(
        [
            np.mean(horizon.codes(azimuths[p], altitudes[p]) == sweep.codes(azimuths[p], altitudes[p]))
            for p in up
        ]
    )
    hours = np.add.reduceat(schedule.weight_hours, schedule.start[:-1])[up]
    return {
        "positions": float(up.size),
        "mean": float(same.mean()),
        "time-weighted": float(np.average(same, weights=hours)),
        "5th percentile": float(np.percentile(same, 5)),
        "worst": float(same.min()),
        "worst at altitude": float(altitudes[up][same.argmin()]),
        "mean above 5 degrees": float(same[altitudes[up] >= 5].mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=ROOT / "out" / "sample")
    parser.add_argument("--tile", default="53396489")
    parser.add_argument("--methods", nargs="+", choices=("horizon", "sweep"), default=["horizon", "sweep"])
    parser.add_argument(
        "--per-position",
        action="store_true",
        help="also compare the methods' shade codes at every sun position",
    )
    args = parser.parse_args()
    surface, definition = surface_record(args.run, args.tile)
    _, outer, _ = read_raster(surface.outputs["dsm"])
    inner = inner_grid(outer, float(definition["grid"]["halo_m"]))
    print(
        f"date {dt.date.today()}, run {args.run}, tile {args.tile}: {inner.width} x {inner.height} "
        f"cells of {inner.resolution} m plus a {definition['grid']['halo_m']} m halo; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        warm_up(inner)
        results, phases = {}, {}
        print("| shadow task, one tile | CPU s | wall s | of which shading, wall s |")
        print("|---|---:|---:|---:|")
        for method in args.methods:
            cpu, wall, result, phases[method] = timed_task(method, args.tile, inner, out, surface, definition)
            results[method] = result
            print(f"| `method: {method}` | {cpu:.1f} | {wall:.1f} | {result.details['pass_seconds']:.1f} |")
        print()
        print("| phase, CPU s | " + " | ".join(f"`{m}`" for m in args.methods) + " |")
        print("|---|" + "---:|" * len(args.methods))
        for label in phases[args.methods[0]]:
            print(f"| {label} | " + " | ".join(f"{phases[m][label]:.2f}" for m in args.methods) + " |")
        print(
            "| **total** | " + " | ".join(f"**{sum(phases[m].values()):.2f}**" for m in args.methods) + " |"
        )
        if set(args.methods) == {"horizon", "sweep"}:
            shares = disagreement(results["horizon"], results["sweep"])
            print(
                f"cell-time where the methods differ: median {np.median(shares):.2%}, worst {max(shares):.2%} "
                f"over {len(shares)} scenarios and seasons"
            )
    if args.per_position:
        agreement = per_position_agreement(surface, inner, definition)
        print(
            "cells with the sweep's shade code, per sun position: "
            + ", ".join(
                f"{k} {v:.0f}"
                if k == "positions"
                else f"{k} {v:.1f}"
                if k.startswith("worst at")
                else f"{k} {v:.2%}"
                for k, v in agreement.items()
            )
        )


if __name__ == "__main__":
    main()
