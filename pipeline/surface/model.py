"""The surface model of a tile: terrain, buildings and tree canopy on one raster grid.

Pure builders on paths of ingested tables and rasters, arrays out (float32 orthometric
metres on a :class:`~pipeline.geo.raster.Grid` in the run's metric CRS):

- :func:`build_terrain`: the DEM TIN (cell-centre interpolation) or the LiDAR DTM;
  cells outside every source take the nearest known height;
- :func:`build_buildings`: the highest of the buildings' LOD2 surfaces (highest
  triangle per cell), else their LOD1 solid, else footprint + height, with the index of
  the building covering each cell;
- :func:`build_canopy`: tree canopy tops from PLATEAU ``veg``, the LiDAR canopy height
  model and/or the trees found in the LiDAR (solitary trees through
  :mod:`pipeline.surface.crowns`), and the leaf habit of every canopy cell
  (:mod:`pipeline.surface.habit`).
  Trees stay out of the DSM because they are not opaque.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import ndimage

from pipeline.geo.meshes import read_meshes
from pipeline.geo.raster import Grid, read_raster
from pipeline.surface.crowns import TreeCrowns, crown_layers
from pipeline.surface.habit import UNKNOWN_HABIT, canopy_habit
from pipeline.surface.rasterize import (
    merge_max,
    rasterize_plant_cover,
    rasterize_polygons_height,
    rasterize_triangles_max,
)


# -- terrain -----------------------------------------------------------------------
def build_terrain(
    grid: Grid,
    dem_meshes: Sequence[str],
    lidar_dtm: str | None,
    *,
    terrain_source: str = "auto",
    ground_elevation_m: float = 0.0,
) -> tuple[np.ndarray, str]:
    """Terrain heights on ``grid`` and a word on where they came from.

    Parameters
    ----------
    grid : Grid
        Target grid (metric CRS of the run).
    dem_meshes : sequence of path
        Ingested DEM mesh tables (``*_dem_mesh.parquet``): TIN triangles, orthometric m.
    lidar_dtm : path, optional
        The LiDAR DTM COG of the tile.
    terrain_source : {"auto", "dem", "lidar", "flat"}
        ``auto``/``dem``: the DEM TIN, the LiDAR DTM where the DEM has none; ``lidar``: the
        other way round; ``flat``: ``ground_elevation_m`` everywhere.

    Returns
    -------
    (numpy.ndarray, str)
        float32 heights (orthometric metres; cells beyond every source take the nearest
        known height) and the sources used.
    """
    dem = np.full(grid.shape, np.nan, dtype=np.float32)
    if terrain_source in ("auto", "dem", "lidar") and dem_meshes:
        triangles = [_triangles(row) for path in dem_meshes for row in read_meshes(path)]
        triangles = [t for t in triangles if len(t)]
        if triangles:
            dem, _ = rasterize_triangles_max(np.concatenate(triangles), grid)
    dtm = None
    if lidar_dtm and terrain_source in ("auto", "dem", "lidar"):
        dtm, _, _ = read_raster(lidar_dtm)
    if terrain_source == "flat":
        return np.full(grid.shape, ground_elevation_m, np.float32), "flat"
    if terrain_source == "lidar" and dtm is not None:
        layers, source = [dtm, dem], "lidar DTM, DEM TIN where LiDAR has none"
    else:
        layers, source = [dem, dtm], "DEM TIN" + (", LiDAR DTM where DEM has none" if dtm is not None else "")
    terrain = np.full(grid.shape, np.nan, dtype=np.float32)
    for layer in layers:
        if layer is not None:
            terrain = np.where(np.isnan(terrain), layer, terrain)
    if np.isnan(terrain).all():
        return np.full(grid.shape, ground_elevation_m, np.float32), "flat (no terrain data)"
    return fill_nearest(terrain), source


def fill_nearest(values: np.ndarray) -> np.ndarray:
    """Fill NaN cells with the nearest known value (no cliffs at the data's edge)."""
    missing = np.isnan(values)
    if not missing.any():
        return values
    _, (rows, cols) = ndimage.distance_transform_edt(missing, return_indices=True)
    return values[rows, cols]


def _triangles(row) -> np.ndarray:
    return row.vertices[row.triangles] if len(row.triangles) else np.empty((0, 3, 3))


# -- buildings ---------------------------------------------------------------------
def build_buildings(grid: Grid, tables: Sequence[str], meshes: Sequence[str]):
    """Building heights (orthometric, NaN none) and the building index per cell.

    LOD2 triangles where a building has them, else LOD1, else footprint + height.

    Parameters
    ----------
    grid : Grid
        Target grid.
    tables, meshes : sequence of path
        Ingested building tables and their mesh tables.

    Returns
    -------
    (GeoDataFrame or None, numpy.ndarray, numpy.ndarray, list of str)
        The buildings meeting the grid, numbered by ``gml_id`` order (so the numbering
        never depends on the order the files are given in); float32 top heights; int32
        index per cell (-1 none); the ``gml_id`` of each index.
    """
    frames = [gpd.read_parquet(path) for path in tables]
    frames = [t for t in frames if len(t)]
    if not frames:
        return None, np.full(grid.shape, np.nan, np.float32), np.full(grid.shape, -1, np.int32), []
    buildings = pd.concat(frames, ignore_index=True)
    x0, y0, x1, y1 = grid.bounds
    buildings = buildings[buildings.intersects(_box(x0, y0, x1, y1))]
    buildings = (
        buildings.sort_values("gml_id", kind="stable").drop_duplicates("gml_id").reset_index(drop=True)
    )
    gml_ids = buildings["gml_id"].tolist()
    index_of = {gml_id: i for i, gml_id in enumerate(gml_ids)}
    by_lod: dict[int, dict[str, list[np.ndarray]]] = {1: {}, 2: {}}
    for path in sorted(meshes):
        for row in read_meshes(path, lods={1, 2}):
            if row.feature_id in index_of:
                by_lod[row.lod].setdefault(row.feature_id, []).append(_triangles(row))
    triangles, ids, meshed = [], [], set()
    for lod in (2, 1):
        for gml_id, parts in sorted(by_lod[lod].items()):
            if gml_id in meshed:
                continue
            meshed.add(gml_id)
            stacked = np.concatenate(parts)
            triangles.append(stacked)
            ids.append(np.full(len(stacked), index_of[gml_id], dtype=np.int32))
    heights = np.full(grid.shape, np.nan, np.float32)
    index = np.full(grid.shape, -1, np.int32)
    if triangles:
        heights, index = rasterize_triangles_max(
            np.concatenate(triangles), grid, triangle_ids=np.concatenate(ids)
        )
    flat = buildings[~buildings["gml_id"].isin(meshed) & buildings["height_m"].notna()]
    if len(flat):
        tops = (flat["ground_elevation_m"].fillna(0) + flat["height_m"]).to_numpy()
        flat_heights, flat_index = rasterize_polygons_height(flat.geometry.values, tops, grid)
        flat_index = np.where(flat_index >= 0, flat.index.to_numpy()[np.maximum(flat_index, 0)], -1)
        higher = np.nan_to_num(flat_heights, nan=-np.inf) > np.nan_to_num(heights, nan=-np.inf)
        heights = np.where(higher, flat_heights, heights)
        index = np.where(higher, flat_index, index).astype(np.int32)
    return buildings, heights.astype(np.float32), index, gml_ids


def _box(x0, y0, x1, y1):
    import shapely

    return shapely.box(x0, y0, x1, y1)


# -- canopy ------------------------------------------------------------------------
def build_canopy(
    grid: Grid,
    vegetation_tables: Sequence[str],
    lidar_chm: str | None,
    lidar_dtm: str | None,
    terrain: np.ndarray,
    *,
    canopy_source: str = "all",
    lidar_canopy_min_m: float = 2.0,
    default_crown_diameter_m: float = 5.0,
    detected_trees: Sequence[str] = (),
) -> tuple[np.ndarray, np.ndarray, str]:
    """Tree canopy top heights (orthometric metres, NaN where no tree), their leaf habit and sources.

    Parameters
    ----------
    grid : Grid
        Target grid.
    vegetation_tables : sequence of path
        Ingested ``veg`` tables: solitary trees become crown discs at their height
        (``crown_diameter``, else from the footprint, else ``default_crown_diameter_m``),
        plant covers polygons at their average height.
    lidar_chm, lidar_dtm : path, optional
        The LiDAR canopy height model and DTM of the tile: canopy at DTM + CHM where
        the CHM is at least ``lidar_canopy_min_m``.
    terrain : numpy.ndarray
        Terrain heights on ``grid`` (a tree stands on the lower of its mesh base and it).
    canopy_source : {"all", "plateau", "lidar", "trees", "plateau+trees", "none"}
        ``all``: the higher of the PLATEAU and LiDAR canopies per cell; ``trees``: the
        trees found in the LiDAR (``detected_trees``); ``plateau+trees``: the higher of
        PLATEAU's and those per cell.
    detected_trees : sequence of path
        GeoParquet tables of trees found in the LiDAR (the ``trees`` stage's, rows of
        :func:`pipeline.trees.detect.detect_trees`): crown discs of their crown diameter
        at their height, leaf habit unknown, drawn like PLATEAU's solitary trees
        (:mod:`pipeline.surface.crowns`).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, str)
        float32 canopy tops; uint8 leaf habit per cell
        (:func:`pipeline.surface.habit.canopy_habit`: solitary trees by their
        ``veg:function``, plant covers, LiDAR canopy and detected trees of unknown
        habit); the sources.
    """
    layers, sources = [], []  # (canopy-top raster, habit code)
    if canopy_source in ("all", "plateau", "plateau+trees") and vegetation_tables:
        vegetation = pd.concat(
            [gpd.read_parquet(path) for path in sorted(vegetation_tables)], ignore_index=True
        )
        vegetation = gpd.GeoDataFrame(vegetation, geometry="geometry", crs=grid.crs)
        vegetation = vegetation[vegetation.geometry.notna() & vegetation["height_m"].notna()]
        top = vegetation["ground_elevation_m"].fillna(0) + vegetation["height_m"]
        trees = vegetation["feature_type"] == "veg:SolitaryVegetationObject"
        if trees.any():
            layers += crown_layers(
                TreeCrowns.from_plateau(vegetation[trees], default_crown_diameter_m), grid, terrain
            )
        covers = vegetation[~trees & vegetation.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
        if len(covers):
            layers.append(
                (
                    rasterize_plant_cover(covers.geometry.values, top.loc[covers.index].to_numpy(), grid),
                    UNKNOWN_HABIT,
                )
            )
        sources.append("PLATEAU veg")
    if canopy_source in ("trees", "plateau+trees") and detected_trees:
        found = [t for t in (gpd.read_parquet(path) for path in sorted(detected_trees)) if len(t)]
        if found:
            layers += crown_layers(
                TreeCrowns.from_detected(pd.concat(found, ignore_index=True)), grid, terrain
            )
        sources.append("trees detected in LiDAR")
    if canopy_source in ("all", "lidar") and lidar_chm and lidar_dtm:
        chm, _, _ = read_raster(lidar_chm)
        dtm, _, _ = read_raster(lidar_dtm)
        layers.append(
            (np.where(chm >= lidar_canopy_min_m, dtm + chm, np.nan).astype(np.float32), UNKNOWN_HABIT)
        )
        sources.append("LiDAR canopy height model")
    if not layers:
        return np.full(grid.shape, np.nan, np.float32), np.zeros(grid.shape, np.uint8), "none"
    canopy = merge_max(*(layer for layer, _ in layers)).astype(np.float32)
    return canopy, canopy_habit(canopy, layers), " + ".join(sources)
