"""``trees`` (one task per tile the LiDAR touches), ``trees_changes`` (one per such tile)
and ``trees_changes_table`` (one small run-wide task): individual trees found in the
LiDAR, written as PLATEAU vegetation, and what changed against the model's ``veg``.

- ``trees`` runs :func:`pipeline.trees.tile.write_mesh_trees`, the step ``machi trees``
  takes per tile: ``<output>/trees/udx/veg/<mesh>_veg_6697_op.gml`` (i-UR
  ``veg:SolitaryVegetationObject``, with ``<output>/trees/codelists/``) and the tile's trees
  as GeoParquet, ``<output>/trees/tiles/<mesh>_trees.parquet`` (crown polygons in the run's
  CRS, :data:`pipeline.trees.detect.COLUMNS`), which ``stages.surface.canopy_source:
  trees`` draws as crowns. PLATEAU building footprints of the tile and its neighbours are
  masked besides the LiDAR's class 6.
- ``trees_changes`` matches the detected trees of a tile and its eight neighbours with the
  existing solitary trees of the ingested ``veg`` (:func:`pipeline.trees.changes.mesh_changes`)
  and keeps the rows the tile owns: ``<output>/trees/changes/<mesh>_changes.parquet``.
- ``trees_changes_table`` concatenates those, tile by tile in mesh order, into
  ``<output>/trees/changes.parquet``: the rows of a whole-city matching, each once, the same
  bytes for any number of workers; with ``changes_counts.csv`` (trees per status) and
  ``changes.png`` (the change map over the LiDAR stage's canopy height model, drawn by
  :func:`pipeline.trees.changes.write_change_map` as ``machi trees --veg`` draws it).

All are configured by ``stages.trees`` and run only when ``inputs.lidar`` names files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field

from pipeline.core.settings import StageSettings
from pipeline.core.stage import Stage
from pipeline.core.task import Outputs, PlanContext, Record, Result, Task, done, keys, tile_neighbourhood


class TreesSettings(StageSettings):
    """Individual trees from the LiDAR, written as PLATEAU vegetation (docs/trees.md)."""

    enabled: bool = Field(
        False,
        description="Find trees in the LiDAR per tile and write them as "
        "PLATEAU veg (`trees/udx/veg/`); runs only when `inputs.lidar` names files.",
    )
    window: Literal["deciduous", "pines", "combined"] = Field(
        "deciduous",
        description="Popescu & Wynne (2004) crown-width equation giving the "
        "local-maximum window (`deciduous`: Japanese street trees are mostly broadleaves).",
    )
    min_tree_height_m: float = Field(
        2.0,
        ge=0.5,
        le=50,
        description=("Lowest tree top and crown cell above ground (lidR `dalponte2016` `th_tree`)."),
    )
    changes: bool = Field(
        True,
        description="Compare the trees found with the ingested `veg` "
        "(`trees/changes.parquet`: matched within 2 m, height changed, new, gone).",
    )


#: The 3D Tiles layer of the trees found (``stages.export_tiles.layers``): their veg GML
#: ingested like a PLATEAU file (``table``, ``meshes``), exported beside PLATEAU's ``veg``.
LIDAR_VEG_LAYER = "veg_lidar"


@dataclass(frozen=True)
class TreesOutputs(Outputs):
    """One tile's trees: ``trees`` (GeoParquet, one row per tree whose position is in the
    tile, crown polygons in the run's CRS) and ``veg`` (its PLATEAU veg GML; None: no tree);
    ``table`` and ``meshes``, that GML ingested as :mod:`pipeline.ingest` ingests a PLATEAU
    file (the 3D Tiles layer :data:`LIDAR_VEG_LAYER`)."""

    trees: str
    veg: str | None = None
    table: str | None = None
    meshes: str | None = None


@dataclass(frozen=True)
class TreeChangesOutputs(Outputs):
    """Changes against the existing ``veg`` (GeoParquet, :data:`pipeline.trees.changes.CHANGE_COLUMNS`):
    a tile's rows, or the run's table; the run's also ``map`` (``changes.png``) and
    ``counts`` (``changes_counts.csv``: trees per status, labelled in Japanese and English)."""

    changes: str
    map: str | None = None
    counts: str | None = None


def _wanted(definition) -> bool:
    return bool(definition.inputs.lidar)


def _parameters(settings: TreesSettings):
    from pipeline.trees.parameters import TreeParameters

    return TreeParameters(window=settings.window, min_tree_height_m=settings.min_tree_height_m)


def _neighbourhood(records: list[Record], tile: str) -> list[Record]:
    from citygml.source import meshes_related

    meshes = sorted(tile_neighbourhood(tile))
    return [r for r in records if meshes_related(r.mesh_code, meshes)]


# -- trees per tile -----------------------------------------------------------------------
def trees_tile(
    paths: list[str],
    tile: str,
    crs: str,
    out_dir: str,
    *,
    settings: TreesSettings,
    source_crs: str | None,
    ingest: list[Record] = (),
) -> Result:
    """Trees of one tile from the LAS/LAZ files touching it (runs on a worker)."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    from pipeline.trees.tile import mesh_grid, write_mesh_trees
    from tiles.atomic import atomic_path

    params = _parameters(settings)
    box = shapely.box(*mesh_grid(tile, crs, params).bounds)
    tables = [gpd.read_parquet(r.outputs.table, columns=["geometry"]) for r in ingest if r.outputs.table]
    footprints = [g for t in tables for g in t.geometry[t.geometry.intersects(box)]]
    out = Path(out_dir)
    stale = out / "udx" / "veg" / f"{tile}_veg_6697_op.gml"
    result = write_mesh_trees(
        paths, tile, crs, out, params=params, source_crs=source_crs, footprints=footprints
    )
    if result.gml is None and stale.exists():
        stale.unlink()  # a rerun that finds no tree leaves no veg file of an earlier one
    table = out / "tiles" / f"{tile}_trees.parquet"
    table.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(table) as tmp:
        result.trees.to_parquet(tmp, index=False)
    classes = pd.Series(result.trees.class_code).value_counts().sort_index()
    ingested = _ingest_veg(result.gml, out / "ingest", crs) if result.gml else None
    return Result(
        outputs=TreesOutputs(
            trees=str(table),
            veg=result.gml,
            table=ingested.table if ingested else None,
            meshes=ingested.meshes if ingested else None,
        ),
        counts={
            "trees": len(result.trees),
            "points": result.stats.points_in_tile,
            "vegetation_points": result.stats.vegetation_points,
            **{f"class_{k}": int(v) for k, v in classes.items()},
        },
    )


def _ingest_veg(gml: str, out_dir: Path, crs: str):
    """The tile's veg GML ingested (:func:`pipeline.ingest.ingest_file`) under ``out_dir``."""
    from citygml import open_dataset
    from pipeline.ingest import ingest_file

    [source] = open_dataset(gml)
    return ingest_file(source, out_dir, crs)


def plan_trees(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    """One task per tile whose LiDAR files are known, with the footprints of the
    buildings of the tile and its neighbours."""
    from pipeline.stages.lidar import files_touching
    from pipeline.trees.tile import mesh_grid

    settings: TreesSettings = ctx.settings("trees")
    lidar_crs = ctx.definition.inputs.lidar_crs
    params = _parameters(settings)
    bldg = [r for r in done(records, "ingest") if r.feature_type == "bldg"]
    tasks = []
    for tile in ctx.tiles:
        paths, _ = files_touching(
            ctx.definition.inputs.lidar, mesh_grid(tile, ctx.crs, params), lidar_crs
        )  # the lidar stage reports files it cannot read
        if not paths:
            continue
        buildings = _neighbourhood(bldg, tile)
        tasks.append(
            Task(
                stage="trees",
                tile=tile,
                func=trees_tile,
                args=(paths, tile, ctx.crs, str(ctx.out("trees"))),
                kwargs={"settings": settings, "source_crs": lidar_crs},
                params={"settings": settings.model_dump(mode="json"), "crs": ctx.crs, "lidar_crs": lidar_crs},
                input_hashes=[ctx.hash_file(p) for p in paths],
                upstream={"ingest": keys(buildings)},
                meshes=(tile,),
            )
        )
    return tasks


# -- changes against the existing veg ------------------------------------------------------
def changes_tile(
    tile: str, crs: str, out_dir: str, *, trees: list[Record] = (), ingest: list[Record] = ()
) -> Result:
    """The change rows tile ``tile`` owns (runs on a worker)."""
    import geopandas as gpd
    import pandas as pd

    from pipeline.trees.changes import change_counts, mesh_changes, write_changes
    from pipeline.trees.detect import empty_trees
    from pipeline.trees.existing import existing_trees_from_tables

    existing = existing_trees_from_tables([r.outputs.table for r in ingest if r.outputs.table], crs)
    found = [t for t in (gpd.read_parquet(r.outputs.trees) for r in trees) if len(t)]
    detected = pd.concat(found, ignore_index=True) if found else empty_trees(crs)
    changes = mesh_changes(existing, detected, crs, tile)
    path = write_changes(changes, Path(out_dir) / "changes" / f"{tile}_changes.parquet")
    return Result(outputs=TreeChangesOutputs(changes=path), counts=change_counts(changes))


def plan_changes(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    """One task per tile with trees, reading the trees and ``veg`` of it and its neighbours."""
    found = done(records, "trees")
    veg = [r for r in done(records, "ingest") if r.feature_type == "veg"]
    tasks = []
    for tile in ctx.tiles:
        if not done(found, "trees", tile=tile):
            continue
        around = tile_neighbourhood(tile)
        trees = [r for r in found if r.tile in around]
        existing = _neighbourhood(veg, tile)
        tasks.append(
            Task(
                stage="trees_changes",
                tile=tile,
                func=changes_tile,
                args=(tile, ctx.crs, str(ctx.out("trees"))),
                params={"crs": ctx.crs},
                upstream={"trees": keys(trees), "ingest": keys(existing)},
                meshes=(tile,),
            )
        )
    return tasks


def changes_table_task(
    out_dir: str,
    parts: list[str],
    *,
    trees_changes: list[Record] = (),
    lidar: list[Record] = (),
    lang: str = "ja",
) -> Result:
    """The run's change table (the tiles' rows, in mesh order), its counts per status as
    CSV and its map over the LiDAR stage's canopy height model, in the report's language
    ``lang`` (runs on a worker)."""
    import geopandas as gpd

    from pipeline.geo.parquet import concat_parquet
    from pipeline.trees.changes import write_change_counts, write_run_change_map

    out = Path(out_dir)
    target = out / "changes.parquet"
    rows = concat_parquet(parts, target)
    changes = gpd.read_parquet(target)
    counts_csv = write_change_counts(changes, out / "changes_counts.csv")
    chm = sorted(r.outputs.chm for r in lidar if r.outputs.chm)
    png = write_run_change_map(out / "changes.png", changes, chm, lang=lang)
    counts: dict[str, int] = {"trees": rows}
    for record in trees_changes:
        for status, n in record.counts.items():
            counts[status] = counts.get(status, 0) + int(n)
    return Result(
        outputs=TreeChangesOutputs(changes=str(target), map=png, counts=counts_csv),
        counts=counts,
        details={"tiles": [r.tile for r in trees_changes]},
    )


def plan_changes_table(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    """One small task once every tile's rows are written."""
    parts = done(records, "trees_changes")  # sorted by tile: mesh order
    if not parts:
        return []
    return [
        Task(
            stage="trees_changes_table",
            tile="all",
            func=changes_table_task,
            args=(str(ctx.out("trees")), [r.outputs.changes for r in parts]),
            kwargs={"lang": ctx.settings("walkability").report_lang},
            params={"lang": ctx.settings("walkability").report_lang},
            upstream={"trees_changes": keys(parts), "lidar": keys(done(records, "lidar"))},
        )
    ]


def _wants_changes(definition) -> bool:
    return _wanted(definition) and definition.stages.trees.changes


STAGE = Stage(
    name="trees",
    settings=TreesSettings,
    plan=plan_trees,
    wanted=_wanted,
    code=("pipeline.trees", "pipeline.lidar", "pipeline.geo", "pipeline.ingest", "citygml"),
    needs=("ingest",),
    reach="neighbours",
    outputs=TreesOutputs,
    reads={"ingest": ("table",)},
)
CHANGES = Stage(
    name="trees_changes",
    settings=TreesSettings,
    plan=plan_changes,
    section="trees",
    wanted=_wants_changes,
    code=("pipeline.trees", "pipeline.geo"),
    needs=("ingest", "trees"),
    reach="neighbours",
    outputs=TreeChangesOutputs,
    reads={"ingest": ("table",), "trees": ("trees",)},
)
CHANGES_TABLE = Stage(
    name="trees_changes_table",
    settings=TreesSettings,
    plan=plan_changes_table,
    section="trees",
    wanted=_wants_changes,
    code=("pipeline.trees", "pipeline.geo"),
    needs=("lidar", "trees_changes"),
    reach="run",
    outputs=TreeChangesOutputs,
    reads={"trees_changes": ("changes",), "lidar": ("chm",)},
)
