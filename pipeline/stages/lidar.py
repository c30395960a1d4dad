"""``lidar`` (one task per tile a LAS/LAZ file touches), ``lidar_tiles`` (one task per
mesh cell the points reach) and ``lidar_tileset`` (one small task).

``lidar`` writes DTM, DSM, nDSM, canopy height and density COGs on the tile grid plus
halo (:mod:`pipeline.lidar.tile`). ``lidar_tiles`` writes the points of one third-level
mesh cell as a 3D Tiles 1.1 point cloud (:mod:`pipeline.lidar.point_tiles`), and
``lidar_tileset`` the root over those parts (:mod:`tiles.collection`), so no task holds
more than one cell's points. All are configured by ``stages.lidar`` and run only when
``inputs.lidar`` names files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from pipeline.core.settings import InputPath, StageSettings, one_or_many
from pipeline.core.stage import Stage
from pipeline.core.task import Outputs, PlanContext, Record, Result, Task, done, keys

#: The run's LiDAR inputs (``inputs.lidar``, ``inputs.lidar_crs``).
INPUTS: dict[str, Any] = {
    "lidar": (
        Annotated[list[InputPath], BeforeValidator(one_or_many)],
        Field(default_factory=list, description="LAS/LAZ files."),
    ),
    "lidar_crs": (
        str | None,
        Field(
            None,
            description="CRS of LAS/LAZ files whose header names "
            "none (it also overrides a header CRS, with a warning).",
        ),
    ),
}


class LidarSettings(StageSettings):
    """LiDAR rasters per tile (DTM, DSM, nDSM, canopy height, density) and point tiles."""

    enabled: bool = Field(True, description="LiDAR rasters; runs only when `inputs.lidar` names files.")
    backend: Literal["auto", "laspy", "pdal"] = Field(
        "auto",
        description="`laspy`, `pdal` (when `import pdal` works), or `auto` (PDAL if importable, else laspy).",
    )
    chunk_size: int = Field(
        1_000_000, ge=10_000, le=100_000_000, description="Points read per chunk (bounds memory)."
    )
    point_tiles: bool = Field(
        True,
        description="Also write every point as a 3D Tiles 1.1 point "
        "cloud (`lidar_tiles`: a part per mesh cell; `lidar_tileset`: the root).",
    )
    max_points_per_tile: int = Field(
        100_000, ge=1_000, le=10_000_000, description="Points per point-cloud tile."
    )
    geoid_model: Literal["gsigeo2011", "jpgeo2024", "none"] = Field(
        "gsigeo2011",
        description="GSI geoid (`gsigeo2011`, `jpgeo2024`) added to orthometric "
        "heights for the point tiles; `none` for data outside Japan.",
    )


@dataclass(frozen=True)
class LidarOutputs(Outputs):
    """One tile's LiDAR rasters (COGs on the tile grid plus halo, orthometric metres):
    terrain (``dtm``), surface (``dsm``), normalised surface (``ndsm``), canopy height
    (``chm``) and point density (points per m²)."""

    dtm: str | None = None
    dsm: str | None = None
    ndsm: str | None = None
    chm: str | None = None
    density: str | None = None


@dataclass(frozen=True)
class PointTilesOutputs(Outputs):
    """A 3D Tiles point cloud: the ``tileset.json`` of a mesh cell's part, or of the run's
    root over the parts (None: the cell held no point)."""

    tileset: str | None = None


def _has_files(definition) -> bool:
    return bool(definition.inputs.lidar)


# -- rasters per tile -------------------------------------------------------------------
def lidar_tile(
    paths: list[str], grid, out_dir: str, tile: str, *, source_crs: str | None, backend: str, chunk_size: int
) -> Result:
    """Rasters of one tile from the LAS/LAZ files that touch it (runs on a worker)."""
    from pipeline.lidar.tile import lidar_rasters_for_tile, write_lidar_rasters

    rasters = lidar_rasters_for_tile(
        paths, grid, source_crs=source_crs, backend=backend, chunk_size=chunk_size
    )
    outputs = write_lidar_rasters(rasters, out_dir, tile)
    stats = dataclasses.asdict(rasters.stats)
    return Result(
        outputs=LidarOutputs.from_json(outputs, stage="lidar"),
        counts={k: v for k, v in stats.items() if isinstance(v, (int, float))},
        details={"stats": stats},
    )


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
        tasks.append(
            Task(
                stage="lidar",
                tile=tile,
                func=lidar_tile,
                args=(paths, grid, str(ctx.out("lidar")), tile),
                kwargs={
                    "source_crs": lidar_crs,
                    "backend": settings.backend,
                    "chunk_size": settings.chunk_size,
                },
                params={"grid": grid.__dict__, "crs": lidar_crs, "backend": settings.backend},
                input_hashes=[ctx.hash_file(p) for p in paths],
                meshes=(tile,),
            )
        )
    return tasks


# -- point cloud tiles -------------------------------------------------------------------
# A file's header box is widened by this much (degrees, about 1 mm) before the cells it
# touches are listed, so that a point on a cell edge always has its cell planned.
EDGE_DEG = 1e-8


def point_tile_cells(paths: list[Path], source_crs: str | None) -> tuple[dict[str, list[str]], list[str]]:
    """Third-level mesh cell -> the files whose header box touches it, and problems.

    Every point of every file lies in exactly one of these cells (half-open in
    longitude and latitude, as :func:`pipeline.lidar.reader.iter_point_chunks` cuts), so
    the point tiles of the cells hold every point once, including points outside the
    run's tiles.
    """
    from pipeline.geo import meshcode
    from pipeline.lidar.errors import LidarError
    from pipeline.lidar.reader import file_bounds

    cells: dict[str, list[str]] = {}
    problems: list[str] = []
    for path in sorted(paths):
        try:
            bounds = file_bounds(path, "EPSG:6668", source_crs=source_crs)
        except LidarError as exc:
            problems.append(str(exc))
            continue
        if bounds is None:
            continue
        lon_min, lat_min, lon_max, lat_max = bounds
        for code in meshcode.covering(
            lat_min - EDGE_DEG, lon_min - EDGE_DEG, lat_max + EDGE_DEG, lon_max + EDGE_DEG, 3
        ):
            cells.setdefault(str(int(code)), []).append(str(path))
    return dict(sorted(cells.items())), problems


def lidar_tiles_task(paths: list[str], out_dir: str, cell: str, **options) -> Result:
    """The points of one mesh cell as a 3D Tiles point cloud, the cell's part of the
    run's point tileset (runs on a worker)."""
    from pipeline.geo.tiling import tile_lonlat_bounds
    from pipeline.lidar.point_tiles import lidar_point_tiles

    written = lidar_point_tiles(paths, out_dir, bounds=tile_lonlat_bounds(cell), **options)
    tileset = written.pop("tileset")
    return Result(outputs=PointTilesOutputs(tileset=tileset or None), counts=written)


def plan_point_tiles(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    """One task per third-level mesh cell that a file's points reach."""
    settings: LidarSettings = ctx.settings("lidar")
    lidar_crs = ctx.definition.inputs.lidar_crs
    cells, problems = point_tile_cells(list(ctx.definition.inputs.lidar), lidar_crs)
    ctx.problems.extend(problems)
    return [
        Task(
            stage="lidar_tiles",
            tile=cell,
            func=lidar_tiles_task,
            args=(paths, str(ctx.out("3dtiles", "lidar", cell)), cell),
            kwargs={
                "source_crs": lidar_crs,
                "geoid_model": settings.geoid_model,
                "chunk_size": settings.chunk_size,
                "max_points_per_tile": settings.max_points_per_tile,
            },
            params={"geoid": settings.geoid_model, "max": settings.max_points_per_tile, "crs": lidar_crs},
            input_hashes=[ctx.hash_file(p) for p in paths],
            meshes=(cell,),
        )
        for cell, paths in cells.items()
    ]


def lidar_tileset_task(out_dir: str, parts: list[str], points: int, **upstream: list[Record]) -> Result:
    """The run's point tileset: a root over the cells' parts (runs on a worker)."""
    from tiles.collection import remove_stale_parts, write_tileset_of_parts

    tileset = write_tileset_of_parts(parts, out_dir)
    remove_stale_parts(out_dir, parts)
    return Result(
        outputs=PointTilesOutputs(tileset=str(tileset)), counts={"parts": len(parts), "points": points}
    )


def plan_point_tileset(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    """One small task once every cell's part is written."""
    parts = sorted(done(records, "lidar_tiles"), key=lambda r: r.tile)
    written = [r for r in parts if r.outputs.tileset]
    if not written:
        return []
    return [
        Task(
            stage="lidar_tileset",
            tile="all",
            func=lidar_tileset_task,
            args=(
                str(ctx.out("3dtiles", "lidar")),
                [r.outputs.tileset for r in written],
                sum(int(r.counts.get("points", 0)) for r in parts),
            ),
            upstream={"lidar_tiles": keys(parts)},
        )
    ]


STAGE = Stage(
    name="lidar",
    settings=LidarSettings,
    plan=plan_rasters,
    wanted=_has_files,
    code=("pipeline.lidar", "pipeline.geo"),
    needs=(),
    reach="run",
    outputs=LidarOutputs,
    inputs=INPUTS,
)
POINT_TILES = Stage(
    name="lidar_tiles",
    settings=LidarSettings,
    plan=plan_point_tiles,
    section="lidar",
    wanted=lambda d: _has_files(d) and d.stages.lidar.point_tiles,
    code=("pipeline.lidar", "pipeline.geo", "tiles"),
    needs=(),
    reach="run",
    outputs=PointTilesOutputs,
)
POINT_TILESET = Stage(
    name="lidar_tileset",
    settings=LidarSettings,
    plan=plan_point_tileset,
    section="lidar",
    wanted=lambda d: _has_files(d) and d.stages.lidar.point_tiles,
    code=("tiles",),
    needs=("lidar_tiles",),
    reach="run",
    outputs=PointTilesOutputs,
    reads={"lidar_tiles": ("tileset",)},
)
