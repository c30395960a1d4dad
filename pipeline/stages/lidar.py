"""``lidar`` (one task per tile a LAS/LAZ file touches) and ``lidar_tiles`` (one task).

``lidar`` writes DTM, DSM, nDSM, canopy height and density COGs on the tile grid plus
halo (:mod:`pipeline.lidar.tile`); ``lidar_tiles`` writes every point as a 3D Tiles 1.1
point cloud (:mod:`pipeline.lidar.point_tiles`). Both are configured by
``stages.lidar`` and run only when ``inputs.lidar`` names files.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal, Mapping

from pydantic import Field

from pipeline.core.settings import StageSettings
from pipeline.core.stage import Stage
from pipeline.core.task import PlanContext, Record, Result, Task


class LidarSettings(StageSettings):
    """LiDAR rasters per tile (DTM, DSM, nDSM, canopy height, density) and point tiles."""

    enabled: bool = Field(True, description="LiDAR rasters; runs only when `inputs.lidar` "
                          "names files.")
    backend: Literal["auto", "laspy", "pdal"] = Field(
        "auto", description="`laspy`, `pdal` (when `import pdal` works), or `auto` (PDAL if "
        "importable, else laspy).")
    chunk_size: int = Field(1_000_000, ge=10_000, le=100_000_000,
                            description="Points read per chunk (bounds memory).")
    point_tiles: bool = Field(True, description="Also write every point as a 3D Tiles 1.1 point "
                              "cloud (`lidar_tiles` stage).")
    max_points_per_tile: int = Field(100_000, ge=1_000, le=10_000_000,
                                     description="Points per point-cloud tile.")
    geoid_model: Literal["gsigeo2011", "jpgeo2024", "none"] = Field(
        "gsigeo2011", description="GSI geoid (`gsigeo2011`, `jpgeo2024`) added to orthometric "
        "heights for the point tiles; `none` for data outside Japan.")


def _has_files(definition) -> bool:
    return bool(definition.inputs.lidar)


# -- rasters per tile -------------------------------------------------------------------
def lidar_tile(paths: list[str], grid, out_dir: str, tile: str, *, source_crs: str | None,
               backend: str, chunk_size: int) -> Result:
    """Rasters of one tile from the LAS/LAZ files that touch it (runs on a worker)."""
    from pipeline.lidar.tile import lidar_rasters_for_tile, write_lidar_rasters

    rasters = lidar_rasters_for_tile(paths, grid, source_crs=source_crs, backend=backend,
                                     chunk_size=chunk_size)
    outputs = write_lidar_rasters(rasters, out_dir, tile)
    stats = dataclasses.asdict(rasters.stats)
    return Result(outputs=outputs, counts={k: v for k, v in stats.items()
                                           if isinstance(v, (int, float))},
                  details={"stats": stats})


def files_touching(paths: list[Path], grid, source_crs: str | None) -> tuple[list[str], list[str]]:
    """The files whose header bounds meet ``grid``, and problems with the others."""
    from pipeline.lidar.errors import LidarError
    from pipeline.lidar.reader import file_bounds

    touching, problems = [], []
    x0, y0, x1, y1 = grid.bounds
    for path in sorted(paths):
        try:
            bounds = file_bounds(path, grid.crs, source_crs=source_crs)
        except LidarError as exc:
            problems.append(str(exc))
            continue
        if bounds and not (bounds[2] < x0 or bounds[0] > x1 or bounds[3] < y0 or bounds[1] > y1):
            touching.append(str(path))
    return touching, problems


def plan_rasters(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    settings: LidarSettings = ctx.settings("lidar")
    lidar_crs = ctx.definition.inputs.lidar_crs
    tasks = []
    for tile in ctx.tiles:
        grid = ctx.tile_grid(tile)
        paths, problems = files_touching(ctx.definition.inputs.lidar, grid, lidar_crs)
        ctx.problems.extend(problems)
        if not paths:
            continue
        tasks.append(Task(stage="lidar", tile=tile, func=lidar_tile,
                          args=(paths, grid, str(ctx.out("lidar")), tile),
                          kwargs={"source_crs": lidar_crs, "backend": settings.backend,
                                  "chunk_size": settings.chunk_size},
                          params={"grid": grid.__dict__, "crs": lidar_crs,
                                  "backend": settings.backend},
                          input_hashes=[ctx.hash_file(p) for p in paths]))
    return tasks


# -- point cloud tiles -------------------------------------------------------------------
def lidar_tiles_task(paths: list[str], out_dir: str, **options) -> Result:
    """Every point as a 3D Tiles point cloud (runs on a worker)."""
    from pipeline.lidar.point_tiles import lidar_point_tiles

    written = lidar_point_tiles(paths, out_dir, **options)
    tileset = written.pop("tileset")
    return Result(outputs={"tileset": tileset}, counts=written)


def plan_point_tiles(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    settings: LidarSettings = ctx.settings("lidar")
    lidar_crs = ctx.definition.inputs.lidar_crs
    paths = sorted(str(p) for p in ctx.definition.inputs.lidar)
    return [Task(stage="lidar_tiles", tile="all", func=lidar_tiles_task,
                 args=(paths, str(ctx.out("3dtiles", "lidar"))),
                 kwargs={"source_crs": lidar_crs, "geoid_model": settings.geoid_model,
                         "chunk_size": settings.chunk_size,
                         "max_points_per_tile": settings.max_points_per_tile},
                 params={"geoid": settings.geoid_model, "max": settings.max_points_per_tile,
                         "crs": lidar_crs},
                 input_hashes=[ctx.hash_file(p) for p in paths])]


STAGE = Stage(name="lidar", settings=LidarSettings, plan=plan_rasters, wanted=_has_files,
              code=("pipeline.lidar", "pipeline.geo"), needs=(), reach="run")
POINT_TILES = Stage(name="lidar_tiles", settings=LidarSettings, plan=plan_point_tiles,
                    section="lidar",
                    wanted=lambda d: _has_files(d) and d.stages.lidar.point_tiles,
                    code=("pipeline.lidar", "pipeline.geo", "tiles"), needs=(), reach="run")
