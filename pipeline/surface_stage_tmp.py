"""Surface model stage: per tile, DSM, canopy, terrain and building-id rasters.

For each tile the stage reads the ingested buildings, vegetation and terrain of the tile
and its neighbours (and the LiDAR rasters when the LiDAR stage ran) and writes, on the
tile grid grown by the run's halo, four COGs (float32 metres, orthometric heights):

- ``terrain``: the DEM TIN (cell-centre interpolation) or the LiDAR DTM, as
  ``terrain_source`` says; cells outside every source take the nearest known height;
  with no source at all, flat ground at ``ground_elevation_m``;
- ``dsm``: the highest of terrain and buildings. Buildings are their LOD2 surfaces
  (highest triangle per cell), else their LOD1 solid, else footprint + height;
- ``canopy``: tree canopy top (NaN where no tree), from PLATEAU ``veg`` (solitary
  trees as crown discs, plant cover as polygons at its average height) and/or the LiDAR
  canopy height model above the DTM, as ``canopy_source`` says. Trees are kept out of
  the DSM because they are not opaque;
- ``building_id``: int32 index of the building covering each cell (-1 none), into the
  tile's ``<tile>_buildings.parquet`` (GeoParquet: ``building_index``, ``gml_id``,
  footprint).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from scipy import ndimage

from pipeline.geo.atomic import atomic_path
from pipeline.geo.meshes import read_meshes
from pipeline.geo.raster import Grid, read_raster, write_cog
from pipeline.surface.rasterize import (merge_max, rasterize_plant_cover, rasterize_polygons_height,
                                     rasterize_tree_crowns, rasterize_triangles_max)

log = logging.getLogger(__name__)


class SurfaceStage(BaseModel):
    """``stages.surface``: how the surface model of each tile is built."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    terrain_source: Literal["auto", "dem", "lidar", "flat"] = Field(
        "auto", description="auto: DEM TIN where present, LiDAR DTM elsewhere, then nearest")
    canopy_source: Literal["all", "plateau", "lidar", "none"] = Field(
        "all", description="all: the higher of PLATEAU veg and LiDAR canopy per cell")
    ground_elevation_m: float = Field(0.0, description="flat ground when no terrain source")
    lidar_canopy_min_m: float = Field(2.0, ge=0, description="LiDAR canopy lower than this is not a tree")
    default_crown_diameter_m: float = Field(5.0, gt=0, description="for trees without crownDiameter")


@dataclass
class SurfaceResult:
    tile: str
    outputs: dict[str, str]
    counts: dict[str, int] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def to_record(self) -> dict:
        return {"outputs": self.outputs, "counts": self.counts, "sources": self.sources}


def records_of(records: list[dict], feature_type: str) -> list[dict]:
    """The finished ingest records of ``feature_type`` (the planner passes only those of
    the tile and its neighbours)."""
    return [r for r in records if r.get("status") == "done" and r.get("feature_type") == feature_type]


def surface_tile(tile: str, grid: Grid, out_dir: str, *, settings: SurfaceStage, ingest: list[dict] = (), lidar: list[dict] = ()) -> SurfaceResult:
    """Build and write the surface rasters of one tile on ``grid`` (tile plus halo)."""
    start = time.perf_counter()
    result = SurfaceResult(tile=tile, outputs={})
    lidar_record = next((r for r in lidar if r.get("status") == "done"), None)

    terrain, source = build_terrain(grid, records_of(ingest, "dem"), lidar_record,
                                    settings)
    result.sources["terrain"] = source
    buildings, heights, index, gml_ids = build_buildings(grid, records_of(ingest, "bldg"))
    result.counts["buildings"] = len(gml_ids)
    dsm = merge_max(terrain, heights)
    canopy, canopy_source = build_canopy(grid, records_of(ingest, "veg"), lidar_record,
                                         terrain, settings)
    result.sources["canopy"] = canopy_source
    result.counts["canopy_cells"] = int(np.isfinite(canopy).sum())

    folder = Path(out_dir)
    tags = {"tile": tile, "heights": "orthometric metres"}
    result.outputs = {
        "dsm": write_cog(folder / f"{tile}_dsm.tif", dsm.astype(np.float32), grid, nodata=np.nan, tags=tags),
        "terrain": write_cog(folder / f"{tile}_terrain.tif", terrain.astype(np.float32), grid,
                             nodata=np.nan, tags={**tags, "source": source}),
        "canopy": write_cog(folder / f"{tile}_canopy.tif", canopy.astype(np.float32), grid,
                            nodata=np.nan, tags={**tags, "source": canopy_source}),
        "building_id": write_cog(folder / f"{tile}_building_id.tif", index.astype(np.int32), grid,
                                 nodata=-1, tags=tags),
    }
    table = folder / f"{tile}_buildings.parquet"
    footprints = (buildings.geometry.to_numpy() if buildings is not None else [])
    with atomic_path(table) as tmp:
        gpd.GeoDataFrame({"building_index": np.arange(len(gml_ids), dtype=np.int32),
                          "gml_id": gml_ids}, geometry=list(footprints),
                         crs=grid.crs).to_parquet(tmp, index=False)
    result.outputs["buildings"] = str(table)
    log.info("surface %s: %d buildings, terrain from %s, canopy from %s (%.1f s)", tile,
             len(gml_ids), source, canopy_source, time.perf_counter() - start)
    return result


# -- terrain -----------------------------------------------------------------------
def build_terrain(grid: Grid, dem_records: list[dict], lidar_record: dict | None,
                  settings: SurfaceStage) -> tuple[np.ndarray, str]:
    """Terrain heights on ``grid`` and a word on where they came from."""
    dem = np.full(grid.shape, np.nan, dtype=np.float32)
    if settings.terrain_source in ("auto", "dem", "lidar") and dem_records:
        triangles = [_triangles(row) for r in dem_records
                     for row in read_meshes(r["outputs"]["meshes"])]
        triangles = [t for t in triangles if len(t)]
        if triangles:
            dem, _ = rasterize_triangles_max(np.concatenate(triangles), grid)
    dtm = None
    if lidar_record and settings.terrain_source in ("auto", "dem", "lidar"):
        dtm, _, _ = read_raster(lidar_record["outputs"]["dtm"])
    if settings.terrain_source == "flat":
        return np.full(grid.shape, settings.ground_elevation_m, np.float32), "flat"
    if settings.terrain_source == "lidar" and dtm is not None:
        layers, source = [dtm, dem], "lidar DTM, DEM TIN where LiDAR has none"
    else:
        layers, source = [dem, dtm], "DEM TIN" + (", LiDAR DTM where DEM has none" if dtm is not None else "")
    terrain = np.full(grid.shape, np.nan, dtype=np.float32)
    for layer in layers:
        if layer is not None:
            terrain = np.where(np.isnan(terrain), layer, terrain)
    if np.isnan(terrain).all():
        return np.full(grid.shape, settings.ground_elevation_m, np.float32), "flat (no terrain data)"
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
def build_buildings(grid: Grid, records: list[dict]):
    """Building heights (orthometric, NaN none) and the building index per cell.

    LOD2 triangles where a building has them, else LOD1, else footprint + height.
    """
    tables = [gpd.read_parquet(r["outputs"]["table"]) for r in records]
    tables = [t for t in tables if len(t)]
    if not tables:
        return None, np.full(grid.shape, np.nan, np.float32), np.full(grid.shape, -1, np.int32), []
    buildings = pd.concat(tables, ignore_index=True)
    x0, y0, x1, y1 = grid.bounds
    buildings = buildings[buildings.intersects(_box(x0, y0, x1, y1))].reset_index(drop=True)
    gml_ids = buildings["gml_id"].tolist()
    index_of = {gml_id: i for i, gml_id in enumerate(gml_ids)}
    by_lod: dict[int, dict[str, list[np.ndarray]]] = {1: {}, 2: {}}
    for record in records:
        for row in read_meshes(record["outputs"]["meshes"], lods={1, 2}):
            if row.feature_id in index_of:
                by_lod[row.lod].setdefault(row.feature_id, []).append(_triangles(row))
    triangles, ids, meshed = [], [], set()
    for lod in (2, 1):
        for gml_id, parts in by_lod[lod].items():
            if gml_id in meshed:
                continue
            meshed.add(gml_id)
            stacked = np.concatenate(parts)
            triangles.append(stacked)
            ids.append(np.full(len(stacked), index_of[gml_id], dtype=np.int32))
    heights = np.full(grid.shape, np.nan, np.float32)
    index = np.full(grid.shape, -1, np.int32)
    if triangles:
        heights, index = rasterize_triangles_max(np.concatenate(triangles), grid,
                                                 triangle_ids=np.concatenate(ids))
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
def build_canopy(grid: Grid, records: list[dict], lidar_record: dict | None, terrain: np.ndarray,
                 settings: SurfaceStage) -> tuple[np.ndarray, str]:
    """Tree canopy top heights (orthometric, NaN where no tree)."""
    layers, sources = [], []
    if settings.canopy_source in ("all", "plateau") and records:
        vegetation = pd.concat([gpd.read_parquet(r["outputs"]["table"]) for r in records],
                               ignore_index=True)
        vegetation = gpd.GeoDataFrame(vegetation, geometry="geometry", crs=grid.crs)
        vegetation = vegetation[vegetation.geometry.notna() & vegetation["height_m"].notna()]
        top = vegetation["ground_elevation_m"].fillna(0) + vegetation["height_m"]
        # A crown mesh's lowest vertex is the crown base, not the ground: take the ground
        # from the terrain under the tree instead when it is lower.
        trees = vegetation["feature_type"] == "veg:SolitaryVegetationObject"
        if trees.any():
            solitary = vegetation[trees]
            centres = solitary.geometry.centroid
            rows, cols = grid.rowcol(centres.x.to_numpy(), centres.y.to_numpy())
            inside = (rows >= 0) & (rows < grid.height) & (cols >= 0) & (cols < grid.width)
            ground = solitary["ground_elevation_m"].to_numpy(dtype=float).copy()
            ground[inside] = np.fmin(ground[inside], terrain[rows[inside], cols[inside]])
            diameter = pd.to_numeric(solitary.get("crown_diameter", pd.Series(np.nan, index=solitary.index)),
                                     errors="coerce").to_numpy(dtype=float)
            from_area = 2 * np.sqrt(solitary.geometry.area.to_numpy() / np.pi)
            diameter = np.where(np.isfinite(diameter), diameter,
                                np.where(from_area > 0.5, from_area, settings.default_crown_diameter_m))
            layers.append(rasterize_tree_crowns(centres.x.to_numpy(), centres.y.to_numpy(), diameter / 2,
                                                ground + solitary["height_m"].to_numpy(), grid))
        covers = vegetation[~trees & vegetation.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
        if len(covers):
            layers.append(rasterize_plant_cover(covers.geometry.values, top.loc[covers.index].to_numpy(), grid))
        sources.append("PLATEAU veg")
    if settings.canopy_source in ("all", "lidar") and lidar_record:
        chm, _, _ = read_raster(lidar_record["outputs"]["chm"])
        dtm, _, _ = read_raster(lidar_record["outputs"]["dtm"])
        layers.append(np.where(chm >= settings.lidar_canopy_min_m, dtm + chm, np.nan).astype(np.float32))
        sources.append("LiDAR canopy height model")
    if not layers:
        return np.full(grid.shape, np.nan, np.float32), "none"
    return merge_max(*layers).astype(np.float32), " + ".join(sources)
