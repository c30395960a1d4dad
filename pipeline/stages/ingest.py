"""``ingest``: one task per CityGML file, GeoParquet tables and triangle meshes out.

Writes ``<output>/ingest/<module>/<mesh>_<module>.parquet`` and ``..._mesh.parquet``
(see :mod:`pipeline.ingest`). Every later stage that reads city objects reads these.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from pipeline.core.settings import StageSettings
from pipeline.core.stage import Stage
from pipeline.core.task import Outputs, PlanContext, Record, Result, Task


class IngestSettings(StageSettings):
    """CityGML to GeoParquet + meshes, one task per file."""


@dataclass(frozen=True)
class IngestOutputs(Outputs):
    """One CityGML file's features: ``table`` (GeoParquet, one row per city object, keyed by
    ``gml_id``) and ``meshes`` (its triangle meshes); None when the file had no features."""

    table: str | None = None
    meshes: str | None = None


def ingest_task(source, out_dir: str, crs: str, *, bbox=None) -> Result:
    """Ingest one CityGML file (runs on a worker)."""
    from pipeline.ingest import ingest_file

    result = ingest_file(source, out_dir, crs, bbox=bbox)
    return Result(outputs=IngestOutputs(table=result.table, meshes=result.meshes),
                  counts={"features": result.features, **result.counts},
                  feature_type=result.feature_type, mesh_code=result.mesh_code,
                  problems=list(result.problems),
                  details={"notes": list(result.notes), "bound_prefixes": dict(result.bound_prefixes)})


def plan(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    bbox = tuple(ctx.definition.area.bbox) if ctx.definition.area.bbox else None
    return [Task(stage="ingest", tile=Path(source.file_name).stem, func=ingest_task,
                 args=(source, str(ctx.out("ingest")), ctx.crs), kwargs={"bbox": bbox},
                 params={"crs": ctx.crs, "bbox": bbox}, input_hashes=[ctx.hash_source(source)],
                 meshes=(source.mesh_code,) if source.mesh_code else ())
            for source in ctx.sources]


STAGE = Stage(name="ingest", settings=IngestSettings, plan=plan,
              code=("pipeline.ingest", "pipeline.geo", "citygml"), needs=(), reach="run",
              outputs=IngestOutputs)
