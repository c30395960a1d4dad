"""``export_tiles``: one 3D Tiles 1.1 tileset per PLATEAU layer (one task per layer).

Last in the run: every upstream record that hands a per-feature table to a layer
(``Result.feature_type`` names the layer, ``outputs["feature_table"]`` is a Parquet table
keyed by ``gml_id``: the shadow stage's roof shade hours, the walkability summary's
nearest-street score) joins that layer's property tables. See
:mod:`pipeline.export.layer`.
"""
from __future__ import annotations

import contextlib
import re
from typing import Any, Iterator, Literal, Mapping

from pydantic import Field, field_validator

from pipeline.core.settings import InputPath, StageSettings
from pipeline.core.stage import Stage
from pipeline.core.task import PlanContext, Record, Result, Task, done, keys
from pipeline.export import LAYERS



class ExportTilesSettings(StageSettings):
    """3D Tiles 1.1 per PLATEAU layer, with the run's per-building results joined."""

    enabled: bool = Field(False, description="Export 3D Tiles at the end of the run (after "
                          "shadow and walkability, whose per-building results join the property "
                          "tables).")
    layers: list[str] = Field(default_factory=lambda: list(LAYERS),
                              description="PLATEAU modules exported, one tileset each.")
    geoid_model: Literal["gsigeo2011", "jpgeo2024"] = Field(
        "gsigeo2011", description="GSI geoid added to orthometric heights (`gsigeo2011` for "
        "JGD2011 heights, as PLATEAU; `jpgeo2024` for JGD2024).")
    max_features_per_tile: int = Field(500, ge=1, le=100_000,
                                       description="Features per tile content at most.")
    textures: bool = Field(True, description="Embed texture images (else material colours).")
    extra_tables: list[InputPath] = Field(default_factory=list, description=(
        "More (Geo)Parquet tables with `gml_id` whose columns join the property tables."))

    @field_validator("layers")
    @classmethod
    def _modules(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not re.fullmatch(r"[a-z]+", v)]
        if bad or not value:
            raise ValueError(f"layers must be PLATEAU module names like 'bldg', got {bad or value}")
        return list(dict.fromkeys(value))


@contextlib.contextmanager
def cluster_client() -> Iterator[Any]:
    """A client to the cluster when running inside a Dask worker (per-tile writes become
    tasks there), else None (the tiles writer uses threads)."""
    try:
        from distributed import get_worker, worker_client
        get_worker()
    except (ImportError, ValueError):
        yield None
        return
    with worker_client() as client:
        yield client


def feature_tables(records: list[Record], layer: str) -> list[str]:
    """Paths of the per-feature tables that ``records`` hand to ``layer``."""
    return sorted(r.outputs["feature_table"] for r in records
                  if r.done and r.outputs.get("feature_table") and r.feature_type == layer)


def export_tiles_task(layer: str, out_dir: str, *, extra_tables: list[str], options: dict,
                      ingest: list[Record] = (), handing: list[Record] = ()) -> Result:
    """Export one layer (runs on a worker; its tile writes go to the cluster)."""
    from pipeline.export.layer import export_layer

    meshed = [r for r in ingest if r.outputs.get("meshes")]
    with cluster_client() as client:
        result = export_layer(layer, [r.outputs["table"] for r in meshed if r.outputs.get("table")],
                              [r.outputs["meshes"] for r in meshed], out_dir,
                              extra_tables=[*extra_tables, *feature_tables(handing, layer)],
                              client=client, **options)
    return Result(outputs={"tileset": result.tileset}, feature_type=layer,
                  counts={"features": result.features, "tiles": result.tiles,
                          "contents": result.contents, "bytes": result.bytes_written},
                  problems=result.problems, details={"extra_columns": result.extra_columns})


def plan(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    """One task per layer that the ingest produced; upstream: the layer's ingest tasks and
    every record that hands the layer a per-feature table."""
    settings: ExportTilesSettings = ctx.settings("export_tiles")
    datasets = [str(p) for p in ctx.definition.inputs.citygml]
    options = {"dataset_path": datasets, "crs": ctx.crs, "geoid_model": settings.geoid_model,
               "max_features_per_tile": settings.max_features_per_tile,
               "textures": settings.textures}
    tasks = []
    for layer in settings.layers:
        ingest = done(records, "ingest", feature_type=layer)
        if not ingest:
            continue
        handing = [r for r in records.values()
                   if r.stage not in ("ingest", "export_tiles") and feature_tables([r], layer)]
        tasks.append(Task(
            stage="export_tiles", tile=layer, func=export_tiles_task,
            args=(layer, str(ctx.out("3dtiles"))),
            kwargs={"extra_tables": [str(p) for p in settings.extra_tables], "options": options},
            params={"crs": ctx.crs, "settings": settings.model_dump(mode="json")},
            input_hashes=[ctx.hash_file(p) for p in settings.extra_tables],
            upstream={"ingest": keys(ingest),
                      "handing": sorted(r.key for r in handing)}))
    return tasks


# needs=None: every stage before it, as any of them may hand a layer a feature table.
STAGE = Stage(name="export_tiles", settings=ExportTilesSettings, plan=plan,
              code=("pipeline.export", "pipeline.geo", "tiles"), needs=None, reach="run")
