"""Run-wide summaries as reductions of per-tile sums.

The summary per mesh cell, per district and per scenario (the report's table) are
length-weighted means, summed flows and class lengths: sums, which each tile computes for
its own segments (:func:`partial_sums`) and the run adds up (:func:`add_up`). No task
needs every segment of a city. The means and classes then follow from the sums
(:func:`place_summary`, :func:`scenario_summary`).

A partial row is one (``level``, ``key``, ``scenario``): ``level`` is ``mesh`` (key: the
third-level mesh code of the segment's midpoint), ``district`` (key: the district its
midpoint lies in) or ``run`` (key ``all``). For a column ``x``, ``x_wsum`` is the sum of
``length_m * x`` over the segments where ``x`` is known and ``x_w`` the sum of their
lengths, so the length-weighted mean is ``x_wsum / x_w``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipeline.thermal.utci import STRESS_KEYS
from pipeline.walkability.classes import CLASS_COLOURS
from pipeline.walkability.scores import classify

#: columns whose length-weighted mean a summary keeps (``utci_mean_c``: with the thermal stage)
MEAN_COLUMNS = (
    "score",
    "score_percentile",
    "shade_share",
    "utci_mean_c",
    "heat_share",
    "cold_share",
    "hours_utci_above_32",
    "hours_utci_above_38",
    "hours_utci_below_0",
)
HEAT = ("share_strong_heat", "share_very_strong_heat", "share_extreme_heat")
COLD = ("share_strong_cold", "share_very_strong_cold", "share_extreme_cold")
LEVELS = ("mesh", "district", "run")


def _stress_share(table: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    present = [c for c in columns if c in table]
    if not present:
        return pd.Series(np.nan, index=table.index)
    return table[present].sum(axis=1, min_count=1)


def partial_sums(
    scored: pd.DataFrame,
    keys,
    *,
    level: str,
    scenario: str,
    access_plain: Sequence[str] = (),
    access_comfort: Sequence[str] = (),
) -> pd.DataFrame:
    """The sums of ``scored`` (one scenario's scored segments) per value of ``keys``.

    ``keys`` gives each segment's group (a mesh code, a district name, or one value for
    the run; segments whose key is missing are left out). ``access_plain`` /
    ``access_comfort`` name the access columns whose totals the report compares.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    keys = pd.Series(np.asarray(keys, dtype=object), index=scored.index)
    chosen = keys.notna().to_numpy()
    table = scored[chosen]
    length = table["length_m"].to_numpy(float)

    def column(name):
        return table[name] if name in table else pd.Series(np.nan, index=table.index)

    values = {name: column(name) for name in MEAN_COLUMNS if name not in ("heat_share", "cold_share")}
    values.update(heat_share=_stress_share(table, HEAT), cold_share=_stress_share(table, COLD))
    frame = pd.DataFrame(
        {"key": keys[chosen].astype(str).to_numpy(), "segments": 1, "length_m": length}, index=table.index
    )
    for name, series in values.items():
        v = series.to_numpy(float)
        known = np.isfinite(v)
        frame[f"{name}_wsum"] = np.where(known, v * length, 0.0)
        frame[f"{name}_w"] = np.where(known, length, 0.0)
    people = table["people"].to_numpy(float)
    frame["flow_sum"] = np.nan_to_num(people)
    frame["flow_n"] = np.isfinite(people).astype(np.int64)
    frame["access_plain"] = table[[c for c in access_plain if c in table]].sum(axis=1).to_numpy(float)
    frame["access_comfort"] = table[[c for c in access_comfort if c in table]].sum(axis=1).to_numpy(float)
    for cls in CLASS_COLOURS:
        frame[f"length_{cls}"] = np.where(table["class"].to_numpy() == cls, length, 0.0)
    stress = table["utci_class"].astype(object).to_numpy() if "utci_class" in table else None
    for key in STRESS_KEYS:  # street length per UTCI stress class, for the maps' legends
        frame[f"length_utci_{key}"] = np.where(stress == key, length, 0.0) if stress is not None else 0.0
    sums = frame.groupby("key", sort=True).sum().reset_index()
    sums.insert(0, "scenario", scenario)
    sums.insert(0, "level", level)
    return sums


def add_up(partials: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The run's sums: the partial rows of every tile added per (level, key, scenario),
    sorted. Give the partials in a fixed order (tiles sorted by name): float sums depend
    on the order they are added in."""
    frames = [p for p in partials if len(p)]
    if not frames:
        return pd.DataFrame(columns=["level", "scenario", "key"])
    return (
        pd.concat(frames, ignore_index=True)
        .groupby(["level", "scenario", "key"], sort=True)
        .sum()
        .reset_index()
    )


def _mean(sums: pd.DataFrame, name: str) -> np.ndarray:
    w = sums[f"{name}_w"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(w > 0, sums[f"{name}_wsum"].to_numpy(float) / w, np.nan)


def place_summary(
    sums: pd.DataFrame,
    key_name: str,
    *,
    hot_season: bool,
    walkable_percentile: float,
    unshaded_below: float,
    uncomfortable_hours: float = 1.0,
) -> pd.DataFrame:
    """Per place (mesh cell or district) of one scenario's sums: length-weighted score,
    standing (``score_percentile``) and shade share (and UTCI and hours in stress when
    known), people per 100 m of street, class (walkable from the mean standing;
    uncomfortable from the mean hours in stress, or the mean UTCI without hours; used and
    crowded from these places' own flows), street length and the share of it in each class.
    """
    from pipeline.thermal.utci import in_strong_stress

    sums = sums.sort_values("key", kind="stable")
    cells = pd.DataFrame(
        {
            key_name: sums["key"].to_numpy(),
            "score": _mean(sums, "score"),
            "score_percentile": _mean(sums, "score_percentile"),
            "shade_share": _mean(sums, "shade_share"),
        }
    )
    utci = _mean(sums, "utci_mean_c")
    thermal = bool(np.isfinite(utci).any())
    uncomfortable = None
    if thermal:
        cells["utci_mean_c"] = utci
        heat, cold = _mean(sums, "hours_utci_above_32"), _mean(sums, "hours_utci_below_0")
        if np.isfinite(heat).any():
            cells["hours_utci_above_32"], cells["hours_utci_below_0"] = heat, cold
            with np.errstate(invalid="ignore"):
                uncomfortable = (heat >= uncomfortable_hours) | (cold >= uncomfortable_hours)
        else:
            uncomfortable = in_strong_stress(utci)
    length = sums["length_m"].to_numpy(float)
    flow_known = sums["flow_n"].to_numpy() > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        cells["people_per_100m"] = np.where(
            flow_known, sums["flow_sum"].to_numpy(float) / length * 100.0, np.nan
        )
    cells["class"] = classify(
        cells["score_percentile"],
        cells["people_per_100m"],
        cells["shade_share"],
        hot_season=hot_season,
        walkable_from=walkable_percentile,
        unshaded_below=unshaded_below,
        uncomfortable=uncomfortable,
    )
    cells.loc[~flow_known, "class"] = "flow_unknown"
    cells["street_length_m"] = length
    for cls in CLASS_COLOURS:
        cells[f"share_{cls}"] = sums[f"length_{cls}"].to_numpy(float) / length
    return cells


def scenario_summary(sums: pd.DataFrame) -> dict:
    """The report's numbers for one scenario from its ``run``-level sums (one row):
    length-weighted score and shade share, with the thermal stage the mean UTCI and the
    length shares in strong heat and cold stress, the comfort access ratio, whether it has
    people flow, and the share of street length in each class."""
    row = sums.iloc[0]
    mean = {name: _mean(sums, name)[0] for name in MEAN_COLUMNS}
    summary = {"mean_score": mean["score"], "mean_shade_share": mean["shade_share"]}
    if np.isfinite(mean["utci_mean_c"]):
        summary.update(
            mean_utci_c=mean["utci_mean_c"],
            share_strong_heat_stress=mean["heat_share"],
            share_strong_cold_stress=mean["cold_share"],
        )
        if np.isfinite(mean["hours_utci_above_32"]):
            summary.update(
                mean_hours_utci_above_32=mean["hours_utci_above_32"],
                mean_hours_utci_below_0=mean["hours_utci_below_0"],
            )
    plain, comfort = float(row["access_plain"]), float(row["access_comfort"])
    summary["comfort_access_ratio"] = comfort / plain if plain > 0 else np.nan
    summary["people_flow"] = "yes" if row["flow_n"] > 0 else "no data"
    for cls in CLASS_COLOURS:
        summary[f"share_{cls}"] = float(row[f"length_{cls}"]) / float(row["length_m"])
    return summary


def mean_score_of_all(sums: pd.DataFrame) -> float:
    """Length-weighted mean score over every segment, an unknown score counting as 0."""
    return float(sums["score_wsum"].sum() / sums["length_m"].sum())
