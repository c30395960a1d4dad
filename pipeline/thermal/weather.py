"""Air temperature, relative humidity and wind for the time steps of a scenario.

Three kinds of source, all read by :func:`read_weather` (which tells them apart by content):

JMA hourly CSV (:func:`read_jma_hourly`)
    The file the Japan Meteorological Agency's past-weather download (過去の気象データ・
    ダウンロード) writes for an AMeDAS station or observatory: Shift_JIS (cp932), a line with
    the download time, a blank line, a row of station names, a row of element names
    (``年月日時, 気温(℃), ...``), one or two rows of sub-labels, then one row per hour. Each
    value column is followed by its quality column (品質情報) and, once per element, a
    homogeneity number (均質番号); wind speed also carries a direction and its quality.
    Hour 24 is written as 0:00 of the next day. Quality codes: 8 normal, 5 quasi-normal
    (up to 20 % of the underlying samples missing), 4 insufficient data, 2 doubtful,
    1 missing, 0 not observed. Values with a quality below ``min_quality`` (default 5) are
    dropped. A change of homogeneity number (station moved, instrument changed) is kept
    but reported in :attr:`HourlyObservations.notes`.
Plain CSV (:func:`read_weather_csv`)
    Columns ``date`` (``YYYY-MM-DD``) *or* ``month`` (1-12), ``hour`` (0-24, local time,
    the value at the top of the hour), ``air_temperature_c``, ``relative_humidity_pct``,
    ``wind_speed_ms``. With ``date`` it is a record of observations like the JMA file; with
    ``month`` it is one representative day per month (every hour 0-23 required).
Monthly climate normals (:func:`read_normals`)
    ``month, tmax_mean_c, tmin_mean_c, rh_mean_pct, wind_mean_ms`` with ``# key: value``
    header comments naming source, station and period. ``sample_data/weather/`` holds the
    default for the sample district.

Which days stand for a season (observations)
    A *composite day*: for each local hour, the mean of that hour over every day within
    ``window_days`` (default 7) of the season's month-day, in every year of the file (or
    the ``years`` given). With ``window_days=0`` and one year it is exactly that day. The
    composite is a typical day of the season, not an extreme one. With a threshold
    (``observed_hot_days``) only the days whose maximum hourly temperature is at or above
    it enter: the composite of the observed 猛暑日 at 35 °C. (JMA's daily maximum 日最高気温
    is taken from continuous samples and runs a few tenths above the highest hourly value,
    so a day at the threshold may be left out; the rule errs towards hotter days.)

Observed radiation (JMA ``日射量(MJ/㎡)``)
    Global horizontal irradiation of the hour ending at the row's time, MJ/m²; divided by
    0.0036 it is the hour's mean irradiance in W/m² (1 W/m² for 3600 s is 0.0036 MJ/m²).
    Each observed hour is split into direct normal and diffuse horizontal irradiance by
    the Erbs, Klein & Duffie (1982) correlation (:func:`pvlib.irradiance.erbs`) at the sun
    position of the middle of the hour (:func:`pipeline.thermal.radiation.erbs_split`);
    the composite day holds the mean GHI, DNI and DHI of each hour, and steps interpolate
    between the hours' mid-points. JMA leaves the night hours blank: an hour without a
    value whose middle has the sun below the horizon counts as 0.

Design heat day (:func:`design_heat_day`, 設計猛暑日)
    A day's diurnal shape and vapour pressure (the normals curve, or a composite of
    observed days) with every hour raised by the same amount so the day's maximum is a
    given temperature (35.0 °C by default, the 猛暑日 threshold); relative humidity is
    recomputed from each hour's kept vapour pressure at its new temperature (capped at
    100 %). Wind and radiation are those of the day it was made from.

Diurnal curve (normals)
    Air temperature follows two half-cosines: the minimum at sunrise (pvlib SPA at the
    site), the maximum at ``max_temperature_hour`` (default 14:00 local), back down to the
    minimum at the next sunrise::

        T(t) = Tmin + (Tmax - Tmin) * (1 - cos(pi * (t - t_rise) / (t_max - t_rise))) / 2     t_rise <= t <= t_max
        T(t) = Tmin + (Tmax - Tmin) * (1 + cos(pi * (t - t_max) / (t_rise + 24 - t_max))) / 2  otherwise (t shifted by 24 h before sunrise)

    The curve is sampled every minute (:data:`NORMALS_SAMPLES_PER_HOUR`), so a step at
    14:05 reads the curve, not a chord between 14:00 and 15:00. The vapour pressure is
    held constant over the day (the usual assumption: absolute humidity varies much less
    than temperature over a day) at the value whose relative humidities over the day
    average to the normal's mean RH (RH capped at 100 %). Wind is the monthly mean,
    constant over the day.

Every source yields a :class:`DiurnalProfile` for a date: values at local hours 0-23
(or finer, for the normals' curve), linearly interpolated to the scenario's time steps (:func:`scenario_weather`). Its
``source`` text says what was used, for the run's report.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import pvlib
from scipy.optimize import brentq

log = logging.getLogger(__name__)

DEFAULT_TIMEZONE = "Asia/Tokyo"
#: samples per hour of the normals' diurnal curve (one a minute)
NORMALS_SAMPLES_PER_HOUR = 60
VARIABLES = ("air_temperature_c", "relative_humidity_pct", "wind_speed_ms")
#: global horizontal irradiance, hour-ending hourly mean, W/m² (optional column of observations)
GHI = "ghi_wm2"
RADIATION = ("ghi_wm2", "dni_wm2", "dhi_wm2")
#: plausible ranges: values outside are input errors, not weather
VALID_RANGE = {
    "air_temperature_c": (-60.0, 60.0),
    "relative_humidity_pct": (0.0, 100.0),
    "wind_speed_ms": (0.0, 75.0),
    GHI: (0.0, 1400.0),
}
#: JMA element names (the text before the unit in brackets) of the three variables
JMA_ELEMENTS = {"気温": "air_temperature_c", "相対湿度": "relative_humidity_pct", "風速": "wind_speed_ms"}
#: the optional JMA radiation element, 日射量(MJ/㎡) per hour, and its conversion to W/m²
JMA_RADIATION = "日射量"
MJ_PER_HOUR_TO_WM2 = 1e6 / 3600.0
JMA_QUALITY, JMA_HOMOGENEITY = "品質情報", "均質番号"
JMA_QUALITY_CODES = {
    8: "normal",
    5: "quasi-normal",
    4: "insufficient data",
    2: "doubtful",
    1: "missing",
    0: "not observed",
}


class WeatherError(ValueError):
    """A weather file that cannot be read; the message names the file and the line."""


def saturation_vapour_pressure_hpa(air_temperature_c):
    """Saturation vapour pressure over water, hPa (Magnus form, Alduchov & Eskridge 1996)."""
    t = np.asarray(air_temperature_c, dtype=np.float64)
    return 6.1094 * np.exp(17.625 * t / (t + 243.04))


def sunrise_hour(date: dt.date, latitude: float, longitude: float, timezone: str = DEFAULT_TIMEZONE) -> float:
    """Local clock hour of sunrise on ``date`` (pvlib SPA), e.g. 4.4 for 04:24."""
    noon = pd.DatetimeIndex([pd.Timestamp(f"{date.isoformat()} 12:00", tz=timezone)])
    rise = pvlib.solarposition.sun_rise_set_transit_spa(noon, latitude, longitude)["sunrise"].iloc[0]
    return clock_hour(rise, date, latitude, timezone)


def clock_hour(
    sunrise: pd.Timestamp, date: dt.date, latitude: float, timezone: str = DEFAULT_TIMEZONE
) -> float:
    """Local clock hour of an SPA ``sunrise`` (:func:`sunrise_hour`'s last step); ``date`` and
    ``latitude`` name it in the error when there is none (polar day or night)."""
    if pd.isna(sunrise):
        raise ValueError(f"no sunrise on {date} at latitude {latitude} (polar day or night)")
    rise = sunrise.tz_convert(timezone)
    return rise.hour + rise.minute / 60.0 + rise.second / 3600.0


@dataclass(frozen=True)
class StepWeather:
    """Weather at each time step of a scenario (all arrays of the length of ``timestamps``).

    Attributes
    ----------
    timestamps : pandas.DatetimeIndex
        Timezone-aware instants (the sun-position samples of the scenario).
    air_temperature_c : numpy.ndarray
        Air temperature, °C.
    relative_humidity_pct : numpy.ndarray
        Relative humidity, %.
    wind_speed_ms : numpy.ndarray
        Wind speed at the station's anemometer (taken as the 10 m wind UTCI expects), m/s.
    source : str
        What was used (for the run's report).
    ghi_wm2, dni_wm2, dhi_wm2 : numpy.ndarray or None
        Observed global horizontal, direct normal and diffuse horizontal irradiance, W/m²
        (None when the source has no radiation).
    """

    timestamps: pd.DatetimeIndex
    air_temperature_c: np.ndarray
    relative_humidity_pct: np.ndarray
    wind_speed_ms: np.ndarray
    source: str
    ghi_wm2: np.ndarray | None = None
    dni_wm2: np.ndarray | None = None
    dhi_wm2: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.timestamps)


@dataclass(frozen=True)
class DiurnalProfile:
    """One representative day: each variable at local hours 0, 1, ..., 23 (top of the hour).

    The variables may also be sampled finer, ``24 n`` values at every ``1/n`` hour from
    0:00 (the normals' curve). ``timezone`` is the clock the hours are in (JST for JMA data). ``ghi_wm2``,
    ``dni_wm2`` and ``dhi_wm2`` (optional, W/m²) are the mean irradiance of the hours
    [0, 1), [1, 2), ..., [23, 24): element ``k`` stands at ``k + 0.5`` h.
    """

    air_temperature_c: np.ndarray
    relative_humidity_pct: np.ndarray
    wind_speed_ms: np.ndarray
    source: str
    timezone: str = DEFAULT_TIMEZONE
    ghi_wm2: np.ndarray | None = None
    dni_wm2: np.ndarray | None = None
    dhi_wm2: np.ndarray | None = None

    @property
    def has_radiation(self) -> bool:
        return self.ghi_wm2 is not None

    def __post_init__(self):
        names = VARIABLES + (RADIATION if self.ghi_wm2 is not None else ())
        for name in names:
            values = np.asarray(getattr(self, name), dtype=np.float64)
            hourly_only = name in RADIATION
            if values.ndim != 1 or (
                values.size != 24 if hourly_only else values.size % 24 or not values.size
            ):
                raise ValueError(
                    f"{self.source}: {name} needs 24 hourly values (or 24 n for the "
                    f"temperature curve), got shape {values.shape}"
                )
            if not np.isfinite(values).all():
                missing = np.flatnonzero(~np.isfinite(values)).tolist()
                raise ValueError(f"{self.source}: no {name} for local hour(s) {missing}")
            object.__setattr__(self, name, values)

    def at(self, timestamps: pd.DatetimeIndex) -> StepWeather:
        """Values at ``timestamps`` (tz-aware), linear between samples, 23:00 to 24:00 = 0:00."""
        timestamps = pd.DatetimeIndex(timestamps)
        if timestamps.tz is None:
            raise ValueError("weather is looked up at timezone-aware timestamps only")
        local = timestamps.tz_convert(self.timezone)
        hours = (local.hour + local.minute / 60.0 + local.second / 3600.0).to_numpy(dtype=np.float64)
        values = {}
        for name in VARIABLES:
            samples = getattr(self, name)
            knots = np.arange(samples.size + 1, dtype=np.float64) * (24.0 / samples.size)
            values[name] = np.interp(hours, knots, np.append(samples, samples[0]))
        if self.has_radiation:
            values.update(
                {
                    name: np.interp(hours, np.arange(24) + 0.5, getattr(self, name), period=24.0)
                    for name in RADIATION
                }
            )
        return StepWeather(timestamps, source=self.source, **values)


class WeatherSource(Protocol):
    """Anything that gives a :class:`DiurnalProfile` for a date at a site."""

    source: str

    def profile(
        self, date: dt.date, *, latitude: float, longitude: float, timezone: str = DEFAULT_TIMEZONE
    ) -> DiurnalProfile: ...


def _day_distance(days: pd.DatetimeIndex, month: int, day: int) -> np.ndarray:
    """Days between each date and the nearest (month, day) of its own, previous or next year."""
    years = days.year.to_numpy()
    best = np.full(len(days), np.inf)
    for shift in (-1, 0, 1):
        targets = pd.to_datetime([_month_day(y + shift, month, day) for y in years])
        best = np.minimum(best, np.abs((days - targets).days.to_numpy()))
    return best


def _month_day(year: int, month: int, day: int) -> dt.date:
    """``year-month-day``; 29 February in a common year becomes the 28th."""
    if month == 2 and day == 29 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        day = 28
    return dt.date(year, month, day)


@dataclass(frozen=True)
class HourlyObservations:
    """Hourly observations (JMA CSV or a plain CSV with dates).

    Attributes
    ----------
    table : pandas.DataFrame
        Tz-aware, sorted, unique ``DatetimeIndex``; columns :data:`VARIABLES` (NaN where
        missing or dropped for quality).
    source : str
        File and station, for the report.
    notes : tuple of str
        Remarks worth reporting (homogeneity changes, values dropped for quality).
    window_days : int
        Days either side of the season's month-day averaged into a composite day.
    years : tuple of int, optional
        Years to use (None: every year in the file).
    """

    table: pd.DataFrame
    source: str
    notes: tuple[str, ...] = ()
    window_days: int = 7
    years: tuple[int, ...] | None = None

    @property
    def has_radiation(self) -> bool:
        """Whether the observations include global radiation (``ghi_wm2``)."""
        return GHI in self.table.columns and bool(np.isfinite(self.table[GHI]).any())

    def profile(
        self,
        date: dt.date,
        *,
        latitude: float = 0.0,
        longitude: float = 0.0,
        timezone: str = DEFAULT_TIMEZONE,
        threshold_c: float | None = None,
        window_days: int | None = None,
    ) -> DiurnalProfile:
        """The composite day for ``date``'s month-day (see module docstring).

        Parameters
        ----------
        date : datetime.date
            Its month and day pick the days (any year of the record).
        latitude, longitude : float
            The site, degrees (sun positions of the radiation split).
        threshold_c : float, optional
            Only days whose maximum hourly air temperature is at or above this, °C.
        window_days : int, optional
            Days either side of the month-day (default: :attr:`window_days`).

        Raises
        ------
        WeatherError
            No day in the window (or none at or above the threshold).
        """
        window = self.window_days if window_days is None else window_days
        table = self.table.tz_convert(timezone)
        if self.years is not None:
            table = table[np.isin(table.index.year, self.years)]
        days, inverse = np.unique(table.index.tz_localize(None).normalize().to_numpy(), return_inverse=True)
        near = _day_distance(pd.DatetimeIndex(days), date.month, date.day) <= window
        in_years = f" in {list(self.years)}" if self.years else ""
        if not near.any():
            raise WeatherError(
                f"{self.source}: no observations within {window} days of {date:%m-%d}{in_years}"
            )
        which = ""
        if threshold_c is not None:
            day_max = pd.Series(table["air_temperature_c"].to_numpy()).groupby(inverse).max()
            hot = day_max.reindex(range(len(days))).to_numpy() >= threshold_c
            near &= hot
            if not near.any():
                raise WeatherError(
                    f"{self.source}: no day with a maximum hourly temperature at or above "
                    f"{threshold_c:g} °C within ±{window} days of {date:%m-%d}{in_years}"
                )
            which = f"days with a maximum at or above {threshold_c:g} °C, "
        chosen = table[near[inverse]]
        hourly = chosen.groupby(chosen.index.hour)[list(VARIABLES)].mean().reindex(range(24))
        n_days = chosen.index.normalize().nunique()
        years = sorted(set(chosen.index.year))
        span = f"years {years[0]}-{years[-1]}" if len(years) > 1 else f"{years[0]}"
        text = (
            f"{self.source}: composite of {n_days} {which}days within ±{window} days of {date:%m-%d}, {span}"
        )
        radiation = {}
        if self.has_radiation:
            radiation = _composite_radiation(chosen[GHI], latitude, longitude, timezone)
            text += "; global radiation observed, split by Erbs et al. (1982)"
        return DiurnalProfile(
            source=text,
            timezone=timezone,
            **radiation,
            **{name: hourly[name].to_numpy() for name in VARIABLES},
        )


def _composite_radiation(
    ghi: pd.Series, latitude: float, longitude: float, timezone: str
) -> dict[str, np.ndarray]:
    """Mean GHI, DNI and DHI (W/m²) of each local hour [k, k+1) over the observed hours.

    ``ghi`` holds hour-ending means at tz-aware times; each is split by Erbs at the sun
    position of the middle of its hour (:func:`pipeline.thermal.radiation.erbs_split`).
    """
    from pipeline.thermal.radiation import erbs_split

    middle = pd.DatetimeIndex(ghi.index) - pd.Timedelta(minutes=30)
    zenith = pvlib.solarposition.get_solarposition(middle, latitude, longitude)["zenith"].to_numpy()
    values = ghi.to_numpy(dtype=np.float64)
    values = np.where(np.isnan(values) & (zenith >= 90.0), 0.0, values)  # JMA: night hours blank
    dni, dhi = erbs_split(values, zenith, middle)
    frame = pd.DataFrame({"ghi_wm2": values, "dni_wm2": dni, "dhi_wm2": dhi})
    hourly = frame.groupby(middle.tz_convert(timezone).hour.to_numpy()).mean().reindex(range(24))
    return {name: hourly[name].to_numpy() for name in RADIATION}


def design_heat_day(profile: DiurnalProfile, max_temperature_c: float = 35.0) -> DiurnalProfile:
    """The design heat day (設計猛暑日) made from ``profile`` (see module docstring).

    Parameters
    ----------
    profile : DiurnalProfile
        The day whose diurnal shape, vapour pressure, wind and radiation are kept.
    max_temperature_c : float
        The day's maximum air temperature, °C (35.0: the 猛暑日 threshold).

    Returns
    -------
    DiurnalProfile
        Air temperature ``profile.air_temperature_c + (max_temperature_c - max)``: its
        maximum is exactly ``max_temperature_c``; relative humidity from each hour's
        vapour pressure ``e = RH/100 * es(T)`` at the new temperature, capped at 100 %.
    """
    air = profile.air_temperature_c + (max_temperature_c - profile.air_temperature_c.max())
    air[np.argmax(profile.air_temperature_c)] = max_temperature_c  # exact, whatever the rounding
    vapour_hpa = (
        profile.relative_humidity_pct / 100.0 * saturation_vapour_pressure_hpa(profile.air_temperature_c)
    )
    humidity = np.minimum(100.0, 100.0 * vapour_hpa / saturation_vapour_pressure_hpa(air))
    text = f"{design_heat_day_label(max_temperature_c)}, shape and vapour pressure of {profile.source}"
    radiation = {name: getattr(profile, name) for name in RADIATION}
    return DiurnalProfile(
        air, humidity, profile.wind_speed_ms, source=text, timezone=profile.timezone, **radiation
    )


def design_heat_day_label(max_temperature_c: float = 35.0) -> str:
    """``設計猛暑日 / design heat day (max 35.0 °C)``: how the design day is named everywhere."""
    return f"設計猛暑日 / design heat day (max {max_temperature_c:.1f} °C)"


@dataclass(frozen=True)
class MonthlyProfiles:
    """One representative day per month (a plain CSV with ``month`` and ``hour``)."""

    profiles: dict[int, DiurnalProfile]
    source: str

    def profile(
        self,
        date: dt.date,
        *,
        latitude: float = 0.0,
        longitude: float = 0.0,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> DiurnalProfile:
        if date.month not in self.profiles:
            raise ValueError(f"{self.source}: no hours for month {date.month}")
        return self.profiles[date.month]


def diurnal_temperature(
    hours: np.ndarray, tmin_c: float, tmax_c: float, sunrise: float, max_hour: float = 14.0
) -> np.ndarray:
    """Air temperature at local ``hours`` by the two half-cosine curve (module docstring).

    Parameters
    ----------
    hours : numpy.ndarray
        Local clock hours, 0 <= h < 24.
    tmin_c, tmax_c : float
        Daily minimum (at ``sunrise``) and maximum (at ``max_hour``), °C.
    sunrise, max_hour : float
        Local clock hours; ``sunrise < max_hour``.
    """
    if not sunrise < max_hour:
        raise ValueError(f"sunrise {sunrise:.2f} h is not before the hour of the maximum {max_hour} h")
    h = np.asarray(hours, dtype=np.float64)
    h = np.where(h < sunrise, h + 24.0, h)
    rising = h <= max_hour
    share = np.where(
        rising,
        (1 - np.cos(np.pi * (h - sunrise) / (max_hour - sunrise))) / 2,
        (1 + np.cos(np.pi * (h - max_hour) / (sunrise + 24.0 - max_hour))) / 2,
    )
    return tmin_c + (tmax_c - tmin_c) * share


def constant_vapour_pressure_rh(air_temperature_c: np.ndarray, mean_rh_pct: float) -> np.ndarray:
    """RH (%) at each sample at a constant vapour pressure whose RHs average to ``mean_rh_pct``."""
    es = saturation_vapour_pressure_hpa(air_temperature_c)

    def rh(ea):
        return np.minimum(100.0, 100.0 * ea / es)

    if mean_rh_pct >= 100.0:
        return np.full(es.shape, 100.0)
    ea = brentq(lambda e: rh(e).mean() - mean_rh_pct, 0.0, float(es.max()), xtol=1e-10)
    return rh(ea)


@dataclass(frozen=True)
class MonthlyNormals:
    """Monthly climate normals and the diurnal curve between their daily min and max.

    Attributes
    ----------
    table : pandas.DataFrame
        Index ``month`` 1-12; ``tmax_mean_c``, ``tmin_mean_c`` (mean daily max/min, °C),
        ``rh_mean_pct`` (%), ``wind_mean_ms`` (m/s).
    source : str
        Source, station and period, for the report.
    metadata : dict
        Every ``# key: value`` of the file's header (source, station, period, and
        ``status.<column>``: how far each column's figures are sourced; a status starting
        with UNVERIFIED is repeated in every profile's ``source``).
    max_temperature_hour : float
        Local hour of the daily maximum.
    """

    table: pd.DataFrame
    source: str
    metadata: dict[str, str] = field(default_factory=dict)
    max_temperature_hour: float = 14.0

    @property
    def unverified(self) -> list[str]:
        """Columns whose ``# status.<column>:`` header says UNVERIFIED (named in every report)."""
        return [
            key.split(".", 1)[1]
            for key, value in self.metadata.items()
            if key.startswith("status.") and value.upper().startswith("UNVERIFIED")
        ]

    def profile(
        self, date: dt.date, *, latitude: float, longitude: float, timezone: str = DEFAULT_TIMEZONE
    ) -> DiurnalProfile:
        row = self.table.loc[date.month]
        rise = sunrise_hour(date, latitude, longitude, timezone)
        hours = np.arange(24 * NORMALS_SAMPLES_PER_HOUR, dtype=np.float64) / NORMALS_SAMPLES_PER_HOUR
        air = diurnal_temperature(
            hours, row["tmin_mean_c"], row["tmax_mean_c"], rise, self.max_temperature_hour
        )
        humidity = constant_vapour_pressure_rh(air, float(row["rh_mean_pct"]))
        wind = np.full(hours.size, float(row["wind_mean_ms"]))
        text = (
            f"{self.source}: normals of {date:%B}, diurnal curve (min at sunrise "
            f"{int(rise):02d}:{round(rise % 1 * 60):02d}, max at {self.max_temperature_hour:g} h)"
        )
        if self.unverified:
            text += f"; UNVERIFIED figures: {', '.join(self.unverified)}"
        return DiurnalProfile(air, humidity, wind, source=text, timezone=timezone)


def scenario_weather(
    source: WeatherSource,
    date: dt.date,
    timestamps: pd.DatetimeIndex,
    *,
    latitude: float,
    longitude: float,
    timezone: str = DEFAULT_TIMEZONE,
) -> StepWeather:
    """Weather at the time steps of one scenario.

    Parameters
    ----------
    source : WeatherSource
        From :func:`read_weather` (or any object with a ``profile`` method).
    date : datetime.date
        The scenario's date (its season's month-day in the run's year).
    timestamps : pandas.DatetimeIndex
        Tz-aware time steps (e.g. ``SunPositions.timestamps``).
    latitude, longitude : float
        The site (degrees), for sunrise in the normals' diurnal curve.
    """
    return source.profile(date, latitude=latitude, longitude=longitude, timezone=timezone).at(timestamps)


# -- readers -----------------------------------------------------------------------------
def _number(text: str, path, line: int, column: str) -> float:
    text = text.strip()
    if text == "":
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise WeatherError(f"{path}, line {line}: {column} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise WeatherError(f"{path}, line {line}: {column} {text!r} is not finite")
    return value


def _check_range(table: pd.DataFrame, path, lines: np.ndarray) -> None:
    for name, (low, high) in VALID_RANGE.items():
        if name not in table:
            continue
        values = table[name].to_numpy()
        bad = np.flatnonzero(np.isfinite(values) & ((values < low) | (values > high)))
        if bad.size:
            i = bad[0]
            raise WeatherError(
                f"{path}, line {lines[i]}: {name} {values[i]:g} is outside [{low:g}, {high:g}]"
            )


def _decode_jma(path: Path) -> str:
    raw = path.read_bytes()
    for encoding in ("cp932", "utf-8-sig"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise WeatherError(f"{path}: neither Shift_JIS (cp932) nor UTF-8 text: not a JMA CSV")


_JMA_TIME = re.compile(r"^\s*(\d{4})/(\d{1,2})/(\d{1,2})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


def _jma_time(text: str) -> dt.datetime | None:
    m = _JMA_TIME.match(text)
    if not m:
        return None
    y, mo, d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    return dt.datetime(y, mo, d) + dt.timedelta(hours=h, minutes=mi, seconds=s)


def read_jma_hourly(
    path: str | os.PathLike,
    *,
    station: str | None = None,
    min_quality: int = 5,
    timezone: str = DEFAULT_TIMEZONE,
    window_days: int = 7,
    years: tuple[int, ...] | None = None,
) -> HourlyObservations:
    """Read a JMA past-weather hourly CSV (see module docstring for the layout).

    Parameters
    ----------
    path : path-like
        The downloaded CSV (Shift_JIS).
    station : str, optional
        Station name as in the file's station row (e.g. ``熊谷``); needed when the file
        holds several stations.
    min_quality : int
        Lowest JMA quality code kept (8 normal, 5 quasi-normal, ...).
    timezone : str
        Clock of the file (JMA: JST, ``Asia/Tokyo``).
    window_days, years
        Passed to :class:`HourlyObservations` (which days make a season's composite day).

    Raises
    ------
    WeatherError
        Not a JMA hourly file, a needed element missing, several stations and none
        chosen, an unreadable value (with its line), duplicate hours.
    """
    path = Path(path)
    rows = list(csv.reader(io.StringIO(_decode_jma(path))))
    header = next((i for i, r in enumerate(rows) if r and r[0].strip() == "年月日時"), None)
    if header is None or header == 0:
        raise WeatherError(
            f"{path}: no '年月日時' header row: not a JMA hourly CSV "
            "(daily and monthly downloads are not hourly data)"
        )
    first_data = next((i for i in range(header + 1, len(rows)) if rows[i] and _jma_time(rows[i][0])), None)
    if first_data is None:
        raise WeatherError(f"{path}: no data rows after the header")
    width = len(rows[header])
    stations = (rows[header - 1] + [""] * width)[:width]
    elements = rows[header]
    labels = [
        tuple(
            cell
            for cell in ((rows[i] + [""] * width)[j].strip() for i in range(header + 1, first_data))
            if cell
        )
        for j in range(width)
    ]
    columns: dict[tuple[str, str, tuple[str, ...]], int] = {}
    for j in range(1, width):
        element = elements[j].split("(")[0].strip()
        columns.setdefault((stations[j].strip(), element, labels[j]), j)
    names = sorted({s for s, e, _ in columns if e in JMA_ELEMENTS})
    if station is None:
        if len(names) != 1:
            raise WeatherError(f"{path}: holds stations {names}; name one with station=")
        station = names[0]
    elif station not in names:
        raise WeatherError(f"{path}: station {station!r} not in the file (stations: {names})")
    wanted = {}
    for element, name in JMA_ELEMENTS.items():
        value = columns.get((station, element, ()))
        if value is None:
            raise WeatherError(
                f"{path}: no {element} column for station {station} "
                f"(the download must include 気温, 相対湿度 and 風速)"
            )
        wanted[name] = (
            value,
            columns.get((station, element, (JMA_QUALITY,))),
            columns.get((station, element, (JMA_HOMOGENEITY,))),
        )
    radiation = columns.get((station, JMA_RADIATION, ()))
    if radiation is not None:  # optional: observatories measure it, most AMeDAS stations do not
        wanted[GHI] = (
            radiation,
            columns.get((station, JMA_RADIATION, (JMA_QUALITY,))),
            columns.get((station, JMA_RADIATION, (JMA_HOMOGENEITY,))),
        )

    times, lines, data = [], [], {name: [] for name in wanted}
    quality_dropped = {name: 0 for name in wanted}
    homogeneity: dict[str, list[tuple[dt.datetime, str]]] = {name: [] for name in wanted}
    for i in range(first_data, len(rows)):
        row = rows[i]
        if not row or not "".join(row).strip():
            continue
        when = _jma_time(row[0])
        if when is None:
            raise WeatherError(f"{path}, line {i + 1}: {row[0]!r} is not a date and time (YYYY/M/D H:MM:SS)")
        row = row + [""] * (width - len(row))
        times.append(when)
        lines.append(i + 1)
        for name, (value_col, quality_col, homog_col) in wanted.items():
            value = _number(row[value_col], path, i + 1, elements[value_col])
            if quality_col is not None:
                code = row[quality_col].strip()
                if not code.isdigit() or int(code) < min_quality:
                    if math.isfinite(value):
                        quality_dropped[name] += 1
                    value = math.nan
            data[name].append(value)
            if homog_col is not None and row[homog_col].strip():
                marks = homogeneity[name]
                if not marks or marks[-1][1] != row[homog_col].strip():
                    marks.append((when, row[homog_col].strip()))
    index = pd.DatetimeIndex(times).tz_localize(timezone)
    table = pd.DataFrame(data, index=index)
    if GHI in table:
        table[GHI] = table[GHI] * MJ_PER_HOUR_TO_WM2  # MJ/m² in the hour -> mean W/m²
    _check_range(table, path, np.asarray(lines))
    duplicated = index.duplicated()
    if duplicated.any():
        k = int(np.flatnonzero(duplicated)[0])
        raise WeatherError(f"{path}, line {lines[k]}: hour {times[k]} appears twice")
    order = np.argsort(index.asi8, kind="stable")
    table = table.iloc[order]
    notes = []
    for name in wanted:
        if len(homogeneity[name]) > 1:
            changes = ", ".join(f"{m} from {t:%Y-%m-%d %H:%M}" for t, m in homogeneity[name])
            notes.append(
                f"{name}: homogeneity number changes ({changes}); the series mixes "
                "station or instrument periods"
            )
        if quality_dropped[name]:
            notes.append(f"{name}: {quality_dropped[name]} values below quality {min_quality} dropped")
    for note in notes:
        log.warning("%s: %s", path, note)
    source = (
        f"JMA hourly observations, station {station} ({path.name}, "
        f"{table.index[0]:%Y-%m-%d} to {table.index[-1]:%Y-%m-%d})"
    )
    return HourlyObservations(table, source, tuple(notes), window_days, years)


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]], dict[str, str]]:
    """Header, data rows with their line numbers, and ``# key: value`` comments of a CSV."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise WeatherError(f"{path}: not UTF-8 text") from None
    metadata, header, rows = {}, None, []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not "".join(row).strip():
            continue
        if row[0].lstrip().startswith("#"):
            comment = ",".join(row).lstrip()[1:].strip()
            key, sep, value = comment.partition(":")
            if sep:
                metadata[key.strip()] = value.strip()
            continue
        if header is None:
            header = [c.strip() for c in row]
            continue
        rows.append((number, row))
    if header is None:
        raise WeatherError(f"{path}: no header row")
    return header, rows, metadata


def _columns(header: list[str], path: Path, needed: tuple[str, ...]) -> dict[str, int]:
    missing = [c for c in needed if c not in header]
    if missing:
        raise WeatherError(f"{path}: missing column(s) {missing}; found {header}")
    return {c: header.index(c) for c in needed}


def read_weather_csv(
    path: str | os.PathLike,
    *,
    timezone: str = DEFAULT_TIMEZONE,
    window_days: int = 7,
    years: tuple[int, ...] | None = None,
) -> HourlyObservations | MonthlyProfiles:
    """Read a plain weather CSV (``date`` or ``month``, ``hour`` and the three variables).

    Returns :class:`HourlyObservations` for a ``date`` column, :class:`MonthlyProfiles`
    for a ``month`` column. Empty cells are missing values.
    """
    path = Path(path)
    header, rows, _ = _read_rows(path)
    by_month = "month" in header
    if not by_month and "date" not in header:
        raise WeatherError(f"{path}: needs a 'date' or a 'month' column; found {header}")
    cols = _columns(header, path, ("month" if by_month else "date", "hour") + VARIABLES)
    keys, hours, lines, data = [], [], [], {name: [] for name in VARIABLES}
    for number, row in rows:
        row = row + [""] * (len(header) - len(row))
        hour = _number(row[cols["hour"]], path, number, "hour")
        if not (0 <= hour <= 24 and hour == int(hour)):
            raise WeatherError(f"{path}, line {number}: hour {row[cols['hour']]!r} is not a whole hour 0-24")
        if by_month:
            month = _number(row[cols["month"]], path, number, "month")
            if not (1 <= month <= 12 and month == int(month)):
                raise WeatherError(f"{path}, line {number}: month {row[cols['month']]!r} is not 1-12")
            if hour == 24:
                raise WeatherError(f"{path}, line {number}: a monthly day has hours 0-23, not 24")
            keys.append(int(month))
        else:
            try:
                keys.append(dt.date.fromisoformat(row[cols["date"]].strip()))
            except ValueError:
                raise WeatherError(
                    f"{path}, line {number}: date {row[cols['date']]!r} is not YYYY-MM-DD"
                ) from None
        hours.append(int(hour))
        lines.append(number)
        for name in VARIABLES:
            data[name].append(_number(row[cols[name]], path, number, name))
    if not lines:
        raise WeatherError(f"{path}: no data rows")
    frame = pd.DataFrame(data)
    _check_range(frame, path, np.asarray(lines))
    if by_month:
        frame["month"], frame["hour"], frame["line"] = keys, hours, lines
        duplicated = frame.duplicated(["month", "hour"])
        if duplicated.any():
            k = int(np.flatnonzero(duplicated)[0])
            raise WeatherError(f"{path}, line {lines[k]}: month {keys[k]} hour {hours[k]} appears twice")
        profiles = {}
        for month, part in frame.groupby("month"):
            part = part.set_index("hour").reindex(range(24))
            missing = part.index[part[list(VARIABLES)].isna().any(axis=1)].tolist()
            if missing:
                raise WeatherError(f"{path}: month {month} lacks hour(s) {missing} (every hour 0-23 needed)")
            profiles[int(month)] = DiurnalProfile(
                source=f"{path.name}: representative day of month {month}",
                timezone=timezone,
                **{n: part[n].to_numpy() for n in VARIABLES},
            )
        return MonthlyProfiles(profiles, f"plain CSV {path.name}")
    stamps = pd.DatetimeIndex([pd.Timestamp(k) + pd.Timedelta(hours=h) for k, h in zip(keys, hours)])
    duplicated = stamps.duplicated()
    if duplicated.any():
        k = int(np.flatnonzero(duplicated)[0])
        raise WeatherError(f"{path}, line {lines[k]}: {keys[k]} hour {hours[k]} appears twice")
    frame.index = stamps.tz_localize(timezone)
    frame = frame.sort_index()
    source = f"plain CSV {path.name} ({frame.index[0]:%Y-%m-%d} to {frame.index[-1]:%Y-%m-%d})"
    return HourlyObservations(frame, source, (), window_days, years)


NORMAL_COLUMNS = ("month", "tmax_mean_c", "tmin_mean_c", "rh_mean_pct", "wind_mean_ms")


def read_normals(path: str | os.PathLike, *, max_temperature_hour: float = 14.0) -> MonthlyNormals:
    """Read a monthly normals CSV (``# key: value`` header, then :data:`NORMAL_COLUMNS`).

    The header must name ``source``, ``station`` and ``period``; every month 1-12 once.
    """
    path = Path(path)
    header, rows, metadata = _read_rows(path)
    cols = _columns(header, path, NORMAL_COLUMNS)
    for key in ("source", "station", "period"):
        if not metadata.get(key):
            raise WeatherError(f"{path}: the header must say '# {key}: ...'")
    records = {}
    for number, row in rows:
        values = {c: _number((row + [""] * len(header))[cols[c]], path, number, c) for c in NORMAL_COLUMNS}
        if any(math.isnan(v) for v in values.values()):
            raise WeatherError(f"{path}, line {number}: every column needs a value")
        month = values.pop("month")
        if not (1 <= month <= 12 and month == int(month)) or int(month) in records:
            raise WeatherError(f"{path}, line {number}: month {month:g} is not a new month 1-12")
        if values["tmin_mean_c"] > values["tmax_mean_c"]:
            raise WeatherError(f"{path}, line {number}: tmin_mean_c is above tmax_mean_c")
        if not 0 < values["rh_mean_pct"] <= 100 or values["wind_mean_ms"] < 0:
            raise WeatherError(
                f"{path}, line {number}: rh_mean_pct must be in (0, 100] and wind_mean_ms >= 0"
            )
        records[int(month)] = values
    if sorted(records) != list(range(1, 13)):
        raise WeatherError(f"{path}: months {sorted(set(range(1, 13)) - set(records))} missing")
    table = pd.DataFrame.from_dict(records, orient="index").sort_index()
    table.index.name = "month"
    source = f"{metadata['source']}, station {metadata['station']}, {metadata['period']} ({path.name})"
    return MonthlyNormals(table, source, metadata, max_temperature_hour)


def read_weather(
    path: str | os.PathLike,
    *,
    station: str | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    window_days: int = 7,
    years: tuple[int, ...] | None = None,
    min_quality: int = 5,
) -> WeatherSource:
    """Read any of the three kinds of weather file (told apart by content, see module doc)."""
    path = Path(path)
    if not path.is_file():
        raise WeatherError(f"{path}: weather file not found")
    head = path.read_bytes()[:4096]
    try:
        head_text = head.decode("cp932", errors="ignore")
    except LookupError:  # pragma: no cover - cp932 is always there
        head_text = ""
    if "年月日時" in head_text:
        return read_jma_hourly(
            path,
            station=station,
            min_quality=min_quality,
            timezone=timezone,
            window_days=window_days,
            years=years,
        )
    header, _, _ = _read_rows(path)
    if "tmax_mean_c" in header:
        return read_normals(path)
    return read_weather_csv(path, timezone=timezone, window_days=window_days, years=years)
