"""Thermal comfort of one tile: sky view once, then Tmrt and UTCI per time step of every scenario, in one pass.

For a tile (its DSM and canopy on the grid grown by the halo) and the run's scenarios:

1. the sky view factor of every tile cell, once (:func:`tile_sky_view`);
2. per scenario (:func:`scenario_steps`), the same sun positions as the shadow stage
   (:func:`pipeline.shade.sun.slot_sun_positions` at the tile centre, azimuths turned to
   grid north), the scenario's forcing at them (:mod:`~pipeline.thermal.forcing`:
   weather and irradiance, clear sky by default) and the season's crown transmissivity
   by leaf habit and sky;
3. one pass over every scenario's time steps ordered by sun azimuth (:func:`step_order`),
   so that the horizon angles of each azimuth sector
   (:func:`pipeline.shade.shadow.make_caster`, horizons per sector by default, or the
   exact sweep) are computed once per tile, not once per scenario whose slot crosses
   it; at each step shade codes, the sun share (trees by the season's transmissivity of
   each leaf habit), Tmrt (:mod:`~pipeline.thermal.tmrt_compiled`, the compiled twin of
   :mod:`~pipeline.thermal.tmrt`) and UTCI (:mod:`~pipeline.thermal.utci`, with each
   cell's pedestrian wind from :mod:`~pipeline.thermal.wind`) of every tile cell,
   *accumulated* (:mod:`~pipeline.thermal.accumulate`) into the scenario's
   time-weighted mean UTCI, mean Tmrt and hours per UTCI stress class. No time step is
   kept, so memory is the tile's rasters plus the sums of the scenarios whose slots the
   pass is crossing, whatever the number of steps.

:func:`thermal_scenarios` yields each scenario as soon as its last step is in (a stage
can write each and drop it); :func:`thermal_tile` collects them in the scenarios' order.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.geo.raster import Grid
from pipeline.shade.shadow import (DEFAULT_MAX_DISTANCE_M, DEFAULT_SECTOR_DEG, CanopyTransmissivity,
                                   ShadeMethod, inner_window, light_fraction, make_caster)
from pipeline.shade.sun import (DEFAULT_STEP_MINUTES, DEFAULT_TIMEZONE, Scenario, SunPositions,
                                grid_centre_lonlat, meridian_convergence_deg, slot_sun_positions)
from pipeline.thermal.accumulate import SlotAccumulator
from pipeline.thermal.forcing import ForcingSource, forcing_source
from pipeline.thermal.radiation import Irradiance
from pipeline.thermal.svf import DEFAULT_AZIMUTHS, SkyView, sky_view_factor
from pipeline.thermal.tmrt import DayHeating, SkyGeometry, TmrtParameters
from pipeline.thermal.tmrt_compiled import mean_radiant_temperature_compiled
from pipeline.thermal.utci import STRESS_CLASSES, utci_uniform_air
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


@dataclass(frozen=True)
class ScenarioSteps:
    """Everything one scenario's time steps need besides the shade (made once per scenario).

    Attributes
    ----------
    scenario : Scenario
    positions : SunPositions
        The shadow stage's sun samples of the slot (tile centre, apparent altitude).
    grid_azimuth_deg : numpy.ndarray
        Their azimuths clockwise from grid north, degrees.
    local_times : pandas.DatetimeIndex
        Their instants in the run's timezone.
    irradiance : Irradiance
        Direct normal and diffuse horizontal irradiance at each sample, W/m²
        (:mod:`~pipeline.thermal.forcing`: clear sky or observed).
    weather : StepWeather
        Air temperature, humidity and station wind at each sample.
    transmissivity : tuple of float
        ``(deciduous, evergreen)`` share of the beam through a tree crown on the scenario's
        date (:meth:`~pipeline.shade.shadow.CanopyTransmissivity.by_habit`).
    sky : SkyGeometry
        The sky view through crowns of those transmissivities (with the crowns' share of
        it when the tile has trees).
    day : DayHeating
        Sunrise and the day's highest sun (surface heating).
    """

    scenario: Scenario
    positions: SunPositions
    grid_azimuth_deg: np.ndarray
    local_times: pd.DatetimeIndex
    irradiance: Irradiance
    weather: StepWeather
    transmissivity: tuple[float, float]
    sky: SkyGeometry
    day: DayHeating


def scenario_steps(scenario: Scenario, year: int, latitude: float, longitude: float, convergence_deg: float,
                   weather: WeatherSource | ForcingSource, *, transmissivity: CanopyTransmissivity,
                   sky_view: SkyView, step_minutes: float, timezone: str, altitude_m: float,
                   shared: dict | None = None) -> ScenarioSteps:
    """Sun samples, forcing (:mod:`~pipeline.thermal.forcing`), crown transmissivities and
    sky of one scenario at the tile centre (``latitude``, ``longitude``, degrees;
    ``convergence_deg`` turns true azimuths to grid azimuths). ``shared`` keeps what
    scenarios have in common across calls: the :class:`SkyGeometry` of each pair of
    transmissivities and the :class:`DayHeating` of each date."""
    date = scenario.season.date(year)
    positions = slot_sun_positions(date, scenario.slot, latitude, longitude, step_minutes=step_minutes,
                                   timezone=timezone)
    forcing = forcing_source(weather).forcing(scenario, year, positions, latitude=latitude, longitude=longitude,
                                              altitude_m=altitude_m, timezone=timezone)
    taus = transmissivity.by_habit(date)     # (deciduous, evergreen)
    shared = {} if shared is None else shared
    if ("sky", taus) not in shared:
        shared["sky", taus] = SkyGeometry.from_svf(
            sky_view.with_trees(*taus), sky_view.surface if sky_view.opaque_trees is not None else None)
    if ("day", date) not in shared:
        shared["day", date] = DayHeating.for_date(date, latitude, longitude, timezone)
    return ScenarioSteps(scenario, positions, positions.grid_azimuth_deg(convergence_deg),
                         positions.timestamps.tz_convert(timezone), forcing.irradiance, forcing.weather, taus,
                         shared["sky", taus], shared["day", date])


def step_order(forcings: list[ScenarioSteps]) -> list[tuple[int, int]]:
    """Every ``(scenario index, step index)``, in the order one pass over the tile takes them.

    By grid azimuth (then scenario, then step): the sun's azimuth rises monotonically
    through a day at Japan's latitudes, so each scenario's steps keep their time order,
    while steps of every scenario that fall between the same two horizon sectors come
    together and each sector's horizons are computed once per tile
    (:class:`~pipeline.shade.horizon.HorizonCaster` keeps the last few), not once per
    scenario that crosses it. (A slot running past solar midnight, where the azimuth
    passes north, would have its steps after it summed first: the same sums in another
    order.)
    """
    keys = [(float(az) % 360.0, i, k) for i, f in enumerate(forcings) for k, az in enumerate(f.grid_azimuth_deg)]
    return [(i, k) for _, i, k in sorted(keys)]


def thermal_scenarios(dsm: np.ndarray, outer: Grid, inner: Grid, scenarios: list[Scenario], year: int,
                      weather: WeatherSource | ForcingSource, *, canopy_top: np.ndarray | None = None,
                      transmissivity: CanopyTransmissivity = CanopyTransmissivity(),
                      sky_view: SkyView | None = None, step_minutes: float = DEFAULT_STEP_MINUTES,
                      timezone: str = DEFAULT_TIMEZONE, max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
                      parameters: TmrtParameters = TmrtParameters(), altitude_m: float = 0.0,
                      n_azimuths: int = DEFAULT_AZIMUTHS, method: ShadeMethod = "horizon",
                      sector_deg: float = DEFAULT_SECTOR_DEG,
                      evergreen_top: np.ndarray | None = None) -> Iterator[tuple[str, ScenarioThermal]]:
    """Yield ``(scenario name, ScenarioThermal)`` for each scenario (arguments as :func:`thermal_tile`).

    One pass over every scenario's steps in :func:`step_order`; a scenario is yielded
    (and its sums dropped) as soon as its last step is in, so scenarios come in the
    order their slots end in azimuth, not in the order of ``scenarios``.
    """
    started = time.perf_counter()
    window = inner_window(outer, inner)
    lon, lat = grid_centre_lonlat(inner)
    convergence = meridian_convergence_deg(outer.crs, lon, lat)
    if sky_view is None:
        sky_view = tile_sky_view(dsm, outer, inner, canopy_top=canopy_top, n_azimuths=n_azimuths,
                                 evergreen_top=evergreen_top)
    caster = make_caster(dsm, outer.resolution, method=method, canopy_top=canopy_top,
                         max_distance_m=max_distance_m, window=window, sector_deg=sector_deg,
                         evergreen_top=evergreen_top)
    source = forcing_source(weather)
    wind_factor = utci_wind_factor(sky_view.surface)   # station 10 m wind -> the cell's, for UTCI
    shared: dict = {}
    forcings = [scenario_steps(scenario, year, lat, lon, convergence, source, transmissivity=transmissivity,
                               sky_view=sky_view, step_minutes=step_minutes, timezone=timezone,
                               altitude_m=altitude_m, shared=shared) for scenario in scenarios]
    remaining = [len(f.positions) for f in forcings]
    sums: dict[int, SlotAccumulator] = {}
    no_sun = np.zeros(inner.shape, np.float32)
    for i in [i for i, n in enumerate(remaining) if n == 0]:
        yield _scenario_result(forcings[i], SlotAccumulator(inner.shape))
    for i, k in step_order(forcings):
        f = forcings[i]
        steps = f.weather
        altitude = float(f.positions.sun_altitude_deg[k])
        sun_share = (light_fraction(caster.codes(f.grid_azimuth_deg[k], altitude), *f.transmissivity)
                     if altitude > 0 else no_sun)
        ground_k, wall_k = f.day.ground_and_wall(f.local_times[k], altitude, parameters)
        tmrt = mean_radiant_temperature_compiled(
            svf=f.sky, sun_share=sun_share, sun_altitude_deg=altitude,
            dni_wm2=float(f.irradiance.dni_wm2[k]), dhi_wm2=float(f.irradiance.dhi_wm2[k]),
            air_temperature_c=float(steps.air_temperature_c[k]),
            relative_humidity_pct=float(steps.relative_humidity_pct[k]),
            ground_heating_k=ground_k, wall_heating_k=wall_k, parameters=parameters)
        utci = utci_uniform_air(float(steps.air_temperature_c[k]), tmrt,
                                float(steps.wind_speed_ms[k]) * wind_factor,
                                float(steps.relative_humidity_pct[k]))
        if i not in sums:
            sums[i] = SlotAccumulator(inner.shape)
        sums[i].add(utci, tmrt, float(f.positions.weight_hours[k]))
        remaining[i] -= 1
        if remaining[i] == 0:
            log.info("thermal: tile %s, %s: %d steps on %dx%d cells, done %.1f s into the pass (%s)",
                     inner.bounds, f.scenario.name, len(f.positions), inner.height, inner.width,
                     time.perf_counter() - started, steps.source)
            yield _scenario_result(f, sums.pop(i))


def _scenario_result(steps: ScenarioSteps, sums: SlotAccumulator) -> tuple[str, ScenarioThermal]:
    slot_hours = steps.positions.total_hours
    hours = sums.hours
    return steps.scenario.name, ScenarioThermal(
        utci_mean_c=(sums.utci_sum / slot_hours).astype(np.float32),
        tmrt_mean_c=(sums.tmrt_sum / slot_hours).astype(np.float32),
        stress_hours={STRESS_CLASSES[i].key: hours[i] for i in sorted(hours)},
        slot_hours=slot_hours, weather=steps.weather)


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
    done = dict(thermal_scenarios(
        dsm, outer, inner, scenarios, year, weather, canopy_top=canopy_top, transmissivity=transmissivity,
        sky_view=sky_view, step_minutes=step_minutes, timezone=timezone, max_distance_m=max_distance_m,
        parameters=parameters, altitude_m=altitude_m, n_azimuths=n_azimuths, method=method,
        sector_deg=sector_deg, evergreen_top=evergreen_top))
    return ThermalResult(grid=inner, sky_view=sky_view,
                         scenarios={s.name: done[s.name] for s in scenarios})
