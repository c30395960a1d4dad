"""Before and after on the planted segments of a measure run: a Markdown table per scenario.

Reads ``<run>/effects/segments.parquet`` and the measures file whose trees name their street
segment in a ``segment`` property (as ``sample_data/make_measures.py`` writes them), and
prints, per scenario, the mean over the planted segments of the shade share, mean UTCI and
the hours of UTCI above 32 and 38 °C before and after, then each planted segment's change of
mean UTCI in the scenarios given::

    PYTHONPATH=. python -m benchmarks.planted_segments --run out/sample_trees \\
        --measures sample_data/omiya/measures/street_trees.geojson
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

QUANTITIES = ("shade_share", "utci_mean_c", "hours_utci_above_32", "hours_utci_above_38")


def planted_segments(measures: Path) -> list[str]:
    """The ``segment`` of every tree of a measures file, sorted, once each."""
    features = json.loads(measures.read_text(encoding="utf-8"))["features"]
    return sorted({f["properties"]["segment"] for f in features if f["properties"].get("segment")})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="the measure run's output folder")
    parser.add_argument("--measures", required=True, help="the measures file (GeoJSON, trees with 'segment')")
    parser.add_argument(
        "--scenarios",
        nargs="*",
        default=["heat_day_midday", "summer_solstice_midday", "winter_solstice_midday"],
    )
    args = parser.parse_args()
    planted = planted_segments(Path(args.measures))
    effects = pd.read_parquet(Path(args.run) / "effects" / "segments.parquet")
    rows = effects[effects["segment_id"].isin(planted)]
    print(f"{len(planted)} planted segments: {', '.join(planted)}\n")
    print("| scenario | " + " | ".join(f"{q} before → after" for q in QUANTITIES) + " |")
    print("|---|" + "---|" * len(QUANTITIES))
    for scenario, group in rows.groupby("scenario", sort=True):
        cells = [f"{group[f'{q}_before'].mean():.2f} → {group[f'{q}_after'].mean():.2f}" for q in QUANTITIES]
        print(f"| {scenario} | " + " | ".join(cells) + " |")
    change = rows.pivot(index="segment_id", columns="scenario", values="utci_mean_c_change")
    shown = change[[s for s in args.scenarios if s in change]]
    print("\nmean UTCI change (K) per planted segment:\n")
    print("| segment | " + " | ".join(shown.columns) + " |")
    print("|---|" + "---|" * len(shown.columns))
    for segment, values in shown.iterrows():
        print(f"| {segment} | " + " | ".join(f"{v:+.2f}" for v in values) + " |")
    print("| mean | " + " | ".join(f"{v:+.2f}" for v in shown.mean()) + " |")


if __name__ == "__main__":
    main()
