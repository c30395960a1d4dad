"""3D Tiles 1.1 per PLATEAU layer, written one ingest file at a time, in four stages.

- ``export_properties`` (one task per file): what the file tells its layer's schema;
- ``export_schema`` (one small task per layer): the partials merged into the layer's plan;
- ``export_tiles`` (one task per file): the file's part, an external tileset;
- ``export_tileset`` (one small task per layer): the layer's ``tileset.json`` over its parts.

So no task holds more than one file's features (:mod:`pipeline.tiles3d.layer`). Last in
the run: every upstream record that hands a per-feature table to a layer
(``Result.feature_type`` names the layer, ``outputs.feature_table`` is a Parquet table
keyed by ``gml_id``: the shadow stage's roof shade hours per tile, the walkability
summary's nearest street) joins that layer's property tables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from pipeline.core.settings import InputPath, StageSettings
from pipeline.core.stage import Stage
from pipeline.core.task import Outputs, PlanContext, Record, Result, Task, done, keys
from pipeline.stages.trees import LIDAR_VEG_LAYER
from pipeline.tiles3d import LAYERS

#: The 3D Tiles export's input files (``inputs.extra_tables``).
INPUTS: dict[str, Any] = {
    "extra_tables": (
        list[InputPath],
        Field(
            default_factory=list,
            description=(
                "More (Geo)Parquet tables with `gml_id` whose columns join the 3D Tiles property "
                "tables of the exported layers."
            ),
        ),
    ),
}
#: Where that key was before every input moved under ``inputs:``.
MOVED = {"stages.export_tiles.extra_tables": "inputs.extra_tables"}


class ExportTilesSettings(StageSettings):
    """3D Tiles 1.1 per PLATEAU layer, with the run's per-building results joined."""

    enabled: bool = Field(
        False,
        description="Export 3D Tiles at the end of the run (after "
        "shadow and walkability, whose per-building results join the property "
        "tables).",
    )
    layers: list[str] = Field(
        default_factory=lambda: list(LAYERS),
        description="PLATEAU modules exported, one tileset each; `veg_lidar`: the trees the "
        "`trees` stage found in the LiDAR (its `trees/udx/veg/`).",
    )
    geoid_model: Literal["gsigeo2011", "jpgeo2024"] = Field(
        "gsigeo2011",
        description="GSI geoid added to orthometric heights (`gsigeo2011` for "
        "JGD2011 heights, as PLATEAU; `jpgeo2024` for JGD2024).",
    )
    max_features_per_tile: int = Field(
        500, ge=1, le=100_000, description="Features per tile content at most."
    )
    textures: bool = Field(True, description="Embed texture images (else material colours).")

    @field_validator("layers")
    @classmethod
    def _modules(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not re.fullmatch(r"[a-z]+", v) and v != LIDAR_VEG_LAYER]
        if bad or not value:
            raise ValueError(
                f"layers must be PLATEAU module names like 'bldg' or {LIDAR_VEG_LAYER!r}, got {bad or value}"
            )
        return list(dict.fromkeys(value))


@dataclass(frozen=True)
class PartialOutputs(Outputs):
    """``partial``: what one file tells its layer's schema (JSON)."""

    partial: str


@dataclass(frozen=True)
class SchemaOutputs(Outputs):
    """``plan``: the layer's merged schema and joined columns (JSON)."""

    plan: str


@dataclass(frozen=True)
class TilesetOutputs(Outputs):
    """``tileset``: a ``tileset.json`` (a file's part, or a layer's root over its parts);
    None when the part held no feature."""

    tileset: str | None = None


def feature_tables(records: list[Record], layer: str) -> list[str]:
    """Paths of the per-feature tables that ``records`` hand to ``layer``: the
    ``feature_table`` output of any stage that declares one (an outputs type with a
    ``feature_table`` field), for records whose ``feature_type`` is ``layer``."""
    return sorted(
        r.outputs.feature_table
        for r in records
        if r.done and getattr(r.outputs, "feature_table", None) and r.feature_type == layer
    )


def _part_tile(layer: str, mesh: str) -> str:
    from pipeline.tiles3d.layer import part_name

    return f"{layer}_{part_name(mesh, layer)}"


# -- 1. one schema partial per file ----------------------------------------------------------
def export_properties_task(
    layer: str,
    table: str | None,
    mesh: str,
    partial_path: str,
    *,
    extra_tables: list[str],
    **upstream: list[Record],
) -> Result:
    """What one file tells its layer's schema (runs on a worker)."""
    import json

    from pipeline.tiles3d.layer import file_partial
    from tiles.atomic import write_text_atomic

    partial = file_partial(layer, table, mesh, extra_tables)
    write_text_atomic(partial_path, json.dumps(partial.to_json(), ensure_ascii=False, sort_keys=True))
    return Result(
        outputs=PartialOutputs(partial=partial_path),
        feature_type=layer,
        counts={"properties": len(partial.source_keys)},
        details={"table": table, "mesh": mesh, "extra_tables": extra_tables},
    )


def _layer_files(records: Mapping[str, Record], layer: str) -> list[Record]:
    """The records of a layer's ingested files (``table``, ``meshes``): the ingest stage's,
    or for :data:`~pipeline.stages.trees.LIDAR_VEG_LAYER` the ``trees`` stage's."""
    if layer == LIDAR_VEG_LAYER:
        return [r for r in done(records, "trees") if r.outputs.meshes]
    return done(records, "ingest", feature_type=layer)


def plan_properties(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    """One task per ingest file of each exported layer; upstream: the file's ingest (or
    trees) task and every record that hands the layer a per-feature table."""
    settings: ExportTilesSettings = ctx.settings("export_tiles")
    tasks = []
    for layer in settings.layers:
        handing = [
            r
            for r in records.values()
            if not r.stage.startswith("export_") and r.stage != "ingest" and feature_tables([r], layer)
        ]
        extra = [*(str(p) for p in ctx.definition.inputs.extra_tables), *feature_tables(handing, layer)]
        for record in _layer_files(records, layer):
            mesh = record.outputs.meshes
            if not mesh:
                continue
            tile = _part_tile(layer, mesh)
            tasks.append(
                Task(
                    stage="export_properties",
                    tile=tile,
                    func=export_properties_task,
                    args=(
                        layer,
                        record.outputs.table,
                        mesh,
                        str(ctx.out("export", layer, f"{tile}_partial.json")),
                    ),
                    kwargs={"extra_tables": extra},
                    input_hashes=[ctx.hash_file(p) for p in ctx.definition.inputs.extra_tables],
                    upstream={record.stage: [record.key], "handing": sorted(r.key for r in handing)},
                )
            )
    return tasks


# -- 2. the layer's schema, merged ----------------------------------------------------------
def export_schema_task(
    layer: str, plan_path: str, partial_paths: list[str], **upstream: list[Record]
) -> Result:
    """Merge a layer's partials, in file order, into its plan (runs on a worker)."""
    import json

    from pipeline.tiles3d.layer_schema import SchemaPartial, merge_partials

    plan = merge_partials(
        [SchemaPartial.from_json(json.loads(Path(p).read_text(encoding="utf-8"))) for p in partial_paths]
    )
    plan.write(plan_path)
    return Result(
        outputs=SchemaOutputs(plan=plan_path),
        feature_type=layer,
        counts={
            "properties": len(plan.schema.types),
            "classes": len(plan.schema.classes),
            "joined": len(plan.extra_columns),
        },
        details={"extra_columns": plan.extra_columns, "left_out": plan.left_out},
    )


def _by_layer(records: list[Record]) -> dict[str, list[Record]]:
    layers: dict[str, list[Record]] = {}
    for record in records:
        layers.setdefault(record.feature_type, []).append(record)
    return layers


def plan_schema(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    """One small task per layer, when all its files' partials are in."""
    tasks = []
    for layer, parts in sorted(_by_layer(done(records, "export_properties")).items()):
        tasks.append(
            Task(
                stage="export_schema",
                tile=layer,
                func=export_schema_task,
                args=(layer, str(ctx.out("export", layer, "plan.json")), [r.outputs.partial for r in parts]),
                upstream={"partials": keys(parts)},
            )
        )
    return tasks


# -- 3. one part per file -------------------------------------------------------------------
def export_tiles_task(
    layer: str,
    table: str | None,
    mesh: str,
    out_dir: str,
    plan_path: str,
    *,
    extra_tables: list[str],
    options: dict,
    **upstream: list[Record],
) -> Result:
    """Write one file's part of a layer (runs on a worker).

    Its tile contents are written in the task, one after another: the files of a city are
    the parallel work. Handing each part's contents to the cluster as tasks of their own
    put every feature of the parts in flight into the scheduler (1.5 GB on a 64-tile
    district) for no gain.
    """
    from pipeline.tiles3d.layer import export_layer_part
    from pipeline.tiles3d.layer_schema import LayerPlan

    result = export_layer_part(
        layer,
        table,
        mesh,
        out_dir,
        LayerPlan.read(plan_path),
        extra_tables=extra_tables,
        scheduler="synchronous",
        **options,
    )
    return Result(
        outputs=TilesetOutputs(tileset=result.tileset or None),
        feature_type=layer,
        counts={
            "features": result.features,
            "tiles": result.tiles,
            "contents": result.contents,
            "bytes": result.bytes_written,
        },
        problems=result.problems,
    )


def plan_tiles(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    """One task per file, once its layer's plan is merged."""
    settings: ExportTilesSettings = ctx.settings("export_tiles")
    datasets = [str(p) for p in ctx.definition.inputs.citygml]
    options = {
        "dataset_path": datasets,
        "crs": ctx.crs,
        "geoid_model": settings.geoid_model,
        "max_features_per_tile": settings.max_features_per_tile,
        "textures": settings.textures,
    }
    schemas = {r.tile: r for r in done(records, "export_schema")}
    tasks = []
    for record in done(records, "export_properties"):
        schema = schemas.get(record.feature_type)
        if schema is None:
            continue
        tasks.append(
            Task(
                stage="export_tiles",
                tile=record.tile,
                func=export_tiles_task,
                args=(
                    record.feature_type,
                    record.details["table"],
                    record.details["mesh"],
                    str(ctx.out("3dtiles")),
                    schema.outputs.plan,
                ),
                kwargs={"extra_tables": record.details["extra_tables"], "options": options},
                params={"crs": ctx.crs, "settings": settings.model_dump(mode="json")},
                upstream={"partial": [record.key], "schema": [schema.key]},
            )
        )
    return tasks


# -- 4. the layer's root over its parts ------------------------------------------------------
def export_tileset_task(
    layer: str, out_dir: str, part_tilesets: list[str], **upstream: list[Record]
) -> Result:
    """The layer's tileset.json over its parts (runs on a worker)."""
    from pipeline.tiles3d.layer import export_layer_root
    from tiles import check_tileset

    tileset = export_layer_root(layer, part_tilesets, out_dir)
    records = upstream.get("parts", [])
    counts = {
        name: sum(int(r.counts.get(name, 0)) for r in records)
        for name in ("features", "tiles", "contents", "bytes")
    }
    return Result(
        outputs=TilesetOutputs(tileset=str(tileset)),
        feature_type=layer,
        counts={"parts": len(part_tilesets), **counts},
        problems=[f"{tileset}: {p}" for p in check_tileset(tileset)],
    )


def plan_tileset(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    """One small task per layer that wrote at least one part."""
    tasks = []
    for layer, parts in sorted(_by_layer(done(records, "export_tiles")).items()):
        written = [r for r in parts if r.outputs.tileset]
        if not written:
            continue
        tasks.append(
            Task(
                stage="export_tileset",
                tile=layer,
                func=export_tileset_task,
                args=(layer, str(ctx.out("3dtiles")), [r.outputs.tileset for r in written]),
                upstream={"parts": keys(parts)},
            )
        )
    return tasks


_CODE = ("pipeline.tiles3d", "pipeline.viewer", "pipeline.geo", "tiles")
# needs=None: every stage before it, as any of them may hand a layer a feature table.
PROPERTIES = Stage(
    name="export_properties",
    settings=ExportTilesSettings,
    plan=plan_properties,
    section="export_tiles",
    code=_CODE,
    needs=None,
    reach="run",
    outputs=PartialOutputs,
    reads={"ingest": ("table", "meshes"), "trees": ("table", "meshes")},
    inputs=INPUTS,
    moved=MOVED,
)
SCHEMA = Stage(
    name="export_schema",
    settings=ExportTilesSettings,
    plan=plan_schema,
    section="export_tiles",
    code=_CODE,
    needs=("export_properties",),
    reach="run",
    outputs=SchemaOutputs,
    reads={"export_properties": ("partial",)},
)
STAGE = Stage(
    name="export_tiles",
    settings=ExportTilesSettings,
    plan=plan_tiles,
    code=_CODE,
    needs=("export_properties", "export_schema"),
    reach="run",
    outputs=TilesetOutputs,
    reads={"export_schema": ("plan",)},
)
TILESET = Stage(
    name="export_tileset",
    settings=ExportTilesSettings,
    plan=plan_tileset,
    section="export_tiles",
    code=_CODE,
    needs=("export_tiles",),
    reach="run",
    outputs=TilesetOutputs,
    reads={"export_tiles": ("tileset",)},
)
