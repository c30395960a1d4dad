"""Cast shadows on a digital surface model: shade per sun position, shade and sun hours per tile.

The model
---------
A cell of the DSM (metres, orthometric, on a north-up :class:`~pipeline.geo.raster.Grid`) is
in shade when something rises above the sun line drawn from its own surface height
toward the sun: roofs count as well as the ground.

Rays are sampled on a lattice of parallel digital lines (:class:`SweepGeometry`). The
raster is first turned (flip/transpose, no resampling) so that the sun lies toward
increasing columns with at most one row of drift per column (``|slope| <= 1``). Line
``m`` holds, in each column ``c``, the cell of row ``m + off[c]`` with
``off[c] = floor(0.5 + c * slope)``; the lines partition the raster, and each is a
straight line crossing every cell it holds. The ray from a cell follows its own line
toward the sun: step ``k`` is the cell of the same line ``k`` columns on, ``k * L``
metres away horizontally (``L = resolution * sqrt(1 + slope**2)``), where the sun line
has risen ``drop[k] = k * (L * tan(altitude))`` (float64, as in :func:`sweep_geometry`).
Then

    shaded(p)  <=>  exists k in 1..K:  h[line, c + k] - drop[k] > h[line, c]

evaluated in float64, cells past the raster edge never blocking. Shearing the lines
into the rows of an array makes this exactly the Ratti & Richens (2004)
shift-and-compare method (shift by ``k`` columns, lower by ``drop[k]``, compare),
written out in numpy as :func:`ratti_shade_codes`: the specification, the test oracle
and the benchmark baseline, at ``K`` full-raster passes per sun position.

:func:`shade_codes` gives the *identical* answer in one pass: along each line
``max_k (h[c+k] - drop[k]) = max_{c'} (h[c'] - c' dz) + c dz`` is a sliding-window
maximum (monotone deque, window ``K``), so the cost no longer grows with the shadow
length. Rounding makes that sum differ from the reference expression by far less than
``tol`` (1e-9 of the largest magnitude involved); a cell whose window maximum lies within
``tol`` of its height is re-decided by the reference expression itself, step by step,
so the boolean masks agree bit for bit (tests and ``benchmarks/shadow.py`` check it).

Cells past the edge never block, so the raster must carry a halo at least as wide as
the longest shadow that matters: :func:`shadow_halo_m`. The search is cut at
``max_distance_m`` (default 500 m: a 100 m tower at 11 degrees of sun) and at
``relief / tan(altitude)`` (beyond that nothing can rise above the sun line).

Trees
-----
Vegetation is a separate canopy-top raster (metres, same datum, NaN where none) with a
transmissivity ``tau``. A cell whose ray, from step 0 on (the crown over the cell
itself), passes below the canopy top of any canopy cell, and that the DSM does not
shade, is in canopy shade and receives exactly ``tau`` of the sun. Several crowns along
one ray are *not* multiplied: one crown is many cells long, so a per-cell product would
count the same crown over and over. Defaults: leaf-on 0.2 (80 % blocked), leaf-off
(December to March, deciduous) 0.6.

Outputs per scenario: ``shade_hours`` = sum over samples of ``weight_hours * (1 -
light)``, light being 1 in sun, ``tau`` in canopy shade, 0 in DSM shade or with the sun
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

from pipeline.geo.raster import Grid
from pipeline.shade.sun import (DEFAULT_STEP_MINUTES, DEFAULT_TIMEZONE, Scenario, SunPositions,
                          daylight_sun_positions, grid_centre_lonlat, meridian_convergence_deg,
                          slot_sun_positions)

log = logging.getLogger(__name__)

#: shade codes per cell and sun position
SUNLIT, CANOPY_SHADE, SURFACE_SHADE = 0, 1, 2

DEFAULT_MAX_DISTANCE_M = 500.0


@dataclass(frozen=True)
class SweepGeometry:
    """How rays toward the sun are sampled for one sun position (see module doc).

    Attributes
    ----------
    transpose, flip : bool
        Orient the raster as ``a = dsm.T if transpose``, then ``a = a[:, ::-1] if flip``,
        so that the sun lies toward increasing columns.
    slope : float
        Rows of drift per column step in the oriented raster, ``|slope| <= 1``.
    step_m : float
        Horizontal length of one step, metres.
    drop_m : numpy.ndarray of float64
        ``drop_m[k - 1]``: rise of the sun line after ``k`` steps, metres, ``k = 1..K``.
    """

    transpose: bool
    flip: bool
    slope: float
    step_m: float
    drop_m: np.ndarray

    def orient(self, array: np.ndarray) -> np.ndarray:
        """``array`` turned so that the sun lies toward increasing columns."""
        a = array.T if self.transpose else array
        return np.ascontiguousarray(a[:, ::-1] if self.flip else a)

    def restore(self, array: np.ndarray) -> np.ndarray:
        """Undo :meth:`orient`."""
        a = array[:, ::-1] if self.flip else array
        return np.ascontiguousarray(a.T if self.transpose else a)

    def line_offsets(self, width: int) -> np.ndarray:
        """``off[c] = floor(0.5 + c * slope)``: row of line 0 in column ``c``."""
        return np.floor(0.5 + np.arange(width, dtype=np.float64) * self.slope).astype(np.int64)


def sweep_geometry(sun_azimuth_grid_deg: float, sun_altitude_deg: float, resolution: float,
                   max_distance_m: float) -> SweepGeometry:
    """The ray sampling shared by :func:`shade_codes` and :func:`ratti_shade_codes`.

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
    toward_col = math.sin(math.radians(sun_azimuth_grid_deg))     # east
    toward_row = -math.cos(math.radians(sun_azimuth_grid_deg))    # rows grow southward
    transpose = abs(toward_row) > abs(toward_col)
    major, minor = (toward_row, toward_col) if transpose else (toward_col, toward_row)
    slope = minor / abs(major)
    step_m = resolution * math.hypot(1.0, slope)
    n_steps = int(math.floor(max_distance_m / step_m + 1e-9))
    k = np.arange(1, n_steps + 1, dtype=np.float64)
    drop_m = k * (step_m * math.tan(math.radians(sun_altitude_deg)))
    return SweepGeometry(transpose, major < 0, slope, step_m, drop_m)


def shadow_halo_m(max_height_m: float, min_sun_altitude_deg: float,
                  cap_m: float = DEFAULT_MAX_DISTANCE_M) -> float:
    """Halo a tile needs so that every shadow reaching it is seen: ``h / tan(alt)``, capped.

    ``max_height_m`` is the largest height difference in the area (tallest building
    above the lowest ground); ``min_sun_altitude_deg`` the lowest sun considered.
    """
    if min_sun_altitude_deg <= 0:
        return float(cap_m)
    return float(min(cap_m, max_height_m / math.tan(math.radians(min_sun_altitude_deg))))


def _check_surface(dsm: np.ndarray, canopy_top: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    dsm = np.asarray(dsm, dtype=np.float64)
    if dsm.ndim != 2:
        raise ValueError(f"dsm must be 2-D, got shape {dsm.shape}")
    if not np.isfinite(dsm).all():
        raise ValueError("dsm has NaN/inf cells: fill gaps (e.g. with the DTM) before casting shadows")
    if canopy_top is not None:
        canopy_top = np.asarray(canopy_top, dtype=np.float64)
        if canopy_top.shape != dsm.shape:
            raise ValueError(f"canopy_top shape {canopy_top.shape} differs from dsm {dsm.shape}")
        if not np.isfinite(canopy_top).any():
            canopy_top = None
    return dsm, canopy_top


def search_geometry(dsm: np.ndarray, resolution: float, sun_azimuth_grid_deg: float,
                    sun_altitude_deg: float, *, canopy_top: np.ndarray | None = None,
                    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
                    window: tuple[int, int, int, int] | None = None) -> SweepGeometry:
    """The :func:`sweep_geometry` that :func:`shade_codes` uses for this surface and sun.

    The search distance is ``min(max_distance_m, relief / tan(altitude))``, the relief
    running from the lowest cell of the window to the highest surface or canopy top.
    """
    caster = ShadeCaster(dsm, resolution, canopy_top=canopy_top, max_distance_m=max_distance_m,
                         window=window)
    return caster.geometry(sun_azimuth_grid_deg, sun_altitude_deg)


def ratti_shade_codes(dsm: np.ndarray, geometry: SweepGeometry,
                      canopy_top: np.ndarray | None = None) -> np.ndarray:
    """Reference shade codes by the plain Ratti shift-and-compare loop (numpy).

    The rays' lines are sheared into the rows of an array (cells off the raster are
    -inf, never blocking), then for each step ``k`` the whole array is shifted by ``k``
    columns, lowered by ``drop[k]`` and compared. Slow (``K`` full passes) but
    obviously right: the specification of :func:`shade_codes`.

    Returns
    -------
    numpy.ndarray of uint8, shape of ``dsm``
        :data:`SUNLIT`, :data:`CANOPY_SHADE` or :data:`SURFACE_SHADE` per cell.
    """
    dsm, canopy_top = _check_surface(dsm, canopy_top)
    a = geometry.orient(dsm)
    n_rows, width = a.shape
    off = geometry.line_offsets(width)
    line = np.arange(n_rows)[:, None] - off[None, :] + off.max()    # sheared row of each cell
    col = np.broadcast_to(np.arange(width), a.shape)
    n_lines = n_rows + off.max() - off.min()
    sheared = np.full((n_lines, width), -np.inf)
    sheared[line, col] = a
    shaded = np.zeros(sheared.shape, dtype=bool)
    under_canopy = np.zeros(sheared.shape, dtype=bool)
    if canopy_top is not None:
        canopy = np.full((n_lines, width), np.nan)
        canopy[line, col] = geometry.orient(canopy_top)
        under_canopy |= canopy > sheared
    for k, drop in enumerate(geometry.drop_m, start=1):
        if k >= width:
            break
        shaded[:, :-k] |= (sheared[:, k:] - drop) > sheared[:, :-k]
        if canopy_top is not None:
            under_canopy[:, :-k] |= (canopy[:, k:] - drop) > sheared[:, :-k]
    codes = np.where(shaded, SURFACE_SHADE, np.where(under_canopy, CANOPY_SHADE, SUNLIT))
    return geometry.restore(codes[line, col].astype(np.uint8))


@numba.njit(cache=True, nogil=True)
def _blocked_exact(a, z, m, c, off, drop):
    """The reference test for one cell, step by step (used only within ``tol`` of a tie)."""
    n_rows, width = a.shape
    for k in range(1, drop.size + 1):
        cc = c + k
        if cc >= width:
            return False
        rr = m + off[cc]
        if rr < 0 or rr >= n_rows:
            return False
        if a[rr, cc] - drop[k - 1] > z:
            return True
    return False


@numba.njit(cache=True, nogil=True)
def _rises_above(layer, vals, head, tail, c, dz, z, tol, m, off, drop):
    """Whether ``layer`` rises above the sun line from height ``z`` at column ``c``.

    ``vals[head]`` is the running maximum of the layer ahead along the ray (minus the
    sun line's rise); a near tie is settled by the exact step-by-step test.
    """
    if tail <= head:
        return False
    highest = vals[head] + c * dz
    if highest > z + tol:
        return True
    return highest >= z - tol and _blocked_exact(layer, z, m, c, off, drop)


@numba.njit(cache=True, nogil=True)
def _push(deque_col, deque_val, head, tail, col, value):
    while tail > head and deque_val[tail - 1] <= value:
        tail -= 1
    deque_col[tail] = col
    deque_val[tail] = value
    return tail + 1


@numba.njit(parallel=True, cache=True, nogil=True)
def _sweep(a, canopy, has_canopy, off, drop, tol, out):
    n_rows, width = a.shape
    n_steps = drop.size
    dz = drop[0] if n_steps > 0 else 0.0
    first_line = -off.max()
    n_lines = n_rows + off.max() - off.min()
    for li in numba.prange(n_lines):
        m = first_line + li
        cols = np.empty(width, np.int64)
        vals = np.empty(width, np.float64)
        ccols = np.empty(width, np.int64)
        cvals = np.empty(width, np.float64)
        head = tail = chead = ctail = 0
        entered = False
        for c in range(width - 1, -1, -1):
            r = m + off[c]
            if r < 0 or r >= n_rows:
                if entered:
                    break   # a line's cells are contiguous: it has left the raster for good
                continue
            entered = True
            if n_steps == 0:
                out[r, c] = 1 if has_canopy and canopy[r, c] > a[r, c] else 0
                continue
            nxt = c + 1
            if nxt < width and 0 <= m + off[nxt] < n_rows:
                rn = m + off[nxt]
                tail = _push(cols, vals, head, tail, nxt, a[rn, nxt] - nxt * dz)
                if has_canopy and not np.isnan(canopy[rn, nxt]):
                    ctail = _push(ccols, cvals, chead, ctail, nxt, canopy[rn, nxt] - nxt * dz)
            while tail > head and cols[head] > c + n_steps:
                head += 1
            while ctail > chead and ccols[chead] > c + n_steps:
                chead += 1
            z = a[r, c]
            code = 0
            if _rises_above(a, vals, head, tail, c, dz, z, tol, m, off, drop):
                code = 2
            elif has_canopy and (canopy[r, c] > z or _rises_above(
                    canopy, cvals, chead, ctail, c, dz, z, tol, m, off, drop)):
                code = 1
            out[r, c] = code


class ShadeCaster:
    """A surface prepared for casting shadows at many sun positions.

    Checks the rasters once and keeps the four turned copies (see
    :meth:`SweepGeometry.orient`) so that each sun position costs one sweep.
    Arguments as in :func:`shade_codes`.
    """

    def __init__(self, dsm: np.ndarray, resolution: float, *, canopy_top: np.ndarray | None = None,
                 max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
                 window: tuple[int, int, int, int] | None = None):
        self.dsm, self.canopy_top = _check_surface(dsm, canopy_top)
        self.resolution = float(resolution)
        self.max_distance_m = float(max_distance_m)
        self.window = window if window is not None else (0, self.dsm.shape[0], 0, self.dsm.shape[1])
        r0, r1, c0, c1 = self.window
        top = float(self.dsm.max())
        magnitude = float(np.abs(self.dsm).max())
        if self.canopy_top is not None:
            top = max(top, float(np.nanmax(self.canopy_top)))
            magnitude = max(magnitude, float(np.nanmax(np.abs(self.canopy_top))))
        self.relief_m = max(top - float(self.dsm[r0:r1, c0:c1].min()), 0.0)
        self._magnitude = magnitude
        self._turned: dict[tuple[bool, bool], tuple[np.ndarray, np.ndarray]] = {}

    def geometry(self, sun_azimuth_grid_deg: float, sun_altitude_deg: float) -> SweepGeometry:
        """The ray sampling for this sun (search cut at the relief, see :func:`search_geometry`)."""
        distance = min(self.max_distance_m, self.relief_m / math.tan(math.radians(sun_altitude_deg)))
        return sweep_geometry(sun_azimuth_grid_deg, sun_altitude_deg, self.resolution, distance)

    def _oriented(self, geometry: SweepGeometry) -> tuple[np.ndarray, np.ndarray]:
        key = (geometry.transpose, geometry.flip)
        if key not in self._turned:
            canopy = (geometry.orient(self.canopy_top) if self.canopy_top is not None
                      else np.empty((1, 1)))
            self._turned[key] = (geometry.orient(self.dsm), canopy)
        return self._turned[key]

    def codes(self, sun_azimuth_grid_deg: float, sun_altitude_deg: float) -> np.ndarray:
        """Shade codes over the window for one sun position (see :func:`shade_codes`)."""
        r0, r1, c0, c1 = self.window
        if not sun_altitude_deg > 0:
            return np.full((r1 - r0, c1 - c0), SURFACE_SHADE, dtype=np.uint8)
        geometry = self.geometry(sun_azimuth_grid_deg, sun_altitude_deg)
        a, canopy = self._oriented(geometry)
        width = a.shape[1]
        dz = float(geometry.drop_m[0]) if len(geometry.drop_m) else 0.0
        tol = 1e-9 * (1.0 + self._magnitude + dz * width)
        out = np.empty(a.shape, dtype=np.uint8)
        _sweep(a, canopy, self.canopy_top is not None, geometry.line_offsets(width),
               geometry.drop_m, tol, out)
        return geometry.restore(out)[r0:r1, c0:c1]


def shade_codes(dsm: np.ndarray, resolution: float, sun_azimuth_grid_deg: float,
                sun_altitude_deg: float, *, canopy_top: np.ndarray | None = None,
                max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
                window: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Shade of every cell for one sun position (fast; identical to :func:`ratti_shade_codes`).

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
        Return only these cells (e.g. the tile without its halo); the whole raster
        still casts shadows into them.

    Returns
    -------
    numpy.ndarray of uint8, shape of the window
        :data:`SUNLIT`, :data:`CANOPY_SHADE` or :data:`SURFACE_SHADE`; all
        :data:`SURFACE_SHADE` when the sun is not above the horizon.

    For many sun positions on one surface use :class:`ShadeCaster` directly.
    """
    caster = ShadeCaster(dsm, resolution, canopy_top=canopy_top, max_distance_m=max_distance_m,
                         window=window)
    return caster.codes(sun_azimuth_grid_deg, sun_altitude_deg)


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


def accumulate_shade_hours(dsm: "np.ndarray | ShadeCaster", resolution: float, positions: SunPositions,
                           convergence_deg: float, *, canopy_top: np.ndarray | None = None,
                           canopy_transmissivity: float = 0.2,
                           max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
                           window: tuple[int, int, int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Shade hours and sun hours summed over ``positions``.

    ``dsm`` may be a prepared :class:`ShadeCaster` (then ``resolution``, ``canopy_top``,
    ``max_distance_m`` and ``window`` are taken from it). Results over disjoint chunks of positions (:meth:`SunPositions.chunks`) add up, so
    time steps can be spread over workers.

    Returns
    -------
    shade_hours, sun_hours : numpy.ndarray of float32
        ``sum(weight * (1 - light))`` and ``sum(weight * light)``, hours, over the window.
    """
    caster = dsm if isinstance(dsm, ShadeCaster) else ShadeCaster(
        dsm, resolution, canopy_top=canopy_top, max_distance_m=max_distance_m, window=window)
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
    caster = ShadeCaster(dsm, grid.resolution, canopy_top=canopy_top, max_distance_m=max_distance_m,
                         window=window)
    result = TileShade(grid=inner)
    n_positions = 0
    for scenario in scenarios:
        date = scenario.season.date(year)
        positions = slot_sun_positions(date, scenario.slot, lat, lon,
                                       step_minutes=step_minutes, timezone=timezone)
        n_positions += len(positions)
        shade_h, _ = accumulate_shade_hours(
            caster, grid.resolution, positions, convergence,
            canopy_transmissivity=transmissivity.for_date(date))
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
                caster, grid.resolution, positions, convergence,
                canopy_transmissivity=transmissivity.for_date(date))
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
        :func:`pipeline.surface.rasterize.rasterize_polygons_height`).
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
