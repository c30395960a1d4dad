"""Trees of one third-level mesh tile: what ``machi trees`` and the ``trees`` stage run per tile.

:func:`write_mesh_trees` is that one function: the tile's grid, its trees
(:func:`trees_for_tile`) and its veg file::

    result = write_mesh_trees(paths_touching_tile, mesh, crs, out_root, params=params)
    result.trees, result.gml     # the mesh's trees, out_root/udx/veg/<mesh>_veg_6697_op.gml

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
    gml: str | None = None


def footprint_mask(polygons, grid: Grid) -> np.ndarray:
    """Building footprints (shapely polygons in ``grid.crs``) rasterised on ``grid``."""
    from rasterio import features

    shapes = [(p, 1) for p in polygons if p is not None and not p.is_empty and p.area > 0]
    if not shapes:
        return np.zeros(grid.shape, bool)
    return features.rasterize(
        shapes, out_shape=grid.shape, transform=grid.transform, fill=0, dtype="uint8"
    ).astype(bool)


def trees_for_tile(
    paths: list[str | os.PathLike],
    grid: Grid,
    mesh: str,
    *,
    params: TreeParameters = TreeParameters(),
    source_crs: str | CRS | None = None,
    footprints=None,
    skip_bad_files: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> TileTrees:
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
    points = collect_tile_points(
        paths,
        grid,
        source_crs=source_crs,
        target_crs=grid.crs,
        chunk_size=chunk_size,
        stats=stats,
        skip_bad_files=skip_bad_files,
    )
    stats.points_in_tile = len(points)
    mask = footprint_mask(footprints, grid) if footprints is not None else None
    surface = canopy_surface(points, grid, building_buffer_m=params.building_buffer_m, footprint_mask=mask)
    stats.vegetation_points = int(surface.veg_x.size)
    trees = detect_trees(surface, params, id_prefix=f"tree_{mesh}")
    if len(trees):
        trees = trees[tree_meshes(trees, grid.crs) == str(mesh)].reset_index(drop=True)
    if not surface.has_vegetation:
        log.warning("tile %s: no vegetation returns among %d points; no trees", mesh, len(points))
    seconds = time.perf_counter() - started
    log.info("tile %s: %d points, %d trees in %.2f s", mesh, len(points), len(trees), seconds)
    return TileTrees(mesh, trees, surface, stats, seconds)


def mesh_grid(mesh: str, crs: str, params: TreeParameters = TreeParameters()) -> Grid:
    """The grid trees of ``mesh`` are found on: the mesh at ``params.resolution_m``, grown
    by a halo of ``params.max_crown_diameter_m`` so that crowns across its edge are whole."""
    from pipeline.geo.tiling import tile_grid

    return tile_grid(mesh, crs, params.resolution_m).buffered(params.max_crown_diameter_m)


def write_mesh_trees(
    paths: list[str | os.PathLike],
    mesh: str,
    crs: str,
    out_root: str | os.PathLike,
    *,
    params: TreeParameters = TreeParameters(),
    source_crs: str | CRS | None = None,
    footprints=None,
    acquisition: str | None = None,
    skip_bad_files: bool = False,
) -> TileTrees:
    """Detect the trees of third-level mesh ``mesh`` and write its PLATEAU veg file.

    The one step ``machi trees`` and the ``trees`` stage take per tile: the trees of
    :func:`trees_for_tile` on :func:`mesh_grid`, written to
    ``out_root/udx/veg/<mesh>_veg_6697_op.gml`` (:func:`pipeline.trees.gml.write_veg`; no
    file when the mesh has no tree).

    Parameters
    ----------
    paths : list of path-like
        LAS/LAZ files touching the mesh.
    crs : str
        Metric CRS of the tile grid and of the trees' coordinates.
    acquisition : str, optional
        ``uro:dataAcquisition`` text (default: :func:`acquisition_text` of ``paths``).

    Returns
    -------
    TileTrees
        With ``gml`` the file written (None: no tree).
    """
    from pipeline.trees.gml import write_veg

    result = trees_for_tile(
        paths,
        mesh_grid(mesh, crs, params),
        mesh,
        params=params,
        source_crs=source_crs,
        footprints=footprints,
        skip_bad_files=skip_bad_files,
    )
    if acquisition is None:
        acquisition = acquisition_text(paths, source_crs)
    written = write_veg(result.trees, crs, out_root, acquisition=acquisition)
    result.gml = written[0] if written else None
    return result


def survey_date(year: int, day_of_year: int) -> str:
    """ISO date of a LAS header's creation year and day of year ("date unknown" if unset)."""
    import datetime

    if not year or not day_of_year:
        return "date unknown"
    return (datetime.date(year, 1, 1) + datetime.timedelta(days=day_of_year - 1)).isoformat()


def acquisition_text(paths: list[str | os.PathLike], source_crs: str | CRS | None = None) -> str:
    """``uro:dataAcquisition`` text: the LiDAR files (names) and their header dates."""
    from pathlib import Path

    from pipeline.lidar.reader import open_checked

    names = []
    for path in paths:
        header = open_checked(path, source_crs).header
        names.append(f"{Path(path).name} ({survey_date(header.creation_year, header.creation_day)})")
    return "航空レーザ測量 (airborne LiDAR): " + ", ".join(names) + "; Machi trees, individual tree detection"
