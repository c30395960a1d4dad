"""Thermal comfort of one tile: sky view once, then Tmrt and UTCI per time step of each scenario.

For a tile (its DSM and canopy on the grid grown by the halo) and the run's scenarios:

1. the sky view factor of every tile cell, once (:func:`tile_sky_view`);
2. per scenario, the same sun positions as the shadow stage
   (:func:`pipeline.shade.sun.slot_sun_positions` at the tile centre, azimuths turned to
   grid north), and the scenario's forcing at them (:mod:`~pipeline.thermal.forcing`:
   weather and irradiance, clear sky by default);
3. per time step: shade codes (:func:`pipeline.shade.shadow.make_caster`: horizon angles
   per azimuth sector by default, reused by every step and scenario that falls between
   the same two sectors, or the exact sweep; trees by the season's transmissivity), Tmrt (:mod:`~pipeline.thermal.tmrt`) and UTCI
   (:mod:`~pipeline.thermal.utci`, with each cell's pedestrian wind from
   :mod:`~pipeline.thermal.wind`) of every tile cell, *accumulated* into the scenario's
   time-weighted mean UTCI, mean Tmrt and hours per UTCI stress class. No time step is
   kept, so memory is the tile's rasters plus a few accumulators, whatever the number of
   steps.

:func:`thermal_scenarios` yields one scenario at a time (a stage can write each and drop
it); :func:`thermal_tile` collects them.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from pipeline.geo.raster import Grid
from pipeline.shade.shadow import (DEFAULT_MAX_DISTANCE_M, DEFAULT_SECTOR_DEG, CanopyTransmissivity,
                                   ShadeMethod, inner_window, light_fraction, make_caster)
from pipeline.shade.sun import (DEFAULT_STEP_MINUTES, DEFAULT_TIMEZONE, Scenario, grid_centre_lonlat,
                                meridian_convergence_deg, slot_sun_positions)
from pipeline.thermal.forcing import ForcingSource, forcing_source
from pipeline.thermal.svf import DEFAULT_AZIMUTHS, SkyView, sky_view_factor
from pipeline.thermal.tmrt import DayHeating, SkyGeometry, TmrtParameters, mean_radiant_temperature
from pipeline.thermal.utci import STRESS_CLASSES, stress_class_index, utci_uniform_air
from pipeline.thermal.weather import StepWeather, WeatherSource
from pipeline.thermal.wind import utci_wind_factor

log = logging.getLogger(__name__)


@dataclass
class ScenarioThermal:
    """One scenario's thermal comfort on the tile grid (halo removed).

    Attributes
    ----------
    utci_mean_c : numpy.ndarray of float32
        Time-weighted mean UTCI over the slot, °C.
    tmrt_mean_c : numpy.ndarray of float32
        Time-weighted mean Tmrt over the slot, °C.
    stress_hours : dict of str to numpy.ndarray of float32
        Hours of the slot in each UTCI stress class (key of
        :data:`pipeline.thermal.utci.STRESS_CLASSES`); only classes that occur in the tile.
    slot_hours : float
        Length of the slot, hours (the stress hours of a cell add up to it).
    weather : StepWeather
        Air temperature, humidity and wind used at each step, with their source.
    """

    utci_mean_c: np.ndarray
    tmrt_mean_c: np.ndarray
    stress_hours: dict[str, np.ndarray]
    slot_hours: float
    weather: StepWeather

    def hours_in(self, key: str) -> np.ndarray:
        """Hours in stress class ``key`` (zeros when it does not occur)."""
        return self.stress_hours.get(key, np.zeros(self.utci_mean_c.shape, np.float32))


@dataclass
class ThermalResult:
    """Everything :func:`thermal_tile` computes for one tile (on the tile grid)."""

    grid: Grid
    sky_view: SkyView
    scenarios: dict[str, ScenarioThermal] = field(default_factory=dict)

    @property
    def svf(self) -> np.ndarray:
        """Sky view factor of the DSM alone (buildings and terrain), float32."""
        return self.sky_view.surface


def tile_sky_view(dsm: np.ndarray, outer: Grid, inner: Grid, *, canopy_top: np.ndarray | None = None,
                  n_azimuths: int = DEFAULT_AZIMUTHS, evergreen_top: np.ndarray | None = None) -> SkyView:
    """Sky view factors of the tile's cells from the DSM with its halo (see :mod:`~pipeline.thermal.svf`)."""
    return sky_view_factor(dsm, outer.resolution, canopy_top=canopy_top, n_azimuths=n_azimuths,
                           window=inner_window(outer, inner), evergreen_top=evergreen_top)


def thermal_scenarios(dsm: np.ndarray, outer: Grid, inner: Grid, scenarios: list[Scenario], year: int,
                      weather: WeatherSource | ForcingSource, *, canopy_top: np.ndarray | None = None,
                      transmissivity: CanopyTransmissivity = CanopyTransmissivity(),
                      sky_view: SkyView | None = None, step_minutes: float = DEFAULT_STEP_MINUTES,
                      timezone: str = DEFAULT_TIMEZONE, max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
                      parameters: TmrtParameters = TmrtParameters(), altitude_m: float = 0.0,
                      n_azimuths: int = DEFAULT_AZIMUTHS, method: ShadeMethod = "horizon",
                      sector_deg: float = DEFAULT_SECTOR_DEG,
                      evergreen_top: np.ndarray | None = None) -> Iterator[tuple[str, ScenarioThermal]]:
    """Yield ``(scenario name, ScenarioThermal)`` for each scenario (arguments as :func:`thermal_tile`)."""
    window = inner_window(outer, inner)
    lon, lat = grid_centre_lonlat(inner)
    convergence = meridian_convergence_deg(outer.crs, lon, lat)
    if sky_view is None:
        sky_view = tile_sky_view(dsm, outer, inner, canopy_top=canopy_top, n_azimuths=n_azimuths,
                                 evergreen_top=evergreen_top)
    caster = make_caster(dsm, outer.resolution, method=method, canopy_top=canopy_top,
                         max_distance_m=max_distance_m, window=window, sector_deg=sector_deg,
                         evergreen_top=evergreen_top)
    forcings = forcing_source(weather)
    wind_factor = utci_wind_factor(sky_view.surface)   # station 10 m wind -> the cell's, for UTCI
    for scenario in scenarios:
        started = time.perf_counter()
        date = scenario.season.date(year)
        positions = slot_sun_positions(date, scenario.slot, lat, lon, step_minutes=step_minutes,
                                       timezone=timezone)
        forcing = forcings.forcing(scenario, year, positions, latitude=lat, longitude=lon,
                                   altitude_m=altitude_m, timezone=timezone)
        irradiance, steps = forcing.irradiance, forcing.weather
        taus = transmissivity.by_habit(date)     # (deciduous, evergreen)
        sky = SkyGeometry.from_svf(sky_view.with_trees(*taus),
                                   sky_view.surface if sky_view.opaque_trees is not None else None)
        day = DayHeating.for_date(date, lat, lon, timezone)
        azimuths = positions.grid_azimuth_deg(convergence)
        utci_sum = np.zeros(inner.shape, np.float64)
        tmrt_sum = np.zeros(inner.shape, np.float64)
        hours: dict[int, np.ndarray] = {}   # stress class index -> hours, made when it first occurs
        no_sun = np.zeros(inner.shape, np.float32)
        for k, moment in enumerate(positions.timestamps.tz_convert(timezone)):
            altitude = float(positions.sun_altitude_deg[k])
            sun_share = (light_fraction(caster.codes(azimuths[k], altitude), *taus) if altitude > 0
                         else no_sun)
            ground_k, wall_k = day.ground_and_wall(moment, altitude, parameters)
            tmrt = mean_radiant_temperature(
                svf=sky, sun_share=sun_share, sun_altitude_deg=altitude,
                dni_wm2=float(irradiance.dni_wm2[k]), dhi_wm2=float(irradiance.dhi_wm2[k]),
                air_temperature_c=float(steps.air_temperature_c[k]),
                relative_humidity_pct=float(steps.relative_humidity_pct[k]),
                ground_heating_k=ground_k, wall_heating_k=wall_k, parameters=parameters)
            utci = utci_uniform_air(float(steps.air_temperature_c[k]), tmrt,
                                    float(steps.wind_speed_ms[k]) * wind_factor,
                                    float(steps.relative_humidity_pct[k]))
            weight = float(positions.weight_hours[k])
            utci_sum += weight * utci
            tmrt_sum += weight * tmrt
            classes = stress_class_index(utci)
            for index in np.flatnonzero(np.bincount(classes[classes >= 0], minlength=len(STRESS_CLASSES))):
                if index not in hours:
                    hours[index] = np.zeros(inner.shape, np.float32)
                hours[index][classes == index] += np.float32(weight)
        slot_hours = positions.total_hours
        result = ScenarioThermal(
            utci_mean_c=(utci_sum / slot_hours).astype(np.float32),
            tmrt_mean_c=(tmrt_sum / slot_hours).astype(np.float32),
            stress_hours={STRESS_CLASSES[i].key: hours[i] for i in sorted(hours)},
            slot_hours=slot_hours, weather=steps)
        log.info("thermal: tile %s, %s: %d steps on %dx%d cells in %.1f s (%s)", inner.bounds, scenario.name,
                 len(positions), inner.height, inner.width, time.perf_counter() - started, steps.source)
        yield scenario.name, result


def thermal_tile(dsm: np.ndarray, outer: Grid, inner: Grid, scenarios: list[Scenario], year: int,
                 weather: WeatherSource | ForcingSource, *, canopy_top: np.ndarray | None = None,
                 transmissivity: CanopyTransmissivity = CanopyTransmissivity(),
                 sky_view: SkyView | None = None, step_minutes: float = DEFAULT_STEP_MINUTES,
                 timezone: str = DEFAULT_TIMEZONE, max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
                 parameters: TmrtParameters = TmrtParameters(), altitude_m: float = 0.0,
                 n_azimuths: int = DEFAULT_AZIMUTHS, method: ShadeMethod = "horizon",
                 sector_deg: float = DEFAULT_SECTOR_DEG, evergreen_top: np.ndarray | None = None) -> ThermalResult:
    """Mean UTCI, mean Tmrt and hours per stress class of every scenario, and the sky view, of one tile.

    Parameters
    ----------
    dsm : numpy.ndarray
        Surface heights on ``outer`` (the tile plus halo), metres, orthometric, finite.
    outer, inner : Grid
        The grid of ``dsm`` and the tile itself (``inner.buffered(halo) == outer``). Sun
        positions and weather are taken at the tile centre.
    scenarios : list of Scenario
        Season x time slot (:class:`pipeline.shade.sun.Scenario`); ``year`` gives the dates.
    weather : WeatherSource or ForcingSource
        From :func:`pipeline.thermal.weather.read_weather` (each scenario's forcing computed
        at the tile centre, :mod:`~pipeline.thermal.forcing`), or the run's recorded
        forcing (:func:`pipeline.thermal.forcing.read_forcing_csv`).
    canopy_top : numpy.ndarray, optional
        Canopy-top heights on ``outer``, metres, NaN where none.
    transmissivity : CanopyTransmissivity
        Share of sun through a crown by leaf habit and season (as the shadow stage).
    sky_view : SkyView, optional
        Precomputed :func:`tile_sky_view` (e.g. when scenarios are split over tasks).
    step_minutes : float
        Time step inside each slot, minutes (the shadow stage's default: 10).
    max_distance_m : float
        Longest shadow searched, metres (the halo).
    parameters : TmrtParameters
        Person, surface and heating parameters.
    altitude_m : float
        Site height above sea level for the clear-sky model, metres.
    method : {"horizon", "sweep"}
        How shade is decided at each step (as the shadow stage, see
        :func:`pipeline.shade.shadow.make_caster`); ``sector_deg`` is the horizon method's
        azimuth step, degrees.
    evergreen_top : numpy.ndarray, optional
        Canopy tops of the evergreen crowns on ``outer`` (a subset of ``canopy_top``), NaN
        elsewhere; every other crown is deciduous.

    Returns
    -------
    ThermalResult
        On ``inner``: the sky view and one :class:`ScenarioThermal` per scenario.
    """
    started = time.perf_counter()
    if sky_view is None:
        sky_view = tile_sky_view(dsm, outer, inner, canopy_top=canopy_top, n_azimuths=n_azimuths,
                                 evergreen_top=evergreen_top)
        log.info("thermal: tile %s, sky view factor (%d azimuths) in %.1f s", inner.bounds, n_azimuths,
                 time.perf_counter() - started)
    result = ThermalResult(grid=inner, sky_view=sky_view)
    for name, scenario in thermal_scenarios(
            dsm, outer, inner, scenarios, year, weather, canopy_top=canopy_top, transmissivity=transmissivity,
            sky_view=sky_view, step_minutes=step_minutes, timezone=timezone, max_distance_m=max_distance_m,
            parameters=parameters, altitude_m=altitude_m, n_azimuths=n_azimuths, method=method,
            sector_deg=sector_deg, evergreen_top=evergreen_top):
        result.scenarios[name] = scenario
    return result
