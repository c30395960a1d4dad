"""Trees of one third-level mesh tile: the function a pipeline stage calls per tile.

::

    grid = tile_grid(mesh, crs, params.resolution_m).buffered(params.max_crown_diameter_m)
    result = trees_for_tile(paths_touching_tile, grid, mesh, params=params)
    write_veg(result.trees, crs, out_dir / "trees", acquisition=...)

The grid is buffered by a halo (a crown diameter) so that crowns across the tile edge
are whole; a tile keeps the trees whose position falls in its mesh, its neighbours keep
theirs, so every tree is written once.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
from pyproj import CRS

from pipeline.geo.raster import Grid
from pipeline.lidar.points import LidarTileStats
from pipeline.lidar.reader import DEFAULT_CHUNK_SIZE
from pipeline.trees.canopy import CanopySurface, canopy_surface
from pipeline.trees.detect import detect_trees
from pipeline.trees.gml import tree_meshes
from pipeline.trees.parameters import TreeParameters

log = logging.getLogger(__name__)


@dataclass
class TileTrees:
    """Trees of one tile, the canopy they were found in, and what was read."""

    mesh: str
    trees: gpd.GeoDataFrame
    surface: CanopySurface
    stats: LidarTileStats = field(default_factory=LidarTileStats)
    seconds: float = 0.0


def footprint_mask(polygons, grid: Grid) -> np.ndarray:
    """Building footprints (shapely polygons in ``grid.crs``) rasterised on ``grid``."""
    from rasterio import features

    shapes = [(p, 1) for p in polygons if p is not None and not p.is_empty and p.area > 0]
    if not shapes:
        return np.zeros(grid.shape, bool)
    return features.rasterize(shapes, out_shape=grid.shape, transform=grid.transform,
                              fill=0, dtype="uint8").astype(bool)


def trees_for_tile(paths: list[str | os.PathLike], grid: Grid, mesh: str, *,
                   params: TreeParameters = TreeParameters(),
                   source_crs: str | CRS | None = None, footprints=None,
                   skip_bad_files: bool = False,
                   chunk_size: int = DEFAULT_CHUNK_SIZE) -> TileTrees:
    """Detect the trees of third-level mesh ``mesh`` from the LiDAR files touching it.

    Parameters
    ----------
    paths : list of path-like
        LAS/LAZ files touching the tile.
    grid : Grid
        The tile's grid (metric CRS, ``params.resolution_m`` cells) buffered by a halo.
    mesh : str
        The third-level mesh code whose trees are kept.
    source_crs : str or pyproj.CRS, optional
        CRS of files that carry none (else such a file is an error naming it).
    footprints : iterable of shapely polygons, optional
        Building footprints in ``grid.crs`` (PLATEAU bldg), masked like class 6 returns.
    skip_bad_files : bool
        Log and skip unreadable files instead of raising :class:`pipeline.lidar.LidarError`.

    Returns
    -------
    TileTrees
        No trees (an empty table, with every column) for a tile without vegetation.
    """
    from pipeline.lidar.tile import collect_tile_points

    started = time.perf_counter()
    stats = LidarTileStats()
    points = collect_tile_points(paths, grid, source_crs=source_crs, target_crs=grid.crs,
                                 chunk_size=chunk_size, stats=stats, skip_bad_files=skip_bad_files)
    stats.points_in_tile = len(points)
    mask = footprint_mask(footprints, grid) if footprints is not None else None
    surface = canopy_surface(points, grid, building_buffer_m=params.building_buffer_m,
                             footprint_mask=mask)
    stats.vegetation_points = int(surface.veg_x.size)
    trees = detect_trees(surface, params, id_prefix=f"tree_{mesh}")
    if len(trees):
        trees = trees[tree_meshes(trees, grid.crs) == str(mesh)].reset_index(drop=True)
    if not surface.has_vegetation:
        log.warning("tile %s: no vegetation returns among %d points; no trees", mesh, len(points))
    seconds = time.perf_counter() - started
    log.info("tile %s: %d points, %d trees in %.2f s", mesh, len(points), len(trees), seconds)
    return TileTrees(mesh, trees, surface, stats, seconds)
