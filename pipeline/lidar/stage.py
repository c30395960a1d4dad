"""The LiDAR stage in a run: one Dask task per tile, rasters on the shared tile grid."""
from __future__ import annotations

import dataclasses
import logging

import numpy as np
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.lidar.errors import LidarError
from pipeline.lidar.reader import file_bounds
from pipeline.lidar.tile import lidar_rasters_for_tile, write_lidar_rasters
from pipeline.geo.raster import Grid
from pipeline.records import StageResult

log = logging.getLogger(__name__)


class LidarStage(BaseModel):
    """``stages.lidar``: DTM, DSM, nDSM, canopy height and density per tile."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = Field(True, description="runs when inputs.lidar names files")
    backend: Literal["auto", "laspy", "pdal"] = "auto"
    chunk_size: int = Field(1_000_000, ge=10_000, description="points read per chunk")
    point_tiles: bool = Field(True, description="also write the points as 3D Tiles")
    max_points_per_tile: int = Field(100_000, ge=1_000)
    geoid_model: Literal["gsigeo2011", "jpgeo2024", "none"] = Field(
        "gsigeo2011", description="geoid added to orthometric heights for 3D Tiles; "
        "'none' for data outside Japan whose heights are already ellipsoidal")


@dataclasses.dataclass
class LidarTileResult:
    tile: str
    outputs: dict[str, str]
    stats: dict

    def to_record(self) -> dict:
        return {"outputs": self.outputs, "stats": self.stats, "tile_grid": None}


def lidar_tile(paths: list[str], grid: Grid, out_dir: str, tile: str, *,
               source_crs: str | None, backend: str, chunk_size: int) -> LidarTileResult:
    """Rasters of one tile from the LAS/LAZ files that touch it (runs on a worker)."""
    result = lidar_rasters_for_tile(paths, grid, source_crs=source_crs, backend=backend,
                                    chunk_size=chunk_size)
    outputs = write_lidar_rasters(result, out_dir, tile)
    return LidarTileResult(tile, outputs, dataclasses.asdict(result.stats))


def files_touching(paths: list[Path], grid: Grid, source_crs: str | None) -> tuple[list[str], list[str]]:
    """The files whose header bounds meet ``grid``, and problems with the others."""
    touching, problems = [], []
    x0, y0, x1, y1 = grid.bounds
    for path in paths:
        try:
            bounds = file_bounds(path, grid.crs, source_crs=source_crs)
        except LidarError as exc:
            problems.append(str(exc))
            continue
        if bounds and not (bounds[2] < x0 or bounds[0] > x1 or bounds[3] < y0 or bounds[1] > y1):
            touching.append(str(path))
    return touching, problems


def lidar_point_tiles(paths: list[str], out_dir: str, *, source_crs: str | None,
                      geoid_model: str, chunk_size: int, max_points_per_tile: int) -> StageResult:
    """Every point of ``paths`` as a 3D Tiles 1.1 point cloud (octree of GLB tiles).

    Heights are orthometric in the files; the geoid height (GSI model) is added so the
    points sit on the ellipsoid as 3D Tiles expect. Colour is the file's RGB, else the
    ASPRS classification colour; classification, intensity and return number are kept
    as per-point properties.
    """
    from tiles import PointChunk, write_point_tileset
    from pipeline.geo.geoid import geoid_height
    from pipeline.lidar.reader import iter_tileset_points, open_checked

    # ASPRS point formats 2, 3, 5, 7, 8 and 10 carry RGB; the others get class colours.
    coloured = {str(p): open_checked(p, source_crs).header.point_format in (2, 3, 5, 7, 8, 10)
                for p in paths}

    def chunks():
        for path in paths:
            for chunk in iter_tileset_points([path], "EPSG:6668", source_crs=source_crs,
                                             chunk_size=chunk_size):
                lon, lat, height = chunk["positions"].T
                if geoid_model != "none":
                    height = height + geoid_height(lon, lat, geoid_model)
                yield PointChunk(np.column_stack([lon, lat, height]),
                                 rgb=chunk["rgb"] if coloured[str(path)] else None,
                                 classification=chunk["classification"],
                                 intensity=chunk["intensity"],
                                 return_number=chunk["return_number"])

    summary = write_point_tileset(chunks(), out_dir, crs="EPSG:4979",
                                  max_points_per_tile=max_points_per_tile)
    return StageResult({"tileset": str(summary.tileset_path)},
                            {"tiles": summary.tile_count, "points": summary.feature_count,
                             "bytes": summary.bytes_written})
