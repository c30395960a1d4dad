"""Benchmark: how far the street ranking depends on each assumption of the thermal evaluation.

Runs the sample district (``dags/sample.yaml``) once with the defaults and once per
variant, each varying one assumption and nothing else, on a coarse grid so that the
whole sweep takes minutes rather than hours (4 m cells, 30-minute steps; the finer
default grid changes the values, not which assumption matters). For every variant and
scenario it prints

* the Spearman rank correlation of the segments' scores against the default run
  (1: the same ranking of streets), and
* the share of street length whose walkability class changes.

A planner can rely on a conclusion that keeps its ranking (ρ close to 1) and its classes
under every plausible value of the assumptions; where ρ falls, the conclusion depends on
that assumption and the README says so.

The variants (one at a time, the ends of each range named in issue 21; a value equal to
the default is not a variant):

=========================================  ===========================================
assumption                                 values
=========================================  ===========================================
leaf-on beam transmissivity of crowns      0.03, 0.1 and 0.2
ground albedo                              0.15, 0.2 and 0.30
wind speed (station wind scaled)           × 0.5 and × 1.5
comfort curve breakpoints                  all four −2 K and +2 K
how thermal comfort enters the score       the other rule (gate ↔ weighted mean)
CoolWalk α (discomfort weight of a metre)  1.5 and 5
=========================================  ===========================================

Run it as::

    PYTHONPATH=. .venv/bin/python benchmarks/sensitivity.py [--out DIR] [--only NAME ...]

Every run writes into its own folder under ``--out`` (default: a temporary folder,
removed at the end unless ``--keep``); ``--csv`` also writes the long table.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: The coarse grid of the sweep (as tests/pipeline/test_sample_run.py's run) and the
#: stages that do not feed the street scores switched off.
COARSE = {
    "grid.resolution_m": 4.0,
    "grid.halo_m": 120.0,
    "stages.shadow.step_minutes": 30.0,
    "stages.thermal.step_minutes": 30.0,
    "stages.shadow.maps": False,
    "stages.shadow.sun_hours": False,
    "stages.shadow_diagram.enabled": False,
    "stages.lidar.point_tiles": False,
    "stages.export_tiles.enabled": False,
    "stages.viewer.enabled": False,
    "stages.walkability.maps": False,
}


@dataclass(frozen=True)
class Variant:
    """One assumption set to one value (dotted run-definition keys)."""

    name: str
    assumption: str
    overrides: dict

    def applies_to(self, keys: set[str]) -> bool:
        """Whether every key this variant sets exists in the run definition."""
        return all(key in keys for key in self.overrides)


def variants(defaults: dict) -> list[Variant]:
    """The one-at-a-time variants, built around the run's default values.

    ``defaults`` maps dotted keys to their value in the default run (so the comfort
    curve is shifted from whatever the defaults are, and the rule switched to the other).
    """
    out = []
    for tau in (0.03, 0.1, 0.2):
        out.append(
            Variant(
                f"leaf_on_{tau:g}",
                "leaf-on transmissivity",
                {"stages.thermal.transmissivity.leaf_on": tau, "stages.shadow.transmissivity.leaf_on": tau},
            )
        )
    for albedo in (0.15, 0.2, 0.30):
        out.append(Variant(f"albedo_{albedo:g}", "ground albedo", {"stages.thermal.ground_albedo": albedo}))
    for scale in (0.5, 1.5):
        out.append(Variant(f"wind_x{scale:g}", "wind speed", {"stages.thermal.wind_scale": scale}))
    curve = [k for k in defaults if k.startswith("stages.walkability.comfort_curve.")]
    for shift in (-2.0, 2.0):
        out.append(
            Variant(
                f"curve_{shift:+g}K",
                "comfort curve breakpoints",
                {k: float(defaults[k]) + shift for k in curve},
            )
        )
    rule = defaults.get("stages.walkability.thermal_rule")
    if rule is not None:
        other = "weight" if rule == "gate" else "gate"
        out.append(
            Variant(f"rule_{other}", "gate or weighted mean", {"stages.walkability.thermal_rule": other})
        )
    for alpha in (1.5, 5.0):
        out.append(
            Variant(
                f"alpha_{alpha:g}",
                "CoolWalk α",
                {"stages.walkability.coolwalk_alpha": alpha, "stages.walkability.discomfort_weight": alpha},
            )
        )
    # a default value is not a variant: drop settings equal to the defaults
    return [v for v in out if any(defaults.get(k) != value for k, value in v.overrides.items())]


def flat_settings(definition) -> dict:
    """Every dotted key of a run definition with its value (nested models flattened)."""
    out: dict = {}

    def walk(prefix: str, value) -> None:
        if hasattr(value, "model_dump"):
            value = value.model_dump()
        if isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else key, item)
            if prefix:
                out[prefix] = value
        else:
            out[prefix] = value

    walk("", definition)
    return out


def scored_segments(output: Path) -> pd.DataFrame:
    """Score, class and length of every segment and scenario of a finished run."""
    tables = sorted((output / "walkability" / "tiles").glob("*_scored.parquet"))
    if not tables:
        raise FileNotFoundError(f"{output}: no walkability/tiles/*_scored.parquet (did the run fail?)")
    columns = ["segment_id", "scenario", "score", "class", "length_m"]
    frames = [pd.read_parquet(t, columns=columns) for t in tables]
    frame = pd.concat(frames, ignore_index=True)
    # a segment scored in two tiles: the same row, keep one
    return (
        frame.drop_duplicates(["scenario", "segment_id"]).set_index(["scenario", "segment_id"]).sort_index()
    )


def compare(default: pd.DataFrame, variant: pd.DataFrame) -> pd.DataFrame:
    """Per scenario: Spearman ρ of scores and the share of street length changing class."""
    from scipy.stats import spearmanr

    joined = default.join(variant[["score", "class"]].add_suffix("_variant"), how="inner")
    rows = []
    for scenario, part in joined.groupby(level="scenario", sort=True):
        known = part["score"].notna() & part["score_variant"].notna()
        rho = (
            spearmanr(part.loc[known, "score"], part.loc[known, "score_variant"]).statistic
            if known.sum() > 2
            else np.nan
        )
        length = part["length_m"].to_numpy(float)
        changed = (part["class"].astype(str) != part["class_variant"].astype(str)).to_numpy()
        rows.append(
            {
                "scenario": scenario,
                "spearman": float(rho),
                "class_changed_pct": 100.0 * float(length[changed].sum() / length.sum()),
            }
        )
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame, value: str, fmt: str) -> str:
    wide = table.pivot(index="scenario", columns="variant", values=value)
    names = list(dict.fromkeys(table["variant"]))
    wide = wide[names]
    lines = ["| scenario | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for scenario, row in wide.iterrows():
        lines.append(f"| {scenario} | " + " | ".join(fmt.format(v) for v in row) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--definition", default=str(ROOT / "dags" / "sample.yaml"))
    parser.add_argument("--out", help="folder for the runs (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the runs' folders")
    parser.add_argument("--only", nargs="*", help="variant names to run (default: all)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--csv", help="also write the long table here")
    args = parser.parse_args(argv)

    from distributed import Client, LocalCluster

    from pipeline.core.runner import run
    from pipeline.stages import load_run_definition

    base = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="machi-sensitivity-"))
    base.mkdir(parents=True, exist_ok=True)

    def definition(name: str, overrides: dict):
        return load_run_definition(args.definition, {**COARSE, **overrides, "output": str(base / name)})

    default_definition = definition("default", {})
    defaults = flat_settings(default_definition)
    chosen = variants(defaults)
    missing = [v.name for v in chosen if not v.applies_to(set(defaults))]
    if missing:
        print(f"skipped (their settings do not exist in this version): {', '.join(missing)}")
    chosen = [v for v in chosen if v.applies_to(set(defaults)) and (not args.only or v.name in args.only)]

    results = []
    timings = {}
    try:
        with (
            LocalCluster(
                n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            started = time.perf_counter()
            summary = run(default_definition, client=client, progress=False)
            if summary.failed:
                raise SystemExit(f"the default run failed: {summary.failed[0]}")
            timings["default"] = time.perf_counter() - started
            default = scored_segments(Path(default_definition.output))
            for variant in chosen:
                started = time.perf_counter()
                summary = run(definition(variant.name, variant.overrides), client=client, progress=False)
                timings[variant.name] = time.perf_counter() - started
                if summary.failed:
                    print(f"{variant.name}: {len(summary.failed)} task(s) failed, skipped")
                    continue
                table = compare(default, scored_segments(base / variant.name))
                table.insert(0, "variant", variant.name)
                table.insert(1, "assumption", variant.assumption)
                results.append(table)
                print(f"{variant.name}: {timings[variant.name]:.0f} s", flush=True)
    finally:
        if not args.keep and not args.out:
            shutil.rmtree(base, ignore_errors=True)

    if not results:
        print("no variant ran")
        return 1
    table = pd.concat(results, ignore_index=True)
    print(
        f"\nSample district, coarse grid ({COARSE['grid.resolution_m']:g} m, "
        f"{COARSE['stages.shadow.step_minutes']:g}-minute steps); default run {timings['default']:.0f} s.\n"
    )
    print("Spearman rank correlation of segment scores with the default run:\n")
    print(markdown(table, "spearman", "{:.3f}"))
    print("\nShare of street length whose class changes (%):\n")
    print(markdown(table, "class_changed_pct", "{:.1f}"))
    summary = table.groupby("variant", sort=False).agg(
        assumption=("assumption", "first"),
        spearman_min=("spearman", "min"),
        spearman_median=("spearman", "median"),
        class_changed_max_pct=("class_changed_pct", "max"),
    )
    print("\nPer variant (over the scenarios):\n")
    print("| variant | assumption | ρ min | ρ median | class changed, max % |\n|---|---|---:|---:|---:|")
    for name, row in summary.iterrows():
        print(
            f"| {name} | {row.assumption} | {row.spearman_min:.3f} | {row.spearman_median:.3f} | "
            f"{row.class_changed_max_pct:.1f} |"
        )
    if args.csv:
        table.to_csv(args.csv, index=False, float_format="%.4f")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
