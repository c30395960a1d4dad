"""Diurnal shares around each mesh cell from the run's own hourly observations.

The run's pedestrian counters (``kind: counters``) or hourly mesh tables (``kind: hourly``)
give, for a scenario's month (the month rules of :mod:`pipeline.peopleflow.alignment`) and
day type, each clock hour's flow relative to 11-14 h
(:func:`pipeline.peopleflow.profiles.profile_from_hourly`, equation (1) there). Which
observations stand for a third-level (1 km) mesh cell:

- the observations inside the cell (a counter's point, an hourly cell or its sub-cells),
  when the cell has any with every hour of the day;
- otherwise all of the source's observations pooled: the run's area (one district in the
  sample) is taken to share one daily rhythm.

The slot factor of a cell is the mean of its profile over the slot's clock hours
(:func:`pipeline.peopleflow.profiles.slot_factor`). Multiplied with the MLIT midday value
of the cell it gives the cell's people in the slot
(:func:`pipeline.peopleflow.profiles.mlit_with_profile`); such values are labelled with
the source's kind (``counters`` or ``hourly``): observed rhythm, MLIT level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.geo import meshcode
from pipeline.peopleflow.alignment import rows_of_month
from pipeline.peopleflow.profiles import profile_from_hourly, slot_hours


@dataclass(frozen=True)
class ObservedShape:
    """Hourly observations that give each mesh cell its diurnal shape.

    Attributes
    ----------
    table : pandas.DataFrame
        ``<key>, day_type, month, hour, <value>`` (``month`` 0 = undated):
        :func:`~pipeline.peopleflow.readers.counters_to_hourly` or
        :func:`~pipeline.peopleflow.readers.read_hourly_mesh`.
    cell_of : pandas.Series
        Key (counter id or mesh code) -> the third-level mesh code it lies in.
    key, value : str
        The table's key and value columns (``counter_id``/``count`` or ``meshcode``/``population``).
    source : {"counters", "hourly"}
        The ``people_source`` of values shaped with it.
    month_tolerance : int
    assume_all_seasons : bool
        Undated rows stand for every season (see :func:`~pipeline.peopleflow.alignment.rows_of_month`).
    """

    table: pd.DataFrame
    cell_of: pd.Series
    key: str
    value: str
    source: str
    month_tolerance: int = 1
    assume_all_seasons: bool = False

    @classmethod
    def from_counters(cls, hourly: pd.DataFrame, where: pd.DataFrame, **options) -> ObservedShape:
        """From counter hours and the counters' ``lat``/``lon`` (index ``counter_id``)."""
        cells = meshcode.encode(where["lat"].to_numpy(float), where["lon"].to_numpy(float), 3)
        return cls(hourly, pd.Series(cells, index=where.index), "counter_id", "count", "counters", **options)

    @classmethod
    def from_hourly_mesh(cls, table: pd.DataFrame, **options) -> ObservedShape:
        """From an hourly mesh table (cells of level 3 or finer)."""
        codes = np.sort(table["meshcode"].unique())
        if np.any(meshcode.level_of(codes) < 3):
            raise ValueError("an hourly table shapes 1 km cells only from cells of level 3 or finer")
        parents = meshcode.parent(codes, 3).astype(np.int64)
        return cls(table, pd.Series(parents, index=codes), "meshcode", "population", "hourly", **options)

    def cell_factors(self, cells: np.ndarray, scenario, day_type: str) -> tuple[np.ndarray, str]:
        """Slot factor of each third-level cell for ``scenario`` and ``day_type`` (NaN: none).

        Returns the factors and a sentence saying which month and observations made them.
        """
        cells = np.asarray(cells, np.int64)
        rows = self.table[self.table["day_type"] == day_type]
        rows, month, how = rows_of_month(
            rows, scenario.season.month, self.month_tolerance, self.assume_all_seasons
        )
        hours = slot_hours(scenario.slot.start, scenario.slot.end)
        if month is None or rows.empty:
            return np.full(len(cells), np.nan), f"{self.source}: {how}"

        def factor(keys=None) -> float:
            profile = profile_from_hourly(rows, key=self.key, value=self.value, source=self.source, keys=keys)
            return profile.slot_factor(scenario.slot.start, scenario.slot.end, day_type)

        pooled = factor()
        out = np.full(len(cells), pooled)
        own = 0
        for cell, keys in self.cell_of.groupby(self.cell_of.to_numpy()).groups.items():
            hit = cells == int(cell)
            if not hit.any():
                continue
            value = factor(list(keys))
            if np.isfinite(value):
                out[hit] = value
                own += int(hit.sum())
        n = rows[self.key].nunique()
        what = (
            f"{self.source} ({how}, {day_type}) share over hours {hours} relative to 11-14 h: "
            f"{own} cell(s) from their own observations, the others from all {n} pooled "
            f"(factor {pooled:.3f})"
        )
        return out, what
