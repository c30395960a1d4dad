"""Benchmark: shadow plus thermal per tile against the shadow stage alone, at the default settings.

On one tile of a run (``--run``, default ``out/sample``: ``surface/<tile>_dsm.tif``, its
canopy and, when the run has it, its canopy-habit raster for the evergreen crowns; 1 m
cells, 200 m halo; a generated city of the same size when the run is absent), the default
12 scenarios, shade every 10 minutes (``stages.shadow.step_minutes``), Kumagaya normals, in
one process with one numba thread (as inside a Dask worker), CPU seconds
(``time.process_time``: other load on the machine inflates the wall clock, hardly the CPU
time), best of ``--repeat``, COG writing left out. The forcing is computed once, as the
run's ``thermal_forcing`` task does (:func:`pipeline.stages.thermal_forcing.forcing_task`,
here at the tile centre, every 10-minute step), and each tile reads it back
(:func:`pipeline.thermal.forcing.read_forcing_csv`), as the tile tasks do:

* the shadow stage alone: :func:`pipeline.shade.shadow.tile_shade` for every scenario and
  season's day in one call (what the shadow task computes without weather);
* *old path* (two tasks per tile): that, plus the thermal stage of ``--baseline-rev``
  (default 1f99df5, main before the one pass; ``pipeline/thermal/tile.py`` loaded from git
  into this process): the sky view factor by its own sweep, then every scenario's steps in
  one pass by azimuth with horizon sectors of its own, every 10 minutes;
* *one pass* (one task per tile): :func:`pipeline.thermal.tile.shade_and_thermal`, the
  shadow pass taking the thermal steps' shade codes and the sky view's directions from its
  own sector horizons, then every scenario's steps, with thermal every ``--thermal-step``
  minutes (default ``stages.thermal.step_minutes``, 30: every third shade step) and every 10
  (the shade's); how far the 30-minute thermal sums are from the 10-minute ones, per
  scenario (mean and largest |difference| of mean UTCI, mean hours above UTCI 32 and 38 °C);
* the phases of the one pass at the default step (cProfile, by the functions each phase
  runs), its peak Python-side memory (tracemalloc) against the old thermal pass's, and how
  far its outputs are from the old path's: shade (bytes), sky view factor, mean UTCI and
  Tmrt, stress hours, with the pass's own sky view and with the old one (the steps alone).

    PYTHONPATH=. .venv/bin/python benchmarks/shade_thermal.py [--run out/sample] [--tile 53396489]
        [--repeat 2] [--baseline-rev 1f99df5] [--thermal-step 30]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import importlib.util
import os
import pstats
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numba
import numpy as np

# benchmarks/ last on the path: its tiles.py would hide the repository's ``tiles`` package
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE] + [str(_HERE)]

from thermal import NORMALS, YEAR, load_tile, warm_up  # noqa: E402  (benchmarks/thermal.py)

from pipeline.geo.raster import read_raster  # noqa: E402
from pipeline.shade.shadow import tile_shade  # noqa: E402
from pipeline.shade.sun import default_scenarios, grid_centre_lonlat  # noqa: E402
from pipeline.stages.thermal import ThermalSettings  # noqa: E402
from pipeline.stages.thermal_forcing import forcing_task  # noqa: E402
from pipeline.surface.habit import evergreen_canopy_top  # noqa: E402
from pipeline.thermal.forcing import read_forcing_csv  # noqa: E402
from pipeline.thermal.tile import ThermalOptions, TileSurface, shade_and_thermal  # noqa: E402
from pipeline.thermal.weather import read_weather  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: Functions whose own or cumulative time makes each phase of the one pass (module path
#: suffix, name); "own" phases count the function's time without what it calls.
PHASES = (
    ("shade: horizon sectors", "cum", (("shade/horizon.py", "_sector_horizons"),)),
    ("shade: light sums of the shadow stage", "cum", (("shade/horizon.py", "_accumulate_light"),)),
    (
        "thermal steps' shade codes (from cached sectors) and packing",
        "cum",
        (("shade/horizon.py", "_codes"), ("thermal/tile.py", "put")),
    ),
    ("sky view from the sectors (cos^2 sums)", "cum", (("thermal/svf.py", "_add_horizon_sky"),)),
    ("unpacking codes into the light share", "cum", (("thermal/tile.py", "light"),)),
    ("Tmrt (compiled)", "cum", (("thermal/tmrt_compiled.py", "mean_radiant_temperature_compiled"),)),
    ("UTCI (utci_scaled_wind: lattice and interpolation)", "cum", (("thermal/utci.py", "utci_scaled_wind"),)),
    ("sums: UTCI, Tmrt, stress hours", "cum", (("thermal/accumulate.py", "add"),)),
    ("per scenario: sun, forcing, sky geometry", "cum", (("thermal/tile.py", "scenario_steps"),)),
    ("sun positions of the tile (schedule)", "cum", (("shade/schedule.py", "tile_schedule"),)),
)


def cpu_seconds(fn, repeat: int):
    """(least CPU seconds of ``repeat`` calls, last result)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.process_time()
        result = fn()
        best = min(best, time.process_time() - start)
    return best, result


def baseline_module(rev: str):
    """``pipeline/thermal/tile.py`` as it was at ``rev``, imported under another name."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:pipeline/thermal/tile.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "baseline_thermal_tile.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("baseline_thermal_tile", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def evergreen_top(run: Path, tile: str, canopy: np.ndarray | None) -> np.ndarray | None:
    """The evergreen crowns' tops from the run's canopy-habit raster (None when the run has
    none, e.g. a run made before the surface stage wrote it; unknown habits deciduous, the
    stages' default)."""
    path = run / "surface" / f"{tile}_canopy_habit.tif"
    if canopy is None or not path.is_file():
        return None
    habit, _, _ = read_raster(path)
    return evergreen_canopy_top(canopy, np.asarray(habit))


def recorded_forcing(scenarios, inner, shade_step_minutes: float = 10.0):
    """Every scenario's forcing at the tile centre, written and read back as the run's
    ``thermal/weather.csv`` (the ``thermal_forcing`` task, then a tile task)."""
    lon, lat = grid_centre_lonlat(inner)
    path = Path(tempfile.mkdtemp()) / "weather.csv"
    forcing_task(
        str(path),
        scenarios,
        weather_file=str(NORMALS),
        settings=ThermalSettings(),
        year=YEAR,
        timezone="Asia/Tokyo",
        latitude=lat,
        longitude=lon,
        shade_step_minutes=shade_step_minutes,
    )
    return read_forcing_csv(path, "Asia/Tokyo")


def phase_seconds(profile: cProfile.Profile) -> dict[str, float]:
    stats = pstats.Stats(profile).stats
    return {
        label: sum(
            v[3]
            for (file, _, name), v in stats.items()
            if any(file.endswith(f) and name == n for f, n in functions)
        )
        for label, _, functions in PHASES
    }


def table(title: str, header: tuple[str, ...], rows: list[tuple]) -> None:
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")


def worst_difference(new: dict, old: dict) -> dict[str, float]:
    """Largest |difference| over every scenario and cell of mean UTCI, mean Tmrt (K) and stress hours."""
    worst = {"utci": 0.0, "tmrt": 0.0, "hours": 0.0}
    for name, result in new.items():
        before = old[name]
        worst["utci"] = max(worst["utci"], float(np.abs(result.utci_mean_c - before.utci_mean_c).max()))
        worst["tmrt"] = max(worst["tmrt"], float(np.abs(result.tmrt_mean_c - before.tmrt_mean_c).max()))
        for key in set(result.stress_hours) | set(before.stress_hours):
            worst["hours"] = max(
                worst["hours"], float(np.abs(result.hours_in(key) - before.hours_in(key)).max())
            )
    return worst


def hours_above(result, bound_c: float) -> np.ndarray:
    """Hours of the slot in the stress classes above ``bound_c`` (UTCI > bound) (UTCI °C), per cell."""
    from pipeline.thermal.utci import STRESS_CLASSES

    keys = [c.key for c in STRESS_CLASSES if c.lower_c is not None and c.lower_c >= bound_c]
    return sum(result.hours_in(k).astype(np.float64) for k in keys)


def step_comparison(coarse: dict, fine: dict) -> list[tuple]:
    """Per scenario: the fine run's tile means and the coarse run's differences from them."""
    rows = []
    for name, f in fine.items():
        c = coarse[name]
        d = np.abs(c.utci_mean_c.astype(np.float64) - f.utci_mean_c)
        cells = [f"{np.nanmean(f.utci_mean_c):.2f}", f"{np.nanmean(d):.3f} / {np.nanmax(d):.2f}"]
        for bound in (32.0, 38.0):
            h_f, h_c = hours_above(f, bound), hours_above(c, bound)
            cells += [
                f"{h_f.mean():.3f}",
                f"{(h_c - h_f).mean():+.3f} / {np.abs(h_c - h_f).max():.2f}",
            ]
        rows.append((name, *cells))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=ROOT / "out" / "sample", help="run folder")
    parser.add_argument("--tile", default="53396489")
    parser.add_argument("--halo", type=float, default=200.0)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--baseline-rev",
        default="1f99df5",
        help="git revision of the old thermal stage (its own SVF sweep and sectors)",
    )
    parser.add_argument(
        "--thermal-step",
        type=float,
        default=ThermalSettings().step_minutes,
        help="thermal step, minutes (default: stages.thermal.step_minutes)",
    )
    args = parser.parse_args()
    numba.set_num_threads(1)
    print(
        f"date {dt.date.today()}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, "
        f"1 numba thread, CPU seconds (best of {args.repeat}); old path: {args.baseline_rev}"
    )
    warm_up(read_weather(NORMALS))
    old = baseline_module(args.baseline_rev)
    dsm, canopy, outer, inner, source = load_tile(args.run, args.tile, args.halo)
    evergreen = evergreen_top(args.run, args.tile, canopy)
    scenarios = default_scenarios()
    weather = recorded_forcing(scenarios, inner)  # computed once per run, as thermal_forcing
    print(
        f"tile: {source}; inner {inner.width} x {inner.height} cells, {len(scenarios)} scenarios; "
        f"{0 if evergreen is None else int(np.isfinite(evergreen).sum())} evergreen crown cells of "
        f"{0 if canopy is None else int(np.isfinite(canopy).sum())} canopy cells"
    )
    common = dict(canopy_top=canopy, max_distance_m=args.halo, evergreen_top=evergreen)
    surface = TileSurface(dsm, outer, inner, canopy, evergreen)
    options = ThermalOptions(max_distance_m=args.halo, thermal_step_minutes=args.thermal_step)
    options_10 = ThermalOptions(max_distance_m=args.halo)  # thermal at the shade's 10 minutes

    def one_pass(sky_view=None, options=options):
        tile = shade_and_thermal(surface, scenarios, YEAR, weather, options, sky_view=sky_view)
        return tile.shade, tile.sky_view, dict(tile.thermal)

    t_shadow, shade = cpu_seconds(
        lambda: tile_shade(dsm, outer, inner, scenarios, YEAR, sun_hours=True, **common), args.repeat
    )
    t_svf, old_sky = cpu_seconds(
        lambda: old.tile_sky_view(dsm, outer, inner, canopy_top=canopy, evergreen_top=evergreen), args.repeat
    )
    t_steps, old_thermal = cpu_seconds(
        lambda: dict(
            old.thermal_scenarios(dsm, outer, inner, scenarios, YEAR, weather, sky_view=old_sky, **common)
        ),
        args.repeat,
    )
    t_pass, (pass_shade, pass_sky, pass_thermal) = cpu_seconds(one_pass, args.repeat)
    t_pass10, (_, _, pass_thermal10) = cpu_seconds(lambda: one_pass(options=options_10), args.repeat)
    peaks = {}
    for label, run in (
        (
            "old",
            lambda: [
                None
                for _ in old.thermal_scenarios(
                    dsm, outer, inner, scenarios, YEAR, weather, sky_view=old_sky, **common
                )
            ],
        ),
        (
            "one pass",
            lambda: [None for _ in shade_and_thermal(surface, scenarios, YEAR, weather, options).thermal],
        ),
    ):
        tracemalloc.start()
        run()  # each scenario dropped as it comes, as the stage writes it
        peaks[label] = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    one_pass()
    profile.disable()
    phases = phase_seconds(profile)
    profiled = pstats.Stats(profile).total_tt

    old_total = t_shadow + t_svf + t_steps
    rows = [
        ("shadow stage alone: 12 scenarios and 4 days' sun hours (tile_shade)", f"{t_shadow:.1f}", "1.00"),
        ("old path: shadow stage", f"{t_shadow:.1f}", "1.00"),
        (
            "old path: thermal stage, sky view factor (own sweep, 36 azimuths)",
            f"{t_svf:.1f}",
            f"{t_svf / t_shadow:.2f}",
        ),
        (
            "old path: thermal stage, every scenario's steps (own sectors)",
            f"{t_steps:.1f}",
            f"{t_steps / t_shadow:.2f}",
        ),
        (
            "**old path: shadow + thermal per tile**",
            f"**{old_total:.1f}**",
            f"**{old_total / t_shadow:.2f}**",
        ),
        (
            "one pass, thermal every 10 minutes (as the shade)",
            f"{t_pass10:.1f}",
            f"{t_pass10 / t_shadow:.2f}",
        ),
        (
            f"**one pass: shadow + thermal per tile, thermal every {args.thermal_step:g} minutes"
            f"{' (the default)' if args.thermal_step == ThermalSettings().step_minutes else ''}**",
            f"**{t_pass:.1f}**",
            f"**{t_pass / t_shadow:.2f}**",
        ),
        ("one pass against the old path", "", f"{t_pass / old_total:.2f} of its time"),
        ("one pass against the one pass at 10 minutes", "", f"{t_pass / t_pass10:.2f} of its time"),
    ]
    table(
        "Per tile, CPU seconds, against the shadow stage alone", ("work", "seconds", "/ shadow stage"), rows
    )
    print(
        f"\npeak Python-side arrays of the thermal steps (tracemalloc): old {peaks['old']:.0f} MB, "
        f"one pass {peaks['one pass']:.0f} MB (with the pass's shade, sky view and kept codes)"
    )
    rows = [(label, f"{s:.2f}", f"{s / t_shadow:.2f}") for label, s in phases.items()]
    rows.append(
        (
            "other (Python, allocation, the profiler)",
            f"{profiled - sum(phases.values()):.2f}",
            f"{(profiled - sum(phases.values())) / t_shadow:.2f}",
        )
    )
    table(
        f"Phases of the one pass (cProfile, {profiled:.1f} s with the profiler's overhead)",
        ("phase", "seconds", "/ shadow stage"),
        rows,
    )

    table(
        f"Thermal every {args.thermal_step:g} minutes against every 10 minutes, per scenario, every tile cell",
        (
            "scenario",
            "mean UTCI °C (10 min)",
            "|d mean UTCI| mean / max K",
            "h > 32 °C (10 min)",
            "d h > 32 °C mean / max |d|",
            "h > 38 °C (10 min)",
            "d h > 38 °C mean / max |d|",
        ),
        step_comparison(pass_thermal, pass_thermal10),
    )

    same_shade = all(
        pass_shade.scenarios[n].shade_hours.tobytes() == s.shade_hours.tobytes()
        for n, s in shade.scenarios.items()
    ) and all(pass_shade.sun_hours[n].tobytes() == h.tobytes() for n, h in shade.sun_hours.items())
    d_svf = np.abs(pass_sky.surface - old_sky.surface)
    print(
        f"\none pass against the old path, every scenario and cell: shade and sun hours "
        f"{'byte-identical' if same_shade else 'DIFFERENT'}; sky view factor max |d| {d_svf.max():.4f}, "
        f"mean {d_svf.mean():.1e}, {(d_svf > 0.001).mean():.2%} of cells beyond 0.001 "
        "(horizons to 200 m, not to the raster's edge)"
    )
    for label, new in (  # thermal at the old path's 10-minute step
        ("thermal every 10 minutes, with the pass's sky view", pass_thermal10),
        (
            "thermal every 10 minutes, with the old sky view (the steps alone)",
            one_pass(old_sky, options_10)[2],
        ),
    ):
        worst = worst_difference(new, old_thermal)
        print(
            f"  {label}: max |d mean UTCI| {worst['utci']:.1e} K, max |d mean Tmrt| {worst['tmrt']:.1e} K, "
            f"max |d stress hours| {worst['hours']:.1e} h"
        )


if __name__ == "__main__":
    main()
