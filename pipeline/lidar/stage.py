"""The LiDAR stage in a run: one Dask task per tile, rasters on the shared tile grid."""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.lidar.errors import LidarError
from pipeline.lidar.reader import file_bounds
from pipeline.lidar.tile import lidar_rasters_for_tile, write_lidar_rasters
from pipeline.raster import Grid

log = logging.getLogger(__name__)


class LidarStage(BaseModel):
    """``stages.lidar``: DTM, DSM, nDSM, canopy height and density per tile."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = Field(True, description="runs when inputs.lidar names files")
    backend: Literal["auto", "laspy", "pdal"] = "auto"
    chunk_size: int = Field(1_000_000, ge=10_000, description="points read per chunk")


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
