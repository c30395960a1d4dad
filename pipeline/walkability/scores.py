"""Composite walkability score (0-100) and classification of segments and mesh cells.

Each component is scaled to 0..1 (1 = better for walking) and kept as its own column
``c_<name>``; the score is ``100 * sum(w * c) / sum(w)`` over the components that are
known for the segment (a NaN component drops out, its weight with it). Scalings:

============  =====================================================================
component     0..1 scaling
============  =====================================================================
access        each ``access_*`` column / its 95th percentile over the run, capped at 1,
              averaged over the columns given
mix           Hill q=0 number of classes / number of classes in the run
intersections junctions per km2 / 100 (a dense urban grid), capped at 1
shade         shade share of the scenario (0..1) as is
thermal       ``c_thermal`` of the scenario (0..1, :mod:`pipeline.walkability.comfort`) as is
slope         1 - steepest stretch / 8 % (the wheelchair ramp limit), floored at 0
width         width_m / 4 m, capped at 1
============  =====================================================================

:data:`DEFAULT_WEIGHTS` weigh shade; :data:`THERMAL_WEIGHTS` put ``thermal`` in its place
(thermal comfort by season and hour replaces shade share, which stays a column).

Classification (per segment, and per mesh cell from length-weighted means and summed
flow): "walkable" = standing at or above ``walkable_from`` (the segment's
``score_percentile`` in its scenario, 0-100, so that every season has its best streets);
"used" = flow per 100 m at or above the median of segments with flow; "crowded" = flow per
100 m above the 75th percentile; "uncomfortable" = either the thermal rule, when a mask is
given (with the thermal stage: hours in heat or cold stress,
:func:`pipeline.walkability.scenario_scores.uncomfortable_mask`), or else the shade rule:
in a hot season with shade share below ``unshaded_below``. "used but uncomfortable" =
crowded and uncomfortable. Classes: ``walkable_used``, ``walkable_underused``,
``used_uncomfortable``, ``neither`` (used-and-uncomfortable takes precedence over the others).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

DEFAULT_WEIGHTS = {
    "access": 0.35,
    "mix": 0.15,
    "intersections": 0.15,
    "shade": 0.15,
    "slope": 0.1,
    "width": 0.1,
}
THERMAL_WEIGHTS = {
    "access": 0.35,
    "mix": 0.15,
    "intersections": 0.15,
    "thermal": 0.15,
    "slope": 0.1,
    "width": 0.1,
}
#: every component a weight may name
COMPONENTS = ("access", "mix", "intersections", "shade", "thermal", "slope", "width")
CLASSES = ("walkable_used", "walkable_underused", "used_uncomfortable", "neither")


def components(
    table: pd.DataFrame,
    *,
    access_columns: Sequence[str],
    mix_column: str | None = None,
    n_classes: int | None = None,
    shade_column: str | None = "shade_share",
    slope_column: str | None = "slope_max_pct",
    width_column: str | None = "width_m",
    intersections_column: str | None = "intersection_density",
    thermal_column: str | None = "c_thermal",
) -> pd.DataFrame:
    """Scaled 0..1 components ``c_<name>`` from raw per-segment columns (absent columns are NaN)."""
    out = pd.DataFrame(index=table.index)
    if access_columns:
        scaled = []
        for col in access_columns:
            ref = np.nanpercentile(table[col], 95) if table[col].notna().any() else np.nan
            scaled.append(np.clip(table[col] / ref, 0, 1) if ref and ref > 0 else table[col] * 0.0)
        out["c_access"] = pd.concat(scaled, axis=1).mean(axis=1)

    def col(name):
        return table[name].astype(float) if name and name in table else pd.Series(np.nan, index=table.index)

    if mix_column:
        out["c_mix"] = np.clip(col(mix_column) / float(n_classes or np.nanmax(col(mix_column)) or 1), 0, 1)
    out["c_intersections"] = np.clip(col(intersections_column) / 100.0, 0, 1)
    out["c_shade"] = np.clip(col(shade_column), 0, 1)
    out["c_thermal"] = np.clip(col(thermal_column), 0, 1)
    out["c_slope"] = np.clip(1.0 - col(slope_column) / 8.0, 0, 1)
    out["c_width"] = np.clip(col(width_column) / 4.0, 0, 1)
    return out


def composite(comps: pd.DataFrame, weights: Mapping[str, float] | None = None) -> pd.Series:
    """Weighted mean of the known components, 0-100."""
    weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
    cols = [f"c_{k}" for k in weights if f"c_{k}" in comps]
    w = np.array([weights[c[2:]] for c in cols], float)
    values = comps[cols].to_numpy(float)
    known = np.isfinite(values)
    total_w = (known * w).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = 100.0 * np.where(known, values, 0.0) @ w / total_w
    return pd.Series(score, index=comps.index, name="score")


def classify(
    standing,
    flow_per_100m,
    shade,
    *,
    hot_season: bool,
    walkable_from: float = 50.0,
    unshaded_below: float = 0.3,
    uncomfortable=None,
    used_at: float | None = None,
    crowded_at: float | None = None,
) -> np.ndarray:
    """Class of each segment or cell (see module docstring); NaN flow counts as not used.

    ``standing`` is the score percentile within the scenario (0-100), walkable from
    ``walkable_from``. ``uncomfortable`` (bool per segment, e.g. hours in stress on its
    better side) replaces the hot-season shade rule when given. ``used_at`` and
    ``crowded_at`` (people per 100 m) are the run's thresholds when the values given are
    one tile of it (:class:`pipeline.walkability.scale.RunScale`); by default the median
    and 75th percentile of the values given with flow.
    """
    standing = np.asarray(standing, float)
    flow = np.asarray(flow_per_100m, float)
    shade = np.asarray(shade, float)
    known = flow[np.isfinite(flow) & (flow > 0)]
    if used_at is None:
        used_at = np.median(known) if known.size else np.inf
    if crowded_at is None:
        crowded_at = np.percentile(known, 75) if known.size else np.inf
    with np.errstate(invalid="ignore"):
        walkable = standing >= walkable_from
    used = np.isfinite(flow) & (flow >= used_at)
    crowded = np.isfinite(flow) & (flow > crowded_at)
    if uncomfortable is None:
        uncomfortable = hot_season & (np.nan_to_num(shade, nan=0.0) < unshaded_below)
    uncomfortable = crowded & np.asarray(uncomfortable, bool)
    return np.select(
        [uncomfortable, walkable & used, walkable & ~used, used],
        ["used_uncomfortable", "walkable_used", "walkable_underused", "neither"],
        default="neither",
    )
