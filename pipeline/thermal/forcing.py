"""The forcing of each scenario: air temperature, humidity, station wind and irradiance per step.

A scenario's season says how its weather is made (:class:`pipeline.geo.scenarios.SeasonWeather`):

- ``file``: the weather file's day for the date (:mod:`pipeline.thermal.weather`: the
  normals curve, or the composite of the observed days within the window);
- ``design_heat_day``: that day shifted to a daily maximum of 35.0 °C
  (:func:`pipeline.thermal.weather.design_heat_day`, labelled 設計猛暑日 / design heat day);
- ``observed_hot_days``: the composite of the observed days at or above the threshold.

and where its irradiance comes from: ``clear_sky`` (Ineichen, the design case) or
``observed`` (the file's global radiation split by Erbs). :func:`scenario_forcing` makes a
:class:`ScenarioForcing` from these at the scenario's time steps; the ``thermal_forcing``
stage writes every scenario's forcing to ``thermal/weather.csv`` (:func:`write_forcing_csv`)
and the thermal tile tasks read it back (:func:`read_forcing_csv`), so the file is what
the tiles used.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from pipeline.geo.scenarios import DESIGN_HEAT_DAY, OBSERVED_HOT_DAYS, OBSERVED_RADIATION, Scenario, Season
from pipeline.shade.sun import SunPositions
from pipeline.thermal.radiation import Irradiance, clear_sky_irradiance, observed_irradiance
from pipeline.thermal.weather import (
    DEFAULT_TIMEZONE,
    DiurnalProfile,
    HourlyObservations,
    StepWeather,
    WeatherError,
    WeatherSource,
    design_heat_day,
)

OBSERVED_RADIATION_SOURCE = "observed global radiation (JMA 日射量), split by Erbs et al. (1982)"
#: columns of ``thermal/weather.csv`` and the format of each value
CSV_COLUMNS = (
    "scenario",
    "season",
    "slot",
    "local_time",
    "air_temperature_c",
    "relative_humidity_pct",
    "station_wind_10m_ms",
    "ghi_wm2",
    "dni_wm2",
    "dhi_wm2",
    "day_max_air_temperature_c",
    "weather_source",
    "radiation_source",
)
FLOAT_FORMAT = {
    "air_temperature_c": "{:.2f}",
    "relative_humidity_pct": "{:.2f}",
    "station_wind_10m_ms": "{:.2f}",
    "ghi_wm2": "{:.1f}",
    "dni_wm2": "{:.1f}",
    "dhi_wm2": "{:.1f}",
    "day_max_air_temperature_c": "{:.2f}",
}


@dataclass(frozen=True)
class ScenarioForcing:
    """What drives one scenario's Tmrt and UTCI at each of its time steps.

    Attributes
    ----------
    scenario, season, slot : str
        Names (``<season>_<slot>``, the season, the slot).
    weather : StepWeather
        Air temperature (°C), relative humidity (%) and the station's 10 m wind (m/s).
    irradiance : Irradiance
        DNI, DHI and GHI (W/m²) at the same steps.
    day_max_air_temperature_c : float
        The maximum of the season's whole day (the steps of a slot may not reach it), °C.
    """

    scenario: str
    season: str
    slot: str
    weather: StepWeather
    irradiance: Irradiance
    day_max_air_temperature_c: float

    @property
    def timestamps(self) -> pd.DatetimeIndex:
        return self.weather.timestamps

    def at_rows(self, rows: np.ndarray) -> ScenarioForcing:
        """The forcing at the steps ``rows`` (indices into its steps, in time order)."""
        w, sky = self.weather, self.irradiance
        return dataclasses.replace(
            self,
            weather=dataclasses.replace(
                w,
                timestamps=w.timestamps[rows],
                air_temperature_c=w.air_temperature_c[rows],
                relative_humidity_pct=w.relative_humidity_pct[rows],
                wind_speed_ms=w.wind_speed_ms[rows],
                **{
                    k: getattr(w, k)[rows]
                    for k in ("ghi_wm2", "dni_wm2", "dhi_wm2")
                    if getattr(w, k) is not None
                },
            ),
            irradiance=dataclasses.replace(
                sky, dni_wm2=sky.dni_wm2[rows], dhi_wm2=sky.dhi_wm2[rows], ghi_wm2=sky.ghi_wm2[rows]
            ),
        )


def season_profile(
    weather: WeatherSource,
    season: Season,
    year: int,
    *,
    latitude: float,
    longitude: float,
    timezone: str = DEFAULT_TIMEZONE,
) -> DiurnalProfile:
    """The representative day of ``season`` (its ``weather`` kind applied to the file's data).

    Raises
    ------
    WeatherError
        ``observed_hot_days`` on a source that is not hourly observations, or no hot day.
    """
    spec = season.weather
    date = season.date(year)
    if spec.kind == OBSERVED_HOT_DAYS:
        if not isinstance(weather, HourlyObservations):
            raise WeatherError(
                f"season {season.name!r}: weather observed_hot_days needs hourly observations "
                f"(a JMA hourly CSV or a plain CSV with dates); {weather.source} is not"
            )
        return weather.profile(
            date,
            latitude=latitude,
            longitude=longitude,
            timezone=timezone,
            threshold_c=spec.threshold_c,
            window_days=spec.window_days,
        )
    profile = weather.profile(date, latitude=latitude, longitude=longitude, timezone=timezone)
    if spec.kind == DESIGN_HEAT_DAY:
        profile = design_heat_day(profile, spec.max_temperature_c)
    return profile


def scenario_forcing(
    weather: WeatherSource,
    scenario: Scenario,
    year: int,
    positions: SunPositions,
    *,
    latitude: float,
    longitude: float,
    altitude_m: float = 0.0,
    timezone: str = DEFAULT_TIMEZONE,
    wind_scale: float = 1.0,
) -> ScenarioForcing:
    """The forcing of ``scenario`` at ``positions`` (its time steps) at a site.

    Parameters
    ----------
    weather : WeatherSource
        From :func:`pipeline.thermal.weather.read_weather`.
    scenario : Scenario
        Season (date and weather kind) x slot.
    positions : SunPositions
        The scenario's sun positions (:func:`pipeline.shade.sun.slot_sun_positions`).
    latitude, longitude, altitude_m : float
        The site (degrees, metres above sea level).
    wind_scale : float
        Factor on the station wind (1: as the file says). For sensitivity studies only
        (``benchmarks/sensitivity.py``); a value other than 1 is named in the source text.

    Raises
    ------
    WeatherError
        ``radiation: observed`` with a file that has no global radiation, and the errors
        of :func:`season_profile`.
    """
    season = scenario.season
    profile = season_profile(weather, season, year, latitude=latitude, longitude=longitude, timezone=timezone)
    steps = profile.at(positions.timestamps)
    if wind_scale != 1.0:
        steps = dataclasses.replace(
            steps,
            wind_speed_ms=steps.wind_speed_ms * wind_scale,
            source=f"{steps.source}; station wind x {wind_scale:g} (sensitivity)",
        )
    if season.weather.radiation == OBSERVED_RADIATION:
        if not profile.has_radiation:
            raise WeatherError(
                f"season {season.name!r}: radiation: observed needs global radiation "
                f"(日射量) in the weather file; {weather.source} has none"
            )
        irradiance = observed_irradiance(positions, steps.dni_wm2, steps.dhi_wm2, OBSERVED_RADIATION_SOURCE)
    else:
        irradiance = clear_sky_irradiance(positions, latitude, longitude, altitude_m=altitude_m)
    return ScenarioForcing(
        scenario.name,
        season.name,
        scenario.slot.name,
        steps,
        irradiance,
        float(profile.air_temperature_c.max()),
    )


class ForcingSource(Protocol):
    """Anything that gives the :class:`ScenarioForcing` of a scenario at its sun positions."""

    def forcing(
        self,
        scenario: Scenario,
        year: int,
        positions: SunPositions,
        *,
        latitude: float,
        longitude: float,
        altitude_m: float = 0.0,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> ScenarioForcing: ...


@dataclass(frozen=True)
class ComputedForcing:
    """Forcing computed from a weather source at the site asked (:func:`scenario_forcing`)."""

    weather: WeatherSource
    wind_scale: float = 1.0

    def forcing(
        self,
        scenario: Scenario,
        year: int,
        positions: SunPositions,
        *,
        latitude: float,
        longitude: float,
        altitude_m: float = 0.0,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> ScenarioForcing:
        return scenario_forcing(
            self.weather,
            scenario,
            year,
            positions,
            latitude=latitude,
            longitude=longitude,
            altitude_m=altitude_m,
            timezone=timezone,
            wind_scale=self.wind_scale,
        )


@dataclass(frozen=True)
class RecordedForcing:
    """The forcing of every scenario as ``thermal/weather.csv`` holds it (one site for the run)."""

    scenarios: dict[str, ScenarioForcing]
    path: str

    def forcing(
        self,
        scenario: Scenario,
        year: int,
        positions: SunPositions,
        *,
        latitude: float = 0.0,
        longitude: float = 0.0,
        altitude_m: float = 0.0,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> ScenarioForcing:
        """The recorded forcing of ``scenario`` at ``positions``' instants: every recorded step,
        or those of them (the file may hold the forcing at the shade's finer step, of which
        the thermal steps are a subset: :func:`pipeline.stages.thermal.forcing_step_minutes`)."""
        recorded = self.scenarios.get(scenario.name)
        if recorded is None:
            raise WeatherError(f"{self.path}: no forcing for scenario {scenario.name!r}")
        have, want = recorded.timestamps.asi8, pd.DatetimeIndex(positions.timestamps).asi8
        if np.array_equal(have, want):
            return recorded
        rows = np.searchsorted(have, want)
        if not (rows < have.size).all() or not np.array_equal(have[np.minimum(rows, have.size - 1)], want):
            raise WeatherError(
                f"{self.path}: the steps of {scenario.name!r} are not among the recorded ones "
                "(step_minutes or slots changed since it was written)"
            )
        return recorded.at_rows(rows)


def forcing_source(weather: WeatherSource | ForcingSource) -> ForcingSource:
    """``weather`` as a :class:`ForcingSource` (a weather source is computed per scenario)."""
    return weather if hasattr(weather, "forcing") else ComputedForcing(weather)


def forcing_rows(forcings: list[ScenarioForcing], timezone: str = DEFAULT_TIMEZONE) -> list[list[str]]:
    """The rows of ``thermal/weather.csv`` (formatted; sorted by season, then time, then scenario)."""
    rows = []
    for item in sorted(forcings, key=lambda f: (f.season, f.timestamps.asi8[0], f.scenario)):
        weather, sky = item.weather, item.irradiance
        local = item.timestamps.tz_convert(timezone)
        for k, moment in enumerate(local):
            values = {
                "air_temperature_c": weather.air_temperature_c[k],
                "relative_humidity_pct": weather.relative_humidity_pct[k],
                "station_wind_10m_ms": weather.wind_speed_ms[k],
                "ghi_wm2": sky.ghi_wm2[k],
                "dni_wm2": sky.dni_wm2[k],
                "dhi_wm2": sky.dhi_wm2[k],
                "day_max_air_temperature_c": item.day_max_air_temperature_c,
            }
            text = {name: FLOAT_FORMAT[name].format(float(value)) for name, value in values.items()}
            rows.append(
                [
                    item.scenario,
                    item.season,
                    item.slot,
                    moment.isoformat(),
                    *(text[c] for c in CSV_COLUMNS[4:11]),
                    weather.source,
                    sky.source,
                ]
            )
    return rows


def write_forcing_csv(
    path: str | os.PathLike, forcings: list[ScenarioForcing], timezone: str = DEFAULT_TIMEZONE
) -> Path:
    """Write ``thermal/weather.csv`` (UTF-8, fixed formats, atomically); return its path."""
    from tiles.atomic import write_text_atomic

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(forcing_rows(forcings, timezone))
    return write_text_atomic(path, buffer.getvalue())


def read_forcing_csv(path: str | os.PathLike, timezone: str = DEFAULT_TIMEZONE) -> RecordedForcing:
    """Read ``thermal/weather.csv`` back into a :class:`RecordedForcing`."""
    path = Path(path)
    table = pd.read_csv(path, dtype={"scenario": str, "season": str, "slot": str})
    missing = [c for c in CSV_COLUMNS if c not in table.columns]
    if missing:
        raise WeatherError(f"{path}: missing column(s) {missing}")
    scenarios = {}
    for name, part in table.groupby("scenario", sort=True):
        times = pd.DatetimeIndex(pd.to_datetime(part["local_time"].to_numpy())).tz_convert(timezone)
        steps = StepWeather(
            times,
            part["air_temperature_c"].to_numpy(np.float64),
            part["relative_humidity_pct"].to_numpy(np.float64),
            part["station_wind_10m_ms"].to_numpy(np.float64),
            str(part["weather_source"].iloc[0]),
        )
        sky = Irradiance(
            part["dni_wm2"].to_numpy(np.float64),
            part["dhi_wm2"].to_numpy(np.float64),
            part["ghi_wm2"].to_numpy(np.float64),
            str(part["radiation_source"].iloc[0]),
        )
        scenarios[str(name)] = ScenarioForcing(
            str(name),
            str(part["season"].iloc[0]),
            str(part["slot"].iloc[0]),
            steps,
            sky,
            float(part["day_max_air_temperature_c"].iloc[0]),
        )
    return RecordedForcing(scenarios, str(path))


def season_weather_table(path: str | os.PathLike) -> pd.DataFrame:
    """One row per season of ``thermal/weather.csv``: what its weather and radiation are.

    Columns ``season``, ``weather_source`` (design heat day, normals or observed days, as
    the forcing names them), ``radiation_source`` (clear sky, the design case, or observed)
    and ``day_max_air_temperature_c``; seasons in the file's order. For the report and the
    viewer, which name the weather of each season.
    """
    table = pd.read_csv(
        path,
        dtype={"season": str, "weather_source": str, "radiation_source": str},
        usecols=["season", "weather_source", "radiation_source", "day_max_air_temperature_c"],
    )
    return table.drop_duplicates("season").reset_index(drop=True)
