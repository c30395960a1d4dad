"""Benchmark: UTCI of a tile's cells with one station wind against a pedestrian wind per cell.

On the sample run's sky view factor of one tile (``out/sample/thermal/<tile>/svf.tif`` of the repository,
a third-level mesh at 1 m; a random SVF field of 1000 x 1000 cells when it is absent) and a
Tmrt field of heat-day noon's range (30-70 °C), one time step at Ta 34 °C, RH 50 %, station
wind 2.3 m/s:

* ``one wind``: :func:`pipeline.thermal.utci.utci_uniform_air` with the station's 10 m wind
  for every cell (the lattice of Tmrt alone);
* ``wind per cell``: the same with ``2.3 * utci_wind_factor(svf)`` (the bilinear lattice of
  Tmrt and wind, :mod:`pipeline.thermal.wind`);
* ``direct``: pythermalcomfort per cell (:func:`pipeline.thermal.utci.utci`).

Prints seconds (median of 5), the largest error of each lattice against the direct values
on the same cells, and the spread of the per-cell wind.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/utci_wind.py [--svf path/to/svf.tif]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from pipeline.thermal.utci import utci, utci_uniform_air
from pipeline.thermal.wind import utci_wind_factor

SAMPLE_SVF = Path(__file__).resolve().parent.parent / "out" / "sample" / "thermal" / "53396489" / "svf.tif"
AIR_C, HUMIDITY_PCT, STATION_WIND_MS = 34.0, 50.0, 2.3


def seconds(func, repeat: int = 5) -> tuple[float, np.ndarray]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--svf", type=Path, default=SAMPLE_SVF)
    args = parser.parse_args()
    rng = np.random.default_rng(11)
    if args.svf.is_file():
        from pipeline.geo.raster import read_raster

        svf, _, _ = read_raster(args.svf)
        where = f"{args.svf}"
    else:
        svf = np.clip(rng.normal(0.85, 0.15, (1000, 1000)), 0.0, 1.0)
        where = "random SVF field (sample run absent)"
    tmrt = rng.uniform(30.0, 70.0, svf.shape).astype(np.float32)
    wind = (STATION_WIND_MS * utci_wind_factor(svf)).astype(np.float32)
    t_one, one = seconds(lambda: utci_uniform_air(AIR_C, tmrt, STATION_WIND_MS, HUMIDITY_PCT))
    t_cell, cell = seconds(lambda: utci_uniform_air(AIR_C, tmrt, wind, HUMIDITY_PCT))
    t_direct, direct_cell = seconds(lambda: utci(AIR_C, tmrt, wind, HUMIDITY_PCT), repeat=3)
    direct_one = utci(AIR_C, tmrt, STATION_WIND_MS, HUMIDITY_PCT)
    print(f"cells: {svf.size:,} ({where})")
    print(
        f"per-cell equivalent 10 m wind, m/s: p10 {np.nanpercentile(wind, 10):.2f}, "
        f"median {np.nanmedian(wind):.2f}, p90 {np.nanpercentile(wind, 90):.2f}, min {np.nanmin(wind):.2f}"
    )
    print("| evaluation | seconds | max error vs direct, K |")
    print("|---|---|---|")
    print(f"| one wind (lattice of Tmrt) | {t_one:.3f} | {np.nanmax(np.abs(one - direct_one)):.4f} |")
    print(
        f"| wind per cell (lattice of Tmrt x wind) | {t_cell:.3f} | {np.nanmax(np.abs(cell - direct_cell)):.4f} |"
    )
    print(f"| direct, pythermalcomfort per cell | {t_direct:.3f} | 0 |")
    print(f"mean UTCI, one wind {np.nanmean(one):.2f} °C, wind per cell {np.nanmean(cell):.2f} °C")


if __name__ == "__main__":
    main()
