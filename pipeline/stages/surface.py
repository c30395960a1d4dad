"""``surface``: per tile, DSM, canopy, terrain and building-id rasters (tile plus halo).

Reads the ingested buildings, vegetation and terrain of the tile and its neighbours (and
the tile's LiDAR rasters when the LiDAR stage ran, and the trees the ``trees`` stage found
in the tile and its neighbours when ``canopy_source`` draws them) and writes four COGs (float32
orthometric metres) and the building table, see :mod:`pipeline.surface.model`:
``<tile>_dsm.tif`` (terrain and buildings), ``<tile>_terrain.tif``, ``<tile>_canopy.tif``
(NaN where no tree), ``<tile>_canopy_habit.tif`` (uint8 leaf habit of each canopy cell:
0 none, 1 deciduous, 2 evergreen, 3 unknown; :mod:`pipeline.surface.habit`),
``<tile>_building_id.tif`` (int32 index into
``<tile>_buildings.parquet``: ``building_index``, ``gml_id``, footprint; -1 none).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field

from pipeline.core.settings import InputPath, StageSettings
from pipeline.core.stage import Stage
from pipeline.core.task import Outputs, PlanContext, Record, Result, Task, done, keys, tile_neighbourhood

log = logging.getLogger(__name__)


class SurfaceSettings(StageSettings):
    """Surface model per tile (DSM, canopy, terrain, building id)."""

    terrain_source: Literal["auto", "dem", "lidar", "flat"] = Field(
        "auto",
        description="`auto`/`dem`: DEM TIN, LiDAR DTM where the DEM has none; `lidar`: "
        "LiDAR DTM first; `flat`: `ground_elevation_m` everywhere. Cells beyond every source "
        "take the nearest known height.",
    )
    canopy_source: Literal["all", "plateau", "lidar", "trees", "plateau+trees", "none"] = Field(
        "all",
        description="`all`: the higher of PLATEAU `veg` and LiDAR canopy per cell; "
        "`plateau`; `lidar`; `trees`: the trees the `trees` stage found in the LiDAR, drawn as "
        "crowns like PLATEAU's (leaf habit unknown); `plateau+trees`: the higher of PLATEAU "
        "`veg` and those per cell; `none`.",
    )
    ground_elevation_m: float = Field(
        0.0, ge=-500, le=9000, description="Flat ground when there is no terrain data."
    )
    lidar_canopy_min_m: float = Field(
        2.0, ge=0, le=100, description="LiDAR canopy lower than this is not a tree."
    )
    default_crown_diameter_m: float = Field(
        5.0,
        gt=0,
        le=100,
        description=("Crown of a PLATEAU tree without `crownDiameter` (when its geometry gives none)."),
    )


@dataclass(frozen=True)
class SurfaceOutputs(Outputs):
    """One tile's surface model on the tile grid plus halo (COGs, float32 orthometric metres
    unless said): ``dsm``, ``terrain``, ``canopy`` (NaN where no tree), ``canopy_habit``
    (uint8 leaf habit: 0 none, 1 deciduous, 2 evergreen, 3 unknown), ``building_id``
    (int32 index into ``buildings``, -1 none) and ``buildings`` (GeoParquet:
    ``building_index``, ``gml_id``, footprint)."""

    dsm: str
    terrain: str
    canopy: str
    building_id: str
    buildings: str
    canopy_habit: str | None = None


#: ``inputs.measures``: the measures files (docs/measures.md), applied to every tile's surface.
MEASURES_INPUT = (
    list[InputPath],
    Field(
        default_factory=list,
        description=(
            "Measures files (GeoJSON or GeoPackage with a declared CRS): trees, tree rows, canopies, "
            "buildings, removed buildings and street changes, applied to the surface and the street "
            "network; with `inputs.baseline`, only the tiles they reach are recomputed. See "
            "docs/measures.md."
        ),
    ),
)

#: ``canopy_source`` values that draw the trees of the ``trees`` stage.
TREE_SOURCES = ("trees", "plateau+trees")


def surface_tile(
    tile: str,
    grid,
    out_dir: str,
    *,
    settings: SurfaceSettings,
    ingest: list[Record] = (),
    lidar: list[Record] = (),
    trees: list[Record] = (),
    measures: tuple[str, ...] = (),
) -> Result:
    """Build and write the surface rasters of one tile on ``grid`` (tile plus halo), with
    the ``measures`` files applied (:mod:`pipeline.measures.surface`)."""
    import geopandas as gpd
    import numpy as np

    from pipeline.geo.raster import write_cog
    from pipeline.surface.model import build_buildings, build_canopy, build_terrain
    from pipeline.surface.rasterize import merge_max
    from tiles.atomic import atomic_path

    start = time.perf_counter()
    layer = {kind: [r for r in ingest if r.feature_type == kind] for kind in ("dem", "bldg", "veg")}
    rasters = lidar[0].outputs if lidar else None
    dtm, chm = (rasters.dtm, rasters.chm) if rasters else (None, None)
    terrain, terrain_source = build_terrain(
        grid,
        [r.outputs.meshes for r in layer["dem"]],
        dtm,
        terrain_source=settings.terrain_source,
        ground_elevation_m=settings.ground_elevation_m,
    )
    buildings, heights, index, gml_ids = build_buildings(
        grid, [r.outputs.table for r in layer["bldg"]], [r.outputs.meshes for r in layer["bldg"]]
    )
    dsm = merge_max(terrain, heights)
    canopy, habit, canopy_source = build_canopy(
        grid,
        [r.outputs.table for r in layer["veg"]],
        chm,
        dtm,
        terrain,
        canopy_source=settings.canopy_source,
        lidar_canopy_min_m=settings.lidar_canopy_min_m,
        default_crown_diameter_m=settings.default_crown_diameter_m,
        detected_trees=[r.outputs.trees for r in trees],
    )
    applied = None
    if measures:
        from pipeline.measures.reader import read_measure_files
        from pipeline.measures.surface import TileSurface, apply_measures

        measure_set = read_measure_files(
            measures, grid.crs, default_crown_diameter_m=settings.default_crown_diameter_m
        )
        applied = apply_measures(
            TileSurface(dsm, terrain, canopy, habit, index, list(gml_ids)), measure_set, grid
        )
        dsm, canopy, habit, index = (
            applied.surface.dsm,
            applied.surface.canopy,
            applied.surface.habit,
            applied.surface.building_id,
        )
        added = applied.surface.gml_ids[len(gml_ids) :]
        gml_ids = applied.surface.gml_ids
        by_id = {f"measure:{b.source}": b.polygon for b in measure_set.buildings}
        footprints_added = [by_id[g] for g in added]
    else:
        footprints_added = []

    folder = Path(out_dir)
    tags = {"tile": tile, "heights": "orthometric metres"}
    outputs = {
        "dsm": write_cog(folder / f"{tile}_dsm.tif", dsm.astype(np.float32), grid, nodata=np.nan, tags=tags),
        "terrain": write_cog(
            folder / f"{tile}_terrain.tif",
            terrain.astype(np.float32),
            grid,
            nodata=np.nan,
            tags={**tags, "source": terrain_source},
        ),
        "canopy": write_cog(
            folder / f"{tile}_canopy.tif",
            canopy.astype(np.float32),
            grid,
            nodata=np.nan,
            tags={**tags, "source": canopy_source},
        ),
        "canopy_habit": write_cog(
            folder / f"{tile}_canopy_habit.tif",
            habit.astype(np.uint8),
            grid,
            tags={**tags, "codes": "0 none, 1 deciduous, 2 evergreen, 3 unknown"},
        ),
        "building_id": write_cog(
            folder / f"{tile}_building_id.tif", index.astype(np.int32), grid, nodata=-1, tags=tags
        ),
    }
    table = folder / f"{tile}_buildings.parquet"
    footprints = list(buildings.geometry.to_numpy() if buildings is not None else []) + footprints_added
    with atomic_path(table) as tmp:
        gpd.GeoDataFrame(
            {"building_index": np.arange(len(gml_ids), dtype=np.int32), "gml_id": gml_ids},
            geometry=list(footprints),
            crs=grid.crs,
        ).to_parquet(tmp, index=False)
    outputs["buildings"] = str(table)
    outputs = SurfaceOutputs(**outputs)
    log.info(
        "surface %s: %d buildings, terrain from %s, canopy from %s (%.1f s)",
        tile,
        len(gml_ids),
        terrain_source,
        canopy_source,
        time.perf_counter() - start,
    )
    return Result(
        outputs=outputs,
        counts={
            "buildings": len(gml_ids),
            "canopy_cells": int(np.isfinite(canopy).sum()),
            "evergreen_cells": int((habit == 2).sum()),
            "deciduous_cells": int((habit == 1).sum()),
            **({f"measure_{k}": v for k, v in applied.counts.items()} if applied else {}),
        },
        problems=applied.problems if applied else [],
        details={"sources": {"terrain": terrain_source, "canopy": canopy_source}},
    )


def plan(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    settings: SurfaceSettings = ctx.settings("surface")
    from citygml.source import meshes_related

    ingest = done(records, "ingest")
    measures = tuple(str(p) for p in getattr(ctx.definition.inputs, "measures", []) or [])
    found = done(records, "trees") if settings.canopy_source in TREE_SOURCES else []
    tasks = []
    for tile in ctx.tiles:
        grid = ctx.tile_grid(tile)
        meshes = sorted(tile_neighbourhood(tile))
        related = [r for r in ingest if meshes_related(r.mesh_code, meshes)]
        upstream = {"ingest": keys(related), "lidar": keys(done(records, "lidar", tile=tile))}
        if settings.canopy_source in TREE_SOURCES:
            upstream["trees"] = keys(r for r in found if r.tile in meshes)
            if not done(found, "trees", tile=tile):
                ctx.problems.append(
                    f"surface {tile}: stages.surface.canopy_source is {settings.canopy_source!r} "
                    "but the trees stage did not run for this tile (is stages.trees enabled, "
                    "and does inputs.lidar cover the tile?)"
                )
        tasks.append(
            Task(
                stage="surface",
                tile=tile,
                func=surface_tile,
                args=(tile, grid, str(ctx.out("surface"))),
                kwargs={"settings": settings, "measures": measures},
                params={"grid": grid.__dict__, "settings": settings.model_dump()},
                input_hashes=[ctx.hash_file(p) for p in measures],
                upstream=upstream,
                meshes=(tile,),
            )
        )
    return tasks


# Ingest and detected trees of the tile and its neighbours (the halo), LiDAR of the tile.
STAGE = Stage(
    name="surface",
    settings=SurfaceSettings,
    plan=plan,
    code=("pipeline.surface", "pipeline.measures", "pipeline.geo"),
    needs=("ingest", "lidar", "trees"),
    reach="neighbours",
    outputs=SurfaceOutputs,
    reads={"ingest": ("table", "meshes"), "lidar": ("dtm", "chm"), "trees": ("trees",)},
    inputs={"measures": MEASURES_INPUT},
)
