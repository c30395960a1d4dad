"""Time alignment: people-flow values per scenario (season x time slot) and day type.

A scenario (``pipeline.shade.sun.Scenario``: a season standing on one date, and a time slot of
local clock time) is covered by a source only where the source measured that time. The
alignment table, applied the same way to every source:

==========  ==========================================================================
what        rule
==========  ==========================================================================
time slot   MLIT: the slot must equal a published timezone (0 = 11-14 h "midday",
            1 = 1-4 h "late night") or lie inside it ("inside"); the all-day value (2)
            is never used for a slot. Hourly sources: every clock hour the slot
            touches must be present; the value is the mean over those hours.
season      the month of the season's date; if the source has no such month, the
            nearest month within ``month_tolerance`` (cyclic, ties to the earlier
            month). Several years of the same month are averaged.
day type    "weekday" and "holiday" must be present as such: an "all days" value is
            never substituted for either (request "all" explicitly to use it).
==========  ==========================================================================

Where a rule fails the scenario is reported as not covered and its values are NaN; no
value is invented. Suppressed values stay NaN through the means (a cell whose every
value for a scenario is suppressed is NaN).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: MLIT ``timezone`` code -> (name, start hour, end hour), local time.
MLIT_TIMEZONES = {0: ("midday", 11, 14), 1: ("late_night", 1, 4), 2: ("all_day", 0, 24)}
DAY_TYPES = ("weekday", "holiday")

COVERAGE_COLUMNS = ["source", "scenario", "day_type", "covered", "how"]


@dataclass
class AlignedFlow:
    """Values per key (mesh code or counter id), scenario and day type, and the coverage report.

    ``values`` has columns ``<key>, scenario, day_type, <value>`` (NaN where not covered
    or suppressed); ``coverage`` has ``source, scenario, day_type, covered, how``.
    """

    values: pd.DataFrame
    coverage: pd.DataFrame

    def wide(self, day_type: str = "weekday") -> pd.DataFrame:
        """One row per key, one column per scenario, for one day type."""
        key, value = self.values.columns[0], self.values.columns[-1]
        sel = self.values[self.values["day_type"] == day_type]
        return sel.pivot(index=key, columns="scenario", values=value)


def _hours(clock: str) -> float:
    hh, mm = clock.split(":")[:2]
    return int(hh) + int(mm) / 60.0


def _slot_hours(slot) -> tuple[float, float]:
    return _hours(slot.start), _hours(slot.end)


def _month_distance(a: int, b: int) -> int:
    d = abs(a - b) % 12
    return min(d, 12 - d)


def pick_month(season_month: int, available: Iterable[int], tolerance: int) -> tuple[int | None, str]:
    """The source month standing for a season: the same month, else the nearest within tolerance."""
    months = sorted({int(m) for m in available if m})
    if season_month in months:
        return season_month, f"month {season_month}"
    near = [m for m in months if _month_distance(m, season_month) <= tolerance]
    if not near:
        return None, (f"no month within {tolerance} of {season_month} (source has {months or 'none'})")
    best = min(near, key=lambda m: (_month_distance(m, season_month), (m - season_month) % 12 < 6))
    return best, f"nearest month {best} for {season_month}"


def rows_of_month(
    rows: pd.DataFrame, season_month: int, tolerance: int, assume_all_seasons: bool = False
) -> tuple[pd.DataFrame, int | None, str]:
    """The rows of an hourly table (``month`` column, 0 = unknown) standing for a season's month.

    The same month, else the nearest within ``tolerance`` (:func:`pick_month`); undated rows
    (month 0) only with ``assume_all_seasons``. Returns the rows, the month used (0: undated,
    None: none) and how it was chosen.
    """
    dated = rows[rows["month"] > 0]
    month, how = pick_month(season_month, dated["month"], tolerance)
    if month is not None:
        return dated[dated["month"] == month], month, how
    if assume_all_seasons and (rows["month"] == 0).any():
        return rows[rows["month"] == 0], 0, "source has no month: used for every season"
    return rows.iloc[:0], None, how


def _mlit_timezone_for(slot) -> tuple[int | None, str]:
    start, end = _slot_hours(slot)
    for code, (name, tz_start, tz_end) in MLIT_TIMEZONES.items():
        if code == 2:
            continue
        if (start, end) == (tz_start, tz_end):
            return (
                code,
                f"timezone {code} ({name} {tz_start}-{tz_end} h) = slot {slot.start}-{slot.end} exactly",
            )
        if tz_start <= start and end <= tz_end:
            return code, (
                f"slot {slot.start}-{slot.end} inside timezone {code} ({name} "
                f"{tz_start}-{tz_end} h): mean over the longer span"
            )
    return None, (
        f"MLIT has no values for {slot.start}-{slot.end} (only midday 11-14 h, late night 1-4 h, all day)"
    )


def align_mlit(
    records: pd.DataFrame,
    scenarios: Sequence,
    *,
    day_types: Sequence[str] = DAY_TYPES,
    month_tolerance: int = 1,
    source: str = "mlit",
) -> AlignedFlow:
    """MLIT stay population (from :func:`~pipeline.peopleflow.readers.read_mlit_csv`) per scenario.

    Parameters
    ----------
    records : pandas.DataFrame
        ``meshcode, year, month, day_type, timezone, population``.
    scenarios : sequence of pipeline.shade.sun.Scenario
        Anything with ``name``, ``season.month`` and ``slot.start``/``slot.end`` ("HH:MM").
    day_types : sequence of str
        "weekday", "holiday" and/or "all".
    month_tolerance : int
        How many months away a source month may be from the season's month.

    Returns
    -------
    AlignedFlow
        ``values``: ``meshcode, scenario, day_type, population`` for every cell in the
        records, NaN where suppressed or not covered.
    """
    cells = np.sort(records["meshcode"].unique())
    frames, report = [], []
    for scenario in scenarios:
        tz, tz_how = _mlit_timezone_for(scenario.slot)
        for day_type in day_types:
            population = np.full(len(cells), np.nan)
            covered, how = False, tz_how
            if tz is not None:
                rows = records[(records["timezone"] == tz) & (records["day_type"] == day_type)]
                month, month_how = pick_month(scenario.season.month, rows["month"], month_tolerance)
                if month is None:
                    how = f"{tz_how}; {month_how}"
                else:
                    rows = rows[rows["month"] == month]
                    years = sorted(rows["year"].unique().tolist())
                    mean = rows.groupby("meshcode")["population"].mean()  # NaN-skipping over years
                    population = mean.reindex(cells).to_numpy(float)
                    covered = True
                    how = f"{tz_how}; {month_how}; dayflag {day_type}; years {years}"
            frames.append(
                pd.DataFrame(
                    {
                        "meshcode": cells,
                        "scenario": scenario.name,
                        "day_type": day_type,
                        "population": population,
                    }
                )
            )
            report.append((source, scenario.name, day_type, covered, how))
    return AlignedFlow(
        _concat(frames, ["meshcode", "scenario", "day_type", "population"]),
        pd.DataFrame(report, columns=COVERAGE_COLUMNS),
    )


def align_hourly(
    table: pd.DataFrame,
    scenarios: Sequence,
    *,
    key: str = "meshcode",
    value: str = "population",
    day_types: Sequence[str] = DAY_TYPES,
    month_tolerance: int = 1,
    assume_all_seasons: bool = False,
    source: str = "hourly",
) -> AlignedFlow:
    """Hourly values (mesh table or counters) per scenario: mean over the slot's hours.

    Parameters
    ----------
    table : pandas.DataFrame
        ``<key>, day_type, month, hour, <value>`` (from
        :func:`~pipeline.peopleflow.readers.read_hourly_mesh` or
        :func:`~pipeline.peopleflow.readers.counters_to_hourly`); ``month`` 0 = unknown.
    assume_all_seasons : bool
        Use values without a month (``month == 0``) for every season; reported as such.
        Off by default: a table without dates covers no season.

    Returns
    -------
    AlignedFlow
        Per key: the mean over days of each hour, then the mean over the slot's hours (NaN
        if any of those hours is NaN for that key).
    """
    keys = np.sort(table[key].unique())
    frames, report = [], []
    for scenario in scenarios:
        start, end = _slot_hours(scenario.slot)
        slot_hours = list(range(int(math.floor(start)), int(math.ceil(end))))
        for day_type in day_types:
            values = np.full(len(keys), np.nan)
            rows = table[table["day_type"] == day_type]
            covered = False
            if rows.empty:
                how = f"no {day_type} records"
            else:
                rows, month, how = rows_of_month(
                    rows, scenario.season.month, month_tolerance, assume_all_seasons
                )
                if month is not None:
                    missing = sorted(set(slot_hours) - set(rows["hour"].unique().tolist()))
                    if missing:
                        how = f"{how}; hours {missing} of slot {scenario.slot.start}-{scenario.slot.end} missing"
                    else:
                        per_hour = (
                            rows[rows["hour"].isin(slot_hours)]
                            .groupby([key, "hour"])[value]
                            .mean()  # mean over days
                            .unstack("hour")
                            .reindex(index=keys, columns=slot_hours)
                        )
                        values = per_hour.mean(axis=1, skipna=False).to_numpy(float)
                        covered = True
                        how = (
                            f"{how}; mean of hours {slot_hours[0]}-{slot_hours[-1] + 1} h "
                            f"for slot {scenario.slot.start}-{scenario.slot.end}"
                        )
            frames.append(
                pd.DataFrame({key: keys, "scenario": scenario.name, "day_type": day_type, value: values})
            )
            report.append((source, scenario.name, day_type, covered, how))
    return AlignedFlow(
        _concat(frames, [key, "scenario", "day_type", value]), pd.DataFrame(report, columns=COVERAGE_COLUMNS)
    )


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]
