"""A generated city through every stage: wall time, tiles per hour and peak memory per stage.

For each district size (16 and 64 tiles; 256 with ``--full``; 4 with ``--quick``) and each
worker count (1 and 2), ``sample_data/make_city.py`` generates the district once (cached
under ``--cache``) and a fresh subprocess runs it on a LocalCluster of single-threaded
worker processes. The table gives, per stage, the wall seconds and tiles per hour; per
run, the peak resident memory of each worker (Linux ``VmHWM``, the high-water mark over
the worker's life) and of the client. The last table sets the worker peaks at the largest
district against the smallest: a pipeline whose tasks are bounded by their tile and halo
keeps that ratio near 1.

The grid is coarse by default (``--resolution 4``, 30-minute sun steps, two seasons and
one slot) so that a laptop finishes 64 tiles; ``--resolution 1 --full-scenarios`` measures
the production settings.

Usage::

    python benchmarks/city.py                     # 16 and 64 tiles, 1 and 2 workers
    python benchmarks/city.py --quick             # 4 tiles, a smoke run
    python benchmarks/city.py --tiles 16 --workers 2
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# appended, not prepended: Dask's worker processes inherit sys.path, and benchmarks/tiles.py
# must not shadow the `tiles` package there
sys.path.append(str(ROOT / "benchmarks"))
sys.path.append(str(ROOT / "sample_data"))

COARSE = {
    "grid.resolution_m": 4.0,
    "grid.halo_m": 120.0,
    "stages.shadow.step_minutes": 30.0,
    "stages.shadow_diagram.resolution_m": 4.0,
    "stages.shadow_diagram.step_minutes": 20.0,
    "scenarios.seasons": {"heat_day": "08-05", "winter_solstice": "12-21"},
    "scenarios.slots": {"midday": ["11:00", "14:00"]},
}


def generate(tiles: int, cache: Path) -> Path:
    """The district of ``tiles`` tiles under ``cache`` (made once)."""
    import make_city  # sample_data/make_city.py

    folder = cache / f"city{tiles}"
    if not (folder / "city.yaml").is_file():
        started = time.perf_counter()
        counts = make_city.write(tiles, folder)
        print(f"generated {folder}: {counts} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return folder


def measure_one(folder: Path, workers: int, overrides: dict) -> dict:
    """One run of ``folder/city.yaml`` on ``workers`` workers (in this process, a fresh one)."""
    from distributed import Client, LocalCluster
    from peak_memory import peak_rss_mb

    from pipeline.core.runner import run
    from pipeline.stages import load_run_definition

    out = Path(tempfile.mkdtemp(prefix=f"machi_city_{workers}w_"))
    try:
        definition = load_run_definition(folder / "city.yaml", {**overrides, "output": str(out / "run")})
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                memory_limit="6GiB",
            ) as cluster,
            Client(cluster) as client,
        ):
            started = time.perf_counter()
            summary = run(definition, client=client, progress=False)
            seconds = time.perf_counter() - started
            worker_peaks = sorted(client.run(peak_rss_mb).values())
        return {
            "seconds": seconds,
            "stage_seconds": summary.stage_seconds,
            "failed": len(summary.failed),
            "failures": [
                f"{f['stage']} {f['tile']}: {str(f.get('error', ''))[:300]}" for f in summary.failed
            ],
            "tasks": summary.executed,
            "worker_peak_mb": worker_peaks,
            "client_peak_mb": peak_rss_mb(),
        }
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tiles", type=int, nargs="+", help="district sizes (default 16 64; 256 with --full)"
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--full", action="store_true", help="also 256 tiles")
    parser.add_argument("--quick", action="store_true", help="4 tiles only")
    parser.add_argument("--resolution", type=float, default=4.0, help="grid cell size, m (default 4)")
    parser.add_argument("--full-scenarios", action="store_true", help="the run's own scenarios and sun steps")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "machi_city_cache")
    parser.add_argument("--one", nargs=2, metavar=("FOLDER", "WORKERS"), help=argparse.SUPPRESS)
    parser.add_argument("--overrides", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(Path(args.one[0]), int(args.one[1]), json.loads(args.overrides))))
        return
    sizes = args.tiles or ([4] if args.quick else [16, 64] + ([256] if args.full else []))
    overrides = {} if args.full_scenarios else dict(COARSE)
    overrides["grid.resolution_m"] = args.resolution
    # every stage has work: thermal comfort from the sample's climate normals, 3D Tiles
    overrides["inputs.weather"] = str(ROOT / "sample_data/weather/kumagaya_normals_1991_2020.csv")
    overrides["stages.export_tiles.enabled"] = True
    args.cache.mkdir(parents=True, exist_ok=True)
    results = {}
    for tiles in sizes:
        folder = generate(tiles, args.cache)
        for workers in args.workers:
            # a fresh process per run, so the client's peak memory is that run's alone
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--one",
                    str(folder),
                    str(workers),
                    "--overrides",
                    json.dumps(overrides),
                ],
                capture_output=True,
                text=True,
            )
            if done.returncode:
                sys.exit(f"run of {tiles} tiles on {workers} worker(s) failed:\n{done.stderr[-3000:]}")
            results[tiles, workers] = json.loads(done.stdout.strip().splitlines()[-1])
            for failure in results[tiles, workers]["failures"]:
                print(f"  failed: {failure}", file=sys.stderr)
            print(
                f"{tiles} tiles, {workers} worker(s): {json.dumps(results[tiles, workers])}", file=sys.stderr
            )

    stages = list(dict.fromkeys(s for r in results.values() for s in r["stage_seconds"]))
    print(
        f"\nresolution {args.resolution:g} m, "
        f"{'the run definition scenarios' if args.full_scenarios else '2 seasons x 1 slot, 30-min steps'}"
    )
    heads = [f"{tiles} t, {workers} w" for tiles, workers in results]
    print(f"{'stage':<22}" + "".join(f"{h:>20}" for h in heads))
    print(f"{'':<22}" + "".join(f"{'s (tiles/h)':>20}" for _ in results))
    for stage in stages:
        cells = []
        for (tiles, _), r in results.items():
            seconds = r["stage_seconds"].get(stage)
            cells.append(
                "–"
                if seconds is None
                else f"{seconds:.0f} ({tiles / seconds * 3600:.0f})"
                if seconds > 0
                else "0"
            )
        print(f"{stage:<22}" + "".join(f"{c:>20}" for c in cells))
    print(f"{'whole run':<22}" + "".join(f"{r['seconds']:>20.0f}" for r in results.values()))
    counts = [f"{r['tasks']} / {r['failed']}" for r in results.values()]
    print(f"{'tasks run / failed':<22}" + "".join(f"{c:>20}" for c in counts))
    peaks = [" / ".join(f"{m:.0f}" for m in r["worker_peak_mb"]) for r in results.values()]
    print(f"{'peak MB per worker':<22}" + "".join(f"{c:>20}" for c in peaks))
    print(
        f"{'peak MB of the client':<22}" + "".join(f"{r['client_peak_mb']:>20.0f}" for r in results.values())
    )
    if len(sizes) > 1:
        small, large = min(sizes), max(sizes)
        print(f"\nworker peak memory, {large} tiles against {small}:")
        for workers in args.workers:
            if (small, workers) in results and (large, workers) in results:
                ratio = max(results[large, workers]["worker_peak_mb"]) / max(
                    results[small, workers]["worker_peak_mb"]
                )
                client = results[large, workers]["client_peak_mb"] / results[small, workers]["client_peak_mb"]
                print(f"  {workers} worker(s): largest worker peak x{ratio:.2f}, client x{client:.2f}")


if __name__ == "__main__":
    main()
