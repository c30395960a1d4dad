"""Benchmark: shade on a 1 km x 1 km, 1 m DSM with ~10,000 buildings of 5-60 m.

Compares, on the same sun positions (Tokyo, 2025):

* ``sweep``: :func:`pipeline.shade.shadow.shade_codes` (numba sliding-window sweep), with one
  thread and with all numba threads;
* ``ratti``: :func:`pipeline.shade.shadow.ratti_shade_codes`, the plain numpy Ratti
  shift-and-compare loop on the same ray lattice (the baseline; results must be
  identical);
* ``ratti-classic``: the textbook numpy loop shifting the unsheared raster by
  ``round(k * direction)`` (timing only: it samples slightly different cells; about as
  fast per step as the baseline, shown so the baseline is not a straw man).

Workloads: single positions, a whole day at 10-minute steps (equinox, sunrise to
sunset) and four seasons x three slots at 10-minute steps. Peak memory is the
tracemalloc peak of the Python-side arrays of one call (the
prepared caster's turned copies of the DSM, 4 x 8 MB, are made before and not counted) (numba's per-line work arrays,
a few W-long vectors per thread, are not traced).

Run: ``.venv/bin/python benchmarks/shadow.py`` (about 10-15 minutes on 2 cores; ``--quick``
times the numpy baselines on every 6th position only and scales them).
"""
from __future__ import annotations

import argparse
import datetime as dt
import math
import time
import tracemalloc

import numba
import numpy as np

from pipeline.shade.shadow import ShadeCaster, ratti_shade_codes, search_geometry
from pipeline.shade.sun import SunPositions, daylight_sun_positions, default_scenarios, scenario_sun_positions

TOKYO = (35.6895, 139.6917)
SIZE = 1000          # cells of 1 m


def city_dsm(seed: int = 0) -> np.ndarray:
    """1000 x 1000 m at 1 m: 100 x 100 lots of 10 m, one building of 4-9 m sides per lot.

    Heights 5-60 m, most low (5 + 55 * Beta(1.3, 5): median ~ 14 m), ground with 0.5 m of
    gentle noise.
    """
    rng = np.random.default_rng(seed)
    dsm = rng.uniform(0.0, 0.5, (SIZE, SIZE))
    lots = SIZE // 10
    for i in range(lots):
        for j in range(lots):
            h, w = rng.integers(4, 10, 2)
            r = i * 10 + rng.integers(0, 10 - h + 1)
            c = j * 10 + rng.integers(0, 10 - w + 1)
            dsm[r:r + h, c:c + w] = 5.0 + 55.0 * rng.beta(1.3, 5.0)
    return dsm


def ratti_classic(dsm: np.ndarray, azimuth_deg: float, altitude_deg: float, max_distance_m: float) -> np.ndarray:
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


def run(method, dsm, positions, every: int = 1) -> tuple[float, float, list]:
    """Seconds per position, peak MiB of one call, and the results (every ``every``-th position)."""
    chosen = positions[::every]
    tracemalloc.start()
    method(dsm, *chosen[0])
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    results = []
    started = time.perf_counter()
    for azimuth, altitude in chosen:
        results.append(np.packbits(method(dsm, azimuth, altitude)))
    seconds = (time.perf_counter() - started) / max(len(chosen), 1)
    return seconds, peak, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="baselines on every 6th position only")
    args = parser.parse_args()
    every = 6 if args.quick else 1

    dsm = city_dsm()
    n_buildings = (SIZE // 10) ** 2
    scenarios = scenario_sun_positions(default_scenarios(), 2025, *TOKYO)
    multi = [p for positions in scenarios.values() for p in above_horizon(positions)]
    day = above_horizon(daylight_sun_positions(dt.date(2025, 3, 20), *TOKYO))
    single = [(180.0, 30.9), (135.0, 20.0), (240.0, 12.0), (100.0, 45.0)]

    caster = ShadeCaster(dsm, 1.0)      # prepared once per tile, as pipeline.shade.shadow.tile_shade does

    def sweep(d, az, alt):
        return caster.codes(az, alt) == 2

    def ratti(d, az, alt):
        return ratti_shade_codes(d, search_geometry(d, 1.0, az, alt)) == 2

    def classic(d, az, alt):
        return ratti_classic(d, az, alt, search_geometry(d, 1.0, az, alt).step_m * len(
            search_geometry(d, 1.0, az, alt).drop_m))

    sweep(dsm, 180.0, 30.0)           # compile (or load the numba cache) outside the timings
    threads = numba.get_num_threads()
    print(f"DSM {SIZE} x {SIZE} cells of 1 m, {n_buildings} buildings of 5-60 m; "
          f"numba threads: {threads}; baselines on every {every}th position")
    print(f"{'workload':<28}{'positions':>10}{'sweep 1 thr':>13}{'sweep all':>11}{'ratti':>10}"
          f"{'classic':>10}{'ratti/sweep1':>14}{'ratti/sweepN':>14}{'identical':>11}"
          f"{'peak MiB s/r/c':>17}")
    totals = {}
    for name, positions in (("single positions", single), ("whole day, 10 min (equinox)", day),
                            ("4 seasons x 3 slots, 10 min", multi)):
        numba.set_num_threads(1)
        t_sweep1, m_sweep, fast = run(sweep, dsm, positions)
        numba.set_num_threads(threads)
        t_sweep_n, _, _ = run(sweep, dsm, positions)
        t_ratti, m_ratti, reference = run(ratti, dsm, positions, every)
        t_classic, m_classic, _ = run(classic, dsm, positions, every)
        identical = all(np.array_equal(a, b) for a, b in zip(fast[::every], reference))
        totals[name] = (len(positions), t_sweep1, t_sweep_n, t_ratti, t_classic)
        print(f"{name:<28}{len(positions):>10}{t_sweep1:>12.3f}s{t_sweep_n:>10.3f}s{t_ratti:>9.3f}s"
              f"{t_classic:>9.3f}s{t_ratti / t_sweep1:>13.1f}x{t_ratti / t_sweep_n:>13.1f}x"
              f"{str(identical):>11}{m_sweep:>7.0f}/{m_ratti:.0f}/{m_classic:.0f}")
    print("(times are seconds per sun position)")
    for name, (n, t1, tn, tr, tc) in totals.items():
        print(f"{name}: whole workload sweep {n * t1:.1f} s (1 thread), {n * tn:.1f} s (all), "
              f"ratti {n * tr:.1f} s, classic {n * tc:.1f} s")


if __name__ == "__main__":
    main()
