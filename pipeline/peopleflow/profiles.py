"""Diurnal profiles: each clock hour's people flow relative to the MLIT midday window (11-14 h).

MLIT's open mesh data publishes a midday (11-14 h) and a late-night value only. A profile
carries, per day type and clock hour ``h`` (local time, hour ``h`` = ``h:00-h:59``), the
ratio

    share(h) = flow(h) / mean(flow(11), flow(12), flow(13))                      (1)

so that a slot's value is the MLIT midday value times the mean ratio over the slot's
hours (:func:`slot_factor`), the same hour rule as
:func:`pipeline.peopleflow.alignment.align_hourly`.

Where profiles come from, in order of preference:

``counters`` / ``hourly``
    Built from the run's own hourly pedestrian counts or hourly mesh tables
    (:func:`profile_from_hourly`): mean over days of each hour, then over the keys
    (counters or cells) the profile stands for, then (1). Observed.
``profile``
    A published table of trips by departure hour (:func:`read_profile_table`), with its
    title, table, year and URL as mandatory metadata. Modelled: values from it are
    marked ``profile``.

No published default table is shipped with Machi yet (:data:`DEFAULT_PROFILE_PATH` is
None): the hourly walking-trip figures of the Tokyo Metropolitan Area Person Trip Survey
(東京都市圏パーソントリップ調査, 2018) are published as charts, and no table with its
numbers could be obtained and checked. A run without counters or hourly tables must name
such a table itself (see README, "Diurnal profiles"); nothing is made up.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.peopleflow.readers import PeopleFlowError

#: The MLIT midday window (``timezone`` 0), local clock hours 11, 12 and 13.
MIDDAY_HOURS = (11, 12, 13)
#: Where a published default profile would live; None: none is shipped (module docstring).
DEFAULT_PROFILE_PATH: Path | None = None
#: Metadata every published profile table must carry (``# key: value`` header lines).
PROFILE_METADATA = ("title", "table", "year", "url")
#: ``people_source`` labels: observed sources and the modelled ones.
OBSERVED_SOURCES = ("mlit", "counters", "hourly")
MODELLED_SOURCES = ("profile", "simulated")


@dataclass(frozen=True)
class DiurnalProfile:
    """Hourly flow relative to the 11-14 h mean, per day type.

    Attributes
    ----------
    shares : pandas.DataFrame
        Index: clock hour 0..23; one column per day type ("weekday", "holiday");
        dimensionless ratio (1) of the module docstring; NaN where the source has no value.
    source : str
        ``counters``, ``hourly`` or ``profile``: the ``people_source`` of values made with it.
    citation : dict
        For ``profile``: the table's ``title``, ``table``, ``year`` and ``url``; for the
        others, what it was built from.
    """

    shares: pd.DataFrame
    source: str
    citation: dict = field(default_factory=dict)

    def slot_factor(self, start: str, end: str, day_type: str) -> float:
        """Mean ratio over the clock hours a slot ``start``-``end`` ("HH:MM") touches."""
        if day_type not in self.shares:
            return float("nan")
        return slot_factor(self.shares[day_type].to_numpy(float), start, end)

    def cell_factors(self, cells: np.ndarray, scenario, day_type: str) -> tuple[np.ndarray, str]:
        """The one slot factor for every cell (a published profile has no place), and how."""
        factor = self.slot_factor(scenario.slot.start, scenario.slot.end, day_type)
        hours = slot_hours(scenario.slot.start, scenario.slot.end)
        return (
            np.full(len(cells), factor),
            f"the {self.source} profile's mean over hours {hours} ({day_type}): {factor:.3f}",
        )


def _clock(text: str) -> float:
    hh, mm = str(text).split(":")[:2]
    return int(hh) + int(mm) / 60.0


def slot_hours(start: str, end: str) -> list[int]:
    """Clock hours a slot touches (``"07:00"``-``"09:30"`` -> [7, 8, 9])."""
    a, b = _clock(start), _clock(end)
    if not b > a:
        raise ValueError(f"slot {start}-{end}: end must be after start")
    return list(range(int(math.floor(a)), int(math.ceil(b))))


def slot_factor(shares_by_hour: np.ndarray, start: str, end: str) -> float:
    """Mean of ``shares_by_hour`` (24 values, ratio (1)) over the slot's clock hours.

    NaN if any of those hours is NaN (a slot is covered only where every hour is).
    """
    shares = np.asarray(shares_by_hour, dtype=np.float64)
    if shares.shape != (24,):
        raise ValueError(f"a profile needs 24 hourly values, got {shares.shape}")
    return float(np.mean(shares[slot_hours(start, end)]))


def relative_to_midday(by_hour: np.ndarray) -> np.ndarray:
    """Hourly values (24) divided by their 11-14 h mean, equation (1); NaN without a midday."""
    values = np.asarray(by_hour, dtype=np.float64)
    midday = values[list(MIDDAY_HOURS)].mean()
    if not np.isfinite(midday) or midday <= 0:
        return np.full(24, np.nan)
    return values / midday


def profile_from_hourly(
    table: pd.DataFrame, *, key: str, value: str, source: str, keys=None
) -> DiurnalProfile:
    """A profile from an hourly table of counts or populations.

    Parameters
    ----------
    table : pandas.DataFrame
        ``<key>, day_type, hour, <value>`` (from
        :func:`~pipeline.peopleflow.readers.counters_to_hourly` with ``key="counter_id",
        value="count"``, or :func:`~pipeline.peopleflow.readers.read_hourly_mesh` with
        ``key="meshcode", value="population"``).
    source : {"counters", "hourly"}
    keys : sequence, optional
        Only these counters or cells (e.g. those of one district).

    Returns
    -------
    DiurnalProfile
        Per day type: for each key the mean over days of each hour, summed over keys
        (keys lacking an hour do not count for any hour of that day type, so the
        profile compares the same keys at every hour), then equation (1).
    """
    if source not in ("counters", "hourly"):
        raise ValueError(f"source must be 'counters' or 'hourly', got {source!r}")
    rows = table if keys is None else table[table[key].isin(list(keys))]
    columns = {}
    for day_type in ("weekday", "holiday"):
        sel = rows[(rows["day_type"] == day_type) & rows[value].notna()]
        per_key = sel.groupby([key, "hour"])[value].mean().unstack("hour").reindex(columns=range(24))
        complete = per_key.dropna(axis=0, how="any")
        by_hour = complete.sum(axis=0).to_numpy(float) if len(complete) else np.full(24, np.nan)
        columns[day_type] = relative_to_midday(by_hour)
    shares = pd.DataFrame(columns, index=pd.RangeIndex(24, name="hour"))
    n = rows[key].nunique()
    return DiurnalProfile(shares, source, {"built_from": f"{n} {source} key(s)"})


def read_profile_table(path: str | os.PathLike) -> DiurnalProfile:
    """A published profile: a CSV of trips by departure hour with its citation.

    Format (UTF-8)::

        # title: <publication title>
        # table: <table or figure number in it>
        # year: <survey year>
        # url: <where it is published>
        day_type,hour,trips
        weekday,0,...

    ``hour`` 0..23 (departure hour), ``trips`` as printed in the table (any unit: only
    the ratios (1) are used). All four metadata lines are required; every day type
    present needs all 24 hours.

    Raises
    ------
    PeopleFlowError
        Naming the file, the line and what is wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise PeopleFlowError(f"{path}: no such file")
    text = path.read_text(encoding="utf-8-sig").splitlines()
    meta, body_start = {}, 0
    for i, line in enumerate(text):
        if not line.startswith("#"):
            body_start = i
            break
        name, _, val = line[1:].partition(":")
        meta[name.strip().lower()] = val.strip()
    missing = [m for m in PROFILE_METADATA if not meta.get(m)]
    if missing:
        raise PeopleFlowError(
            f"{path}: profile metadata {missing} missing: a published profile "
            "must name its title, table, year and URL ('# key: value' lines)"
        )
    from io import StringIO

    table = pd.read_csv(StringIO("\n".join(text[body_start:])), dtype=str)
    for column in ("day_type", "hour", "trips"):
        if column not in table:
            raise PeopleFlowError(f"{path}: missing column {column!r}; found {list(table.columns)}")
    hours = pd.to_numeric(table["hour"], errors="coerce")
    trips = pd.to_numeric(table["trips"], errors="coerce")
    bad = (
        hours.isna()
        | ~hours.between(0, 23)
        | trips.isna()
        | (trips < 0)
        | ~table["day_type"].isin(["weekday", "holiday"])
    )
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise PeopleFlowError(
            f"{path}, line {body_start + i + 2}: expected day_type weekday/holiday, "
            f"hour 0..23 and trips >= 0, got {table.iloc[i].to_dict()}"
        )
    columns = {}
    for day_type, rows in table.assign(hour=hours.astype(int), trips=trips).groupby("day_type", sort=True):
        if sorted(rows["hour"]) != list(range(24)):
            raise PeopleFlowError(f"{path}: {day_type} needs each hour 0..23 exactly once")
        by_hour = rows.set_index("hour")["trips"].sort_index().to_numpy(float)
        columns[day_type] = relative_to_midday(by_hour)
    shares = pd.DataFrame(columns, index=pd.RangeIndex(24, name="hour"))
    return DiurnalProfile(shares, "profile", {k: meta[k] for k in PROFILE_METADATA})


def default_profile() -> DiurnalProfile:
    """The shipped published profile; raises while none is shipped (module docstring)."""
    if DEFAULT_PROFILE_PATH is None:
        raise PeopleFlowError(
            "no default diurnal profile is shipped: no published table of walking trips by "
            "hour could be obtained with its numbers. Give counters (kind: counters), an "
            "hourly table (kind: hourly) or a published profile table with its citation"
        )
    return read_profile_table(DEFAULT_PROFILE_PATH)


def mlit_with_profile(
    records: pd.DataFrame,
    scenarios,
    profile,
    *,
    day_types=("weekday", "holiday"),
    month_tolerance: int = 1,
    source: str = "mlit",
):
    """MLIT stay population for every scenario: observed where MLIT covers the slot, else
    the season's midday (11-14 h) value times the cell's slot factor from ``profile``.

    Parameters
    ----------
    records : pandas.DataFrame
        From :func:`~pipeline.peopleflow.readers.read_mlit_csv`.
    scenarios : sequence
        Anything with ``name``, ``season.month`` and ``slot.start``/``slot.end``.
    profile : DiurnalProfile or pipeline.peopleflow.local_profiles.ObservedShape
        Anything with ``source`` and ``cell_factors(cells, scenario, day_type) -> (factors, how)``.
    source : str
        The MLIT source's name (the ``source`` column of the coverage).

    Returns
    -------
    AlignedFlow
        ``values``: ``meshcode, scenario, day_type, population, people_source``
        (``mlit`` where observed, the profile's source where derived, NaN and
        ``none`` where neither); ``coverage`` (``source, scenario, day_type, covered,
        how, people_source``) says which, and with what factor.
    """
    from types import SimpleNamespace

    from pipeline.peopleflow.alignment import AlignedFlow, align_mlit

    scenarios = list(scenarios)
    common = dict(day_types=day_types, month_tolerance=month_tolerance, source=source)
    observed = align_mlit(records, scenarios, **common)
    midday_of = [
        SimpleNamespace(name=s.name, season=s.season, slot=SimpleNamespace(start="11:00", end="14:00"))
        for s in scenarios
    ]
    midday = align_mlit(records, midday_of, **common)
    key = ["meshcode", "scenario", "day_type"]
    values = observed.values.merge(midday.values.rename(columns={"population": "midday"}), on=key, how="left")
    values["people_source"] = np.where(values["population"].notna(), "mlit", "none").astype(object)
    coverage = observed.coverage.copy()
    coverage["people_source"] = np.where(coverage["covered"], "mlit", "none").astype(object)
    midday_covered = midday.coverage.set_index(["scenario", "day_type"])["covered"]
    by_name = {s.name: s for s in scenarios}
    for i, row in coverage.iterrows():
        if row["covered"]:
            continue
        if not bool(midday_covered.loc[(row["scenario"], row["day_type"])]):
            coverage.loc[i, "how"] = f"{row['how']}; no MLIT midday value to shape either"
            continue
        sel = ((values["scenario"] == row["scenario"]) & (values["day_type"] == row["day_type"])).to_numpy()
        factors, how = profile.cell_factors(
            values.loc[sel, "meshcode"].to_numpy(), by_name[row["scenario"]], row["day_type"]
        )
        derived = values.loc[sel, "midday"].to_numpy(float) * factors
        if not np.isfinite(derived).any():
            coverage.loc[i, "how"] = f"{row['how']}; no {profile.source} shape: {how}"
            continue
        values.loc[sel, "population"] = derived
        values.loc[sel & values["population"].notna().to_numpy(), "people_source"] = profile.source
        coverage.loc[i, ["covered", "people_source"]] = [True, profile.source]
        coverage.loc[i, "how"] = f"MLIT midday (11-14 h) x {how}"
    return AlignedFlow(values[key + ["population", "people_source"]], coverage)
