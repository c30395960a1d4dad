"""Trip ends per street node: building floor area by usage, and station / bus-stop points.

Trip classes
    PLATEAU ``bldg:usage`` codes are grouped as in
    :data:`pipeline.walkability.inputs.USAGE_CLASSES`, then folded into the four
    building classes of trip-rate tables (:data:`TRIP_CLASS_OF`): residential,
    commercial, office, public (文教厚生 schools and hospitals count as public).
    Transport, industrial and unknown uses produce no walking trips here. A mixed-use
    building's floor area is split evenly over its classes. Points: ``station`` and
    ``bus_stop``.
Trip rates
    Trips per hour produced at and attracted to 100 m² of floor area (buildings) or one
    unit of a point's ``weight`` (e.g. daily boardings), per class, day type and clock
    hour. **No rates are shipped.** The sources this would come from
    (大規模開発地区関連交通計画マニュアル's 発生集中原単位, or person-trip survey
    tabulations) could not be obtained with their numbers, so a rate table is a required
    input and must name its source (:func:`read_trip_rates`). Only the rates' relative
    sizes shape the flows once they are scaled by a fitted ratio
    (:mod:`pipeline.flowsim.validation`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from pipeline.flowsim.graph import FlowGraph, snap_to_nodes
from pipeline.peopleflow.allocation import floor_area_m2
from pipeline.peopleflow.profiles import slot_hours
from pipeline.walkability.inputs import USAGE_CLASSES

BUILDING_CLASSES = ("residential", "commercial", "office", "public")
POINT_CLASSES = ("station", "bus_stop")
#: destination class of :data:`USAGE_CLASSES` -> trip class (absent: no walking trips)
TRIP_CLASS_OF = {
    "residential": "residential",
    "commercial": "commercial",
    "office": "office",
    "public": "public",
    "education_medical": "public",
}


class TripRateError(ValueError):
    """A trip-rate table that cannot be used: names the file, the line and the problem."""


@dataclass(frozen=True)
class TripRates:
    """Trips per hour per 100 m² floor area (buildings) or per unit of point weight.

    ``table``: ``class, day_type, hour, produced, attracted``; ``source``: the
    publication the rates come from, as the user named it.
    """

    table: pd.DataFrame
    source: str

    def for_slot(self, start: str, end: str, day_type: str) -> pd.DataFrame:
        """Mean rates over the slot's clock hours, indexed by class (``produced, attracted``)."""
        hours = slot_hours(start, end)
        rows = self.table[(self.table["day_type"] == day_type) & self.table["hour"].isin(hours)]
        counts = rows.groupby("class")["hour"].nunique()
        short = counts[counts < len(hours)]
        if len(short) or rows.empty:
            raise TripRateError(
                f"trip rates ({self.source}): hours {hours} of {day_type} missing for "
                f"{sorted(short.index) or 'every class'}"
            )
        return rows.groupby("class")[["produced", "attracted"]].mean()


def read_trip_rates(path: str | os.PathLike) -> TripRates:
    """Read a trip-rate CSV whose first line is ``# source: <publication, table, year, URL>``.

    Columns ``class, day_type, hour, produced, attracted`` (``class`` one of
    :data:`BUILDING_CLASSES` + :data:`POINT_CLASSES`; ``day_type`` weekday/holiday;
    ``hour`` 0..23; rates >= 0).
    """
    path = Path(path)
    if not path.is_file():
        raise TripRateError(f"{path}: no such file")
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    source = ""
    if lines and lines[0].startswith("#"):
        key, _, value = lines[0][1:].partition(":")
        source = value.strip() if key.strip().lower() == "source" else ""
    if not source:
        raise TripRateError(
            f"{path}, line 1: trip rates must name their source as '# source: ...' "
            "(no rates are shipped: they must come from a published table)"
        )
    table = pd.read_csv(StringIO("\n".join(lines[1:])), dtype=str)
    for column in ("class", "day_type", "hour", "produced", "attracted"):
        if column not in table:
            raise TripRateError(f"{path}: missing column {column!r}; found {list(table.columns)}")
    hour = pd.to_numeric(table["hour"], errors="coerce")
    produced = pd.to_numeric(table["produced"], errors="coerce")
    attracted = pd.to_numeric(table["attracted"], errors="coerce")
    bad = (
        ~table["class"].isin(BUILDING_CLASSES + POINT_CLASSES)
        | ~table["day_type"].isin(["weekday", "holiday"])
        | hour.isna()
        | ~hour.between(0, 23)
        | produced.isna()
        | (produced < 0)
        | attracted.isna()
        | (attracted < 0)
    )
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise TripRateError(
            f"{path}, line {i + 3}: bad row {table.iloc[i].to_dict()} (class one of "
            f"{BUILDING_CLASSES + POINT_CLASSES}, day_type weekday/holiday, hour 0..23, "
            "rates >= 0)"
        )
    frame = pd.DataFrame(
        {
            "class": table["class"],
            "day_type": table["day_type"],
            "hour": hour.astype(np.int64),
            "produced": produced,
            "attracted": attracted,
        }
    )
    return TripRates(frame, source)


def building_floor_by_class(buildings: gpd.GeoDataFrame) -> pd.DataFrame:
    """Floor area (m²) of each building per trip class (columns :data:`BUILDING_CLASSES`)."""
    area = floor_area_m2(buildings) if len(buildings) else np.zeros(0)
    usage = (
        buildings["usage"].astype(str).str.strip().to_numpy()
        if "usage" in buildings
        else np.full(len(buildings), "")
    )
    out = np.zeros((len(buildings), len(BUILDING_CLASSES)))
    column = {c: k for k, c in enumerate(BUILDING_CLASSES)}
    for i, code in enumerate(usage):
        classes = sorted({TRIP_CLASS_OF[c] for c in USAGE_CLASSES.get(code, ()) if c in TRIP_CLASS_OF})
        for c in classes:
            out[i, column[c]] += area[i] / len(classes)
    return pd.DataFrame(out, columns=list(BUILDING_CLASSES), index=buildings.index)


@dataclass(frozen=True)
class TripEnds:
    """Trips per hour produced at / attracted to each node, and what could not be snapped."""

    production: np.ndarray
    attraction: np.ndarray
    unsnapped_production: float


def trip_ends(
    graph: FlowGraph,
    buildings: gpd.GeoDataFrame,
    stops: gpd.GeoDataFrame | None,
    rates: pd.DataFrame,
    *,
    max_snap_m: float = 100.0,
) -> TripEnds:
    """Trip ends per node for one slot and day type.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        Footprints in the graph's metric CRS with ``usage`` and storeys or height.
    stops : geopandas.GeoDataFrame, optional
        Points with ``kind`` (station / bus_stop) and ``weight`` (default 1).
    rates : pandas.DataFrame
        :meth:`TripRates.for_slot`: ``produced, attracted`` per class.
    max_snap_m : float
        A building centroid or stop farther than this from every node is not snapped; its
        trips are reported in ``unsnapped_production``.
    """
    production = np.zeros(graph.n_nodes)
    attraction = np.zeros(graph.n_nodes)
    unsnapped = 0.0

    def add(xy, produced, attracted):
        nonlocal unsnapped
        node = snap_to_nodes(graph, xy, max_distance_m=max_snap_m)
        ok = node >= 0
        np.add.at(production, node[ok], produced[ok])
        np.add.at(attraction, node[ok], attracted[ok])
        unsnapped += float(produced[~ok].sum())

    rate = rates.reindex(list(BUILDING_CLASSES) + list(POINT_CLASSES)).fillna(0.0)
    if len(buildings):
        floor = building_floor_by_class(buildings).to_numpy() / 100.0
        centroid = buildings.geometry.centroid
        xy = np.column_stack([centroid.x.to_numpy(), centroid.y.to_numpy()])
        add(
            xy,
            floor @ rate.loc[list(BUILDING_CLASSES), "produced"].to_numpy(),
            floor @ rate.loc[list(BUILDING_CLASSES), "attracted"].to_numpy(),
        )
    if stops is not None and len(stops):
        kind = stops["kind"].astype(str).to_numpy()
        unknown = sorted(set(kind) - set(POINT_CLASSES))
        if unknown:
            raise ValueError(f"stops: kind must be one of {POINT_CLASSES}, found {unknown}")
        weight = (
            pd.to_numeric(stops["weight"], errors="coerce").fillna(1.0).to_numpy(float)
            if "weight" in stops
            else np.ones(len(stops))
        )
        xy = np.column_stack([stops.geometry.x.to_numpy(), stops.geometry.y.to_numpy()])
        add(
            xy,
            weight * rate.loc[kind, "produced"].to_numpy(),
            weight * rate.loc[kind, "attracted"].to_numpy(),
        )
    return TripEnds(production, attraction, unsnapped)
