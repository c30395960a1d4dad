"""Benchmark: shade on generated 1 m city DSMs of ~10,000 buildings per km² (5-60 m).

Part 1, the kernels, on a 1 km x 1 km DSM and the same sun positions (Tokyo, 2025):

* ``sweep``: :class:`pipeline.shade.sweep.ShadeCaster` (numba sliding-window sweep, the
  exact reference), one thread and all numba threads;
* ``horizon``: :class:`pipeline.shade.horizon.HorizonCaster` (horizon angles per 2-degree
  sector, interpolated; one thread), its cost *amortised* over the workload: sector
  horizons + one comparison per cell and position. Agreement is the share of cells
  with the same code as the sweep, mean and worst over the positions;
* ``ratti``: :func:`pipeline.shade.sweep.ratti_shade_codes`, the plain numpy Ratti
  shift-and-compare loop on the same ray lattice (the baseline; must be identical to
  the sweep);
* ``classic``: the textbook numpy loop shifting the unsheared raster by
  ``round(k * direction)`` (timing only: it samples slightly different cells).

Workloads: single positions, a whole day at 10-minute steps (equinox, sunrise to sunset)
and four seasons x three slots at 10-minute steps. Times are seconds per sun position
per million cells. Peak memory is the tracemalloc peak of the Python-side arrays of
one call (numba's per-line work arrays are not traced).

Part 2, a tile as the shadow stage computes it: 1 km x 1 km plus a 200 m halo (1.4 km
square DSM), the default scenarios (4 seasons x 3 slots) plus sun hours, 10-minute
steps, one numba thread, CPU seconds:

* ``per sample, whole raster``: every one of the 523 samples swept over the whole
  raster, halo included: what ``tile_shade`` did until 2026-12;
* ``tile_shade(method="sweep")``: samples shared by a slot and its day computed once
  (310 positions), only the lines crossing the tile swept;
* ``tile_shade()`` (horizon, the default).

Run: ``.venv/bin/python benchmarks/shadow.py`` (about 15 minutes on 2 cores; ``--quick``
times the numpy baselines and the before-stage on every 6th position only and scales them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import time
import tracemalloc

import numba
import numpy as np

from pipeline.geo.raster import Grid
from pipeline.shade.horizon import HorizonCaster
from pipeline.shade.schedule import tile_schedule
from pipeline.shade.shadow import ShadeCaster, ratti_shade_codes, search_geometry, tile_shade
from pipeline.shade.sun import (
    SunPositions,
    daylight_sun_positions,
    default_scenarios,
    grid_centre_lonlat,
    meridian_convergence_deg,
    scenario_sun_positions,
)

TOKYO = (35.6895, 139.6917)
SIZE = 1000  # cells of 1 m
HALO = 200  # cells of 1 m around the tile of part 2


def city_dsm(seed: int = 0, size: int = SIZE) -> np.ndarray:
    """``size`` x ``size`` m at 1 m: lots of 10 m, one building of 4-9 m sides per lot.

    Heights 5-60 m, most low (5 + 55 * Beta(1.3, 5): median ~ 14 m), ground with 0.5 m of
    gentle noise.
    """
    rng = np.random.default_rng(seed)
    dsm = rng.uniform(0.0, 0.5, (size, size))
    lots = size // 10
    for i in range(lots):
        for j in range(lots):
            h, w = rng.integers(4, 10, 2)
            r = i * 10 + rng.integers(0, 10 - h + 1)
            c = j * 10 + rng.integers(0, 10 - w + 1)
            dsm[r : r + h, c : c + w] = 5.0 + 55.0 * rng.beta(1.3, 5.0)
    return dsm


def ratti_classic(
    dsm: np.ndarray, azimuth_deg: float, altitude_deg: float, max_distance_m: float
) -> np.ndarray:
    """Textbook Ratti: shift the raster by round(k * (dx, dy)), lower by k * dz, compare."""
    east, north = math.sin(math.radians(azimuth_deg)), math.cos(math.radians(azimuth_deg))
    scale = max(abs(east), abs(north))
    east, north = east / scale, north / scale
    step = math.hypot(east, north)
    dz = step * math.tan(math.radians(altitude_deg))
    n_rows, n_cols = dsm.shape
    shaded = np.zeros(dsm.shape, dtype=bool)
    for k in range(1, int(max_distance_m / step) + 1):
        dc, dr = int(math.floor(k * east + 0.5)), -int(math.floor(k * north + 0.5))
        if abs(dr) >= n_rows or abs(dc) >= n_cols:
            break
        p = (slice(max(0, -dr), n_rows - max(0, dr)), slice(max(0, -dc), n_cols - max(0, dc)))
        q = (slice(max(0, dr), n_rows - max(0, -dr)), slice(max(0, dc), n_cols - max(0, -dc)))
        shaded[p] |= (dsm[q] - k * dz) > dsm[p]
    return shaded


def above_horizon(positions: SunPositions) -> list[tuple[float, float]]:
    keep = positions.sun_altitude_deg > 0
    return list(zip(positions.sun_azimuth_deg[keep], positions.sun_altitude_deg[keep]))


def run(method, dsm, positions, every: int = 1, clock=time.process_time) -> tuple[float, float, list]:
    """Seconds per position, peak MiB of one call, and the results (every ``every``-th position).

    CPU seconds by default (the machines here are shared); wall seconds for the
    multi-threaded sweep.
    """
    chosen = positions[::every]
    tracemalloc.start()
    method(dsm, *chosen[0])
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    results = []
    started = clock()
    for azimuth, altitude in chosen:
        results.append(np.packbits(method(dsm, azimuth, altitude)))
    seconds = (clock() - started) / max(len(chosen), 1)
    return seconds, peak, results


def run_horizon(dsm, positions) -> tuple[float, float, list]:
    """Amortised seconds per position (sectors + comparisons, one thread), peak MiB, results.

    A fresh caster per workload: the sector horizons it computes are part of the cost.
    Positions are taken in azimuth order, as :meth:`HorizonCaster.accumulate` does.
    """
    order = sorted(range(len(positions)), key=lambda i: positions[i][0])
    tracemalloc.start()
    started = time.process_time()
    caster = HorizonCaster(dsm, 1.0)
    results = [None] * len(positions)
    for i in order:
        results[i] = np.packbits(caster.codes(*positions[i]) == 2)
    seconds = (time.process_time() - started) / len(positions)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak, results


def agreement(a: list, b: list) -> np.ndarray:
    """Share of equal cells per position between two lists of packed boolean rasters."""
    return np.array([np.mean(np.unpackbits(x) == np.unpackbits(y)) for x, y in zip(a, b)])


def kernels(every: int) -> dict[str, float]:
    dsm = city_dsm()
    mcells = dsm.size / 1e6
    scenarios = scenario_sun_positions(default_scenarios(), 2025, *TOKYO)
    multi = [p for positions in scenarios.values() for p in above_horizon(positions)]
    day = above_horizon(daylight_sun_positions(dt.date(2025, 3, 20), *TOKYO))
    single = [(180.0, 30.9), (135.0, 20.0), (240.0, 12.0), (100.0, 45.0)]

    caster = ShadeCaster(dsm, 1.0)  # prepared once per tile, as tile_shade does

    def sweep(d, az, alt):
        return caster.codes(az, alt) == 2

    def ratti(d, az, alt):
        return ratti_shade_codes(d, search_geometry(d, 1.0, az, alt)) == 2

    def classic(d, az, alt):
        geometry = search_geometry(d, 1.0, az, alt)
        return ratti_classic(d, az, alt, geometry.step_m * len(geometry.drop_m))

    sweep(dsm, 180.0, 30.0)  # compile (or load the numba cache) outside the timings
    HorizonCaster(dsm[:50, :50], 1.0).codes(180.0, 30.0)
    threads = numba.get_num_threads()
    print(
        f"Part 1: DSM {SIZE} x {SIZE} cells of 1 m, {(SIZE // 10) ** 2} buildings of 5-60 m; "
        f"numba threads: {threads}; baselines on every {every}th position; "
        "CPU seconds per sun position per million cells ('sweep all': wall seconds)"
    )
    print(
        f"{'workload':<28}{'positions':>10}{'sweep 1 thr':>12}{'sweep all':>10}{'horizon':>10}"
        f"{'ratti':>9}{'classic':>9}{'ratti/sweep1':>13}{'sweep1/horizon':>15}{'sweep=ratti':>12}"
        f"{'horizon agrees':>16}{'peak MiB s/h/r/c':>18}"
    )
    per_position = {}
    for name, positions in (
        ("single positions", single),
        ("whole day, 10 min (equinox)", day),
        ("4 seasons x 3 slots, 10 min", multi),
    ):
        numba.set_num_threads(1)
        t_sweep1, m_sweep, fast = run(sweep, dsm, positions)
        t_horizon, m_horizon, approx = run_horizon(dsm, positions)
        numba.set_num_threads(threads)
        t_sweep_n, _, _ = run(sweep, dsm, positions, clock=time.perf_counter)
        t_ratti, m_ratti, reference = run(ratti, dsm, positions, every)
        t_classic, m_classic, _ = run(classic, dsm, positions, every)
        identical = all(np.array_equal(a, b) for a, b in zip(fast[::every], reference))
        agree = agreement(fast, approx) * 100
        per_position[name] = t_sweep1 / mcells
        t = [v / mcells for v in (t_sweep1, t_sweep_n, t_horizon, t_ratti, t_classic)]
        print(
            f"{name:<28}{len(positions):>10}{t[0]:>12.4f}{t[1]:>10.4f}{t[2]:>10.4f}{t[3]:>9.3f}"
            f"{t[4]:>9.3f}{t[3] / t[0]:>12.1f}x{t[0] / t[2]:>14.1f}x{str(identical):>12}"
            f"{agree.mean():>9.2f}% >{agree.min():.1f}%"
            f"{m_sweep:>6.0f}/{m_horizon:.0f}/{m_ratti:.0f}/{m_classic:.0f}"
        )
    return per_position


def stage_tile(every: int, kernel_per_position: float) -> None:
    size = SIZE + 2 * HALO
    dsm = city_dsm(seed=1, size=size)
    inner = Grid(-60_000.0, -20_000.0, 1.0, SIZE, SIZE, "EPSG:6677")  # Tokyo, zone IX
    grid = inner.buffered(HALO)
    scenarios = default_scenarios()
    lon, lat = grid_centre_lonlat(inner)
    schedule = tile_schedule(scenarios, 2025, lat, lon)
    azimuths = schedule.grid_azimuth_deg(meridian_convergence_deg(grid.crs, lon, lat))
    samples = np.repeat(np.arange(len(schedule)), np.diff(schedule.start))  # position of each sample
    up = samples[schedule.sun_altitude_deg[samples] > 0]
    numba.set_num_threads(1)
    mcells = inner.width * inner.height / 1e6

    # before: every sample swept over the whole raster (the halo included)
    whole = ShadeCaster(dsm, 1.0, max_distance_m=HALO)
    whole.codes(180.0, 30.0)
    started = time.process_time()
    for p in up[::every]:
        whole.codes(azimuths[p], schedule.sun_altitude_deg[p])
    before = (time.process_time() - started) * len(up) / len(up[::every])

    rows = [("per sample, whole raster (before)", before, schedule.samples, None)]
    results = {}
    for method in ("sweep", "horizon"):
        started = time.process_time()
        results[method] = tile_shade(dsm, grid, inner, scenarios, 2025, max_distance_m=HALO, method=method)
        rows.append(
            (f'tile_shade(method="{method}")', time.process_time() - started, len(schedule), results[method])
        )
    exact = results["sweep"]
    print(
        f"\nPart 2: one tile as the stage computes it: {SIZE} x {SIZE} cells of 1 m plus a {HALO} m "
        f"halo, default scenarios + sun hours ({schedule.samples} samples, {len(schedule)} distinct "
        f"positions), one numba thread, CPU seconds; ratio: per sample per million tile cells "
        f"against the kernel's sweep (part 1, 4 seasons x 3 slots)"
    )
    print(
        f"{'path':<36}{'CPU s':>8}{'positions':>10}{'s/sample/Mcell':>16}{'vs kernel':>10}"
        f"{'shade h within 10 min':>23}{'mean |diff| h':>15}"
    )
    for name, seconds, n, result in rows:
        per_sample = seconds / schedule.samples / mcells
        close = diff = ""
        if result is not None:
            d = np.concatenate(
                [
                    np.abs(result.scenarios[k].shade_hours - exact.scenarios[k].shade_hours).ravel()
                    for k in exact.scenarios
                ]
            )
            close, diff = f"{np.mean(d <= 1 / 6 + 1e-6) * 100:.2f}%", f"{d.mean():.4f}"
        print(
            f"{name:<36}{seconds:>8.1f}{n:>10}{per_sample:>16.4f}{per_sample / kernel_per_position:>9.2f}x"
            f"{close:>23}{diff:>15}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="baselines and the before-stage on every 6th position only"
    )
    args = parser.parse_args()
    every = 6 if args.quick else 1
    per_position = kernels(every)
    stage_tile(every, per_position["4 seasons x 3 slots, 10 min"])


if __name__ == "__main__":
    main()
