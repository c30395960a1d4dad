"""Rasterise surfaces onto a :class:`~pipeline.geo.raster.Grid`: triangles, prisms, tree crowns.

All functions sample at cell centres and keep the *highest* surface per cell, which is
what a DSM needs (a roof over a courtyard wins over the courtyard; the ground under a
bridge loses). Coordinates are metres in the grid's CRS, heights metres (orthometric
in Machi). Cells that nothing covers are NaN (heights) or -1 (indices).
"""

from __future__ import annotations

import numba
import numpy as np
import shapely
from rasterio import features

from pipeline.geo.raster import Grid


@numba.njit(cache=True, nogil=True)
def _triangles_max(tri, ids, x_min, y_max, res, n_rows, n_cols, z_out, id_out):
    for t in range(tri.shape[0]):
        x0, y0, z0 = tri[t, 0, 0], tri[t, 0, 1], tri[t, 0, 2]
        x1, y1, z1 = tri[t, 1, 0], tri[t, 1, 1], tri[t, 1, 2]
        x2, y2, z2 = tri[t, 2, 0], tri[t, 2, 1], tri[t, 2, 2]
        det = (y1 - y2) * (x0 - x2) + (x2 - x1) * (y0 - y2)
        if abs(det) < 1e-12:
            continue  # vertical or degenerate: covers no cell centre
        c_lo = max(int(np.floor((min(x0, x1, x2) - x_min) / res - 0.5)), 0)
        c_hi = min(int(np.ceil((max(x0, x1, x2) - x_min) / res - 0.5)), n_cols - 1)
        r_lo = max(int(np.floor((y_max - max(y0, y1, y2)) / res - 0.5)), 0)
        r_hi = min(int(np.ceil((y_max - min(y0, y1, y2)) / res - 0.5)), n_rows - 1)
        eps = 1e-9
        for r in range(r_lo, r_hi + 1):
            y = y_max - (r + 0.5) * res
            for c in range(c_lo, c_hi + 1):
                x = x_min + (c + 0.5) * res
                w0 = ((y1 - y2) * (x - x2) + (x2 - x1) * (y - y2)) / det
                w1 = ((y2 - y0) * (x - x2) + (x0 - x2) * (y - y2)) / det
                w2 = 1.0 - w0 - w1
                if w0 < -eps or w1 < -eps or w2 < -eps:
                    continue
                z = w0 * z0 + w1 * z1 + w2 * z2
                if not (z <= z_out[r, c]):  # also true while the cell is still NaN
                    z_out[r, c] = z
                    id_out[r, c] = ids[t]


def rasterize_triangles_max(
    triangles: np.ndarray, grid: Grid, triangle_ids: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Highest triangle surface at each cell centre (roofs from LOD2, terrain from a TIN).

    Parameters
    ----------
    triangles : numpy.ndarray, shape (N, 3, 3)
        Vertices ``x, y, z`` in metres in ``grid.crs``. Vertical (wall) triangles are
        skipped: they contain no cell centre.
    grid : Grid
    triangle_ids : numpy.ndarray of int, shape (N,), optional
        An id per triangle (e.g. the building index); default ``-1``.

    Returns
    -------
    height : numpy.ndarray of float32, ``grid.shape``
        Barycentric interpolation of the highest triangle over each cell centre, NaN
        where none.
    index : numpy.ndarray of int32, ``grid.shape``
        ``triangle_ids`` of that triangle, -1 where none.
    """
    tri = np.ascontiguousarray(triangles, dtype=np.float64)
    if tri.ndim != 3 or tri.shape[1:] != (3, 3):
        raise ValueError(f"triangles must have shape (N, 3, 3), got {tri.shape}")
    ids = (
        np.full(len(tri), -1, dtype=np.int32)
        if triangle_ids is None
        else np.ascontiguousarray(triangle_ids, dtype=np.int32)
    )
    if ids.shape != (len(tri),):
        raise ValueError(f"triangle_ids must have shape ({len(tri)},), got {ids.shape}")
    z_out = np.full(grid.shape, np.nan, dtype=np.float64)
    id_out = np.full(grid.shape, -1, dtype=np.int32)
    _triangles_max(tri, ids, grid.x_min, grid.y_max, grid.resolution, grid.height, grid.width, z_out, id_out)
    return z_out.astype(np.float32), id_out


def rasterize_polygons_height(polygons, heights: np.ndarray, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Burn flat-topped polygons (LOD1 or footprint + height), the highest winning.

    Parameters
    ----------
    polygons : sequence of shapely (Multi)Polygon
        In ``grid.crs``, metres.
    heights : numpy.ndarray, shape (N,)
        Top height of each polygon, metres (same datum as the DSM).
    grid : Grid

    Returns
    -------
    height : numpy.ndarray of float32
        Height of the highest polygon containing each cell centre, NaN where none.
    index : numpy.ndarray of int32
        Position of that polygon in ``polygons``, -1 where none (the building-id raster).
    """
    geoms = np.asarray(polygons, dtype=object)
    heights = np.asarray(heights, dtype=np.float64)
    if geoms.shape != heights.shape:
        raise ValueError(f"{len(geoms)} polygons but {heights.size} heights")
    bad = np.flatnonzero(~np.isfinite(heights))
    if bad.size:
        raise ValueError(f"polygon {bad[0]}: height {heights[bad[0]]} is not finite")
    index = np.full(grid.shape, -1, dtype=np.int32)
    valid = np.flatnonzero(~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)) if len(geoms) else []
    # burn in ascending height so that the highest polygon is written last and wins
    order = sorted(valid, key=lambda i: heights[i])
    if order:
        features.rasterize(
            ((geoms[i], int(i)) for i in order), out=index, transform=grid.transform, all_touched=False
        )
    height = np.where(index >= 0, heights[np.maximum(index, 0)], np.nan).astype(np.float32)
    return height, index


@numba.njit(cache=True, nogil=True)
def _discs_max(x, y, radius, top, x_min, y_max, res, n_rows, n_cols, out):
    for i in range(x.size):
        c_lo = max(int(np.floor((x[i] - radius[i] - x_min) / res - 0.5)), 0)
        c_hi = min(int(np.ceil((x[i] + radius[i] - x_min) / res - 0.5)), n_cols - 1)
        r_lo = max(int(np.floor((y_max - y[i] - radius[i]) / res - 0.5)), 0)
        r_hi = min(int(np.ceil((y_max - y[i] + radius[i]) / res - 0.5)), n_rows - 1)
        r2 = radius[i] * radius[i]
        for r in range(r_lo, r_hi + 1):
            dy = y_max - (r + 0.5) * res - y[i]
            for c in range(c_lo, c_hi + 1):
                dx = x_min + (c + 0.5) * res - x[i]
                if dx * dx + dy * dy <= r2 and not (top[i] <= out[r, c]):
                    out[r, c] = top[i]


def rasterize_tree_crowns(
    x: np.ndarray, y: np.ndarray, crown_radius_m: np.ndarray, top_height_m: np.ndarray, grid: Grid
) -> np.ndarray:
    """Canopy-top raster from solitary trees: a flat disc per crown, highest wins.

    Parameters
    ----------
    x, y : numpy.ndarray
        Trunk positions, metres in ``grid.crs``.
    crown_radius_m : numpy.ndarray
        Crown radius, metres. A cell is canopy when its centre lies within it; a crown
        smaller than a cell still marks the cell holding the trunk.
    top_height_m : numpy.ndarray
        Top of the crown, metres (same datum as the DSM, i.e. ground + tree height).

    Returns
    -------
    numpy.ndarray of float32
        Canopy-top height per cell, NaN where no crown.
    """
    x, y, radius, top = (
        np.ascontiguousarray(np.broadcast_to(v, np.shape(x)), dtype=np.float64)
        for v in (x, y, crown_radius_m, top_height_m)
    )
    if not (np.isfinite(x).all() and np.isfinite(y).all() and np.isfinite(top).all()):
        raise ValueError("tree positions and heights must be finite")
    if (radius < 0).any() or not np.isfinite(radius).all():
        raise ValueError("crown radii must be finite and non-negative")
    out = np.full(grid.shape, np.nan, dtype=np.float64)
    _discs_max(x, y, radius, top, grid.x_min, grid.y_max, grid.resolution, grid.height, grid.width, out)
    # crowns smaller than a cell: the trunk's cell
    row, col = grid.rowcol(x, y)
    inside = (row >= 0) & (row < grid.height) & (col >= 0) & (col < grid.width)
    for r, c, t in zip(row[inside], col[inside], top[inside]):
        if not (t <= out[r, c]):
            out[r, c] = t
    return out.astype(np.float32)


def rasterize_plant_cover(polygons, top_height_m: np.ndarray, grid: Grid) -> np.ndarray:
    """Canopy-top raster from PlantCover polygons with an average height (flat top).

    ``top_height_m`` is the canopy top in the DSM datum (ground + average height).
    Returns float32 heights, NaN where no polygon.
    """
    height, _ = rasterize_polygons_height(polygons, top_height_m, grid)
    return height


def merge_max(*layers: np.ndarray) -> np.ndarray:
    """Cell-wise maximum of height rasters ignoring NaN (NaN where all are NaN)."""
    stack = np.stack([np.asarray(layer, dtype=np.float32) for layer in layers])
    out = np.full(stack.shape[1:], np.nan, dtype=np.float32)
    has = np.isfinite(stack).any(axis=0)
    out[has] = np.nanmax(stack[:, has], axis=0)
    return out
