"""Cast shadows on a digital surface model: shade per sun position, shade and sun hours per tile.

The model
---------
A cell ``p`` of the DSM (metres, orthometric, on a north-up :class:`~pipeline.raster.Grid`)
is in shade when something rises above the sun line drawn from its own surface height
toward the sun: roofs count as well as the ground. The ray toward the sun is sampled
cell by cell (:func:`ray_steps`): step ``k = 1..K`` moves one cell along the dominant
axis of the grid azimuth and rounds the other axis to the nearest cell
(``floor(k * t + 0.5)``), and the sun line has dropped ``drop[k] = k * L * tan(altitude)``
below the sun-side sample, ``L`` being the horizontal length of one step. Then

    shaded(p)  <=>  exists k:  dsm[p + offset[k]] - drop[k] > dsm[p]

evaluated in float64. This is exactly the Ratti & Richens (2004) shift-and-compare
method (shift the whole DSM by ``offset[k]``, lower it by ``drop[k]``, compare), written
out as :func:`ratti_shade_mask`, which is the specification and the test oracle.
:func:`shade_codes` computes the same thing per cell in numba with two exact
shortcuts, so the boolean masks are identical (tests and ``benchmarks/shadow.py``
check it):

* the march stops at the first blocking sample;
* the march stops once ``top - drop[k] <= dsm[p]``, where ``top`` is the highest value
  in the raster: float subtraction is monotonic, so no later sample can block.

Samples falling outside the raster never block, so the raster must carry a halo at
least as wide as the longest shadow that matters: :func:`shadow_halo_m`. The search is
also cut at ``max_distance_m`` (default 500 m; a 100 m tower at 11 degrees of sun) and at
``relief / tan(altitude)`` (a longer step cannot reach above the sun line).

Trees
-----
Vegetation is a separate canopy-top raster (metres, same datum, NaN where none) with a
transmissivity ``tau``. A cell whose ray (from step 0, i.e. the canopy above the cell
itself, on) passes below the canopy top of any canopy cell and is not blocked by the
DSM is in canopy shade and receives exactly ``tau`` of the sun; several crowns along
one ray are *not* multiplied (one crown is many cells long, so a per-cell product would
count the same crown over and over). Defaults: leaf-on 0.2 (80 % blocked), leaf-off
(December to March, deciduous) 0.6.

Outputs per scenario: ``shade_hours`` = sum over samples of ``weight_hours * (1 -
light)`` with light 1 in sun, ``tau`` in canopy shade, 0 in DSM shade or with the sun
below the horizon; ``shade_fraction`` = ``shade_hours / slot hours``; and per season
``sun_hours`` = sum of ``weight_hours * light`` from sunrise to sunset.
"""
from __future__ import annotations

import datetime as dt
import logging
import math
import time
from dataclasses import dataclass, field

import numba
import numpy as np
import pandas as pd
from scipy import ndimage

from pipeline.raster import Grid
from pipeline.sun import (DEFAULT_STEP_MINUTES, DEFAULT_TIMEZONE, Scenario, SunPositions,
                          daylight_sun_positions, grid_centre_lonlat, meridian_convergence_deg,
                          slot_sun_positions)

log = logging.getLogger(__name__)

#: shade codes per cell and sun position
SUNLIT, CANOPY_SHADE, SURFACE_SHADE = 0, 1, 2

DEFAULT_MAX_DISTANCE_M = 500.0


@dataclass(frozen=True)
class RaySteps:
    """Cell offsets and sun-line drops along the ray toward the sun (see module doc).

    Attributes
    ----------
    drow, dcol : numpy.ndarray of int64
        Offset of step ``k`` in rows (positive = south) and columns (positive = east).
    drop_m : numpy.ndarray of float64
        How far the sun line has dropped below the sun-side sample at step ``k``, metres.
    """

    drow: np.ndarray
    dcol: np.ndarray
    drop_m: np.ndarray

    def __len__(self) -> int:
        return len(self.drop_m)


def ray_steps(sun_azimuth_grid_deg: float, sun_altitude_deg: float, resolution: float,
              max_distance_m: float) -> RaySteps:
    """The sampling of the ray toward the sun shared by every method in this module.

    Parameters
    ----------
    sun_azimuth_grid_deg : float
        Sun azimuth, degrees clockwise from *grid* north.
    sun_altitude_deg : float
        Sun altitude, degrees; must be positive.
    resolution : float
        Cell size, metres.
    max_distance_m : float
        Horizontal search distance, metres.
    """
    if not sun_altitude_deg > 0:
        raise ValueError(f"sun altitude must be positive to cast shadows, got {sun_altitude_deg}")
    east = math.sin(math.radians(sun_azimuth_grid_deg))
    north = math.cos(math.radians(sun_azimuth_grid_deg))
    scale = max(abs(east), abs(north))
    east, north = east / scale, north / scale          # one cell per step on the dominant axis
    step_m = resolution * math.hypot(east, north)
    n_steps = int(math.floor(max_distance_m / step_m + 1e-9))
    k = np.arange(1, n_steps + 1, dtype=np.float64)
    dcol = np.floor(k * east + 0.5).astype(np.int64)
    drow = -np.floor(k * north + 0.5).astype(np.int64)
    drop_m = k * (step_m * math.tan(math.radians(sun_altitude_deg)))
    return RaySteps(drow, dcol, drop_m)


def shadow_halo_m(max_height_m: float, min_sun_altitude_deg: float,
                  cap_m: float = DEFAULT_MAX_DISTANCE_M) -> float:
    """Halo a tile needs so that every shadow reaching it is seen: ``h / tan(alt)``, capped.

    ``max_height_m`` is the largest height difference in the area (tallest building
    above the lowest ground); ``min_sun_altitude_deg`` the lowest sun considered.
    """
    if min_sun_altitude_deg <= 0:
        return float(cap_m)
    return float(min(cap_m, max_height_m / math.tan(math.radians(min_sun_altitude_deg))))


def _search_distance_m(relief_m: float, sun_altitude_deg: float, max_distance_m: float) -> float:
    return min(max_distance_m, max(relief_m, 0.0) / math.tan(math.radians(sun_altitude_deg)))


def _check_surface(dsm: np.ndarray, canopy_top: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    dsm = np.ascontiguousarray(dsm, dtype=np.float64)
    if dsm.ndim != 2:
        raise ValueError(f"dsm must be 2-D, got shape {dsm.shape}")
    if not np.isfinite(dsm).all():
        raise ValueError("dsm has NaN/inf cells: fill gaps (e.g. with the DTM) before casting shadows")
    if canopy_top is not None:
        canopy_top = np.ascontiguousarray(canopy_top, dtype=np.float64)
        if canopy_top.shape != dsm.shape:
            raise ValueError(f"canopy_top shape {canopy_top.shape} differs from dsm {dsm.shape}")
    return dsm, canopy_top


def _tops(dsm: np.ndarray, canopy_top: np.ndarray | None) -> tuple[float, float, bool]:
    top_surface = float(dsm.max())
    has_canopy = canopy_top is not None and bool(np.isfinite(canopy_top).any())
    top_all = max(top_surface, float(np.nanmax(canopy_top))) if has_canopy else top_surface
    return top_surface, top_all, has_canopy


def search_steps(dsm: np.ndarray, resolution: float, sun_azimuth_grid_deg: float,
                 sun_altitude_deg: float, *, canopy_top: np.ndarray | None = None,
                 max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
                 window: tuple[int, int, int, int] | None = None) -> RaySteps:
    """The :func:`ray_steps` that :func:`shade_codes` uses for this surface and sun.

    The search distance is ``min(max_distance_m, relief / tan(altitude))`` with the
    relief from the lowest cell of the window to the highest surface or canopy top.
    """
    dsm, canopy_top = _check_surface(dsm, canopy_top)
    r0, r1, c0, c1 = window if window is not None else (0, dsm.shape[0], 0, dsm.shape[1])
    _, top_all, _ = _tops(dsm, canopy_top)
    relief = top_all - float(dsm[r0:r1, c0:c1].min())
    return ray_steps(sun_azimuth_grid_deg, sun_altitude_deg, resolution,
                     _search_distance_m(relief, sun_altitude_deg, max_distance_m))


def ratti_shade_mask(dsm: np.ndarray, steps: RaySteps, canopy_top: np.ndarray | None = None) -> np.ndarray:
    """Reference shade codes by the plain Ratti shift-and-compare loop (numpy).

    The specification of :func:`shade_codes` and the baseline of the benchmark:
    slow (one full-raster pass per step) but obviously right.

    Returns
    -------
    numpy.ndarray of uint8
        :data:`SUNLIT`, :data:`CANOPY_SHADE` or :data:`SURFACE_SHADE` per cell.
    """
    dsm, canopy_top = _check_surface(dsm, canopy_top)
    n_rows, n_cols = dsm.shape
    shaded = np.zeros(dsm.shape, dtype=bool)
    under_canopy = np.zeros(dsm.shape, dtype=bool)
    if canopy_top is not None:
        under_canopy |= canopy_top > dsm
    for dr, dc, drop in zip(steps.drow, steps.dcol, steps.drop_m):
        if abs(dr) >= n_rows or abs(dc) >= n_cols:
            break
        p = (slice(max(0, -dr), n_rows - max(0, dr)), slice(max(0, -dc), n_cols - max(0, dc)))
        q = (slice(max(0, dr), n_rows - max(0, -dr)), slice(max(0, dc), n_cols - max(0, -dc)))
        shaded[p] |= (dsm[q] - drop) > dsm[p]
        if canopy_top is not None:
            under_canopy[p] |= (canopy_top[q] - drop) > dsm[p]
    codes = np.where(under_canopy, CANOPY_SHADE, SUNLIT).astype(np.uint8)
    codes[shaded] = SURFACE_SHADE
    return codes


@numba.njit(parallel=True, cache=True, nogil=True)
def _march(dsm, canopy, has_canopy, drow, dcol, drop, top_surface, top_all, r0, r1, c0, c1, out):
    n_rows, n_cols = dsm.shape
    n_steps = drop.size
    for i in numba.prange(r1 - r0):
        r = r0 + i
        for c in range(c0, c1):
            z = dsm[r, c]
            under_canopy = has_canopy and canopy[r, c] > z
            code = 0
            for k in range(n_steps):
                # exact cut-off: nothing higher than the top can rise above the sun line
                top = top_surface if under_canopy else top_all
                if top - drop[k] <= z:
                    break
                rr = r + drow[k]
                cc = c + dcol[k]
                if rr < 0 or rr >= n_rows or cc < 0 or cc >= n_cols:
                    break  # a straight ray never comes back into the raster
                if dsm[rr, cc] - drop[k] > z:
                    code = 2
                    break
                if has_canopy and not under_canopy and canopy[rr, cc] - drop[k] > z:
                    under_canopy = True
            if code == 0 and under_canopy:
                code = 1
            out[i, c - c0] = code


def shade_codes(dsm: np.ndarray, resolution: float, sun_azimuth_grid_deg: float,
                sun_altitude_deg: float, *, canopy_top: np.ndarray | None = None,
                max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
                window: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Shade of every cell for one sun position (fast; identical to :func:`ratti_shade_mask`).

    Parameters
    ----------
    dsm : numpy.ndarray
        Surface heights (buildings + terrain), metres, 2-D, finite, with a halo.
    resolution : float
        Cell size, metres.
    sun_azimuth_grid_deg, sun_altitude_deg : float
        Sun position, degrees; azimuth clockwise from grid north.
    canopy_top : numpy.ndarray, optional
        Canopy-top heights, metres, NaN where there is no vegetation.
    max_distance_m : float
        Longest horizontal search, metres.
    window : (row0, row1, col0, col1), optional
        Only compute these cells (e.g. the tile without its halo); the rest of the
        raster still casts shadows into it.

    Returns
    -------
    numpy.ndarray of uint8, shape of the window
        :data:`SUNLIT`, :data:`CANOPY_SHADE` or :data:`SURFACE_SHADE`; all
        :data:`SURFACE_SHADE` when the sun is not above the horizon.
    """
    dsm, canopy_top = _check_surface(dsm, canopy_top)
    r0, r1, c0, c1 = window if window is not None else (0, dsm.shape[0], 0, dsm.shape[1])
    out = np.empty((r1 - r0, c1 - c0), dtype=np.uint8)
    if not sun_altitude_deg > 0:
        out.fill(SURFACE_SHADE)
        return out
    top_surface, top_all, has_canopy = _tops(dsm, canopy_top)
    steps = search_steps(dsm, resolution, sun_azimuth_grid_deg, sun_altitude_deg,
                         canopy_top=canopy_top, max_distance_m=max_distance_m, window=window)
    canopy = canopy_top if has_canopy else np.empty((1, 1))
    _march(dsm, canopy, has_canopy, steps.drow, steps.dcol, steps.drop_m,
           top_surface, top_all, r0, r1, c0, c1, out)
    return out


def light_fraction(codes: np.ndarray, canopy_transmissivity: float) -> np.ndarray:
    """Share of direct sun reaching each cell: 1 sunlit, ``tau`` under canopy, 0 in shade."""
    lut = np.array([1.0, canopy_transmissivity, 0.0], dtype=np.float32)
    return lut[codes]


@dataclass(frozen=True)
class CanopyTransmissivity:
    """Share of direct sun passing a tree crown, by season (deciduous default)."""

    leaf_on: float = 0.2
    leaf_off: float = 0.6
    leaf_off_months: tuple[int, ...] = (12, 1, 2, 3)

    def for_date(self, date: dt.date) -> float:
        return self.leaf_off if date.month in self.leaf_off_months else self.leaf_on


def accumulate_shade_hours(dsm: np.ndarray, resolution: float, positions: SunPositions,
                           convergence_deg: float, *, canopy_top: np.ndarray | None = None,
                           canopy_transmissivity: float = 0.2,
                           max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
                           window: tuple[int, int, int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Shade hours and sun hours summed over ``positions``.

    Results over disjoint chunks of positions (:meth:`SunPositions.chunks`) add up, so
    time steps can be spread over workers.

    Returns
    -------
    shade_hours, sun_hours : numpy.ndarray of float32
        ``sum(weight * (1 - light))`` and ``sum(weight * light)``, hours, over the window.
    """
    dsm, canopy_top = _check_surface(dsm, canopy_top)
    r0, r1, c0, c1 = window if window is not None else (0, dsm.shape[0], 0, dsm.shape[1])
    sun_hours = np.zeros((r1 - r0, c1 - c0), dtype=np.float64)
    azimuths = positions.grid_azimuth_deg(convergence_deg)
    for altitude, azimuth, weight in zip(positions.sun_altitude_deg, azimuths, positions.weight_hours):
        if not altitude > 0:
            continue
        codes = shade_codes(dsm, resolution, azimuth, altitude, canopy_top=canopy_top,
                            max_distance_m=max_distance_m, window=(r0, r1, c0, c1))
        sun_hours += weight * light_fraction(codes, canopy_transmissivity)
    shade_hours = positions.total_hours - sun_hours
    return shade_hours.astype(np.float32), sun_hours.astype(np.float32)


@dataclass
class ScenarioShade:
    """Shade over one scenario's time slot, on the inner tile grid."""

    shade_fraction: np.ndarray   # 0..1, share of the slot in shade weighted by light reduction
    shade_hours: np.ndarray      # hours
    slot_hours: float


@dataclass
class TileShade:
    """Everything :func:`tile_shade` computes for one tile (halo removed)."""

    grid: Grid
    scenarios: dict[str, ScenarioShade] = field(default_factory=dict)
    sun_hours: dict[str, np.ndarray] = field(default_factory=dict)   # by season name, sunrise-sunset


def inner_window(outer: Grid, inner: Grid) -> tuple[int, int, int, int]:
    """(row0, row1, col0, col1) of ``inner`` inside ``outer`` (both on the same lattice)."""
    c0 = int(round((inner.x_min - outer.x_min) / outer.resolution))
    r0 = int(round((outer.y_max - inner.y_max) / outer.resolution))
    if r0 < 0 or c0 < 0 or r0 + inner.height > outer.height or c0 + inner.width > outer.width:
        raise ValueError(f"inner grid {inner} is not inside outer grid {outer}")
    return r0, r0 + inner.height, c0, c0 + inner.width


def tile_shade(dsm: np.ndarray, grid: Grid, inner: Grid, scenarios: list[Scenario], year: int, *,
               canopy_top: np.ndarray | None = None,
               transmissivity: CanopyTransmissivity = CanopyTransmissivity(),
               step_minutes: float = DEFAULT_STEP_MINUTES, timezone: str = DEFAULT_TIMEZONE,
               max_distance_m: float = DEFAULT_MAX_DISTANCE_M, sun_hours: bool = True) -> TileShade:
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
    sun_hours : bool
        Also compute sunrise-to-sunset sun hours for each distinct season.
    """
    started = time.perf_counter()
    window = inner_window(grid, inner)
    lon, lat = grid_centre_lonlat(inner)
    convergence = meridian_convergence_deg(grid.crs, lon, lat)
    result = TileShade(grid=inner)
    n_positions = 0
    for scenario in scenarios:
        date = scenario.season.date(year)
        positions = slot_sun_positions(date, scenario.slot, lat, lon,
                                       step_minutes=step_minutes, timezone=timezone)
        n_positions += len(positions)
        shade_h, _ = accumulate_shade_hours(
            dsm, grid.resolution, positions, convergence, canopy_top=canopy_top,
            canopy_transmissivity=transmissivity.for_date(date),
            max_distance_m=max_distance_m, window=window)
        slot_hours = positions.total_hours
        result.scenarios[scenario.name] = ScenarioShade(
            shade_fraction=(shade_h / np.float32(slot_hours)).astype(np.float32),
            shade_hours=shade_h, slot_hours=slot_hours)
    if sun_hours:
        seasons = {s.season.name: s.season for s in scenarios}
        for name, season in seasons.items():
            date = season.date(year)
            positions = daylight_sun_positions(date, lat, lon, step_minutes=step_minutes, timezone=timezone)
            n_positions += len(positions)
            _, sun_h = accumulate_shade_hours(
                dsm, grid.resolution, positions, convergence, canopy_top=canopy_top,
                canopy_transmissivity=transmissivity.for_date(date),
                max_distance_m=max_distance_m, window=window)
            result.sun_hours[name] = sun_h
    log.info("shadow: tile %s, %d sun positions on %dx%d cells in %.1f s", inner.bounds,
             n_positions, inner.height, inner.width, time.perf_counter() - started)
    return result


def building_shade_summary(shade_hours: np.ndarray, building_index: np.ndarray, resolution: float, *,
                           ring_m: float = 5.0) -> pd.DataFrame:
    """Mean shade hours on each building's roof and on a ring of ground around it.

    Parameters
    ----------
    shade_hours : numpy.ndarray
        Shade hours (or any per-cell value) on the same grid as ``building_index``.
    building_index : numpy.ndarray of int
        Building index per cell, -1 where no building (see
        :func:`pipeline.surface_raster.rasterize_polygons_height`).
    resolution : float
        Cell size, metres.
    ring_m : float
        Width of the ground ring, metres: non-building cells whose centre is within
        ``ring_m`` of a building cell centre belong to the nearest building.

    Returns
    -------
    pandas.DataFrame
        One row per building index present: ``building_index``, ``roof_cells``,
        ``roof_shade_hours_mean``, ``ring_cells``, ``ring_shade_hours_mean`` (NaN when
        there are no ring cells).
    """
    if shade_hours.shape != building_index.shape:
        raise ValueError(f"shade_hours {shade_hours.shape} and building_index {building_index.shape} differ")
    values = np.asarray(shade_hours, dtype=np.float64)
    index = np.asarray(building_index, dtype=np.int64)
    on_building = index >= 0
    if not on_building.any():
        return pd.DataFrame(columns=["building_index", "roof_cells", "roof_shade_hours_mean",
                                     "ring_cells", "ring_shade_hours_mean"])
    distance, (near_r, near_c) = ndimage.distance_transform_edt(~on_building, return_indices=True)
    in_ring = ~on_building & (distance * resolution <= ring_m)
    ring_owner = index[near_r[in_ring], near_c[in_ring]]
    n = int(index.max()) + 1
    roof_cells = np.bincount(index[on_building], minlength=n)
    roof_sum = np.bincount(index[on_building], weights=values[on_building], minlength=n)
    ring_cells = np.bincount(ring_owner, minlength=n)
    ring_sum = np.bincount(ring_owner, weights=values[in_ring], minlength=n)
    present = np.flatnonzero(roof_cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame({
            "building_index": present,
            "roof_cells": roof_cells[present],
            "roof_shade_hours_mean": roof_sum[present] / roof_cells[present],
            "ring_cells": ring_cells[present],
            "ring_shade_hours_mean": np.where(ring_cells[present] > 0,
                                              ring_sum[present] / np.maximum(ring_cells[present], 1), np.nan),
        })
