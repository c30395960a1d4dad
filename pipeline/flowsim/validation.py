"""Fitted ratios and validation of simulated flows against pedestrian counters.

GEH
    The traffic engineers' goodness-of-fit of a modelled hourly flow ``M`` against a
    count ``C`` (Geoffrey E. Havers, 1970s; UK Design Manual for Roads and Bridges, TA
    46/97 and its successor TAG unit M3.1, section 3.2):

        GEH = sqrt(2 (M - C)^2 / (M + C))                                          (1)

    Both in vehicles, here pedestrians, per hour. A counter with GEH < 5 is taken as a
    good fit; TAG M3.1 asks for GEH < 5 at more than 85 % of counts.
Fitted ratio
    One number ``r`` per comparison, the least-squares ratio through the origin

        r = sum(s_k o_k) / sum(s_k^2)                                             (2)

    of simulated ``s`` and observed ``o`` over every pair where both are known (mesh cell
    x slot against MLIT stay population; counter x slot against counts). It is reported,
    and it is the only thing fitted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

#: TAG M3.1's good-fit threshold of GEH.
GEH_GOOD = 5.0


def geh(modelled: np.ndarray | float, counted: np.ndarray | float) -> np.ndarray:
    """GEH statistic (1) of modelled and counted hourly flows (NaN where both are 0 or unknown)."""
    m = np.asarray(modelled, np.float64)
    c = np.asarray(counted, np.float64)
    total = m + c
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, np.sqrt(2.0 * (m - c) ** 2 / total), np.nan)


def fit_ratio(simulated: np.ndarray, observed: np.ndarray) -> float:
    """Least-squares ratio (2) ``observed ~ r x simulated`` over pairs both known (NaN if none)."""
    s = np.asarray(simulated, np.float64).ravel()
    o = np.asarray(observed, np.float64).ravel()
    ok = np.isfinite(s) & np.isfinite(o)
    denominator = float(np.sum(s[ok] ** 2))
    return float(np.sum(s[ok] * o[ok]) / denominator) if denominator > 0 else float("nan")


def counter_segments(
    counters: gpd.GeoDataFrame, segments: gpd.GeoDataFrame, *, max_distance_m: float = 30.0
) -> pd.Series:
    """The segment (row position) each counter point stands on: the nearest within ``max_distance_m``.

    ``counters`` has a ``counter_id`` and point geometry, in the segments' metric CRS.
    Counters with no segment that near are left out (and so absent from validation).
    """
    seg = gpd.GeoDataFrame(
        {"segment": np.arange(len(segments))}, geometry=segments.geometry.to_numpy(), crs=segments.crs
    )
    near = gpd.sjoin_nearest(
        counters[["counter_id", "geometry"]], seg, how="inner", max_distance=max_distance_m
    )
    near = near[~near.index.duplicated()]
    return pd.Series(near["segment"].to_numpy(np.int64), index=near["counter_id"].to_numpy(), name="segment")


def validation_table(
    counted: pd.DataFrame, flows: pd.DataFrame, on_segment: pd.Series, *, ratio: float = 1.0
) -> tuple[pd.DataFrame, float]:
    """GEH per counter and scenario, and the share of rows with GEH < 5.

    Parameters
    ----------
    counted : pandas.DataFrame
        ``counter_id, scenario, day_type, pedestrians_per_hour`` (``flow_by_counter``).
    flows : pandas.DataFrame
        Simulated trips per hour, one row per segment (row position), one column per scenario.
    on_segment : pandas.Series
        counter id -> segment row position (:func:`counter_segments`).
    ratio : float
        Fitted scale applied to the simulated flows (2); 1 for rates taken as they are.

    Returns
    -------
    (pandas.DataFrame, float)
        ``counter_id, scenario, day_type, segment, counted, modelled, geh`` and the share of
        rows (with a count) whose GEH is below 5.
    """
    rows = counted[counted["counter_id"].isin(on_segment.index)].copy()
    rows["segment"] = on_segment.reindex(rows["counter_id"]).to_numpy()
    values = flows.to_numpy(np.float64)
    column = {name: k for k, name in enumerate(flows.columns)}
    rows = rows[rows["scenario"].isin(column)]
    modelled = values[rows["segment"].to_numpy(np.int64), rows["scenario"].map(column).to_numpy(np.int64)]
    rows["counted"] = rows["pedestrians_per_hour"].to_numpy(np.float64)
    rows["modelled"] = modelled * ratio
    rows["geh"] = geh(rows["modelled"].to_numpy(), rows["counted"].to_numpy())
    known = rows["geh"].notna()
    share = float((rows.loc[known, "geh"] < GEH_GOOD).mean()) if known.any() else float("nan")
    table = rows[["counter_id", "scenario", "day_type", "segment", "counted", "modelled", "geh"]]
    return table.sort_values(["counter_id", "scenario", "day_type"], kind="stable").reset_index(
        drop=True
    ), share


def calibrate_theta(
    candidates: Sequence[float],
    simulate: Callable[[float], pd.DataFrame],
    counted: pd.DataFrame,
    on_segment: pd.Series,
) -> pd.DataFrame:
    """The share of GEH < 5 for each candidate ``theta`` (with its own fitted ratio (2)).

    ``simulate(theta)`` returns flows as :func:`validation_table` reads them. Returns
    ``theta, ratio, share_geh_below_5`` sorted by ``theta``: the calibration to show in a
    run's report; pick the best row.
    """
    rows = []
    for theta in sorted(candidates):
        flows = simulate(theta)
        probe, _ = validation_table(counted, flows, on_segment, ratio=1.0)
        ratio = fit_ratio(probe["modelled"].to_numpy(), probe["counted"].to_numpy())
        _, share = validation_table(counted, flows, on_segment, ratio=ratio)
        rows.append((theta, ratio, share))
    return pd.DataFrame(rows, columns=["theta", "ratio", "share_geh_below_5"])
