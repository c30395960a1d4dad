"""Shade and thermal comfort of one tile in one pass: sector horizons once, then Tmrt and UTCI per time step.

For a tile (its DSM and canopy on the grid grown by the halo, :class:`TileSurface`) and the
run's scenarios, :func:`shade_and_thermal` (options in :class:`ThermalOptions`):

1. runs the shadow stage's pass (:func:`pipeline.shade.shadow.shade_pass`: every scenario's
   shade hours and every season's sun hours, horizon angles once per azimuth sector) and,
   at each sector while its horizons are cached, takes from them the shade codes of the
   sun positions that are thermal time steps (every scenario's slot samples; kept two bits
   a cell, :class:`PackedCodes`) and, when the sector is one of its directions, the sky
   view factor's (:class:`~pipeline.thermal.svf.HorizonSkyView`; the directions the sun
   never faces are computed after the pass). The horizons of the thermal steps and of the
   sky view are the shadow stage's, computed once per tile;
2. per scenario (:func:`scenario_steps`), the same sun positions (tile centre, grid
   azimuths), the scenario's forcing (:mod:`~pipeline.thermal.forcing`: weather and
   irradiance, clear sky by default) and the season's crown transmissivity by leaf habit
   and sky;
3. one pass over every scenario's time steps ordered by sun azimuth (:func:`step_order`):
   at each step the kept shade codes, the sun share (trees by the season's transmissivity
   of each leaf habit, the cells under a measure's cover by its own,
   :class:`~pipeline.shade.shadow.Covers`), Tmrt (:mod:`~pipeline.thermal.tmrt_compiled`, the compiled twin of
   :mod:`~pipeline.thermal.tmrt`) and UTCI (:func:`~pipeline.thermal.utci.utci_scaled_wind`,
   with each cell's pedestrian wind from :mod:`~pipeline.thermal.wind`) of every tile cell,
   *accumulated* (:mod:`~pipeline.thermal.accumulate`) into the scenario's time-weighted
   mean UTCI, mean Tmrt and hours per UTCI stress class. No Tmrt or UTCI raster is kept,
   so memory is the tile's rasters, the packed codes (a quarter byte per cell and step)
   and the sums of the scenarios whose slots the pass is crossing.

With ``method="sweep"`` (the exact reference) there are no sectors: the sky view is
:func:`~pipeline.thermal.svf.sky_view_factor`'s own sweep and each step's codes are cast
when the step is taken. :func:`thermal_scenarios` yields each scenario as soon as its last
step is in (a stage can write each and drop it); :func:`thermal_tile` collects them in the
scenarios' order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numba
import numpy as np
import pandas as pd

from pipeline.geo.raster import Grid
from pipeline.shade.schedule import ShadeSchedule, tile_schedule
from pipeline.shade.shadow import (
    DEFAULT_MAX_DISTANCE_M,
    DEFAULT_SECTOR_DEG,
    CanopyTransmissivity,
    Covers,
    ShadeMethod,
    TileShade,
    cover_light,
    inner_window,
    light_fraction,
    light_lut,
    shade_pass,
)
from pipeline.shade.sun import (
    DEFAULT_STEP_MINUTES,
    DEFAULT_TIMEZONE,
    Scenario,
    SunPositions,
    grid_centre_lonlat,
    meridian_convergence_deg,
    slot_steps,
    slot_sun_positions,
)
from pipeline.thermal.accumulate import SlotAccumulator
from pipeline.thermal.forcing import ForcingSource, forcing_source
from pipeline.thermal.radiation import Irradiance
from pipeline.thermal.svf import DEFAULT_AZIMUTHS, HorizonSkyView, SkyView, sky_view_factor
from pipeline.thermal.tmrt import DayHeating, SkyGeometry, TmrtParameters
from pipeline.thermal.tmrt_compiled import mean_radiant_temperature_compiled
from pipeline.thermal.utci import STRESS_CLASSES, air_within_limits, utci_scaled_wind
from pipeline.thermal.weather import StepWeather, WeatherSource
from pipeline.thermal.wind import utci_wind_factor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TileSurface:
    """A tile's surface rasters with their halo (metres, on one north-up metric grid).

    Attributes
    ----------
    dsm : numpy.ndarray
        Surface heights on ``outer`` (the tile plus halo), metres, orthometric, finite.
    outer, inner : Grid
        The grid of ``dsm`` and the tile itself (``inner.buffered(halo) == outer``). Sun
        positions and weather are taken at the tile centre.
    canopy_top : numpy.ndarray, optional
        Canopy-top heights on ``outer``, metres, NaN where none.
    evergreen_top : numpy.ndarray, optional
        Canopy tops of the evergreen crowns on ``outer`` (a subset of ``canopy_top``), NaN
        elsewhere; every other crown is deciduous.
    covers : Covers, optional
        Overhead covers on ``outer`` (part of ``canopy_top``) with their own share of the
        beam (:class:`~pipeline.shade.shadow.Covers`).
    """

    dsm: np.ndarray
    outer: Grid
    inner: Grid
    canopy_top: np.ndarray | None = None
    evergreen_top: np.ndarray | None = None
    covers: Covers | None = None

    @property
    def window(self) -> tuple[int, int, int, int]:
        """(row0, row1, col0, col1) of ``inner`` in ``outer``."""
        return inner_window(self.outer, self.inner)


@dataclass(frozen=True)
class ThermalOptions:
    """How a tile's shade and thermal comfort are computed (the stages' settings, resolved).

    Attributes
    ----------
    transmissivity : CanopyTransmissivity
        Share of sun through a crown by leaf habit and season (as the shadow stage).
    step_minutes : float
        Time step of the shade inside each slot, minutes (the shadow stage's default: 10).
    thermal_step_minutes : float, optional
        Time step of Tmrt and UTCI inside each slot, minutes (None: ``step_minutes``). An odd
        multiple of ``step_minutes`` (30 for 10) puts every thermal step's mid-point on one of
        the shade pass's, whose codes it takes; any other step has its codes cast when taken.
    timezone : str
        The run's timezone (slot times are local).
    max_distance_m : float
        Longest shadow searched, metres (the halo).
    parameters : TmrtParameters
        Person, surface and heating parameters.
    altitude_m : float
        Site height above sea level for the clear-sky model, metres.
    n_azimuths : int
        Directions of the sky view factor (36: every 10 degrees).
    method : {"horizon", "sweep"}
        How shade is decided (see :func:`pipeline.shade.shadow.make_caster`).
    sector_deg : float
        The horizon method's azimuth step, degrees.
    """

    transmissivity: CanopyTransmissivity = CanopyTransmissivity()
    step_minutes: float = DEFAULT_STEP_MINUTES
    thermal_step_minutes: float | None = None
    timezone: str = DEFAULT_TIMEZONE
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M
    parameters: TmrtParameters = TmrtParameters()
    altitude_m: float = 0.0
    n_azimuths: int = DEFAULT_AZIMUTHS
    method: ShadeMethod = "horizon"
    sector_deg: float = DEFAULT_SECTOR_DEG

    @property
    def thermal_step(self) -> float:
        """The thermal time step, minutes."""
        return self.step_minutes if self.thermal_step_minutes is None else self.thermal_step_minutes


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
    air_valid : numpy.ndarray of bool
        Whether UTCI is defined for each step's air (:func:`~pipeline.thermal.utci.air_within_limits`).
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
    air_valid: np.ndarray


def scenario_steps(
    scenario: Scenario,
    year: int,
    latitude: float,
    longitude: float,
    convergence_deg: float,
    weather: WeatherSource | ForcingSource,
    *,
    transmissivity: CanopyTransmissivity,
    sky_view: SkyView,
    step_minutes: float,
    timezone: str,
    altitude_m: float,
    shared: dict | None = None,
    positions: SunPositions | None = None,
) -> ScenarioSteps:
    """Sun samples, forcing (:mod:`~pipeline.thermal.forcing`), crown transmissivities and
    sky of one scenario at the tile centre (``latitude``, ``longitude``, degrees;
    ``convergence_deg`` turns true azimuths to grid azimuths). ``shared`` keeps what
    scenarios have in common across calls: the :class:`SkyGeometry` of each pair of
    transmissivities and the :class:`DayHeating` of each date. ``positions``: the slot's
    sun samples at ``step_minutes`` when the caller has them already."""
    date = scenario.season.date(year)
    if positions is None:
        positions = slot_sun_positions(
            date, scenario.slot, latitude, longitude, step_minutes=step_minutes, timezone=timezone
        )
    forcing = forcing_source(weather).forcing(
        scenario,
        year,
        positions,
        latitude=latitude,
        longitude=longitude,
        altitude_m=altitude_m,
        timezone=timezone,
    )
    taus = transmissivity.by_habit(date)  # (deciduous, evergreen)
    shared = {} if shared is None else shared
    if ("sky", taus) not in shared:
        shared["sky", taus] = SkyGeometry.from_svf(
            sky_view.with_trees(*taus), sky_view.surface if sky_view.opaque_trees is not None else None
        )
    if ("day", date) not in shared:
        shared["day", date] = DayHeating.for_date(date, latitude, longitude, timezone)
    return ScenarioSteps(
        scenario,
        positions,
        positions.grid_azimuth_deg(convergence_deg),
        positions.timestamps.tz_convert(timezone),
        forcing.irradiance,
        forcing.weather,
        taus,
        shared["sky", taus],
        shared["day", date],
        air_within_limits(forcing.weather.air_temperature_c, forcing.weather.relative_humidity_pct),
    )


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
    keys = [
        (float(az) % 360.0, i, k) for i, f in enumerate(forcings) for k, az in enumerate(f.grid_azimuth_deg)
    ]
    return [(i, k) for _, i, k in sorted(keys)]


def _scenario_result(steps: ScenarioSteps, sums: SlotAccumulator) -> tuple[str, ScenarioThermal]:
    slot_hours = steps.positions.total_hours
    hours = sums.hours
    return steps.scenario.name, ScenarioThermal(
        utci_mean_c=(sums.utci_sum / slot_hours).astype(np.float32),
        tmrt_mean_c=(sums.tmrt_sum / slot_hours).astype(np.float32),
        stress_hours={STRESS_CLASSES[i].key: hours[i] for i in sorted(hours)},
        slot_hours=slot_hours,
        weather=steps.weather,
    )


def thermal_sun_positions(
    scenarios: list[Scenario],
    year: int,
    latitude: float,
    longitude: float,
    options: ThermalOptions,
    schedule: ShadeSchedule,
) -> dict[str, SunPositions]:
    """Every scenario's sun samples at the thermal step (:func:`~pipeline.shade.sun.slot_sun_positions`),
    the sun taken from the shade ``schedule`` where it has every instant of the slot (a
    thermal step an odd multiple of the shade's), else computed (pvlib SPA, as there)."""
    known = dict(zip(schedule.timestamps.as_unit("ns").asi8.tolist(), range(len(schedule))))
    out = {}
    for scenario in scenarios:
        date = scenario.season.date(year)
        mids, weights = slot_steps(
            date, scenario.slot, step_minutes=options.thermal_step, timezone=options.timezone
        )
        rows = [known.get(t) for t in mids.as_unit("ns").asi8.tolist()]
        if all(r is not None for r in rows):
            rows = np.array(rows, dtype=np.int64)
            out[scenario.name] = SunPositions(
                mids, schedule.sun_altitude_deg[rows], schedule.sun_azimuth_deg[rows], weights
            )
        else:
            out[scenario.name] = slot_sun_positions(
                date,
                scenario.slot,
                latitude,
                longitude,
                step_minutes=options.thermal_step,
                timezone=options.timezone,
            )
    return out


def tile_sky_view(surface: TileSurface, n_azimuths: int = DEFAULT_AZIMUTHS) -> SkyView:
    """Sky view factors of the tile's cells by :func:`~pipeline.thermal.svf.sky_view_factor`'s
    own sweep (horizons to the raster's edge; :func:`shade_and_thermal` takes them from its
    sectors instead, with the horizon method)."""
    return sky_view_factor(
        surface.dsm,
        surface.outer.resolution,
        canopy_top=surface.canopy_top,
        n_azimuths=n_azimuths,
        window=surface.window,
        evergreen_top=surface.evergreen_top,
    )


class PackedCodes:
    """Shade codes (0-3, :data:`~pipeline.shade.sweep.SUNLIT` to
    :data:`~pipeline.shade.sweep.EVERGREEN_SHADE`) of many sun positions over one window,
    four positions to a byte."""

    def __init__(self, n_positions: int, shape: tuple[int, int]):
        self.shape = tuple(shape)
        self._bytes = np.zeros(((n_positions + 3) // 4, int(np.prod(self.shape))), np.uint8)

    def put(self, index: int, codes: np.ndarray) -> None:
        """Keep the codes (uint8 0-3, the window's shape) of position ``index``."""
        self._bytes[index // 4] |= codes.reshape(-1) << np.uint8(2 * (index % 4))

    def get(self, index: int) -> np.ndarray:
        """The codes of position ``index`` (uint8, the window's shape)."""
        return ((self._bytes[index // 4] >> np.uint8(2 * (index % 4))) & np.uint8(3)).reshape(self.shape)

    def light(self, index: int, canopy_transmissivity: float, evergreen_transmissivity: float) -> np.ndarray:
        """:func:`~pipeline.shade.shadow.light_fraction` of position ``index``'s codes (float32),
        read from the packed bytes in one compiled pass."""
        out = np.empty(self.shape, np.float32)
        _unpack_light(
            self._bytes[index // 4],
            np.uint8(2 * (index % 4)),
            light_lut(canopy_transmissivity, evergreen_transmissivity),
            out.reshape(-1),
        )
        return out

    @property
    def nbytes(self) -> int:
        return int(self._bytes.nbytes)


@numba.njit(parallel=True, cache=True, nogil=True)
def _unpack_light(packed, shift, lut, out):
    """``out[i] = lut[(packed[i] >> shift) & 3]``: a position's light share from its packed codes."""
    for i in numba.prange(packed.size):
        out[i] = lut[(packed[i] >> shift) & 3]


class _PassVisitor:
    """Takes, at each sector of the shadow pass, the codes of the thermal steps' positions
    and the sky view's directions (module docstring, step 1)."""

    def __init__(
        self,
        schedule: ShadeSchedule,
        grid_azimuth_deg: np.ndarray,
        shape: tuple[int, int],
        n_azimuths: int | None,
        thermal_instants: set[int],
    ):
        # positions that are some slot's sample with the sun up at a thermal step's instant
        kinds = np.array([t.kind == "shade" for t in schedule.targets], dtype=bool)
        in_slot = np.zeros(len(schedule), dtype=bool)
        for p in range(len(schedule)):
            in_slot[p] = kinds[schedule.target[schedule.start[p] : schedule.start[p + 1]]].any()
        instants = schedule.timestamps.as_unit("ns").asi8
        is_step = np.array([t in thermal_instants for t in instants.tolist()], dtype=bool)
        wanted = np.flatnonzero(in_slot & is_step & (schedule.sun_altitude_deg > 0))
        self.slot_of = dict(zip(instants[wanted].tolist(), range(wanted.size)))
        self._row = np.full(len(schedule), -1, np.int64)
        self._row[wanted] = np.arange(wanted.size)
        self.codes = PackedCodes(wanted.size, shape)
        self.schedule = schedule
        self.azimuth = grid_azimuth_deg
        self.n_azimuths = n_azimuths
        self.sky: HorizonSkyView | None = None

    def start_sky(self, caster) -> None:
        if self.sky is None and self.n_azimuths is not None and HorizonSkyView.fits(caster, self.n_azimuths):
            self.sky = HorizonSkyView(caster, self.n_azimuths)

    def __call__(self, caster, sector: int, positions: np.ndarray) -> None:
        self.start_sky(caster)
        if self.sky is not None:
            self.sky.take(sector)
            self.sky.take(sector + 1)
        for p in positions:
            if self._row[p] >= 0:
                self.codes.put(
                    int(self._row[p]), caster.codes(self.azimuth[p], self.schedule.sun_altitude_deg[p])
                )


@dataclass
class TilePass:
    """What :func:`shade_and_thermal` computes for one tile (on the tile grid).

    ``shade`` and ``sky_view`` are complete when the call returns; ``thermal`` yields
    ``(scenario name, ScenarioThermal)`` as each scenario's last step is in (a generator:
    the thermal steps run as it is consumed)."""

    shade: TileShade
    sky_view: SkyView
    thermal: Iterator[tuple[str, ScenarioThermal]]


def shade_and_thermal(
    surface: TileSurface,
    scenarios: list[Scenario],
    year: int,
    weather: WeatherSource | ForcingSource,
    options: ThermalOptions = ThermalOptions(),
    *,
    sun_hours: bool = True,
    sky_view: SkyView | None = None,
) -> TilePass:
    """Shade hours, sun hours, sky view and every scenario's thermal comfort of one tile, one pass.

    Parameters
    ----------
    surface : TileSurface
        The tile's rasters with their halo.
    scenarios : list of Scenario
        Season x time slot (:class:`pipeline.shade.sun.Scenario`); ``year`` gives the dates.
    weather : WeatherSource or ForcingSource
        From :func:`pipeline.thermal.weather.read_weather` (each scenario's forcing computed
        at the tile centre, :mod:`~pipeline.thermal.forcing`), or the run's recorded
        forcing (:func:`pipeline.thermal.forcing.read_forcing_csv`).
    options : ThermalOptions
    sun_hours : bool
        Also each season's sunrise-to-sunset sun hours (as :func:`pipeline.shade.shadow.tile_shade`).
    sky_view : SkyView, optional
        A sky view to use instead of the pass's own.

    Returns
    -------
    TilePass
        ``shade``: :func:`pipeline.shade.shadow.tile_shade` of the same arguments, cell for
        cell (it is the same pass); ``sky_view``: from the sector horizons with the horizon
        method (:class:`~pipeline.thermal.svf.HorizonSkyView`), by the sweep of
        :func:`~pipeline.thermal.svf.sky_view_factor` otherwise, or the one given;
        ``thermal``: module docstring.
    """
    started = time.perf_counter()
    o = options
    lon, lat = grid_centre_lonlat(surface.inner)
    convergence = meridian_convergence_deg(surface.outer.crs, lon, lat)
    schedule = tile_schedule(
        scenarios, year, lat, lon, step_minutes=o.step_minutes, timezone=o.timezone, sun_hours=sun_hours
    )
    azimuths = schedule.grid_azimuth_deg(convergence) if len(schedule) else np.empty(0)
    by_sector = o.method == "horizon"
    thermal_positions = thermal_sun_positions(scenarios, year, lat, lon, o, schedule)
    thermal_instants = {
        int(t) for positions in thermal_positions.values() for t in positions.timestamps.as_unit("ns").asi8
    }
    visitor = (
        _PassVisitor(
            schedule,
            azimuths,
            surface.inner.shape,
            o.n_azimuths if sky_view is None else None,
            thermal_instants,
        )
        if by_sector
        else None
    )
    shaded = shade_pass(
        surface.dsm,
        surface.outer,
        surface.inner,
        scenarios,
        year,
        canopy_top=surface.canopy_top,
        transmissivity=o.transmissivity,
        step_minutes=o.step_minutes,
        timezone=o.timezone,
        max_distance_m=o.max_distance_m,
        sun_hours=sun_hours,
        method=o.method,
        sector_deg=o.sector_deg,
        evergreen_top=surface.evergreen_top,
        schedule=schedule,
        visit=visitor,
        covers=surface.covers,
    )
    if sky_view is None:
        if visitor is not None:
            visitor.start_sky(shaded.caster)  # no sector visited: the sun never rose
        sky_view = (
            visitor.sky.finish()
            if visitor is not None and visitor.sky is not None
            else tile_sky_view(surface, o.n_azimuths)
        )
    log.info(
        "thermal: tile %s, shade and sky view (%s) in %.1f s%s",
        surface.inner.bounds,
        o.method,
        time.perf_counter() - started,
        f", {visitor.codes.nbytes / 1e6:.0f} MB of kept shade codes" if visitor is not None else "",
    )
    caster = shaded.caster
    codes = visitor.codes if visitor is not None else None
    slot_of = visitor.slot_of if visitor is not None else {}

    window = surface.window
    covers = (
        None
        if surface.covers is None
        else {leaf_off: surface.covers.window(window, leaf_off) for leaf_off in (False, True)}
    )

    def light_at(
        instant_ns: int,
        grid_azimuth_deg: float,
        altitude_deg: float,
        transmissivity: tuple[float, float],
        leaf_off: bool,
    ) -> np.ndarray:
        if instant_ns in slot_of:  # a thermal step among the pass's positions: its kept codes
            light = codes.light(slot_of[instant_ns], *transmissivity)
            if covers is None:
                return light
            return cover_light(light, codes.get(slot_of[instant_ns]), covers[leaf_off])
        cast = caster.codes(grid_azimuth_deg, altitude_deg)
        light = light_fraction(cast, *transmissivity)
        return light if covers is None else cover_light(light, cast, covers[leaf_off])

    return TilePass(
        shaded.shade,
        sky_view,
        _thermal_steps(
            surface, scenarios, year, weather, o, sky_view, light_at, lat, lon, convergence, thermal_positions
        ),
    )


def _thermal_steps(
    surface: TileSurface,
    scenarios: list[Scenario],
    year: int,
    weather: WeatherSource | ForcingSource,
    options: ThermalOptions,
    sky_view: SkyView,
    light_at: Callable[[int, float, float, tuple[float, float], bool], np.ndarray],
    latitude: float,
    longitude: float,
    convergence_deg: float,
    positions: dict[str, SunPositions],
) -> Iterator[tuple[str, ScenarioThermal]]:
    """Every scenario's steps in :func:`step_order`, each scenario yielded when its last step is in
    (``positions``: every scenario's sun samples at the thermal step, by name)."""
    started = time.perf_counter()
    inner = surface.inner
    source = forcing_source(weather)
    wind_factor = utci_wind_factor(sky_view.surface)  # station 10 m wind -> the cell's, for UTCI
    factor_extent = (np.nanmin(wind_factor), np.nanmax(wind_factor))
    shared: dict = {}
    forcings = [
        scenario_steps(
            scenario,
            year,
            latitude,
            longitude,
            convergence_deg,
            source,
            transmissivity=options.transmissivity,
            sky_view=sky_view,
            step_minutes=options.thermal_step,
            timezone=options.timezone,
            altitude_m=options.altitude_m,
            shared=shared,
            positions=positions[scenario.name],
        )
        for scenario in scenarios
    ]
    remaining = [len(f.positions) for f in forcings]
    sums: dict[int, SlotAccumulator] = {}
    no_sun = np.zeros(inner.shape, np.float32)
    for i in [i for i, n in enumerate(remaining) if n == 0]:
        yield _scenario_result(forcings[i], SlotAccumulator(inner.shape))
    instants = [f.positions.timestamps.as_unit("ns").asi8 for f in forcings]
    months = options.transmissivity.leaf_off_months
    leaf_off = [f.scenario.season.date(year).month in months for f in forcings]
    for i, k in step_order(forcings):
        f = forcings[i]
        altitude = float(f.positions.sun_altitude_deg[k])
        sun_share = (
            light_at(int(instants[i][k]), f.grid_azimuth_deg[k], altitude, f.transmissivity, leaf_off[i])
            if altitude > 0
            else no_sun
        )
        if i not in sums:
            sums[i] = SlotAccumulator(inner.shape)
        _add_step(sums[i], f, k, altitude, sun_share, wind_factor, factor_extent, options.parameters)
        remaining[i] -= 1
        if remaining[i] == 0:
            log.info(
                "thermal: tile %s, %s: %d steps on %dx%d cells, done %.1f s into the steps (%s)",
                inner.bounds,
                f.scenario.name,
                len(f.positions),
                inner.height,
                inner.width,
                time.perf_counter() - started,
                f.weather.source,
            )
            yield _scenario_result(f, sums.pop(i))


def _add_step(
    sums: SlotAccumulator,
    f: ScenarioSteps,
    k: int,
    altitude: float,
    sun_share: np.ndarray,
    wind_factor: np.ndarray,
    factor_extent: tuple[np.float32, np.float32],
    parameters: TmrtParameters,
) -> None:
    """Tmrt and UTCI of every cell at step ``k`` of a scenario, added to its sums."""
    steps = f.weather
    ground_k, wall_k = f.day.ground_and_wall(f.local_times[k], altitude, parameters)
    air_c = float(steps.air_temperature_c[k])
    humidity = float(steps.relative_humidity_pct[k])
    tmrt = mean_radiant_temperature_compiled(
        svf=f.sky,
        sun_share=sun_share,
        sun_altitude_deg=altitude,
        dni_wm2=float(f.irradiance.dni_wm2[k]),
        dhi_wm2=float(f.irradiance.dhi_wm2[k]),
        air_temperature_c=air_c,
        relative_humidity_pct=humidity,
        ground_heating_k=ground_k,
        wall_heating_k=wall_k,
        parameters=parameters,
    )
    utci = utci_scaled_wind(
        air_c,
        tmrt,
        float(steps.wind_speed_ms[k]),
        wind_factor,
        humidity,
        factor_extent=factor_extent,
        air_valid=bool(f.air_valid[k]),
    )
    sums.add(utci, tmrt, float(f.positions.weight_hours[k]))


def thermal_scenarios(
    surface: TileSurface,
    scenarios: list[Scenario],
    year: int,
    weather: WeatherSource | ForcingSource,
    options: ThermalOptions = ThermalOptions(),
    *,
    sky_view: SkyView | None = None,
) -> Iterator[tuple[str, ScenarioThermal]]:
    """Yield ``(scenario name, ScenarioThermal)`` for each scenario (arguments as :func:`shade_and_thermal`).

    The pass of :func:`shade_and_thermal` without the seasons' sun hours, its shade dropped;
    scenarios come in the order their slots end in azimuth, not in the order of ``scenarios``.
    """
    yield from shade_and_thermal(
        surface, scenarios, year, weather, options, sun_hours=False, sky_view=sky_view
    ).thermal


def thermal_tile(
    surface: TileSurface,
    scenarios: list[Scenario],
    year: int,
    weather: WeatherSource | ForcingSource,
    options: ThermalOptions = ThermalOptions(),
    *,
    sky_view: SkyView | None = None,
) -> ThermalResult:
    """Mean UTCI, mean Tmrt and hours per stress class of every scenario, and the sky view, of one tile.

    Arguments as :func:`shade_and_thermal`; returns a :class:`ThermalResult` on ``surface.inner``
    with one :class:`ScenarioThermal` per scenario, in the order of ``scenarios``.
    """
    tile = shade_and_thermal(surface, scenarios, year, weather, options, sun_hours=False, sky_view=sky_view)
    done = dict(tile.thermal)
    return ThermalResult(
        grid=surface.inner, sky_view=tile.sky_view, scenarios={s.name: done[s.name] for s in scenarios}
    )
