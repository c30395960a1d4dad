"""Benchmark: the thermal stage's work per tile against the shadow stage's, before and after the one-pass thermal.

On one tile of a run (``--run``, default ``out/sample``: ``surface/<tile>_dsm.tif``, its
canopy and, when the run has it, its canopy-habit raster for the evergreen crowns; 1 m
cells, 200 m halo; a generated city of the same size when the run is absent),
the default 12 scenarios, 10-minute steps, Kumagaya normals, in one process with one
numba thread (as inside a Dask worker), CPU seconds (``time.process_time``: other load on
the machine inflates the wall clock, hardly the CPU time), best of ``--repeat``:

* the shadow stage's work: :func:`pipeline.shade.shadow.tile_shade` for every scenario
  and season's day in one call, as :func:`pipeline.stages.shadow.shadow_tile` runs it
  (COG writing left out, here and for the thermal stage);
* the thermal stage's work: the sky view factor once (:func:`pipeline.thermal.tile.tile_sky_view`),
  then every scenario's steps, *before*: the per-scenario loop of ``pipeline/thermal/tile.py``
  at ``--baseline-rev`` (default 3c19679, main's loop with the weather forcing, the per-cell
  wind and the crowns by leaf habit; loaded from git into this process: per scenario, per
  step, horizon shade codes, numpy Tmrt, UTCI, numpy sums), and *after*: the current
  :func:`pipeline.thermal.tile.thermal_scenarios` (one pass over every scenario's steps by
  azimuth, so each horizon sector is computed once per tile; compiled Tmrt and sums);
* the peak of the Python-side arrays of each pass (tracemalloc; scenarios dropped as
  they come, as the stage writes them): the pass keeps the sums of every scenario whose
  slot it is crossing, the loop one scenario's;
* the phases of the current pass (cProfile, by the functions each phase runs), and how far
  its outputs are from the baseline's (max |difference| of mean UTCI and Tmrt, K; stress hours).

    PYTHONPATH=. .venv/bin/python benchmarks/shade_thermal.py [--run out/sample] [--tile 53396489]
        [--repeat 2] [--baseline-rev 3c19679]
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from thermal import NORMALS, YEAR, load_tile, warm_up  # noqa: E402  (benchmarks/thermal.py)

from pipeline.geo.raster import read_raster  # noqa: E402
from pipeline.shade.shadow import tile_shade  # noqa: E402
from pipeline.surface.habit import evergreen_canopy_top  # noqa: E402
from pipeline.shade.sun import default_scenarios  # noqa: E402
from pipeline.thermal.tile import thermal_scenarios, tile_sky_view  # noqa: E402
from pipeline.thermal.weather import read_weather  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: Functions whose cumulative time makes each phase of the pass (module path suffix, name).
PHASES = (
    ("shade: horizon sectors", (("shade/horizon.py", "sector"),)),
    ("shade: codes and light share", (("shade/horizon.py", "codes"), ("shade/shadow.py", "light_fraction"))),
    ("Tmrt (compiled)", (("thermal/tmrt_compiled.py", "mean_radiant_temperature_compiled"),)),
    ("UTCI (utci_uniform_air)", (("thermal/utci.py", "utci_uniform_air"),)),
    ("sums: UTCI, Tmrt, stress hours", (("thermal/accumulate.py", "add"),)),
    ("per scenario: sun, forcing, sky", (("thermal/tile.py", "scenario_steps"),)),
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
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:pipeline/thermal/tile.py"],
                            check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "baseline_thermal_tile.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("baseline_thermal_tile", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module          # dataclasses look their module up there
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


def phase_seconds(profile: cProfile.Profile) -> dict[str, float]:
    stats = pstats.Stats(profile).stats
    out = {}
    for label, functions in PHASES:
        out[label] = sum(v[3] for (file, _, name), v in stats.items()
                         if any(file.endswith(f) and name == n for f, n in functions))
    out["shade: codes and light share"] -= out["shade: horizon sectors"]
    return out


def table(title: str, header: tuple[str, ...], rows: list[tuple]) -> None:
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=ROOT / "out" / "sample", help="run folder")
    parser.add_argument("--tile", default="53396489")
    parser.add_argument("--halo", type=float, default=200.0)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--baseline-rev", default="3c19679",
                        help="git revision of the per-scenario loop to compare with")
    args = parser.parse_args()
    numba.set_num_threads(1)
    weather = read_weather(NORMALS)
    print(f"date {dt.date.today()}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, "
          f"1 numba thread, CPU seconds (best of {args.repeat}); baseline {args.baseline_rev}")
    warm_up(weather)
    baseline = baseline_module(args.baseline_rev)
    dsm, canopy, outer, inner, source = load_tile(args.run, args.tile, args.halo)
    evergreen = evergreen_top(args.run, args.tile, canopy)
    scenarios = default_scenarios()
    print(f"tile: {source}; inner {inner.width} x {inner.height} cells, {len(scenarios)} scenarios; "
          f"{0 if evergreen is None else int(np.isfinite(evergreen).sum())} evergreen crown cells of "
          f"{0 if canopy is None else int(np.isfinite(canopy).sum())} canopy cells")
    common = dict(canopy_top=canopy, max_distance_m=args.halo, evergreen_top=evergreen)

    t_shadow, _ = cpu_seconds(lambda: tile_shade(dsm, outer, inner, scenarios, YEAR, sun_hours=True, **common),
                              args.repeat)
    t_svf, sky = cpu_seconds(lambda: tile_sky_view(dsm, outer, inner, canopy_top=canopy, evergreen_top=evergreen),
                             args.repeat)
    t_before, before = cpu_seconds(lambda: dict(baseline.thermal_scenarios(
        dsm, outer, inner, scenarios, YEAR, weather, sky_view=sky, **common)), args.repeat)
    t_after, after = cpu_seconds(lambda: dict(thermal_scenarios(
        dsm, outer, inner, scenarios, YEAR, weather, sky_view=sky, **common)), args.repeat)
    peaks = {}
    for label, module in (("before", baseline), ("after", sys.modules["pipeline.thermal.tile"])):
        tracemalloc.start()
        for _ in module.thermal_scenarios(dsm, outer, inner, scenarios, YEAR, weather, sky_view=sky, **common):
            pass                                    # each scenario dropped as it comes, as the stage writes it
        peaks[label] = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    dict(thermal_scenarios(dsm, outer, inner, scenarios, YEAR, weather, sky_view=sky, **common))
    profile.disable()
    phases = phase_seconds(profile)
    profiled = pstats.Stats(profile).total_tt

    rows = [("shadow stage: 12 scenarios and 4 days' sun hours (tile_shade)", f"{t_shadow:.1f}", f"{t_shadow:.1f}",
             "1.00", "1.00"),
            ("thermal: sky view factor, 36 azimuths", f"{t_svf:.1f}", f"{t_svf:.1f}",
             f"{t_svf / t_shadow:.2f}", f"{t_svf / t_shadow:.2f}"),
            ("thermal: every scenario's steps", f"{t_before:.1f}", f"{t_after:.1f}",
             f"{t_before / t_shadow:.2f}", f"{t_after / t_shadow:.2f}"),
            ("**shadow + thermal per tile**", f"{t_shadow + t_svf + t_before:.1f}",
             f"{t_shadow + t_svf + t_after:.1f}", f"{(t_shadow + t_svf + t_before) / t_shadow:.2f}",
             f"{(t_shadow + t_svf + t_after) / t_shadow:.2f}")]
    rows.append(("peak Python-side arrays of the steps' pass (tracemalloc), MB", f"{peaks['before']:.0f}",
                 f"{peaks['after']:.0f}", "", ""))
    table("Per tile, CPU seconds, and against the shadow stage", (
        "work", "before s", "after s", "before / shadow", "after / shadow"), rows)
    rows = [(label, f"{s:.2f}", f"{s / t_shadow:.2f}") for label, s in phases.items()]
    rows.append(("other (Python, masks, allocation)", f"{profiled - sum(phases.values()):.2f}",
                 f"{(profiled - sum(phases.values())) / t_shadow:.2f}"))
    table(f"Phases of the current pass (cProfile, {profiled:.1f} s with the profiler's overhead)",
          ("phase", "seconds", "/ shadow stage"), rows)

    worst = {"utci": 0.0, "tmrt": 0.0, "hours": 0.0}
    for name, result in after.items():
        old = before[name]
        worst["utci"] = max(worst["utci"], float(np.abs(result.utci_mean_c - old.utci_mean_c).max()))
        worst["tmrt"] = max(worst["tmrt"], float(np.abs(result.tmrt_mean_c - old.tmrt_mean_c).max()))
        for key in set(result.stress_hours) | set(old.stress_hours):
            worst["hours"] = max(worst["hours"], float(np.abs(result.hours_in(key) - old.hours_in(key)).max()))
    print(f"\nafter against before, every scenario and cell: max |d mean UTCI| {worst['utci']:.1e} K, "
          f"max |d mean Tmrt| {worst['tmrt']:.1e} K, max |d stress hours| {worst['hours']:.1e} h")


if __name__ == "__main__":
    main()
