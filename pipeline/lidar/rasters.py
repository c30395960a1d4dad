"""Rasters from points on a :class:`pipeline.geo.raster.Grid`: DTM, DSM, nDSM, canopy, density.

All functions are pure: numpy arrays in (metres in the grid's metric CRS, heights
orthometric), numpy arrays out on ``grid.shape`` (row 0 north). Empty cells are NaN
until filled.

Definitions
-----------
DTM
    Mean height of ground points per cell; cells without ground (under buildings,
    dense canopy, water) are filled by :func:`fill_gaps`: linear interpolation on a
    Delaunay triangulation of the cells around the gaps, nearest neighbour outside
    their convex hull. The DTM is then capped at the DSM: the ground cannot lie above
    the surface (this only touches interpolated cells; a cell with ground points has
    its highest return at or above their mean).
DSM
    Highest return per cell; cells without any return (sampling holes, water) are
    filled like the DTM's gaps.
nDSM
    DSM - DTM, clipped at 0.
Canopy height model
    Highest vegetation return above the DTM per cell (0 where no vegetation).
Density
    Points per square metre per cell (after noise removal).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from scipy import ndimage
from scipy.interpolate import griddata
from threadpoolctl import threadpool_limits

from pipeline.geo.raster import Grid


def cell_index(grid: Grid, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat cell index of each point and a mask of the points inside ``grid``."""
    row, col = grid.rowcol(x, y)
    inside = (row >= 0) & (row < grid.height) & (col >= 0) & (col < grid.width)
    return row * grid.width + col, inside


def max_per_cell(index: np.ndarray, values: np.ndarray, n_cells: int) -> np.ndarray:
    """Largest value per cell (NaN where a cell holds none); ``index`` must be in range."""
    out = np.full(n_cells, -np.inf)
    _max_at(out, np.asarray(index, dtype=np.int64), np.asarray(values))
    out[np.isneginf(out)] = np.nan
    return out


@numba.njit(cache=True, nogil=True)
def _max_at(out, index, values):
    """``numpy.maximum.at(out, index, values)``, NaN included, in one compiled pass."""
    for i in range(index.size):
        v = values[i]
        j = index[i]
        if v > out[j] or v != v:  # once NaN, a cell stays NaN (as numpy.maximum)
            if out[j] == out[j]:
                out[j] = v


def mean_per_cell(index: np.ndarray, values: np.ndarray, n_cells: int) -> np.ndarray:
    """Mean value per cell (NaN where a cell holds none)."""
    total = np.bincount(index, weights=values, minlength=n_cells)
    count = np.bincount(index, minlength=n_cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def count_per_cell(index: np.ndarray, n_cells: int) -> np.ndarray:
    """Number of points per cell."""
    return np.bincount(index, minlength=n_cells).astype(np.int64)


def fill_gaps(surface: np.ndarray) -> np.ndarray:
    """Fill NaN cells of a 2-D surface by interpolation from the cells around them.

    Linear interpolation (``scipy.interpolate.griddata``) on a Delaunay triangulation of
    the valid cells that border a gap, so that the triangulation stays small however
    large the raster; gap cells outside the convex hull of those cells (at the raster
    edge) take the nearest valid cell. An all-NaN surface is returned unchanged.
    """
    gaps = np.isnan(surface)
    if not gaps.any() or gaps.all():
        return surface.copy()
    valid = ~gaps
    rim = valid & ndimage.binary_dilation(gaps, structure=np.ones((3, 3), bool))
    rim_rc = np.argwhere(rim)
    gap_rc = np.argwhere(gaps)
    rim_values = surface[rim]
    filled = surface.copy()
    if rim_rc.shape[0] >= 3 and np.linalg.matrix_rank(rim_rc - rim_rc[0]) == 2:
        # Qhull's barycentric transforms call LAPACK once per triangle: with OpenBLAS's
        # threads each tiny call costs ~100 us (70 s for the sample's 660k triangles,
        # 1.4 s on one thread; same results)
        with threadpool_limits(limits=1, user_api="blas"):
            filled[gaps] = griddata(rim_rc, rim_values, gap_rc, method="linear")
    still = np.isnan(filled)
    if still.any():
        filled[still] = griddata(rim_rc, rim_values, np.argwhere(still), method="nearest")
    return filled


def terrain_model(grid: Grid, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """DTM from ground points (see module docstring); NaN everywhere without ground."""
    index, inside = cell_index(grid, x, y)
    return terrain_from_cells(grid, index[inside], z[inside])


def terrain_from_cells(grid: Grid, index: np.ndarray, z: np.ndarray) -> np.ndarray:
    """:func:`terrain_model` from the points' flat cell indices (all inside ``grid``)."""
    mean = mean_per_cell(index, z, grid.width * grid.height)
    return fill_gaps(mean.reshape(grid.shape))


def surface_model(grid: Grid, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """DSM: highest return per cell; cells without returns filled by :func:`fill_gaps`."""
    index, inside = cell_index(grid, x, y)
    return surface_from_cells(grid, index[inside], z[inside])


def surface_from_cells(grid: Grid, index: np.ndarray, z: np.ndarray) -> np.ndarray:
    """:func:`surface_model` from the points' flat cell indices (all inside ``grid``)."""
    top = max_per_cell(index, z, grid.width * grid.height).reshape(grid.shape)
    return fill_gaps(top)


def normalized_surface(dsm: np.ndarray, dtm: np.ndarray) -> np.ndarray:
    """nDSM: height of objects above the ground, metres, clipped at 0."""
    with np.errstate(invalid="ignore"):
        return np.clip(dsm - dtm, 0.0, None)


def canopy_height(grid: Grid, x: np.ndarray, y: np.ndarray, z: np.ndarray, dtm: np.ndarray) -> np.ndarray:
    """Highest vegetation return above the DTM per cell, metres; 0 where no vegetation.

    ``x, y, z`` are the vegetation returns only.
    """
    index, inside = cell_index(grid, x, y)
    return canopy_from_cells(grid, index[inside], z[inside], dtm)


def canopy_from_cells(grid: Grid, index: np.ndarray, z: np.ndarray, dtm: np.ndarray) -> np.ndarray:
    """:func:`canopy_height` from the vegetation returns' flat cell indices (all inside ``grid``)."""
    above = z - dtm.reshape(-1)[index]
    chm = max_per_cell(index, above, grid.width * grid.height)
    chm = np.where(np.isnan(chm), 0.0, np.clip(chm, 0.0, None))
    return chm.reshape(grid.shape)


def point_density(grid: Grid, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Points per square metre per cell."""
    index, inside = cell_index(grid, x, y)
    return density_from_cells(grid, index[inside])


def density_from_cells(grid: Grid, index: np.ndarray) -> np.ndarray:
    """:func:`point_density` from the points' flat cell indices (all inside ``grid``)."""
    count = count_per_cell(index, grid.width * grid.height)
    return (count / grid.resolution**2).reshape(grid.shape)


def tile_rasters(
    grid: Grid, x: np.ndarray, y: np.ndarray, z: np.ndarray, ground: np.ndarray, vegetation: np.ndarray
) -> tuple[np.ndarray, ...]:
    """DTM, DSM, nDSM, canopy height and density of a tile's points in compiled passes.

    The same arrays, to the bit, as :func:`terrain_model` of the ground points,
    :func:`surface_model`, :func:`normalized_surface`, :func:`canopy_height` of the
    vegetation points over the DTM capped at the DSM (NaN DTM cells as ``+inf``) and
    :func:`point_density`, without the subsets each of those makes: cells are found as
    :meth:`Grid.rowcol` finds them (in the coordinates' dtype), sums and maxima taken in
    point order. One pass per per-cell array: on unsorted points each pass scatters over
    the whole grid, and one array at a time stays in cache (all in one pass is slower).

    Parameters
    ----------
    grid : Grid
        The raster grid (metres; same frame as ``x, y``).
    x, y, z : numpy.ndarray
        Point coordinates and heights, metres.
    ground, vegetation : numpy.ndarray of bool
        Ground points (the DTM's) and vegetation returns (the canopy's).

    Returns
    -------
    tuple of numpy.ndarray
        ``(dtm, dsm, ndsm, chm, density)``, float64 on ``grid.shape``: heights in metres,
        density in points per square metre.
    """
    n_cells = grid.width * grid.height
    index = np.empty(x.size, np.int32 if n_cells < 2**31 else np.int64)
    _cells(
        x,
        y,
        x.dtype.type(grid.x_min),
        y.dtype.type(grid.y_max),
        x.dtype.type(grid.resolution),
        y.dtype.type(grid.resolution),
        grid.width,
        grid.height,
        index,
    )
    total, ground_count = np.zeros(n_cells), np.zeros(n_cells, np.int64)
    _sum_where(index, z, ground, total, ground_count)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ground_count > 0, total / np.maximum(ground_count, 1), np.nan)
    dtm = fill_gaps(mean.reshape(grid.shape))
    top = np.full(n_cells, -np.inf)
    _max_where(index, z, None, None, top)
    top[np.isneginf(top)] = np.nan
    dsm = fill_gaps(top.reshape(grid.shape))
    dtm = np.fmin(dtm, dsm)
    ndsm = normalized_surface(dsm, dtm)
    canopy = np.full(n_cells, -np.inf)
    _max_where(index, z, vegetation, np.nan_to_num(dtm, nan=np.inf).reshape(-1), canopy)
    canopy[np.isneginf(canopy)] = np.nan
    chm = np.where(np.isnan(canopy), 0.0, np.clip(canopy, 0.0, None)).reshape(grid.shape)
    count = np.zeros(n_cells, np.int64)
    _count(index, count)
    density = (count / grid.resolution**2).reshape(grid.shape)
    return dtm, dsm, ndsm, chm, density


@numba.njit(cache=True, nogil=True)
def _cells(x, y, x_min, y_max, res_x, res_y, width, height, out):
    """Flat cell of each point as :meth:`Grid.rowcol` finds it (arithmetic in the
    coordinates' dtype), -1 outside the grid."""
    for i in range(x.size):
        col = math.floor((x[i] - x_min) / res_x)
        row = math.floor((y_max - y[i]) / res_y)
        inside = row >= 0 and row < height and col >= 0 and col < width
        out[i] = row * width + col if inside else -1


@numba.njit(cache=True, nogil=True)
def _sum_where(index, z, where, total, count):
    """Sum (float64, in point order, as ``numpy.bincount``) and number of the heights of
    the points ``where`` inside the grid, per cell."""
    for i in range(index.size):
        c = index[i]
        if c >= 0 and where[i]:
            total[c] += np.float64(z[i])
            count[c] += 1


@numba.njit(cache=True, nogil=True)
def _max_where(index, z, where, base, out):
    """``out[c] = max(out[c], z - base[c])`` over the points inside the grid (``where``
    them only, unless None; ``base`` 0 when None) as ``numpy.maximum.at``: a NaN sticks."""
    for i in range(index.size):
        c = index[i]
        if c < 0 or (where is not None and not where[i]):
            continue
        v = z[i] if base is None else np.float64(z[i]) - base[c]
        if v > out[c] or v != v:
            if out[c] == out[c]:
                out[c] = v


@numba.njit(cache=True, nogil=True)
def _count(index, out):
    """Number of points per cell (the points inside the grid)."""
    for i in range(index.size):
        if index[i] >= 0:
            out[index[i]] += 1
