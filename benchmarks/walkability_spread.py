"""How far a run's walkability scores tell streets apart, per scenario, and what the other
score rule or a hotter heat day would give (issue 21).

Reads a finished run's scored tiles (``<output>/walkability/tiles/*_scored.parquet``) and
prints per scenario: the score's median and interquartile range,
the correlation of the walked side's shade share with the score, the mean UTCI on the
centreline and on the side walked, and the mean hours above UTCI 32 °C. Then it re-scores
the same segments (one tile in memory at a time) with

- ``--shift K``: the heat day's UTCI raised by K on every side (a design heat day a few
  degrees hotter than the run's, before it is run), under the run's own gate rule;
- ``--weight W``: the weighted rule, ``c_thermal`` in the weighted mean with weight W (the
  other components weigh 0.85), to compare the seasonal signs and spreads of the two rules.

Usage::

    python benchmarks/walkability_spread.py out/sample
    python benchmarks/walkability_spread.py out/sample --shift 4 --weight 0.35 --weight 0.7
"""

from __future__ import annotations

import argparse
import glob
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.walkability.comfort import SIDE_NAMES, ComfortCurve
from pipeline.walkability.scores import DEFAULT_WEIGHTS

OTHERS = {k: v for k, v in DEFAULT_WEIGHTS.items() if k != "shade"}


def _others(table: pd.DataFrame) -> np.ndarray:
    """Weighted mean (0..1) of the components other than shade and thermal."""
    values = table[[f"c_{k}" for k in OTHERS]].to_numpy(float)
    w = np.array(list(OTHERS.values()))
    known = np.isfinite(values)
    return (np.where(known, values, 0.0) @ w) / (known * w).sum(axis=1)


def _c_thermal(table: pd.DataFrame, curve: ComfortCurve, shift: float) -> np.ndarray:
    """``c_thermal`` of the better side with every side's UTCI raised by ``shift``."""
    c = np.column_stack([curve(table[f"utci_{side}_c"].to_numpy(float) + shift) for side in SIDE_NAMES])
    sided = table["side"].to_numpy(object) != "centre"
    with np.errstate(invalid="ignore"):
        return np.where(sided, np.fmax(c[:, 1], c[:, 2]), c[:, 0])


def _row(name: str, score, shade) -> str:
    q1, q2, q3 = np.nanpercentile(score, [25, 50, 75])
    corr = np.corrcoef(shade, score)[0, 1]
    return f"{name:34s} {q2:7.1f} {q3 - q1:6.1f} {corr:+7.2f}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--shift", type=float, default=None, help="K added to the heat day's UTCI")
    parser.add_argument(
        "--weight", type=float, action="append", default=[], help="c_thermal weight (weighted rule)"
    )
    args = parser.parse_args(argv)
    curve = ComfortCurve()
    paths = sorted(glob.glob(str(args.output / "walkability" / "tiles" / "*_scored.parquet")))
    if not paths:
        raise SystemExit(f"{args.output}: no walkability/tiles/*_scored.parquet")
    columns = (
        ["scenario", "score", "shade_share", "utci_mean_c", "hours_utci_above_32", "side"]
        + [f"c_{k}" for k in OTHERS]
        + [f"utci_{s}_c" for s in SIDE_NAMES]
    )
    parts: dict[str, list[pd.DataFrame]] = {}
    for path in paths:  # one tile at a time; only the columns above are kept
        table = pd.read_parquet(path, columns=columns)
        for name, rows in table.groupby("scenario", sort=False):
            parts.setdefault(name, []).append(rows)
    print(
        f"{'scenario / rule':34s} {'median':>7s} {'IQR':>6s} {'corr':>7s}   UTCI centre -> walked, h > 32 °C"
    )
    for name, frames in parts.items():
        table = pd.concat(frames, ignore_index=True)
        shade = table["shade_share"].to_numpy(float)
        print(
            _row(name, table["score"], shade) + f"   {table['utci_centre_c'].mean():5.1f} -> "
            f"{table['utci_mean_c'].mean():5.1f}, {table['hours_utci_above_32'].mean():4.2f}"
        )
        others = _others(table)
        if args.shift is not None and name.startswith("heat_day"):
            shifted = 100 * _c_thermal(table, curve, args.shift) * others
            print(_row(f"  gate, UTCI +{args.shift:g} K", shifted, shade))
        for weight in args.weight:
            c = _c_thermal(table, curve, 0.0)
            weighted = 100 * (others * sum(OTHERS.values()) + weight * c) / (sum(OTHERS.values()) + weight)
            print(_row(f"  weighted, c_thermal {weight:g}", weighted, shade))


if __name__ == "__main__":
    main()
