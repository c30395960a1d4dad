"""Benchmark: thermal comfort of one tile (SVF, Tmrt, UTCI) against the shadow stage, and against SOLWEIG.

Part 1, one tile of the sample run (``/work/main/out/sample/surface/<tile>_dsm.tif`` and its
canopy, a third-level mesh of about 1.1 x 0.9 km at 1 m with a 200 m halo; a generated
city of the same size when the sample run is absent), the heat day's midday slot (18 sun
positions at 10 minutes, as the shadow stage):

* baseline: :func:`pipeline.shade.shadow.tile_shade` for that scenario (the shadow stage's
  work per scenario, without sun hours);
* the sky view factor, once per tile (:func:`pipeline.thermal.tile.tile_sky_view`);
* the thermal scenario (:func:`pipeline.thermal.tile.thermal_scenarios`: shade, Tmrt, UTCI
  and accumulation at each of the 18 steps), and its parts per step, timed alone (median
  of 3): shade codes, Tmrt, UTCI;
* a whole tile of 12 scenarios: the thermal stage's work (SVF + one pass over every
  scenario's steps) against the shadow stage's (every scenario and season's day in one
  call); the peak of the Python-side arrays of one thermal scenario (tracemalloc).
  Before and after the one-pass thermal, in one process: ``benchmarks/shade_thermal.py``.

Part 2, SOLWEIG (``solweig`` 0.1.0b96 from PyPI, the Rust port of UMEP; GPL, installed with
the ``bench`` extra, skipped when absent), CPU only, isotropic sky (the scheme Machi
simplifies), on a window of the same DSM (buildings only, SOLWEIG is much slower) with
identical inputs at every step: sun altitude and grid azimuth, direct and diffuse
irradiance, air temperature, humidity and wind, the day's highest sun. Reported: the
preparation (SOLWEIG's walls and SVF against Machi's SVF), seconds per time step, and how
far the two Tmrt and UTCI means agree on the window's interior.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/thermal.py`` (about 10 minutes on 2 cores;
``--solweig-window 200`` for a quicker comparison).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import numba
import numpy as np

from pipeline.geo.raster import Grid, read_raster
from pipeline.shade.shadow import ShadeCaster, inner_window, light_fraction, tile_shade
from pipeline.shade.sun import (Scenario, Season, TimeSlot, default_scenarios, grid_centre_lonlat,
                                meridian_convergence_deg, slot_sun_positions)
from pipeline.thermal.radiation import clear_sky_irradiance
from pipeline.thermal.tile import thermal_scenarios, thermal_tile, tile_sky_view
from pipeline.thermal.tmrt import DayHeating, SkyGeometry, mean_radiant_temperature
from pipeline.thermal.tmrt_compiled import mean_radiant_temperature_compiled
from pipeline.thermal.utci import utci_uniform_air
from pipeline.thermal.weather import read_weather, scenario_weather

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = Path("/work/main/out/sample/surface")
NORMALS = ROOT / "sample_data" / "weather" / "kumagaya_normals_1991_2020.csv"
HEAT_DAY = Season("heat_day", 8, 5)
MIDDAY = Scenario(HEAT_DAY, TimeSlot("midday", "11:00", "14:00"))
YEAR = 2026


def load_tile(tile: str, halo_m: float) -> tuple[np.ndarray, np.ndarray | None, Grid, Grid, str]:
    """DSM, canopy, outer and inner grids of a sample tile, or a generated city of that size."""
    dsm_path = SAMPLE / f"{tile}_dsm.tif"
    if dsm_path.is_file():
        dsm, outer, _ = read_raster(dsm_path)
        canopy, _, _ = read_raster(SAMPLE / f"{tile}_canopy.tif")
        source = f"sample tile {tile} ({dsm_path})"
    else:
        rng = np.random.default_rng(0)
        outer = Grid(-20335.0, -9747.0, 1.0, 1532, 1328, "EPSG:6677")
        dsm = rng.uniform(10.0, 10.5, outer.shape)
        for r in range(0, outer.height - 10, 10):
            for c in range(0, outer.width - 10, 10):
                h, w = rng.integers(4, 10, 2)
                dsm[r:r + h, c:c + w] = 10.0 + 5.0 + 55.0 * rng.beta(1.3, 5.0)
        canopy = None
        source = "generated city (no sample run found)"
    cells = int(round(halo_m / outer.resolution))
    inner = Grid(outer.x_min + cells * outer.resolution, outer.y_max - cells * outer.resolution,
                 outer.resolution, outer.width - 2 * cells, outer.height - 2 * cells, outer.crs)
    dsm = np.asarray(dsm, dtype=np.float64)
    canopy = np.asarray(canopy, dtype=np.float64) if canopy is not None and np.isfinite(canopy).any() else None
    return dsm, canopy, outer, inner, source


def seconds(fn, repeat: int = 1):
    """(median seconds, last result) of ``repeat`` calls."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def table(title: str, header: tuple[str, ...], rows: list[tuple]) -> None:
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def warm_up(weather) -> None:
    """Run every numba kernel once on a small raster, so compilation is never timed."""
    small = Grid(-20000.0, -10000.0, 1.0, 32, 32, "EPSG:6677")
    dsm = np.zeros((72, 72))
    dsm[30:40, 30:40] = 10.0
    tile_shade(dsm, small.buffered(20), small, [MIDDAY], YEAR, sun_hours=False)
    thermal_tile(dsm, small.buffered(20), small, [MIDDAY], YEAR, weather, step_minutes=60)


def part_tile(args, weather) -> None:
    dsm, canopy, outer, inner, source = load_tile(args.tile, args.halo)
    print(f"tile: {source}; outer {outer.width} x {outer.height}, inner {inner.width} x {inner.height} cells "
          f"at {outer.resolution} m")

    t_shadow, _ = seconds(lambda: tile_shade(dsm, outer, inner, [MIDDAY], YEAR, canopy_top=canopy,
                                             max_distance_m=args.halo, sun_hours=False))
    t_svf, sky = seconds(lambda: tile_sky_view(dsm, outer, inner, canopy_top=canopy))
    tracemalloc.start()
    t_scenario, _ = seconds(lambda: list(thermal_scenarios(
        dsm, outer, inner, [MIDDAY], YEAR, weather, canopy_top=canopy, sky_view=sky, max_distance_m=args.halo)))
    peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()

    # one step near 12:30, its parts alone
    lon, lat = grid_centre_lonlat(inner)
    positions = slot_sun_positions(HEAT_DAY.date(YEAR), TimeSlot("x", "12:20", "12:30"), lat, lon)
    azimuth = float(positions.grid_azimuth_deg(meridian_convergence_deg(outer.crs, lon, lat))[0])
    altitude = float(positions.sun_altitude_deg[0])
    caster = ShadeCaster(dsm, outer.resolution, canopy_top=canopy, max_distance_m=args.halo,
                         window=inner_window(outer, inner))
    caster.codes(azimuth, altitude)        # the turned copies, made once per tile
    t_codes, codes = seconds(lambda: caster.codes(azimuth, altitude), 3)
    share = light_fraction(codes, 0.2)
    geometry = SkyGeometry.from_svf(sky.with_trees(0.2))
    irradiance = clear_sky_irradiance(positions, lat, lon)
    steps = scenario_weather(weather, HEAT_DAY.date(YEAR), positions.timestamps, latitude=lat, longitude=lon)
    heating = DayHeating.for_date(HEAT_DAY.date(YEAR), lat, lon).ground_and_wall(
        positions.timestamps[0].tz_convert("Asia/Tokyo"), altitude)
    t_tmrt, tmrt = seconds(lambda: mean_radiant_temperature(
        svf=geometry, sun_share=share, sun_altitude_deg=altitude, dni_wm2=float(irradiance.dni_wm2[0]),
        dhi_wm2=float(irradiance.dhi_wm2[0]), air_temperature_c=float(steps.air_temperature_c[0]),
        relative_humidity_pct=float(steps.relative_humidity_pct[0]), ground_heating_k=heating[0],
        wall_heating_k=heating[1]), 3)
    t_tmrt_compiled, _ = seconds(lambda: mean_radiant_temperature_compiled(
        svf=geometry, sun_share=share, sun_altitude_deg=altitude, dni_wm2=float(irradiance.dni_wm2[0]),
        dhi_wm2=float(irradiance.dhi_wm2[0]), air_temperature_c=float(steps.air_temperature_c[0]),
        relative_humidity_pct=float(steps.relative_humidity_pct[0]), ground_heating_k=heating[0],
        wall_heating_k=heating[1]), 3)
    t_utci, _ = seconds(lambda: utci_uniform_air(float(steps.air_temperature_c[0]), tmrt,
                                                 float(steps.wind_speed_ms[0]),
                                                 float(steps.relative_humidity_pct[0])), 3)
    scenarios = default_scenarios()
    n_scenarios = len(scenarios)
    t_tile_shadow, _ = seconds(lambda: tile_shade(dsm, outer, inner, scenarios, YEAR, canopy_top=canopy,
                                                  max_distance_m=args.halo, sun_hours=True))
    t_tile_steps, _ = seconds(lambda: dict(thermal_scenarios(
        dsm, outer, inner, scenarios, YEAR, weather, canopy_top=canopy, sky_view=sky, max_distance_m=args.halo)))
    tile_thermal = t_svf + t_tile_steps
    rows = [
        ("shadow stage: 1 scenario, 18 sun positions (baseline)", f"{t_shadow:.2f}", "1.00"),
        ("sky view factor, 36 azimuths (once per tile)", f"{t_svf:.2f}", f"{t_svf / t_shadow:.2f}"),
        ("thermal: 1 scenario, 18 steps (shade, Tmrt, UTCI, accumulate)", f"{t_scenario:.2f}",
         f"{t_scenario / t_shadow:.2f}"),
        ("  per step: shade codes", f"{t_codes:.3f}", f"{t_codes * 18 / t_shadow:.2f} (x 18)"),
        ("  per step: Tmrt, numpy scheme", f"{t_tmrt:.3f}", f"{t_tmrt * 18 / t_shadow:.2f} (x 18)"),
        ("  per step: Tmrt, compiled (what the pass runs)", f"{t_tmrt_compiled:.3f}",
         f"{t_tmrt_compiled * 18 / t_shadow:.2f} (x 18)"),
        ("  per step: UTCI (pythermalcomfort on a 0.05 K Tmrt lattice)", f"{t_utci:.3f}",
         f"{t_utci * 18 / t_shadow:.2f} (x 18)"),
        (f"tile, {n_scenarios} scenarios and 4 days' sun hours: shadow stage (one call)", f"{t_tile_shadow:.1f}",
         "1.00"),
        (f"tile, {n_scenarios} scenarios: thermal (SVF + one pass over every scenario's steps)",
         f"{tile_thermal:.1f}", f"{tile_thermal / t_tile_shadow:.2f}"),
        ("tile: shadow + thermal", f"{t_tile_shadow + tile_thermal:.1f}",
         f"{(t_tile_shadow + tile_thermal) / t_tile_shadow:.2f}"),
    ]
    table(f"Thermal comfort per tile against the shadow stage ({inner.width} x {inner.height} cells, "
          f"heat day midday; peak Python-side arrays of one thermal scenario {peak_mb:.0f} MB)",
          ("work", "seconds", "vs shadow stage"), rows)


def built_up_window(dsm: np.ndarray, size: int, step: int = 50) -> tuple[int, int]:
    """(row, col) of the ``size``-cell square with the most building cells (4 m above the
    tile's 10th-percentile height), away from the raster's edge."""
    built = dsm > np.percentile(dsm, 10) + 4.0
    best, corner = -1.0, (0, 0)
    for r in range(step, dsm.shape[0] - size - step, step):
        for c in range(step, dsm.shape[1] - size - step, step):
            share = built[r:r + size, c:c + size].mean()
            if share > best:
                best, corner = share, (r, c)
    return corner


def solweig_weather(positions, azimuth_grid, irradiance, steps, altmax, step_minutes):
    import solweig

    out = []
    for k, moment in enumerate(positions.timestamps.tz_convert("Asia/Tokyo")):
        end = (moment + np.timedelta64(int(step_minutes * 30), "s")).tz_localize(None).to_pydatetime()
        out.append(solweig.Weather(
            datetime=end, ta=float(steps.air_temperature_c[k]), rh=float(steps.relative_humidity_pct[k]),
            global_rad=float(irradiance.ghi_wm2[k]), ws=float(steps.wind_speed_ms[k]),
            timestep_minutes=step_minutes, measured_direct_rad=float(irradiance.dni_wm2[k]),
            measured_diffuse_rad=float(irradiance.dhi_wm2[k]),
            precomputed_sun_altitude=float(positions.sun_altitude_deg[k]),
            precomputed_sun_azimuth=float(azimuth_grid[k]), precomputed_altmax=altmax))
    return out


def part_solweig(args, weather) -> None:
    try:
        import solweig
    except ImportError:
        print("\nsolweig is not installed (pip install -e '.[bench]'): SOLWEIG comparison skipped")
        return
    solweig.disable_gpu()
    dsm, _, outer, inner, source = load_tile(args.tile, args.halo)
    size, margin = args.solweig_window, 50
    r0, c0 = built_up_window(dsm, size)
    window = np.ascontiguousarray(dsm[r0:r0 + size, c0:c0 + size])
    w_outer = Grid(outer.x_min + c0 * outer.resolution, outer.y_max - r0 * outer.resolution, outer.resolution,
                   size, size, outer.crs)
    w_inner = Grid(w_outer.x_min + margin, w_outer.y_max - margin, outer.resolution, size - 2 * margin,
                   size - 2 * margin, outer.crs)
    scenario = Scenario(HEAT_DAY, TimeSlot("noon", "12:00", "13:00"))
    step_minutes = 60.0 / args.solweig_steps

    t_svf, sky = seconds(lambda: tile_sky_view(window, w_outer, w_inner))
    t_machi, result = seconds(lambda: thermal_tile(window, w_outer, w_inner, [scenario], YEAR, weather,
                                                   sky_view=sky, step_minutes=step_minutes,
                                                   max_distance_m=float(margin * 4)))
    machi = result.scenarios[scenario.name]

    lon, lat = grid_centre_lonlat(w_inner)
    positions = slot_sun_positions(HEAT_DAY.date(YEAR), scenario.slot, lat, lon, step_minutes=step_minutes)
    azimuth_grid = positions.grid_azimuth_deg(meridian_convergence_deg(outer.crs, lon, lat))
    irradiance = clear_sky_irradiance(positions, lat, lon)
    steps = scenario_weather(weather, HEAT_DAY.date(YEAR), positions.timestamps, latitude=lat, longitude=lon)
    altmax = DayHeating.for_date(HEAT_DAY.date(YEAR), lat, lon).max_sun_altitude_deg
    forcing = solweig_weather(positions, azimuth_grid, irradiance, steps, altmax, step_minutes)
    location = solweig.Location(latitude=lat, longitude=lon, utc_offset=9)
    t_prepare, surface = seconds(lambda: solweig.SurfaceData.prepare(dsm=window.astype(np.float32),
                                                                     pixel_size=outer.resolution))
    with tempfile.TemporaryDirectory() as folder:
        t_solweig, summary = seconds(lambda: solweig.calculate(
            surface, weather=forcing, location=location, output_dir=folder, use_anisotropic_sky=False))
    cut = (slice(margin, size - margin), slice(margin, size - margin))
    theirs_tmrt = np.asarray(summary.tmrt_mean)[cut]
    theirs_utci = np.asarray(summary.utci_mean)[cut]
    ground = window[cut] <= np.percentile(dsm, 10) + 2.0           # streets and yards, not roofs
    sun = np.asarray(summary.sun_hours)[cut] > 0.5 * len(forcing) * step_minutes / 60
    n = len(forcing)
    rows = [
        ("preparation: SVF (Machi) / walls + SVF (SOLWEIG)", f"{t_svf:.2f}", f"{t_prepare:.2f}",
         f"{t_prepare / t_svf:.1f}"),
        (f"per time step ({n} steps)", f"{t_machi / n:.3f}", f"{t_solweig / n:.3f}",
         f"{t_solweig / t_machi:.1f}"),
    ]
    built = (window[cut] > np.percentile(dsm, 10) + 4.0).mean()
    table(f"Machi against SOLWEIG ({source}; the {size} x {size} m window with most buildings "
          f"({built:.0%} of its interior), interior "
          f"{size - 2 * margin} x {size - 2 * margin}; heat day 12:00-13:00, {n} steps)",
          ("work", "Machi s", "SOLWEIG s", "SOLWEIG / Machi"), rows)
    agree = []
    for label, mask in (("ground, all", ground), ("ground in sun", ground & sun),
                        ("ground in shade", ground & ~sun)):
        if mask.sum() < 10:
            continue
        agree.append((label, f"{int(mask.sum())}", f"{machi.tmrt_mean_c[mask].mean():.1f}",
                      f"{theirs_tmrt[mask].mean():.1f}", f"{machi.utci_mean_c[mask].mean():.1f}",
                      f"{theirs_utci[mask].mean():.1f}"))
    r = np.corrcoef(machi.tmrt_mean_c[ground].ravel(), theirs_tmrt[ground].ravel())[0, 1]
    table(f"Mean Tmrt and UTCI on the same cells (°C); Pearson r of Tmrt over ground cells {r:.2f}",
          ("cells", "n", "Tmrt Machi", "Tmrt SOLWEIG", "UTCI Machi", "UTCI SOLWEIG"), agree)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tile", default="53396489")
    parser.add_argument("--halo", type=float, default=200.0)
    parser.add_argument("--solweig-window", type=int, default=300)
    parser.add_argument("--solweig-steps", type=int, default=6)
    parser.add_argument("--skip-tile", action="store_true")
    parser.add_argument("--threads", type=int, default=0, help="numba threads (default: all)")
    args = parser.parse_args()
    if args.threads:
        numba.set_num_threads(args.threads)
    weather = read_weather(NORMALS)
    print(f"date {dt.date.today()}, weather: {NORMALS.name}, numba threads {numba.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    warm_up(weather)
    if not args.skip_tile:
        part_tile(args, weather)
    part_solweig(args, weather)


if __name__ == "__main__":
    main()
