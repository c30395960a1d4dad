"""Effects of measures: before (the baseline run) and after (the run with the measures).

Per street segment and scenario (:func:`segment_effects`): the before, after and change
(after - before) of

- ``shade_share``: share of the segment in shade over the slot (0..1);
- ``utci_mean_c``: mean UTCI (°C) of its better side over the slot;
- ``hours_utci_above_32``: hours its better side spends in strong heat stress or worse
  (UTCI above 32 °C, Bröde et al. 2012), mean along the side, and
  ``hours_utci_above_38`` in very strong heat stress or worse (above 38 °C);
- ``c_thermal``: the thermal comfort component (0..1), ``score`` (0..100) and ``class``;
- ``people``: pedestrians on the segment in the slot, when the people flow is there.

Per district and scenario (:func:`district_person_hours`): person-hours in strong heat
stress or worse, ``people x hours_utci_above_32``, before and after. Because
``hours_utci_above_32`` is the mean over the side's length of each point's hours, this is
people x hours x share of length summed over the stretches of the segment.

Rasters (:func:`change_raster`): after - before, cell by cell, on the tile grid.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

#: Per-segment values compared before and after (their units in the module docstring).
COMPARED = (
    "shade_share",
    "utci_mean_c",
    "hours_utci_above_32",
    "hours_utci_above_38",
    "c_thermal",
    "score",
    "people",
)
#: Categorical values reported before and after (no change column).
CLASSES = ("class", "utci_class")
KEYS = ("segment_id", "scenario")


def segment_effects(before: pd.DataFrame, after: pd.DataFrame) -> gpd.GeoDataFrame | pd.DataFrame:
    """Before, after and change of :data:`COMPARED` per segment and scenario.

    Parameters
    ----------
    before, after : DataFrame
        Scored segments (``walkability/tiles/<tile>_scored.parquet``: one row per
        ``segment_id`` and ``scenario``) of the baseline and of the run with measures.

    Returns
    -------
    DataFrame
        One row per segment and scenario of ``after``: ``segment_id``, ``scenario``,
        ``season``, ``slot``, ``length_m``, ``<name>_before``, ``<name>_after``,
        ``<name>_change`` for every compared column present, ``<class>_before`` /
        ``<class>_after``, and the geometry of ``after`` when it has one. Segments missing
        from ``before`` have NaN before.
    """
    compared = [c for c in COMPARED if c in after.columns and c in before.columns]
    classes = [c for c in CLASSES if c in after.columns and c in before.columns]
    carried = [c for c in ("season", "slot", "length_m", "geometry") if c in after.columns]
    old = before[list(KEYS) + compared + classes].rename(
        columns={c: f"{c}_before" for c in compared + classes}
    )
    new = after[list(KEYS) + carried + compared + classes].rename(
        columns={c: f"{c}_after" for c in compared + classes}
    )
    joined = new.merge(old, on=list(KEYS), how="left", validate="one_to_one")
    columns = list(KEYS) + [c for c in carried if c != "geometry"]
    for name in compared:
        joined[f"{name}_change"] = joined[f"{name}_after"] - joined[f"{name}_before"]
        columns += [f"{name}_before", f"{name}_after", f"{name}_change"]
    columns += [f"{c}_{when}" for c in classes for when in ("before", "after")]
    out = joined[columns + (["geometry"] if "geometry" in carried else [])]
    out = out.sort_values(list(KEYS), kind="stable").reset_index(drop=True)
    if "geometry" in carried and isinstance(after, gpd.GeoDataFrame):
        return gpd.GeoDataFrame(out, geometry="geometry", crs=after.crs)
    return out


def changed_segments(effects: pd.DataFrame, tolerance: float = 1e-9) -> pd.Series:
    """Whether each row's segment changed in any compared value (beyond ``tolerance``)."""
    changes = [effects[c].abs() > tolerance for c in effects.columns if c.endswith("_change")]
    return pd.concat(changes, axis=1).any(axis=1) if changes else pd.Series(False, index=effects.index)


def district_person_hours(effects: pd.DataFrame, districts: Sequence) -> pd.DataFrame:
    """Person-hours in strong heat stress or worse per district and scenario.

    Parameters
    ----------
    effects : DataFrame
        :func:`segment_effects` with ``people_*`` and ``hours_utci_above_32_*``.
    districts : sequence
        The district of each row (None: outside every district, left out).

    Returns
    -------
    DataFrame
        ``district``, ``scenario``, ``person_hours_before``, ``person_hours_after``,
        ``person_hours_change``, ``segments_changed``.
    """
    frame = pd.DataFrame({"district": list(districts), "scenario": effects["scenario"].to_numpy()})
    for when in ("before", "after"):
        people = effects.get(f"people_{when}", pd.Series(np.nan, index=effects.index))
        frame[f"person_hours_{when}"] = (
            people.fillna(0.0) * effects[f"hours_utci_above_32_{when}"].fillna(0.0)
        ).to_numpy()
    frame["segments_changed"] = changed_segments(effects).to_numpy().astype(int)
    frame = frame[frame["district"].notna()]
    table = (
        frame.groupby(["district", "scenario"], sort=True)[
            ["person_hours_before", "person_hours_after", "segments_changed"]
        ]
        .sum()
        .reset_index()
    )
    table["person_hours_change"] = table["person_hours_after"] - table["person_hours_before"]
    return table[
        [
            "district",
            "scenario",
            "person_hours_before",
            "person_hours_after",
            "person_hours_change",
            "segments_changed",
        ]
    ]


def change_raster(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """``after - before`` (float32; NaN where either is NaN). Same grid for both."""
    if before.shape != after.shape:
        raise ValueError(f"before {before.shape} and after {after.shape} are not on one grid")
    return (after.astype(np.float64) - before.astype(np.float64)).astype(np.float32)


#: CoolWalkability columns of the walkability summary compared before and after.
COOLWALK_COLUMNS = ("coolwalkability_shade", "coolwalkability_thermal")


def district_coolwalk_change(
    table: pd.DataFrame, before: pd.DataFrame | None, after: pd.DataFrame | None
) -> pd.DataFrame:
    """``table`` (per district and scenario) with the CoolWalkability before, after and the change.

    Parameters
    ----------
    table : DataFrame
        :func:`district_person_hours`, keyed by ``district`` and ``scenario``.
    before, after : DataFrame or None
        ``coolwalkability_by_district`` of the baseline and of this run
        (:func:`pipeline.walkability.outputs.coolwalk_by_district`: ``district``,
        ``scenario``, ``coolwalkability_shade`` and, with UTCI, ``coolwalkability_thermal``,
        each 0..1, Wolf, Vierø & Szell 2024). None: the run wrote none; no columns added.

    Returns
    -------
    DataFrame
        ``table`` plus ``<column>_before``, ``<column>_after``, ``<column>_change`` (after -
        before) for each of :data:`COOLWALK_COLUMNS` both tables have; a district or
        scenario missing from one side is NaN there.
    """
    if before is None or after is None:
        return table
    keys = ["district", "scenario"]
    out = table
    for column in COOLWALK_COLUMNS:
        if column not in before or column not in after:
            continue
        pair = before[keys + [column]].merge(
            after[keys + [column]], on=keys, how="outer", suffixes=("_before", "_after")
        )
        pair[f"{column}_change"] = pair[f"{column}_after"] - pair[f"{column}_before"]
        out = out.merge(pair, on=keys, how="left")
    return out
