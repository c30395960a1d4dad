"""Benchmark: thermal comfort of one tile (SVF, Tmrt, UTCI) against the shadow stage, and against SOLWEIG.

The run folder is the first argument (default ``out/sample``, relative to the repository):
its ``surface/<tile>_{dsm,canopy,terrain}.tif``. Without it part 1 uses a generated city.

Part 1, one tile (``--tile``, a third-level mesh of about 1.1 x 0.9 km at 1 m with a
200 m halo), the heat day's midday slot (18 sun positions at 10 minutes, as the shadow
stage):

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
simplifies). On every tile of the run (``--solweig-tiles`` to choose), the 300 m window
(``--solweig-window``) whose 200 m interior holds the most tree crowns, at heat-day noon
and at winter-solstice noon (one 10-minute step, design clear sky), with identical inputs:
the DSM, the tree crowns (SOLWEIG's CDSM, heights above the ground, no trunk zone, as
Machi's crowns are opaque from the ground up), sun altitude and grid azimuth, direct and
diffuse irradiance, air temperature, humidity and wind, the day's highest sun, crown
transmissivity 0.03 in leaf and 0.5 bare (SOLWEIG's defaults and Machi's; every crown
deciduous, as SOLWEIG has one tree type). Shadows are searched over the whole window by
both. Reported: Tmrt bias (Machi - SOLWEIG) and RMSE over the interior's ground cells
(DSM within 0.5 m of the terrain) by cell class at that step (sun, building shade, tree
shade, by Machi's shade codes), for today's Machi and, step by step, for its tree physics
before 2026-12-06 (:data:`VARIANTS`).

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/thermal.py [RUN]`` (part 1 about 10 minutes
on 2 cores, part 2 about 1.5 minutes per tile and season; ``--skip-tile`` or
``--skip-solweig`` to run one part).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path
from unittest import mock

import numba
import numpy as np

from pipeline.geo.raster import Grid, read_raster
from pipeline.shade.shadow import (
    CANOPY_SHADE,
    EVERGREEN_SHADE,
    SUNLIT,
    SURFACE_SHADE,
    CanopyTransmissivity,
    ShadeCaster,
    inner_window,
    light_fraction,
    make_caster,
    tile_shade,
)
from pipeline.shade.sun import (
    Scenario,
    Season,
    TimeSlot,
    default_scenarios,
    grid_centre_lonlat,
    meridian_convergence_deg,
    slot_sun_positions,
)
from pipeline.thermal.radiation import clear_sky_irradiance
from pipeline.thermal.tile import (
    ThermalOptions,
    TileSurface,
    shade_and_thermal,
    thermal_scenarios,
    thermal_tile,
    tile_sky_view,
)
from pipeline.thermal.tmrt import DayHeating, SkyGeometry, TmrtParameters, mean_radiant_temperature
from pipeline.thermal.tmrt_compiled import mean_radiant_temperature_compiled
from pipeline.thermal.utci import utci_uniform_air
from pipeline.thermal.weather import read_weather, scenario_weather

ROOT = Path(__file__).resolve().parents[1]
NORMALS = ROOT / "sample_data" / "weather" / "kumagaya_normals_1991_2020.csv"
HEAT_DAY = Season("heat_day", 8, 5)
WINTER = Season("winter_solstice", 12, 21)
MIDDAY = Scenario(HEAT_DAY, TimeSlot("midday", "11:00", "14:00"))
YEAR = 2026


def sample_tiles(run: Path) -> list[str]:
    """Tiles whose surface rasters the run folder holds."""
    return sorted(p.name.removesuffix("_dsm.tif") for p in (run / "surface").glob("*_dsm.tif"))


def load_tile(run: Path, tile: str, halo_m: float) -> tuple[np.ndarray, np.ndarray | None, Grid, Grid, str]:
    """DSM, canopy, outer and inner grids of a tile of the run, or a generated city of that size."""
    dsm_path = run / "surface" / f"{tile}_dsm.tif"
    if dsm_path.is_file():
        dsm, outer, _ = read_raster(dsm_path)
        canopy, _, _ = read_raster(run / "surface" / f"{tile}_canopy.tif")
        source = f"sample tile {tile} ({dsm_path})"
    else:
        rng = np.random.default_rng(0)
        outer = Grid(-20335.0, -9747.0, 1.0, 1532, 1328, "EPSG:6677")
        dsm = rng.uniform(10.0, 10.5, outer.shape)
        for r in range(0, outer.height - 10, 10):
            for c in range(0, outer.width - 10, 10):
                h, w = rng.integers(4, 10, 2)
                dsm[r : r + h, c : c + w] = 10.0 + 5.0 + 55.0 * rng.beta(1.3, 5.0)
        canopy = None
        source = "generated city (no sample run found)"
    cells = int(round(halo_m / outer.resolution))
    inner = Grid(
        outer.x_min + cells * outer.resolution,
        outer.y_max - cells * outer.resolution,
        outer.resolution,
        outer.width - 2 * cells,
        outer.height - 2 * cells,
        outer.crs,
    )
    dsm = np.asarray(dsm, dtype=np.float64)
    canopy = (
        np.asarray(canopy, dtype=np.float64) if canopy is not None and np.isfinite(canopy).any() else None
    )
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
    thermal_tile(
        TileSurface(dsm, small.buffered(20), small),
        [MIDDAY],
        YEAR,
        weather,
        ThermalOptions(step_minutes=60, max_distance_m=20.0),
    )


def part_tile(args, weather) -> None:
    dsm, canopy, outer, inner, source = load_tile(args.run, args.tile, args.halo)
    print(
        f"tile: {source}; outer {outer.width} x {outer.height}, inner {inner.width} x {inner.height} cells "
        f"at {outer.resolution} m"
    )

    t_shadow, _ = seconds(
        lambda: tile_shade(
            dsm, outer, inner, [MIDDAY], YEAR, canopy_top=canopy, max_distance_m=args.halo, sun_hours=False
        )
    )
    surface = TileSurface(dsm, outer, inner, canopy)
    options = ThermalOptions(max_distance_m=args.halo)
    t_svf, sky = seconds(lambda: tile_sky_view(surface))
    tracemalloc.start()
    t_scenario, _ = seconds(
        lambda: list(thermal_scenarios(surface, [MIDDAY], YEAR, weather, options, sky_view=sky))
    )
    peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()

    # one step near 12:30, its parts alone
    lon, lat = grid_centre_lonlat(inner)
    positions = slot_sun_positions(HEAT_DAY.date(YEAR), TimeSlot("x", "12:20", "12:30"), lat, lon)
    azimuth = float(positions.grid_azimuth_deg(meridian_convergence_deg(outer.crs, lon, lat))[0])
    altitude = float(positions.sun_altitude_deg[0])
    caster = ShadeCaster(
        dsm, outer.resolution, canopy_top=canopy, max_distance_m=args.halo, window=inner_window(outer, inner)
    )
    caster.codes(azimuth, altitude)  # the turned copies, made once per tile
    t_codes, codes = seconds(lambda: caster.codes(azimuth, altitude), 3)
    share = light_fraction(codes, 0.03)
    geometry = SkyGeometry.from_svf(sky.with_trees(0.03))
    irradiance = clear_sky_irradiance(positions, lat, lon)
    steps = scenario_weather(weather, HEAT_DAY.date(YEAR), positions.timestamps, latitude=lat, longitude=lon)
    heating = DayHeating.for_date(HEAT_DAY.date(YEAR), lat, lon).ground_and_wall(
        positions.timestamps[0].tz_convert("Asia/Tokyo"), altitude
    )
    t_tmrt, tmrt = seconds(
        lambda: mean_radiant_temperature(
            svf=geometry,
            sun_share=share,
            sun_altitude_deg=altitude,
            dni_wm2=float(irradiance.dni_wm2[0]),
            dhi_wm2=float(irradiance.dhi_wm2[0]),
            air_temperature_c=float(steps.air_temperature_c[0]),
            relative_humidity_pct=float(steps.relative_humidity_pct[0]),
            ground_heating_k=heating[0],
            wall_heating_k=heating[1],
        ),
        3,
    )
    t_tmrt_compiled, _ = seconds(
        lambda: mean_radiant_temperature_compiled(
            svf=geometry,
            sun_share=share,
            sun_altitude_deg=altitude,
            dni_wm2=float(irradiance.dni_wm2[0]),
            dhi_wm2=float(irradiance.dhi_wm2[0]),
            air_temperature_c=float(steps.air_temperature_c[0]),
            relative_humidity_pct=float(steps.relative_humidity_pct[0]),
            ground_heating_k=heating[0],
            wall_heating_k=heating[1],
        ),
        3,
    )
    t_utci, _ = seconds(
        lambda: utci_uniform_air(
            float(steps.air_temperature_c[0]),
            tmrt,
            float(steps.wind_speed_ms[0]),
            float(steps.relative_humidity_pct[0]),
        ),
        3,
    )
    scenarios = default_scenarios()
    n_scenarios = len(scenarios)
    t_tile_shadow, _ = seconds(
        lambda: tile_shade(
            dsm, outer, inner, scenarios, YEAR, canopy_top=canopy, max_distance_m=args.halo, sun_hours=True
        )
    )
    t_tile_pass, _ = seconds(
        lambda: dict(shade_and_thermal(surface, scenarios, YEAR, weather, options).thermal)
    )
    tile_thermal = t_tile_pass - t_tile_shadow
    rows = [
        ("shadow stage: 1 scenario, 18 sun positions (baseline)", f"{t_shadow:.2f}", "1.00"),
        ("sky view factor, 36 azimuths (once per tile)", f"{t_svf:.2f}", f"{t_svf / t_shadow:.2f}"),
        (
            "thermal: 1 scenario, 18 steps (shade, Tmrt, UTCI, accumulate)",
            f"{t_scenario:.2f}",
            f"{t_scenario / t_shadow:.2f}",
        ),
        ("  per step: shade codes", f"{t_codes:.3f}", f"{t_codes * 18 / t_shadow:.2f} (x 18)"),
        ("  per step: Tmrt, numpy scheme", f"{t_tmrt:.3f}", f"{t_tmrt * 18 / t_shadow:.2f} (x 18)"),
        (
            "  per step: Tmrt, compiled (what the pass runs)",
            f"{t_tmrt_compiled:.3f}",
            f"{t_tmrt_compiled * 18 / t_shadow:.2f} (x 18)",
        ),
        (
            "  per step: UTCI (pythermalcomfort on a 0.05 K Tmrt lattice)",
            f"{t_utci:.3f}",
            f"{t_utci * 18 / t_shadow:.2f} (x 18)",
        ),
        (
            f"tile, {n_scenarios} scenarios and 4 days' sun hours: shadow stage (one call)",
            f"{t_tile_shadow:.1f}",
            "1.00",
        ),
        (
            f"tile, {n_scenarios} scenarios: thermal (in the shadow pass: SVF, every scenario's steps)",
            f"{tile_thermal:.1f}",
            f"{tile_thermal / t_tile_shadow:.2f}",
        ),
        (
            "tile: shadow + thermal",
            f"{t_tile_shadow + tile_thermal:.1f}",
            f"{(t_tile_shadow + tile_thermal) / t_tile_shadow:.2f}",
        ),
    ]
    table(
        f"Thermal comfort per tile against the shadow stage ({inner.width} x {inner.height} cells, "
        f"heat day midday; peak Python-side arrays of one thermal scenario {peak_mb:.0f} MB)",
        ("work", "seconds", "vs shadow stage"),
        rows,
    )


def tree_window(
    dsm: np.ndarray, canopy: np.ndarray | None, size: int, margin: int, step: int = 50
) -> tuple[int, int]:
    """(row, col) of the ``size``-cell square whose interior holds the most canopy cells
    (the most building cells when there is no canopy), away from the raster's edge."""
    if canopy is not None and np.isfinite(canopy).any():
        score = np.isfinite(canopy)
    else:
        score = dsm > np.percentile(dsm, 10) + 4.0
    best, corner = -1.0, (0, 0)
    for r in range(step, dsm.shape[0] - size - step, step):
        for c in range(step, dsm.shape[1] - size - step, step):
            share = score[r + margin : r + size - margin, c + margin : c + size - margin].mean()
            if share > best:
                best, corner = share, (r, c)
    return corner


def solweig_weather(positions, azimuth_grid, irradiance, steps, altmax, step_minutes):
    import solweig

    out = []
    for k, moment in enumerate(positions.timestamps.tz_convert("Asia/Tokyo")):
        end = (moment + np.timedelta64(int(step_minutes * 30), "s")).tz_localize(None).to_pydatetime()
        out.append(
            solweig.Weather(
                datetime=end,
                ta=float(steps.air_temperature_c[k]),
                rh=float(steps.relative_humidity_pct[k]),
                global_rad=float(irradiance.ghi_wm2[k]),
                ws=float(steps.wind_speed_ms[k]),
                timestep_minutes=step_minutes,
                measured_direct_rad=float(irradiance.dni_wm2[k]),
                measured_diffuse_rad=float(irradiance.dhi_wm2[k]),
                precomputed_sun_altitude=float(positions.sun_altitude_deg[k]),
                precomputed_sun_azimuth=float(azimuth_grid[k]),
                precomputed_altmax=altmax,
            )
        )
    return out


#: Cell classes of the comparison, by Machi's shade code at the compared sun position.
CELL_CLASSES = (
    ("sun", (SUNLIT,)),
    ("building shade", (SURFACE_SHADE,)),
    ("tree shade", (CANOPY_SHADE, EVERGREEN_SHADE)),
)


class _CrownsAsWalls:
    """:class:`SkyGeometry` as Machi had it before 2026-12-06: the sky hidden by crowns
    radiates as the (sunlit, heated) walls do."""

    @staticmethod
    def from_svf(svf, surface_svf=None):
        return SkyGeometry.from_svf(svf)


#: Machi's tree physics step by step, from the code before 2026-12-06 to today's:
#: (label, transmissivity, Tmrt parameters, crowns radiate at air temperature).
VARIANTS = (
    (
        "before: tau 0.2/0.6, albedo 0.20, crowns as walls",
        CanopyTransmissivity(0.2, 0.6),
        TmrtParameters(ground_albedo=0.20),
        False,
    ),
    ("tau 0.03/0.5", CanopyTransmissivity(), TmrtParameters(ground_albedo=0.20), False),
    ("+ ground albedo 0.15", CanopyTransmissivity(), TmrtParameters(), False),
    ("+ crowns at air temperature (now)", CanopyTransmissivity(), TmrtParameters(), True),
)


def compare_window(tile: str, season: Season, args, weather) -> tuple[list[tuple], float, float]:
    """Machi (each of :data:`VARIANTS`) against SOLWEIG on the window of ``tile`` with the
    most trees, at ``season``'s noon: rows (tile, season, class, n, (bias, RMSE) per
    variant) and the two models' seconds (Machi: today's variant)."""
    import solweig

    dsm, canopy, outer, _, _ = load_tile(args.run, tile, args.halo)
    size, margin = args.solweig_window, args.solweig_margin
    r0, c0 = tree_window(dsm, canopy, size, margin)
    window = np.ascontiguousarray(dsm[r0 : r0 + size, c0 : c0 + size])
    crowns = None if canopy is None else np.ascontiguousarray(canopy[r0 : r0 + size, c0 : c0 + size])
    w_outer = Grid(
        outer.x_min + c0 * outer.resolution,
        outer.y_max - r0 * outer.resolution,
        outer.resolution,
        size,
        size,
        outer.crs,
    )
    w_inner = Grid(
        w_outer.x_min + margin,
        w_outer.y_max - margin,
        outer.resolution,
        size - 2 * margin,
        size - 2 * margin,
        outer.crs,
    )
    scenario = Scenario(season, TimeSlot("noon", "12:00", f"12:{args.solweig_minutes:02d}"))
    step_minutes = float(args.solweig_minutes)

    machi, t_machi = [], 0.0
    for _, tau, parameters, crowns_at_air in VARIANTS:
        # every crown deciduous, as SOLWEIG's one tree type
        started = time.perf_counter()
        with contextlib.ExitStack() as stack:
            if not crowns_at_air:
                stack.enter_context(mock.patch("pipeline.thermal.tile.SkyGeometry", _CrownsAsWalls))
            result = thermal_tile(
                TileSurface(window, w_outer, w_inner, crowns),
                [scenario],
                YEAR,
                weather,
                ThermalOptions(
                    transmissivity=tau,
                    step_minutes=step_minutes,
                    max_distance_m=float(size),
                    parameters=parameters,
                ),
            )
        t_machi = time.perf_counter() - started
        machi.append(result.scenarios[scenario.name].tmrt_mean_c)

    lon, lat = grid_centre_lonlat(w_inner)
    date = season.date(YEAR)
    positions = slot_sun_positions(date, scenario.slot, lat, lon, step_minutes=step_minutes)
    azimuth_grid = positions.grid_azimuth_deg(meridian_convergence_deg(outer.crs, lon, lat))
    irradiance = clear_sky_irradiance(positions, lat, lon)
    steps = scenario_weather(weather, date, positions.timestamps, latitude=lat, longitude=lon)
    altmax = DayHeating.for_date(date, lat, lon).max_sun_altitude_deg
    forcing = solweig_weather(positions, azimuth_grid, irradiance, steps, altmax, step_minutes)
    location = solweig.Location(latitude=lat, longitude=lon, utc_offset=9)
    # crowns to SOLWEIG as its vegetation DSM: heights above the ground (cdsm_relative),
    # opaque from the ground up as Machi's (no trunk zone)
    cdsm = (
        np.zeros(window.shape, np.float32)
        if crowns is None
        else np.where(np.isfinite(crowns), np.maximum(crowns - window, 0.0), 0.0).astype(np.float32)
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        surface = solweig.SurfaceData.prepare(
            dsm=window.astype(np.float32),
            cdsm=cdsm,
            pixel_size=outer.resolution,
            trunk_ratio=0.0,
            working_dir=folder,
        )
        summary = solweig.calculate(
            surface, weather=forcing, location=location, output_dir=folder, use_anisotropic_sky=False
        )
    t_solweig = time.perf_counter() - started
    cut = (slice(margin, size - margin), slice(margin, size - margin))
    theirs = np.asarray(summary.tmrt_mean)[cut]
    terrain_path = args.run / "surface" / f"{tile}_terrain.tif"
    if terrain_path.is_file():  # streets and yards: the DSM is the terrain there (no roof)
        terrain = read_raster(terrain_path)[0][r0 : r0 + size, c0 : c0 + size]
        ground = (window - terrain)[cut] < 0.5
    else:
        ground = window[cut] <= np.percentile(dsm, 10) + 2.0
    # the class of a cell at the slot's middle position, by Machi's shade codes
    k = len(positions) // 2
    caster = make_caster(
        window,
        outer.resolution,
        canopy_top=crowns,
        max_distance_m=float(size),
        window=inner_window(w_outer, w_inner),
    )
    codes = caster.codes(float(azimuth_grid[k]), float(positions.sun_altitude_deg[k]))
    rows = []
    for label, members in CELL_CLASSES:
        mask = ground & np.isin(codes, members) & np.isfinite(theirs)
        row = [tile, season.name, label, f"{int(mask.sum())}"]
        for tmrt in machi:
            if mask.sum() < 10:
                row.append(("-", "-"))
                continue
            diff = tmrt[mask].astype(np.float64) - theirs[mask]
            row.append((f"{diff.mean():+.1f}", f"{np.sqrt(np.mean(diff**2)):.1f}"))
        rows.append(tuple(row))
    return rows, t_machi, t_solweig


def part_solweig(args, weather) -> None:
    try:
        import solweig
    except ImportError:
        print("\nsolweig is not installed (pip install -e '.[bench]'): SOLWEIG comparison skipped")
        return
    solweig.disable_gpu()
    tiles = args.solweig_tiles or sample_tiles(args.run)
    if not tiles:
        print(f"\nno surface rasters under {args.run}: SOLWEIG comparison skipped")
        return
    rows, seconds_machi, seconds_solweig = [], 0.0, 0.0
    for tile in tiles:
        for season in (HEAT_DAY, WINTER):
            found, t_machi, t_solweig = compare_window(tile, season, args, weather)
            rows.extend(found)
            seconds_machi += t_machi
            seconds_solweig += t_solweig
    interior = args.solweig_window - 2 * args.solweig_margin
    table(
        f"Tmrt, Machi - SOLWEIG (K), by cell class at noon (12:00-12:{args.solweig_minutes:02d}, one "
        f"step), design clear sky; ground cells of the {interior} x {interior} m interior of the "
        f"{args.solweig_window} m window with the most tree crowns of each tile ({args.run}); crowns to "
        f"SOLWEIG as its CDSM (no trunk zone), transmissivity 0.03 in leaf / 0.5 bare for both; "
        f"Machi {seconds_machi:.1f} s, SOLWEIG {seconds_solweig:.1f} s in all",
        ("tile", "season", "cells", "n", "bias", "RMSE"),
        [r[:4] + r[-1] for r in rows],
    )
    for label, _members in CELL_CLASSES:
        chosen = [r for r in rows if r[2] == label]
        table(
            f"Bias (K) of Machi's tree physics step by step, {label}",
            ("tile", "season", "n") + tuple(v[0] for v in VARIANTS),
            [(r[0], r[1], r[3]) + tuple(b for b, _ in r[4:]) for r in chosen],
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "run",
        nargs="?",
        type=Path,
        default=Path("out/sample"),
        help="run folder holding surface/ (default out/sample, relative to the repository)",
    )
    parser.add_argument("--tile", default="53396489", help="tile of part 1")
    parser.add_argument("--halo", type=float, default=200.0)
    parser.add_argument("--solweig-window", type=int, default=300, help="window side, cells")
    parser.add_argument(
        "--solweig-margin",
        type=int,
        default=50,
        help="cells around the compared interior (shadows cast into it)",
    )
    parser.add_argument(
        "--solweig-minutes", type=int, default=10, help="length of the one noon step, minutes"
    )
    parser.add_argument(
        "--solweig-tiles", nargs="*", default=None, help="tiles compared (default: every tile)"
    )
    parser.add_argument("--skip-tile", action="store_true")
    parser.add_argument("--skip-solweig", action="store_true")
    parser.add_argument("--threads", type=int, default=0, help="numba threads (default: all)")
    args = parser.parse_args()
    if not args.run.is_absolute():
        args.run = ROOT / args.run
    if args.threads:
        numba.set_num_threads(args.threads)
    weather = read_weather(NORMALS)
    print(
        f"date {dt.date.today()}, weather: {NORMALS.name}, numba threads {numba.get_num_threads()}, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    warm_up(weather)
    if not args.skip_tile:
        part_tile(args, weather)
    if not args.skip_solweig:
        part_solweig(args, weather)


if __name__ == "__main__":
    main()
