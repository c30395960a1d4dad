"""Individual trees in a canopy height model: tree tops, crowns and per-tree metrics.

1. **Tree tops**: local maxima of the canopy height model smoothed by a Gaussian whose
   sigma is the survey's mean return spacing ``1 / sqrt(density)`` (Pitkänen et al. 2004
   smooth the CHM before looking for maxima; at the sampling scale, a maximum is a
   crown, not one return), in a circular window whose diameter grows with the height of
   the cell: Popescu & Wynne (2004)'s crown width on height
   (:func:`pipeline.trees.parameters.window_diameter`). Only cells at least
   ``min_tree_height_m`` high are tops.
2. **Crowns**: marker-controlled watershed of the inverted smoothed CHM from the tops
   (``skimage.segmentation.watershed``), restricted to canopy cells at least
   ``min_tree_height_m`` high; each crown then keeps only the cells that pass Dalponte &
   Coomes (2016)'s region-growing criteria: higher than ``seed_fraction`` of its top,
   higher than ``crown_fraction`` of the crown's mean height, and within half
   ``max_crown_diameter_m`` of the top.
3. **Per tree**, from the vegetation returns in the crown's cells (no per-tree loop
   over points: sorts, ``bincount`` and ``reduceat``):

   - height: the highest return above the DTM (PLATEAU LOD1: 樹木の最高高さ);
   - crown base height: a low percentile of the returns' heights (see
     :class:`~pipeline.trees.parameters.TreeParameters`);
   - crown polygon: the convex hull of the crown's returns grown by the returns'
     footprint radius (each return stands for ``1 / density`` m²; see
     :mod:`pipeline.trees.canopy`);
   - crown diameter: the mean of the crown's longest and shortest spread (the largest
     and smallest caliper width of the polygon), the PLATEAU ``crownDiameter`` and the
     枝張り of MLIT's 公共用緑化樹木等品質寸法規格基準 ("最長と最短の平均値");
   - position: the crown polygon's centroid (the stem under the crown's centre); the
     tree top is kept as ``top_x, top_y``;
   - class 高木/中木/低木 by height (:func:`pipeline.trees.parameters.height_class`).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numba
import numpy as np
import pandas as pd
import shapely
from scipy import ndimage

from pipeline.trees.canopy import CanopySurface
from pipeline.trees.parameters import TreeParameters, height_class, window_diameter

#: Caliper directions for the crown spreads: every 2 degrees (a width is then at most
#: 1 - cos(1 deg) = 0.015 % short of the exact one).
CALIPER_DIRECTIONS = 90

COLUMNS = [
    "tree_id",
    "x",
    "y",
    "top_x",
    "top_y",
    "ground_z",
    "height_m",
    "crown_base_m",
    "crown_diameter_m",
    "crown_long_m",
    "crown_short_m",
    "crown_area_m2",
    "n_returns",
    "class_code",
]


@numba.njit(cache=True, nogil=True)
def _window_maxima(surface, candidates_r, candidates_c, radius_cells):
    """Which candidates are the highest cell of their circular window (ties: the first
    cell in row-major order wins, so a flat top gives one maximum)."""
    h, w = surface.shape
    out = np.zeros(candidates_r.size, np.bool_)
    for k in range(candidates_r.size):
        r0, c0 = candidates_r[k], candidates_c[k]
        v = surface[r0, c0]
        rad = radius_cells[k]
        ir = int(math.floor(rad))
        best = True
        for dr in range(-ir, ir + 1):
            rr = r0 + dr
            if rr < 0 or rr >= h:
                continue
            for dc in range(-ir, ir + 1):
                if dr * dr + dc * dc > rad * rad:
                    continue
                cc = c0 + dc
                if cc < 0 or cc >= w or (dr == 0 and dc == 0):
                    continue
                u = surface[rr, cc]
                if u > v or (u == v and (dr < 0 or (dr == 0 and dc < 0))):
                    best = False
                    break
            if not best:
                break
        out[k] = best
    return out


def tree_tops(
    surface: np.ndarray, resolution_m: float, params: TreeParameters, canopy: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the tree tops of a (smoothed) canopy height model.

    Parameters
    ----------
    surface : numpy.ndarray
        Heights above ground (m) on a north-up grid of ``resolution_m`` cells, where the
        maxima are looked for (the smoothed canopy).
    canopy : numpy.ndarray, optional
        The unsmoothed canopy: a top must be at least ``min_tree_height_m`` high in it or
        in ``surface`` (lidR's ``hmin`` applies to the CHM; smoothing must not lower a
        lone crown under it, nor a gap between returns hide a top). Defaults to ``surface``.

    Returns
    -------
    (rows, cols) : tuple of numpy.ndarray of int64
        In row-major order.
    """
    high = (surface if canopy is None else np.maximum(surface, canopy)) >= params.min_tree_height_m
    high &= surface > 0
    if not high.any():
        return np.empty(0, np.int64), np.empty(0, np.int64)
    # a top is the highest of its 3x3 cells: only those are checked against their window
    local = high & (surface >= ndimage.maximum_filter(surface, size=3, mode="constant", cval=0))
    rows, cols = np.nonzero(local)
    heights = surface[rows, cols]
    diameter = (
        np.full(heights.shape, params.fixed_window_m)
        if params.fixed_window_m
        else window_diameter(heights, params.window, params.min_window_m)
    )
    radius = diameter / 2.0 / resolution_m
    keep = _window_maxima(
        np.ascontiguousarray(surface, dtype=np.float64),
        rows.astype(np.int64),
        cols.astype(np.int64),
        radius.astype(np.float64),
    )
    return rows[keep].astype(np.int64), cols[keep].astype(np.int64)


def segment_crowns(
    canopy: np.ndarray,
    smoothed: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    resolution_m: float,
    params: TreeParameters,
) -> np.ndarray:
    """Crown label of every cell (0: no crown; tree ``k`` has label ``k + 1``).

    Marker-controlled watershed of ``-smoothed`` from the tops, inside canopy cells at
    least ``min_tree_height_m`` high, then Dalponte & Coomes (2016)'s criteria per crown
    (module docstring).
    """
    from skimage.segmentation import watershed

    labels = np.zeros(canopy.shape, np.int64)
    if rows.size == 0:
        return labels
    markers = np.zeros(canopy.shape, np.int64)
    markers[rows, cols] = np.arange(1, rows.size + 1)
    # the smoothed canopy joins a sparse crown's returns (their discs need not touch)
    mask = np.maximum(canopy, smoothed) >= params.min_tree_height_m
    mask[rows, cols] = True
    labels = watershed(-smoothed, markers=markers, mask=mask)
    inside = labels > 0
    lab = labels[inside]
    top_height = canopy[rows, cols]
    mean_height = ndimage.mean(canopy, labels=labels, index=np.arange(1, rows.size + 1))
    rr, cc = np.nonzero(inside)
    values = canopy[inside]
    distance = np.hypot(rr - rows[lab - 1], cc - cols[lab - 1]) * resolution_m
    ok = (
        (values > params.seed_fraction * top_height[lab - 1])
        & (values > params.crown_fraction * mean_height[lab - 1])
        & (distance <= params.max_crown_diameter_m / 2.0)
    )
    labels[rr[~ok], cc[~ok]] = 0
    return labels


def crown_spreads(polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Longest and shortest caliper width (m) of each polygon, every 2 degrees."""
    coords, index = shapely.get_coordinates(polygons, return_index=True)
    n = len(polygons)
    if n == 0:
        return np.empty(0), np.empty(0)
    angles = np.arange(CALIPER_DIRECTIONS) * (np.pi / CALIPER_DIRECTIONS)
    projection = coords @ np.vstack([np.cos(angles), np.sin(angles)])
    starts = np.searchsorted(index, np.arange(n))
    width = np.maximum.reduceat(projection, starts, axis=0) - np.minimum.reduceat(projection, starts, axis=0)
    return width.max(axis=1), width.min(axis=1)


def _group_percentile(groups: np.ndarray, values: np.ndarray, n_groups: int, percentile: float) -> np.ndarray:
    """The ``percentile`` of ``values`` per group 0..n_groups-1 (lower of the two nearest
    ranks); NaN for an empty group."""
    order = np.lexsort((values, groups))
    counts = np.bincount(groups, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    out = np.full(n_groups, np.nan)
    has = counts > 0
    rank = starts[has] + np.floor(percentile / 100.0 * (counts[has] - 1)).astype(np.int64)
    out[has] = values[order][rank]
    return out


def empty_trees(crs: str) -> gpd.GeoDataFrame:
    """A tree table without rows, with every column."""
    frame = pd.DataFrame(
        {
            c: pd.Series(
                dtype="object"
                if c in ("tree_id", "class_code")
                else "int64"
                if c == "n_returns"
                else "float64"
            )
            for c in COLUMNS
        }
    )
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def detect_trees(
    surface: CanopySurface,
    params: TreeParameters = TreeParameters(),
    *,
    keep_bounds: tuple[float, float, float, float] | None = None,
    id_prefix: str = "tree",
) -> gpd.GeoDataFrame:
    """The trees of one tile's canopy (see the module docstring for the method).

    Parameters
    ----------
    surface : CanopySurface
        From :func:`pipeline.trees.canopy.canopy_surface`.
    keep_bounds : (x_min, y_min, x_max, y_max), optional
        Keep only trees whose position falls in these bounds (metres, the grid's CRS):
        a tile processed with a halo keeps its own trees, its neighbours theirs.
    id_prefix : str
        Tree ids are ``{id_prefix}_{row:05d}_{col:05d}`` of the top in the tile grid:
        the same input gives the same ids.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per tree (:data:`COLUMNS`), crown polygons as geometry in the grid's CRS;
        no rows when the tile has no tree.
    """
    grid = surface.grid
    res = grid.resolution
    if not surface.has_vegetation or not surface.canopy.any():
        return empty_trees(grid.crs)
    sigma = params.smoothing_spacings * surface.spacing_m
    smoothed = ndimage.gaussian_filter(surface.canopy, sigma=sigma / res)
    smoothed[surface.building] = 0.0
    rows, cols = tree_tops(smoothed, res, params, surface.canopy)
    if rows.size == 0:
        return empty_trees(grid.crs)
    labels = segment_crowns(surface.canopy, smoothed, rows, cols, res, params)
    tree_of_return = labels.reshape(-1)[surface.veg_cell] - 1
    mine = tree_of_return >= 0
    tree = tree_of_return[mine]
    px, py, ph = surface.veg_x[mine], surface.veg_y[mine], surface.veg_height[mine]
    n_tops = rows.size
    counts = np.bincount(tree, minlength=n_tops)
    found = counts > 0
    if not found.any():
        return empty_trees(grid.crs)

    order = np.lexsort((-ph, tree))  # per tree, highest return first
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    top_index = order[first[found]]
    height = ph[top_index]
    base = _group_percentile(tree, ph, n_tops, params.crown_base_percentile)[found]

    # trees with returns renumbered 0..m-1, points grouped by tree (shapely wants sorted indices)
    compact = np.cumsum(found) - 1
    by_tree = np.argsort(tree, kind="stable")
    hulls = shapely.convex_hull(
        shapely.multipoints(np.column_stack([px[by_tree], py[by_tree]]), indices=compact[tree[by_tree]])
    )
    crowns = shapely.buffer(hulls, surface.footprint_radius_m, quad_segs=4)
    long_m, short_m = crown_spreads(crowns)
    centre = shapely.centroid(crowns)
    cx, cy = shapely.get_x(centre), shapely.get_y(centre)
    ground = surface.ground_at(cx, cy)
    top_rows, top_cols = rows[found], cols[found]
    frame = pd.DataFrame(
        {
            "tree_id": [f"{id_prefix}_{r:05d}_{c:05d}" for r, c in zip(top_rows, top_cols)],
            "x": cx,
            "y": cy,
            "top_x": px[top_index],
            "top_y": py[top_index],
            "ground_z": ground.astype(np.float64),
            "height_m": height,
            "crown_base_m": base,
            "crown_diameter_m": (long_m + short_m) / 2.0,
            "crown_long_m": long_m,
            "crown_short_m": short_m,
            "crown_area_m2": shapely.area(crowns),
            "n_returns": counts[found].astype(np.int64),
            "class_code": height_class(height),
        }
    )
    trees = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(crowns, crs=grid.crs), crs=grid.crs)
    if keep_bounds is not None:
        x0, y0, x1, y1 = keep_bounds
        trees = trees[(trees.x >= x0) & (trees.x < x1) & (trees.y > y0) & (trees.y <= y1)]
    return trees.reset_index(drop=True)
