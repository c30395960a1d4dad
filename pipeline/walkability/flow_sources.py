"""Which people flow each scenario's streets carry: observed, modelled, or none.

Every segment carries, per scenario, a ``people_source`` (:data:`PEOPLE_SOURCES`):

===========  =========================================================================
``mlit``     observed: MLIT's stay population of the slot (its 11-14 h time zone)
``counters`` observed rhythm: MLIT midday x the hourly share of the counters around the
             cell (:mod:`pipeline.peopleflow.local_profiles`)
``hourly``   observed: an hourly mesh table, or MLIT midday shaped by one
``profile``  modelled: MLIT midday x a published diurnal profile (none shipped)
``simulated`` modelled: the pedestrian flow simulation (``stages.flow``), only where none
             of the above gave a value
``none``     no people flow
===========  =========================================================================

:func:`slot_sources` sums street length per scenario and source over the scored tiles
(a tile at a time) into the table the report and viewer read: per scenario, the share of
street length with each source, the main source and whether it is observed or modelled.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

#: ``people_source`` values, observed first.
OBSERVED = ("mlit", "counters", "hourly")
MODELLED = ("profile", "simulated")
PEOPLE_SOURCES = OBSERVED + MODELLED + ("none",)
COLUMNS = ["scenario", "season", "slot", "people_source", "flow", "share_with_people"] + [
    f"share_{s}" for s in PEOPLE_SOURCES
]


def source_lengths(scored: pd.DataFrame) -> pd.DataFrame:
    """Street length (m) per scenario (rows) and ``people_source`` (columns) of scored segments."""
    labels = scored["people_source"] if "people_source" in scored else pd.Series("none", index=scored.index)
    return (
        scored.assign(people_source=labels.fillna("none"))
        .pivot_table(
            index="scenario", columns="people_source", values="length_m", aggfunc="sum", fill_value=0.0
        )
        .reindex(columns=list(PEOPLE_SOURCES), fill_value=0.0)
    )


def slot_sources(lengths: Iterable[pd.DataFrame], scenarios: Sequence) -> pd.DataFrame:
    """One row per scenario (:data:`COLUMNS`) from the tiles' :func:`source_lengths`.

    ``people_source``: the source of most street length with people (``none`` without);
    ``flow``: ``observed`` when every street with people has an observed source,
    ``modelled`` when none has, ``mixed`` otherwise, ``none`` without people.
    """
    total = None
    for part in lengths:
        total = part if total is None else total.add(part, fill_value=0.0)
    names = [s.name for s in scenarios]
    total = (
        (total if total is not None else pd.DataFrame(columns=list(PEOPLE_SOURCES)))
        .reindex(index=names, columns=list(PEOPLE_SOURCES), fill_value=0.0)
        .fillna(0.0)
    )
    length = total.sum(axis=1).to_numpy(float)
    rows = []
    for scenario, (_, row) in zip(scenarios, total.iterrows()):
        known = row.drop("none")
        observed, modelled = float(row[list(OBSERVED)].sum()), float(row[list(MODELLED)].sum())
        flow = (
            "none"
            if known.sum() <= 0
            else "observed"
            if modelled == 0
            else "modelled"
            if observed == 0
            else "mixed"
        )
        rows.append(
            (
                scenario.name,
                scenario.season.name,
                scenario.slot.name,
                str(known.idxmax()) if known.sum() > 0 else "none",
                flow,
            )
        )
    table = pd.DataFrame(rows, columns=COLUMNS[:5])
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = total.to_numpy(float) / length[:, None]
    table["share_with_people"] = 1.0 - shares[:, PEOPLE_SOURCES.index("none")]
    for k, source in enumerate(PEOPLE_SOURCES):
        table[f"share_{source}"] = shares[:, k]
    return table[COLUMNS]


def fill_simulated(rows: pd.DataFrame, length_m: pd.Series, simulated: pd.DataFrame | None) -> pd.DataFrame:
    """Per-scenario rows with the simulated people where nothing else gave any.

    Parameters
    ----------
    rows : pandas.DataFrame
        Walkability per-scenario rows (``segment_id, scenario, people, people_source``).
    length_m : pandas.Series
        Segment length (m) by ``segment_id``.
    simulated : pandas.DataFrame or None
        ``segment_id, scenario, people_per_100m`` of the ``flow_fit`` stage (MLIT units).

    Returns
    -------
    pandas.DataFrame
        ``rows`` with ``people = people_per_100m x length / 100`` and ``people_source =
        "simulated"`` where ``people`` was NaN and a simulated value exists; observed and
        profiled values are kept as they are.
    """
    if simulated is None or simulated.empty:
        return rows
    key = pd.MultiIndex.from_arrays([rows["segment_id"], rows["scenario"]])
    values = simulated.set_index(["segment_id", "scenario"])["people_per_100m"].reindex(key).to_numpy(float)
    length = length_m.reindex(rows["segment_id"]).to_numpy(float)
    fill = rows["people"].isna().to_numpy() & np.isfinite(values)
    out = rows.copy()
    out.loc[fill, "people"] = values[fill] * length[fill] / 100.0
    if "people_source" not in out:
        out["people_source"] = "none"
    out.loc[fill, "people_source"] = "simulated"
    return out
