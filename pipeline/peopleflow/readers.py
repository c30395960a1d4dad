"""Readers for people-flow sources, each returning a tidy pandas DataFrame.

Three sources are understood:

``read_mlit_csv``
    MLIT 全国の人流オープンデータ, 1 km mesh stay population (``monthly_mdp_mesh1km``):
    columns ``mesh1kmid, prefcode, citycode, year, month, dayflag, timezone, population``.
    ``dayflag`` 0 holiday, 1 weekday, 2 all days; ``timezone`` 0 midday (11-14 h),
    1 late night (1-4 h), 2 all day. Population is the mean stay population per day of
    the month. Values under 10 are suppressed by the publisher (the row is left out, or
    the cell is empty): they are read as missing (NaN), never as zero.
``read_hourly_mesh``
    Any hourly table per mesh cell (mesh code, date or day type, hour, population), with
    the column names mapped by the run definition.
``read_counters``
    Pedestrian counter records (counter id, lat, lon, timestamp, count).

Bad input raises :class:`PeopleFlowError` naming the file, the line and the problem.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.geo import meshcode

log = logging.getLogger(__name__)

MLIT_COLUMNS = ("mesh1kmid", "prefcode", "citycode", "year", "month", "dayflag", "timezone", "population")
#: MLIT ``dayflag`` -> day type.
MLIT_DAYFLAGS = {0: "holiday", 1: "weekday", 2: "all"}
#: The publisher suppresses stay populations below this.
MLIT_SUPPRESSION_THRESHOLD = 10.0


class PeopleFlowError(ValueError):
    """A people-flow input that cannot be read: names the file, the line and the problem."""


def _read_table(path: str | os.PathLike) -> pd.DataFrame:
    """A CSV (UTF-8, BOM allowed) or Parquet table with every column read as text for CSV."""
    path = Path(path)
    if not path.is_file():
        raise PeopleFlowError(f"{path}: no such file")
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise PeopleFlowError(f"{path}: not a readable UTF-8 CSV: {exc}") from exc


def _integers(table: pd.DataFrame, column: str, path, *, allowed=None, lo=None, hi=None) -> np.ndarray:
    """Parse a text column of integers, naming the first bad line (header is line 1)."""
    text = table[column].astype(str).str.strip()
    values = pd.to_numeric(text, errors="coerce")
    bad = values.isna() | (values != np.round(values))
    if allowed is not None:
        bad |= ~values.isin(list(allowed))
    if lo is not None:
        bad |= values < lo
    if hi is not None:
        bad |= values > hi
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        expected = f"one of {sorted(allowed)}" if allowed is not None else "an integer"
        if lo is not None or hi is not None:
            expected += f" in [{lo}, {hi}]"
        raise PeopleFlowError(
            f"{path}, line {i + 2}: column {column!r} is {text.iloc[i]!r}, expected {expected}"
        )
    return values.to_numpy(dtype=np.int64)


def _populations(table: pd.DataFrame, column: str, path) -> np.ndarray:
    """Population text -> float; empty or suppression marks are NaN, negatives are errors."""
    text = table[column].astype(str).str.strip()
    missing = text.isin(["", "-", "*", "x", "X", "NA", "NaN", "nan", "秘匿"])
    values = pd.to_numeric(text.where(~missing), errors="coerce")
    bad = values.isna() & ~missing
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise PeopleFlowError(
            f"{path}, line {i + 2}: column {column!r} is {text.iloc[i]!r}, "
            "expected a number or an empty (suppressed) cell"
        )
    if (values < 0).any():
        i = int(np.flatnonzero((values < 0).to_numpy())[0])
        raise PeopleFlowError(f"{path}, line {i + 2}: negative population {text.iloc[i]!r}")
    return values.to_numpy(dtype=np.float64, copy=True)


def _require(table: pd.DataFrame, columns, path) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise PeopleFlowError(f"{path}: missing column(s) {missing}; found {list(table.columns)}")


def read_mlit_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Read one MLIT 1 km mesh stay-population CSV.

    Returns
    -------
    pandas.DataFrame
        ``meshcode`` (int64, 3rd level), ``prefcode``, ``citycode``, ``year``, ``month``
        (int64), ``day_type`` ("holiday", "weekday", "all"), ``timezone`` (0 midday,
        1 late night, 2 all day), ``population`` (float64 persons; NaN where suppressed:
        an empty cell, a suppression mark, or a value under 10).
    """
    start = time.perf_counter()
    table = _read_table(path)
    _require(table, MLIT_COLUMNS, path)
    codes = _integers(table, "mesh1kmid", path)
    if len(codes):
        wrong = (codes < 10_000_000) | (codes > 99_999_999)
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            raise PeopleFlowError(
                f"{path}, line {i + 2}: mesh1kmid {table['mesh1kmid'].iloc[i]!r} "
                "is not an 8-digit 3rd-level mesh code"
            )
        try:
            meshcode.decode_bounds(codes)
        except ValueError as exc:
            raise PeopleFlowError(f"{path}: {exc}") from exc
    population = _populations(table, "population", path)
    suppressed = population < MLIT_SUPPRESSION_THRESHOLD
    population[suppressed] = np.nan
    dayflag = _integers(table, "dayflag", path, allowed=MLIT_DAYFLAGS)
    out = pd.DataFrame(
        {
            "meshcode": codes,
            "prefcode": _integers(table, "prefcode", path, lo=1, hi=47),
            "citycode": _integers(table, "citycode", path),
            "year": _integers(table, "year", path, lo=1900, hi=2100),
            "month": _integers(table, "month", path, lo=1, hi=12),
            "day_type": pd.Series(dayflag).map(MLIT_DAYFLAGS).to_numpy(dtype=object),
            "timezone": _integers(table, "timezone", path, allowed=(0, 1, 2)),
            "population": population,
        }
    )
    key = ["meshcode", "year", "month", "day_type", "timezone"]
    dup = out.duplicated(key)
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise PeopleFlowError(f"{path}, line {i + 2}: duplicate record for {out.loc[i, key].to_dict()}")
    log.info(
        "read %s: %d MLIT records, %d cells, %d suppressed, %.2f s",
        path,
        len(out),
        out["meshcode"].nunique(),
        int(np.isnan(population).sum()),
        time.perf_counter() - start,
    )
    return out


#: Canonical column names of the generic hourly mesh table.
HOURLY_COLUMNS = ("meshcode", "date", "day_type", "month", "hour", "population")


def read_hourly_mesh(
    source: str | os.PathLike | pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    *,
    name: str | None = None,
) -> pd.DataFrame:
    """Read a generic hourly table of population per mesh cell.

    Parameters
    ----------
    source : path or DataFrame
        CSV (UTF-8) or Parquet, or an already loaded table.
    columns : mapping, optional
        Canonical name -> column name in the source, for any of ``meshcode``, ``date``,
        ``day_type``, ``month``, ``hour``, ``population``. ``meshcode``, ``hour`` and
        ``population`` are required, and either ``date`` (a day, from which day type and
        month follow) or ``day_type`` ("weekday"/"holiday"/"all", optionally with
        ``month``). Unmapped names default to themselves.

    Returns
    -------
    pandas.DataFrame
        ``meshcode`` (int64, any level), ``date`` (datetime64, NaT when not given),
        ``day_type``, ``month`` (int64, 0 when unknown), ``hour`` (0..23), ``population``
        (float64, NaN where empty).
    """
    where = name or (str(source) if not isinstance(source, pd.DataFrame) else "<table>")
    table = source if isinstance(source, pd.DataFrame) else _read_table(source)
    mapping = {key: key for key in HOURLY_COLUMNS}
    mapping.update(columns or {})
    unknown = set(columns or {}) - set(HOURLY_COLUMNS)
    if unknown:
        raise PeopleFlowError(
            f"{where}: unknown column mapping key(s) {sorted(unknown)}; known: {list(HOURLY_COLUMNS)}"
        )
    _require(table, [mapping["meshcode"], mapping["hour"], mapping["population"]], where)
    has_date = mapping["date"] in table.columns
    if not has_date and mapping["day_type"] not in table.columns:
        raise PeopleFlowError(
            f"{where}: needs a date column ({mapping['date']!r}) or a day type "
            f"column ({mapping['day_type']!r})"
        )
    table = table.astype({c: str for c in table.columns})
    codes = _integers(table, mapping["meshcode"], where, lo=1)
    try:
        meshcode.level_of(codes)
    except ValueError as exc:
        raise PeopleFlowError(f"{where}: {exc}") from exc
    hour = _integers(table, mapping["hour"], where, lo=0, hi=23)
    out = pd.DataFrame({"meshcode": codes})
    if has_date:
        dates = pd.to_datetime(table[mapping["date"]], errors="coerce")
        if dates.isna().any():
            i = int(np.flatnonzero(dates.isna().to_numpy())[0])
            raise PeopleFlowError(
                f"{where}, line {i + 2}: date {table[mapping['date']].iloc[i]!r} is not a date"
            )
        out["date"] = dates.dt.normalize().to_numpy()
        out["day_type"] = np.where(dates.dt.day_of_week >= 5, "holiday", "weekday").astype(object)
        out["month"] = dates.dt.month.to_numpy(dtype=np.int64)
    else:
        out["date"] = pd.NaT
        day_type = table[mapping["day_type"]].str.strip().str.lower()
        bad = ~day_type.isin(["weekday", "holiday", "all"])
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise PeopleFlowError(
                f"{where}, line {i + 2}: day type {day_type.iloc[i]!r} is not weekday, holiday or all"
            )
        out["day_type"] = day_type.to_numpy(dtype=object)
        out["month"] = (
            _integers(table, mapping["month"], where, lo=1, hi=12) if mapping["month"] in table.columns else 0
        )
    out["hour"] = hour
    out["population"] = _populations(table, mapping["population"], where)
    log.info("read %s: %d hourly mesh records", where, len(out))
    return out


COUNTER_COLUMNS = ("counter_id", "lat", "lon", "timestamp", "count")


def read_counters(
    source: str | os.PathLike | pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    *,
    timezone: str = "Asia/Tokyo",
    name: str | None = None,
) -> pd.DataFrame:
    """Read pedestrian counter records.

    Returns ``counter_id`` (str), ``lat``, ``lon`` (degrees), ``timestamp`` (aware, in
    ``timezone``; naive times are taken as local), ``count`` (float64 pedestrians in the
    record's interval; NaN where empty).
    """
    where = name or (str(source) if not isinstance(source, pd.DataFrame) else "<table>")
    table = source if isinstance(source, pd.DataFrame) else _read_table(source)
    mapping = {key: key for key in COUNTER_COLUMNS}
    mapping.update(columns or {})
    _require(table, [mapping[k] for k in COUNTER_COLUMNS], where)
    table = table.astype({c: str for c in table.columns})
    lat = pd.to_numeric(table[mapping["lat"]], errors="coerce")
    lon = pd.to_numeric(table[mapping["lon"]], errors="coerce")
    bad = lat.isna() | lon.isna() | ~lat.between(-90, 90) | ~lon.between(-180, 180)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise PeopleFlowError(
            f"{where}, line {i + 2}: bad coordinates "
            f"{table[mapping['lat']].iloc[i]!r}, {table[mapping['lon']].iloc[i]!r}"
        )
    stamps = pd.to_datetime(table[mapping["timestamp"]], errors="coerce", utc=False, format="mixed")
    if stamps.isna().any():
        i = int(np.flatnonzero(stamps.isna().to_numpy())[0])
        raise PeopleFlowError(
            f"{where}, line {i + 2}: timestamp {table[mapping['timestamp']].iloc[i]!r} is not a time"
        )
    stamps = stamps.dt.tz_localize(timezone) if stamps.dt.tz is None else stamps.dt.tz_convert(timezone)
    out = pd.DataFrame(
        {
            "counter_id": table[mapping["counter_id"]].str.strip().to_numpy(dtype=object),
            "lat": lat.to_numpy(float),
            "lon": lon.to_numpy(float),
            "timestamp": stamps,
            "count": _populations(table, mapping["count"], where),
        }
    )
    log.info("read %s: %d counter records from %d counters", where, len(out), out["counter_id"].nunique())
    return out


def counters_to_hourly(records: pd.DataFrame) -> pd.DataFrame:
    """Counter records -> pedestrians per counter and clock hour.

    Sums the counts inside each local clock hour (sub-hourly intervals add up; an hour
    with any empty record stays NaN rather than being under-counted). Returns
    ``counter_id, date, day_type, month, hour, count``; weekends are holidays (Japanese
    public holidays are not known here: pass them as ``day_type`` in a generic table).
    """
    local = records["timestamp"]
    frame = pd.DataFrame(
        {
            "counter_id": records["counter_id"].to_numpy(),
            "date": local.dt.tz_localize(None).dt.normalize().to_numpy(),
            "hour": local.dt.hour.to_numpy(np.int64),
            "count": records["count"].to_numpy(float),
        }
    )
    hourly = frame.groupby(["counter_id", "date", "hour"], sort=True)["count"].sum(min_count=1)
    has_gap = frame["count"].isna().groupby([frame["counter_id"], frame["date"], frame["hour"]]).any()
    hourly[has_gap] = np.nan
    hourly = hourly.reset_index()
    dates = pd.to_datetime(hourly["date"])
    hourly["day_type"] = np.where(dates.dt.day_of_week >= 5, "holiday", "weekday").astype(object)
    hourly["month"] = dates.dt.month.astype(np.int64)
    return hourly[["counter_id", "date", "day_type", "month", "hour", "count"]]
