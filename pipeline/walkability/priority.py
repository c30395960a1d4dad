"""Where to act first: a priority index per street segment and scenario.

The index is the **unshaded person-hours in strong heat stress** of a segment in a slot::

    person_hours_heat = people x hours_utci_above_32
    priority          = person_hours_heat x (1 - shade_share)

``people`` are the persons present on the segment in the slot (the people-flow stage's
滞在人口, persons present in a 1 km mesh cell per hour (MLIT 全国の人流オープンデータ),
allocated to the cell's streets; ``people_per_100m x length_m / 100``).
``hours_utci_above_32`` are the hours of the slot the segment's better sidewalk spends in
strong heat stress or worse, UTCI above 32 °C (Bröde et al. 2012, *Int J Biometeorol*
56:481-494, the UTCI assessment scale; :data:`pipeline.walkability.comfort.EXPOSURE_CLASSES`).
Their product counts person-hours of exposure (persons x hours). ``1 - shade_share`` is
the shade deficit: the part of the slot the street is in the sun, which street trees,
awnings or canopies can address (shade of trees lowers the mean radiant temperature and
UTCI of a summer street markedly; Lee, Mayer & Chen 2016, *Landsc Urban Plan* 148:37-50). The index therefore ranks streets where many people spend
hours in strong heat stress without shade first; a shaded street or an empty one ranks low.

Segments without people-flow data, or whose slot has no hours in strong heat stress, get no
index (NaN), not zero: they are left out of the ranking, never ranked last by invention.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The columns a scored segment table needs for the index.
NEEDED = ("segment_id", "length_m", "people", "shade_share", "hours_utci_above_32")
#: The columns of :func:`priority_table`, in order.
COLUMNS = (
    "rank",
    "scenario",
    "segment_id",
    "name",
    "highway",
    "length_m",
    "people",
    "people_per_100m",
    "hours_utci_above_32",
    "shade_share",
    "person_hours_heat",
    "priority",
)


def priority_index(people, hours_heat, shade_share) -> tuple[np.ndarray, np.ndarray]:
    """Person-hours in strong heat stress and the unshaded part of them (the priority).

    Parameters
    ----------
    people : array_like
        Persons present on each segment in the slot (persons; NaN = no people-flow data).
    hours_heat : array_like
        Hours of the slot in strong heat stress or worse, UTCI above 32 °C (h; NaN = unknown).
    shade_share : array_like
        Share of the slot the segment is shaded (0-1).

    Returns
    -------
    person_hours, priority : numpy.ndarray
        ``people * hours_heat`` (person-hours) and ``person_hours * (1 - shade_share)``;
        NaN where an input is NaN. A shade share outside [0, 1] is clipped to it.
    """
    people = np.asarray(people, dtype=np.float64)
    hours = np.asarray(hours_heat, dtype=np.float64)
    shade = np.clip(np.asarray(shade_share, dtype=np.float64), 0.0, 1.0)
    if np.any(people < 0) or np.any(hours < 0):
        raise ValueError("people and hours in heat stress must be >= 0")
    person_hours = people * hours
    return person_hours, person_hours * (1.0 - shade)


def priority_table(segments: pd.DataFrame, scenario: str, top: int | None = None) -> pd.DataFrame:
    """The segments of one scenario ranked by :func:`priority_index`, highest first.

    ``segments`` is a scored segment table (``walkability/segments_<scenario>.parquet``,
    columns :data:`NEEDED`; ``name`` (OSM) and ``highway`` when present). Rows without an
    index or with an index of 0 are left out; ties keep ``segment_id`` order, so the ranking
    is deterministic. ``top`` keeps the first rows. Returns the :data:`COLUMNS`.
    """
    missing = [c for c in NEEDED if c not in segments]
    if missing:
        raise ValueError(
            f"scenario {scenario!r}: the segment table lacks {missing} for the priority index "
            "(it needs the people-flow and thermal stages)"
        )
    person_hours, priority = priority_index(
        segments["people"], segments["hours_utci_above_32"], segments["shade_share"]
    )
    length = segments["length_m"].to_numpy(np.float64)
    table = pd.DataFrame(
        {
            "scenario": scenario,
            "segment_id": segments["segment_id"].astype(str).to_numpy(),
            "name": (
                segments["name"].fillna("").astype(str).to_numpy()
                if "name" in segments
                else np.full(len(segments), "", object)
            ),
            "highway": (
                segments["highway"].fillna("").astype(str).to_numpy()
                if "highway" in segments
                else np.full(len(segments), "", object)
            ),
            "length_m": length,
            "people": segments["people"].to_numpy(np.float64),
            "people_per_100m": segments["people"].to_numpy(np.float64)
            / np.where(length > 0, length, np.nan)
            * 100.0,
            "hours_utci_above_32": segments["hours_utci_above_32"].to_numpy(np.float64),
            "shade_share": segments["shade_share"].to_numpy(np.float64),
            "person_hours_heat": person_hours,
            "priority": priority,
        }
    )
    table = table[np.isfinite(priority) & (priority > 0)]
    table = table.sort_values(["priority", "segment_id"], ascending=[False, True], kind="stable")
    if top is not None:
        table = table.head(top)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.reset_index(drop=True)[list(COLUMNS)]
