"""Shade of a tile: shade hours per scenario and sun hours per season, from a DSM.

A cell is in shade when something rises above the sun line from its own surface height
toward the sun (roofs count as well as the ground); tree crowns let a share of the sun
through. Two methods decide it for one sun position:

- ``"sweep"``, the reference (:mod:`pipeline.shade.sweep`): rays on a lattice of digital
  lines, one sliding-maximum pass per sun position, identical cell for cell to the plain
  Ratti & Richens shift-and-compare loop (:func:`ratti_shade_codes`);
- ``"horizon"``, the default (:mod:`pipeline.shade.horizon`): horizon angles computed once
  per azimuth sector (``sector_deg``), interpolated between sectors, then one comparison
  per cell and sun position. It agrees with the sweep on >= 99.5 % of cells (measured on
  the sample district and on analytic boxes; ``benchmarks/shadow.py``) at a fraction of
  the cost, because hundreds of sun positions share a few hundred azimuths.

Trees
-----
Vegetation is a separate canopy-top raster (metres, same datum, NaN where none) with a
transmissivity ``tau``. A cell whose ray, from step 0 on (the crown over the cell
itself), passes below the canopy top of any canopy cell, and that the DSM does not
shade, is in canopy shade and receives exactly ``tau`` of the sun. Several crowns along
one ray are *not* multiplied: one crown is many cells long, so a per-cell product would
count the same crown over and over; a ray under both an evergreen and a deciduous crown
takes the evergreen crown's ``tau`` (:data:`EVERGREEN_SHADE`), the lower of the two.

Transmissivity by leaf habit (:class:`CanopyTransmissivity`): a deciduous crown passes
``leaf_on`` of the beam in leaf and ``leaf_off`` in its leaf-off months; an evergreen
crown passes ``leaf_on`` all year. Crowns of unknown habit (LiDAR canopy, PLATEAU trees
without ``veg:function``) are deciduous unless the run says otherwise
(``stages.shadow.transmissivity.unknown_habit``). Defaults are SOLWEIG's (Lindberg et
al. 2008, Int. J. Biometeorol. 52:697-713; UMEP's ``Tree_settings``, read in ``solweig``
0.1.0b96 ``components/shadows.py``): leaf-on 0.03, leaf-off 0.5. UMEP's manual gives
the leaf-on 3 % as measured under in-leaf urban trees in Gothenburg by Konarska et al.
(2014, Theor. Appl. Climatol. 117:363-376). The leaf-off 0.5 is SOLWEIG's default as
coded; no measurement for bare Japanese street trees was found to replace it, so it is
an assumption, and the winter effect of deciduous trees scales with it. Leaf-off months December to March
(deciduous street trees of the Kanto plain, e.g. ケヤキ, lose their leaves from late
November and leaf out in April; SOLWEIG's default leaf-on window is day 97-300, 7 April
to 27 October, at Gothenburg).

Outputs per scenario: ``shade_hours`` = sum over samples of ``weight_hours * (1 -
light)``, light being 1 in sun, ``tau`` in canopy shade, 0 in DSM shade or with the sun
below the horizon; ``shade_fraction`` = ``shade_hours / slot hours``; and per season
``sun_hours`` = sum of ``weight_hours * light`` from sunrise to sunset. A sample shared
by a slot and its season's day is computed once (:mod:`pipeline.shade.schedule`).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numba
import numpy as np

from pipeline.geo.raster import Grid
from pipeline.shade.buildings import building_shade_summary
from pipeline.shade.horizon import DEFAULT_SECTOR_DEG, HorizonCaster
from pipeline.shade.schedule import ShadeSchedule, tile_schedule
from pipeline.shade.sun import (
    DEFAULT_STEP_MINUTES,
    DEFAULT_TIMEZONE,
    Scenario,
    SunPositions,
    grid_centre_lonlat,
    meridian_convergence_deg,
)
from pipeline.shade.sweep import (
    CANOPY_SHADE,
    DEFAULT_MAX_DISTANCE_M,
    EVERGREEN_SHADE,
    SUNLIT,
    SURFACE_SHADE,
    ShadeCaster,
    SweepGeometry,
    ratti_shade_codes,
    search_geometry,
    shade_codes,
    sweep_geometry,
)

__all__ = [
    "CANOPY_SHADE",
    "DEFAULT_MAX_DISTANCE_M",
    "EVERGREEN_SHADE",
    "SUNLIT",
    "SURFACE_SHADE",
    "CanopyTransmissivity",
    "Covers",
    "DEFAULT_SECTOR_DEG",
    "SHADE_METHODS",
    "HorizonCaster",
    "ScenarioShade",
    "ShadeCaster",
    "ShadeMethod",
    "ShadePass",
    "SweepGeometry",
    "TileShade",
    "accumulate_shade_hours",
    "building_shade_summary",
    "inner_window",
    "light_fraction",
    "light_lut",
    "make_caster",
    "ratti_shade_codes",
    "search_geometry",
    "shade_codes",
    "shade_pass",
    "shadow_halo_m",
    "sweep_geometry",
    "tile_shade",
]

log = logging.getLogger(__name__)

#: How :func:`tile_shade` decides shade: horizon angles per sector, or the exact sweep.
ShadeMethod = Literal["horizon", "sweep"]
SHADE_METHODS: tuple[str, ...] = ("horizon", "sweep")


def make_caster(
    dsm: np.ndarray,
    resolution: float,
    *,
    method: ShadeMethod = "horizon",
    canopy_top: np.ndarray | None = None,
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
    window: tuple[int, int, int, int] | None = None,
    sector_deg: float = DEFAULT_SECTOR_DEG,
    evergreen_top: np.ndarray | None = None,
) -> HorizonCaster | ShadeCaster:
    """A surface prepared for shade codes at many sun positions, by ``method``.

    Both casters answer ``codes(sun_azimuth_grid_deg, sun_altitude_deg)`` with uint8
    codes (:data:`SUNLIT`, :data:`CANOPY_SHADE`, :data:`SURFACE_SHADE`,
    :data:`EVERGREEN_SHADE`) over ``window``.
    ``dsm``, ``canopy_top`` and ``evergreen_top`` (the evergreen crowns' tops, a subset
    of ``canopy_top``) are metres on one north-up grid of cell size
    ``resolution`` metres (any metric CRS); azimuths are degrees from grid north.
    ``"horizon"`` keeps the last few sector horizons, so positions taken in time order
    (azimuth moving steadily) compute each sector about once; ``sector_deg`` is ignored
    by ``"sweep"``.
    """
    if method == "horizon":
        return HorizonCaster(
            dsm,
            resolution,
            canopy_top=canopy_top,
            max_distance_m=max_distance_m,
            window=window,
            sector_deg=sector_deg,
            evergreen_top=evergreen_top,
        )
    if method == "sweep":
        return ShadeCaster(
            dsm,
            resolution,
            canopy_top=canopy_top,
            max_distance_m=max_distance_m,
            window=window,
            evergreen_top=evergreen_top,
        )
    raise ValueError(f"unknown shade method {method!r} (one of {', '.join(SHADE_METHODS)})")


def shadow_halo_m(
    max_height_m: float, min_sun_altitude_deg: float, cap_m: float = DEFAULT_MAX_DISTANCE_M
) -> float:
    """Halo a tile needs so that every shadow reaching it is seen: ``h / tan(alt)``, capped.

    ``max_height_m`` is the largest height difference in the area (tallest building
    above the lowest ground); ``min_sun_altitude_deg`` the lowest sun considered.
    """
    if min_sun_altitude_deg <= 0:
        return float(cap_m)
    return float(min(cap_m, max_height_m / math.tan(math.radians(min_sun_altitude_deg))))


def light_fraction(
    codes: np.ndarray, canopy_transmissivity: float, evergreen_transmissivity: float | None = None
) -> np.ndarray:
    """Share of direct sun reaching each cell, float32.

    1 sunlit (:data:`SUNLIT`), ``canopy_transmissivity`` under a deciduous or
    unknown-habit crown (:data:`CANOPY_SHADE`), 0 in the DSM's shadow
    (:data:`SURFACE_SHADE`), ``evergreen_transmissivity`` under an evergreen crown
    (:data:`EVERGREEN_SHADE`; default: ``canopy_transmissivity``).
    """
    return light_lut(canopy_transmissivity, evergreen_transmissivity)[codes]


def light_lut(canopy_transmissivity: float, evergreen_transmissivity: float | None = None) -> np.ndarray:
    """The share of direct sun of each shade code (float32, indexed by code; see :func:`light_fraction`)."""
    evergreen = canopy_transmissivity if evergreen_transmissivity is None else evergreen_transmissivity
    return np.array([1.0, canopy_transmissivity, 0.0, evergreen], dtype=np.float32)


@dataclass(frozen=True)
class CanopyTransmissivity:
    """Share of direct sun passing a tree crown, by leaf habit and season (module docstring).

    Attributes
    ----------
    leaf_on : float
        Share through a crown in leaf (evergreen crowns all year), 0..1.
    leaf_off : float
        Share through a bare deciduous crown, 0..1.
    leaf_off_months : tuple of int
        Months (1-12) in which deciduous crowns are bare.
    """

    leaf_on: float = 0.03
    leaf_off: float = 0.5
    leaf_off_months: tuple[int, ...] = (12, 1, 2, 3)

    def for_date(self, date: dt.date) -> float:
        """Transmissivity of a deciduous (or unknown-habit) crown on ``date``."""
        return self.leaf_off if date.month in self.leaf_off_months else self.leaf_on

    @property
    def evergreen(self) -> float:
        """Transmissivity of an evergreen crown (in leaf all year)."""
        return self.leaf_on

    def by_habit(self, date: dt.date) -> tuple[float, float]:
        """``(deciduous, evergreen)`` transmissivity on ``date``, the arguments of :func:`light_fraction`."""
        return self.for_date(date), self.evergreen


@dataclass(frozen=True)
class Covers:
    """Overhead covers' own share of the beam (measures of kind ``canopy``: awnings,
    pergolas, shade sails; :func:`pipeline.surface.habit.cover_transmissivity`).

    A cell under a cover (the cover's canopy top above the cell's surface) and not in the
    surface's shadow receives ``transmissivity`` of the beam at every sun position, whatever
    the crown classes' transmissivity; a summer-only cover is not up in the leaf-off months
    (:class:`CanopyTransmissivity`), so its cells are then in full sun. Beyond its footprint
    the cover shades as a crown of its class (module docstring of
    :mod:`pipeline.measures.surface`).

    Attributes
    ----------
    transmissivity : numpy.ndarray
        Share of the beam through the cover, 0..1, on the surface's raster; NaN elsewhere.
    summer_only : numpy.ndarray of bool
        Cells of covers up in the leaf-on months only.
    """

    transmissivity: np.ndarray
    summer_only: np.ndarray

    def window(self, window: tuple[int, int, int, int], leaf_off: bool) -> np.ndarray:
        """The covers' share of the beam over ``window`` (float64, NaN where none): in the
        leaf-off months (``leaf_off``) summer-only covers pass everything (1)."""
        r0, r1, c0, c1 = window
        tau = np.asarray(self.transmissivity[r0:r1, c0:c1], np.float64)
        if leaf_off:
            tau = np.where(self.summer_only[r0:r1, c0:c1], 1.0, tau)
        return np.ascontiguousarray(tau)


def cover_light(light: np.ndarray, codes: np.ndarray, cover: np.ndarray | None) -> np.ndarray:
    """``light`` (:func:`light_fraction` of ``codes``) with the cells under a cover and not in
    surface shade given the cover's share (``cover``: :meth:`Covers.window`, or None)."""
    if cover is None:
        return light
    under = np.isfinite(cover) & (codes != SURFACE_SHADE)
    return np.where(under, cover, light).astype(light.dtype)


def accumulate_shade_hours(
    dsm: np.ndarray | ShadeCaster,
    resolution: float,
    positions: SunPositions,
    convergence_deg: float,
    *,
    canopy_top: np.ndarray | None = None,
    canopy_transmissivity: float = 0.03,
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
    window: tuple[int, int, int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Shade hours and sun hours summed over ``positions``.

    ``dsm`` may be a prepared :class:`ShadeCaster` (then ``resolution``, ``canopy_top``,
    ``max_distance_m`` and ``window`` are taken from it). Results over disjoint chunks of positions (:meth:`SunPositions.chunks`) add up, so
    time steps can be spread over workers.

    Returns
    -------
    shade_hours, sun_hours : numpy.ndarray of float32
        ``sum(weight * (1 - light))`` and ``sum(weight * light)``, hours, over the window.
    """
    caster = (
        dsm
        if isinstance(dsm, ShadeCaster)
        else ShadeCaster(dsm, resolution, canopy_top=canopy_top, max_distance_m=max_distance_m, window=window)
    )
    r0, r1, c0, c1 = caster.window
    sun_hours = np.zeros((r1 - r0, c1 - c0), dtype=np.float64)
    azimuths = positions.grid_azimuth_deg(convergence_deg)
    for altitude, azimuth, weight in zip(positions.sun_altitude_deg, azimuths, positions.weight_hours):
        if not altitude > 0:
            continue
        codes = caster.codes(azimuth, altitude)
        sun_hours += weight * light_fraction(codes, canopy_transmissivity)
    shade_hours = positions.total_hours - sun_hours
    return shade_hours.astype(np.float32), sun_hours.astype(np.float32)


@dataclass
class ScenarioShade:
    """Shade over one scenario's time slot, on the inner tile grid."""

    shade_fraction: np.ndarray  # 0..1, share of the slot in shade weighted by light reduction
    shade_hours: np.ndarray  # hours
    slot_hours: float


@dataclass
class TileShade:
    """Everything :func:`tile_shade` computes for one tile (halo removed)."""

    grid: Grid
    scenarios: dict[str, ScenarioShade] = field(default_factory=dict)
    sun_hours: dict[str, np.ndarray] = field(default_factory=dict)  # by season name, sunrise-sunset


def inner_window(outer: Grid, inner: Grid) -> tuple[int, int, int, int]:
    """(row0, row1, col0, col1) of ``inner`` inside ``outer`` (both on the same lattice)."""
    c0 = int(round((inner.x_min - outer.x_min) / outer.resolution))
    r0 = int(round((outer.y_max - inner.y_max) / outer.resolution))
    if r0 < 0 or c0 < 0 or r0 + inner.height > outer.height or c0 + inner.width > outer.width:
        raise ValueError(f"inner grid {inner} is not inside outer grid {outer}")
    return r0, r0 + inner.height, c0, c0 + inner.width


def tile_shade(
    dsm: np.ndarray,
    grid: Grid,
    inner: Grid,
    scenarios: list[Scenario],
    year: int,
    *,
    canopy_top: np.ndarray | None = None,
    transmissivity: CanopyTransmissivity = CanopyTransmissivity(),
    step_minutes: float = DEFAULT_STEP_MINUTES,
    timezone: str = DEFAULT_TIMEZONE,
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
    sun_hours: bool = True,
    method: ShadeMethod = "horizon",
    sector_deg: float = DEFAULT_SECTOR_DEG,
    threads: int | None = None,
    evergreen_top: np.ndarray | None = None,
    covers: Covers | None = None,
) -> TileShade:
    """Shade for every scenario and sun hours for every season of one tile.

    Parameters
    ----------
    dsm : numpy.ndarray
        Surface heights on ``grid`` (the tile plus halo), metres, finite.
    grid, inner : Grid
        The buffered grid of ``dsm`` and the tile itself (``inner.buffered(halo)``
        gives ``grid``). Sun positions are computed at the tile centre; azimuths are
        turned to grid azimuths with the meridian convergence there.
    scenarios : list of Scenario
        Season x time slot; ``year`` gives the dates.
    canopy_top : numpy.ndarray, optional
        Canopy-top heights on ``grid``, NaN where none.
    transmissivity : CanopyTransmissivity
        Share of sun through a crown, by leaf habit and date.
    step_minutes : float
        Sampling step, minutes.
    max_distance_m : float
        Longest shadow searched, metres (the halo: nothing beyond it is on the raster).
    sun_hours : bool
        Also compute sunrise-to-sunset sun hours for each distinct season.
    method : {"horizon", "sweep"}
        Horizon angles per azimuth sector (default, fast), or the exact sweep per sun
        position (the reference).
    sector_deg : float
        Azimuth step between horizons, degrees (``method="horizon"`` only).
    threads : int, optional
        Numba threads for this call (default: numba's, one per core). Pass 1 in a
        process that already runs one task per core, such as a Dask worker: numba does
        not follow ``OMP_NUM_THREADS``, and two worker processes with two numba threads
        each on two cores spent 2.1x the CPU time of one thread (``README``, Sun and shadow).
    evergreen_top : numpy.ndarray, optional
        Canopy tops of the evergreen crowns on ``grid`` (a subset of ``canopy_top``), NaN
        elsewhere; every other crown is deciduous.
    covers : Covers, optional
        Overhead covers on ``grid`` (part of ``canopy_top``) with their own transmissivity.

    Every scenario and season of one tile is best computed in *one* call: sun positions
    shared by a slot and its day, and horizons shared by positions of every season,
    are then computed once.
    """
    previous = numba.get_num_threads()
    if threads is not None:
        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        return shade_pass(
            dsm,
            grid,
            inner,
            scenarios,
            year,
            canopy_top=canopy_top,
            transmissivity=transmissivity,
            step_minutes=step_minutes,
            timezone=timezone,
            max_distance_m=max_distance_m,
            sun_hours=sun_hours,
            method=method,
            sector_deg=sector_deg,
            evergreen_top=evergreen_top,
            covers=covers,
        ).shade
    finally:
        numba.set_num_threads(previous)


@dataclass
class ShadePass:
    """What one pass of :func:`shade_pass` leaves besides the shade: the schedule of sun
    positions and the prepared caster (its last sector horizons still cached)."""

    shade: TileShade
    schedule: ShadeSchedule
    caster: HorizonCaster | ShadeCaster
    grid_azimuth_deg: np.ndarray


def shade_pass(
    dsm: np.ndarray,
    grid: Grid,
    inner: Grid,
    scenarios: list[Scenario],
    year: int,
    *,
    canopy_top: np.ndarray | None = None,
    transmissivity: CanopyTransmissivity = CanopyTransmissivity(),
    step_minutes: float = DEFAULT_STEP_MINUTES,
    timezone: str = DEFAULT_TIMEZONE,
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
    sun_hours: bool = True,
    method: ShadeMethod = "horizon",
    sector_deg: float = DEFAULT_SECTOR_DEG,
    evergreen_top: np.ndarray | None = None,
    visit: Callable[[HorizonCaster, int, np.ndarray], None] | None = None,
    schedule: ShadeSchedule | None = None,
    covers: Covers | None = None,
) -> ShadePass:
    """:func:`tile_shade` (same arguments, in the calling thread's numba threads), with the
    schedule and caster it used; ``visit`` is handed to :meth:`HorizonCaster.accumulate`
    (``method="horizon"`` only: the sweep has no sectors), so a caller can take what it needs
    from each sector's horizons while they are cached (:mod:`pipeline.thermal.tile`), whose
    ``positions`` index ``schedule``: :func:`~pipeline.shade.schedule.tile_schedule` of the same
    arguments, made here unless the caller made it first."""
    started = time.perf_counter()
    window = inner_window(grid, inner)
    lon, lat = grid_centre_lonlat(inner)
    convergence = meridian_convergence_deg(grid.crs, lon, lat)
    if schedule is None:
        schedule = tile_schedule(
            scenarios, year, lat, lon, step_minutes=step_minutes, timezone=timezone, sun_hours=sun_hours
        )
    taus = np.array([transmissivity.for_date(d) for d in schedule.dates], dtype=np.float64)
    evergreen_taus = np.full(len(taus), transmissivity.evergreen, dtype=np.float64)
    leaf_off = np.array([d.month in transmissivity.leaf_off_months for d in schedule.dates], dtype=bool)
    cover_windows = None if covers is None else (covers.window(window, False), covers.window(window, True))
    azimuths = schedule.grid_azimuth_deg(convergence) if len(schedule) else np.empty(0)
    acc = np.zeros((len(schedule.targets), *inner.shape), dtype=np.float64)
    if method == "horizon":
        caster = HorizonCaster(
            dsm,
            grid.resolution,
            canopy_top=canopy_top,
            max_distance_m=max_distance_m,
            window=window,
            sector_deg=sector_deg,
            evergreen_top=evergreen_top,
        )
        caster.accumulate(
            azimuths,
            schedule.sun_altitude_deg,
            taus,
            schedule.start,
            schedule.target,
            schedule.weight_hours,
            schedule.is_sun,
            acc,
            evergreen_transmissivity=evergreen_taus,
            visit=visit,
            covers=cover_windows,
            leaf_off=leaf_off,
        )
        detail = f"{caster.sectors_computed} sector horizons"
    elif method == "sweep":
        caster = ShadeCaster(
            dsm,
            grid.resolution,
            canopy_top=canopy_top,
            max_distance_m=max_distance_m,
            window=window,
            evergreen_top=evergreen_top,
        )
        _accumulate_sweep(caster, schedule, azimuths, taus, evergreen_taus, acc, cover_windows, leaf_off)
        detail = "exact sweep"
    else:
        raise ValueError(f"unknown shade method {method!r} (one of {', '.join(SHADE_METHODS)})")
    result = TileShade(grid=inner)
    for spec, total in zip(schedule.targets, acc):
        if spec.kind == "sun":
            result.sun_hours[spec.name] = total.astype(np.float32)
            continue
        hours = total.astype(np.float32)
        result.scenarios[spec.name] = ScenarioShade(
            shade_fraction=(hours / np.float32(spec.hours)).astype(np.float32),
            shade_hours=hours,
            slot_hours=spec.hours,
        )
    log.info(
        "shadow: tile %s, %d sun positions (%d samples) on %dx%d cells, %s, in %.1f s",
        inner.bounds,
        len(schedule),
        schedule.samples,
        inner.height,
        inner.width,
        detail,
        time.perf_counter() - started,
    )
    return ShadePass(result, schedule, caster, azimuths)


def _accumulate_sweep(
    caster: ShadeCaster,
    schedule: ShadeSchedule,
    azimuths: np.ndarray,
    taus: np.ndarray,
    evergreen_taus: np.ndarray,
    acc: np.ndarray,
    covers: tuple[np.ndarray, np.ndarray] | None = None,
    leaf_off: np.ndarray | None = None,
) -> None:
    """:meth:`HorizonCaster.accumulate` with the exact sweep, one pass per sun position."""
    is_sun = schedule.is_sun
    for p, altitude in enumerate(schedule.sun_altitude_deg):
        entries = range(schedule.start[p], schedule.start[p + 1])
        if not altitude > 0:
            for e in entries:
                if not is_sun[e]:
                    acc[schedule.target[e]] += schedule.weight_hours[e]
            continue
        codes = caster.codes(azimuths[p], altitude)
        light = light_fraction(codes, taus[p], evergreen_taus[p])
        if covers is not None:
            light = cover_light(light, codes, covers[int(leaf_off[p])])
        for e in entries:
            weight = schedule.weight_hours[e]
            acc[schedule.target[e]] += weight * light if is_sun[e] else weight * (1.0 - light)
