"""``ingest``: one task per CityGML file, GeoParquet tables and triangle meshes out.

Writes ``<output>/ingest/<module>/<mesh>_<module>.parquet`` and ``..._mesh.parquet``
(see :mod:`pipeline.ingest`). Every later stage that reads city objects reads these.

It declares the run's CityGML inputs (``inputs.citygml``, ``inputs.types``) and
:data:`SOURCES`, how the engine finds the run's files and its CRS (the registry hands it
over, so the engine names no input format).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from pipeline.core.settings import InputPath, StageSettings, one_or_many
from pipeline.core.stage import RunSources, Stage
from pipeline.core.task import Outputs, PlanContext, Record, Result, Task

log = logging.getLogger(__name__)

#: PLATEAU feature modules (``udx/<type>/``) a run may read.
FEATURE_TYPES = (
    "bldg",
    "veg",
    "dem",
    "tran",
    "frn",
    "brid",
    "luse",
    "wtr",
    "tun",
    "urf",
    "lsld",
    "fld",
    "htd",
    "ifld",
    "tnm",
    "gen",
    "area",
    "cons",
    "ubld",
    "unf",
    "wwy",
    "rwy",
    "trk",
    "squr",
)


def _known_types(value: list[str]) -> list[str]:
    unknown = [t for t in value if t not in FEATURE_TYPES]
    if unknown:
        raise ValueError(f"unknown feature type(s) {unknown}; known: {', '.join(FEATURE_TYPES)}")
    return value


#: The run's CityGML inputs (``inputs.citygml``, ``inputs.types``).
INPUTS: dict[str, Any] = {
    "citygml": (
        Annotated[list[InputPath], BeforeValidator(one_or_many)],
        Field(
            default_factory=list,
            description="PLATEAU folders (`udx/<type>/...`, `codelists/`), "
            "city `.zip` files (read in place) or single `.gml` files. One path or a list.",
        ),
    ),
    "types": (
        Annotated[list[str], AfterValidator(_known_types)],
        Field(
            default_factory=lambda: ["bldg", "veg", "dem", "tran", "frn"],
            description="PLATEAU feature folders to read (`bldg`, `veg`, `dem`, `tran`, `frn`, "
            "`brid`, `luse`, `urf`, ...).",
        ),
    ),
}


def find_sources(definition) -> tuple[list, list[str]]:
    """Every CityGML file of ``inputs.citygml``, filtered by ``inputs.types`` and
    ``area.meshes``, sorted by name, and the problems met; ValueError when there is none."""
    from citygml import Dataset

    sources, problems = [], []
    for path in definition.inputs.citygml:
        dataset, only = Dataset.for_path(path)
        found = dataset.sources(
            types=definition.inputs.types, meshes=definition.area.meshes or None, only=only
        )
        problems.extend(str(p) for p in dataset.problems)
        log.info("%s: %d CityGML file(s) selected", path, len(found))
        sources.extend(found)
    if not sources:
        raise ValueError(
            f"no CityGML files found in {[str(p) for p in definition.inputs.citygml]} "
            f"for types {definition.inputs.types} and meshes {definition.area.meshes}"
        )
    return sorted(sources, key=lambda s: s.name), problems


def _detect_crs(sources: list) -> str:
    from pipeline.geo.crs import detect_crs

    return detect_crs(sources)


#: How the engine finds a run's files (CityGML) and its CRS (``crs: auto``).
SOURCES = RunSources(find=find_sources, detect_crs=_detect_crs)


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
    return Result(
        outputs=IngestOutputs(table=result.table, meshes=result.meshes),
        counts={"features": result.features, **result.counts},
        feature_type=result.feature_type,
        mesh_code=result.mesh_code,
        problems=list(result.problems),
        details={"notes": list(result.notes), "bound_prefixes": dict(result.bound_prefixes)},
    )


def plan(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    bbox = tuple(ctx.definition.area.bbox) if ctx.definition.area.bbox else None
    return [
        Task(
            stage="ingest",
            tile=Path(source.file_name).stem,
            func=ingest_task,
            args=(source, str(ctx.out("ingest")), ctx.crs),
            kwargs={"bbox": bbox},
            params={"crs": ctx.crs, "bbox": bbox},
            input_hashes=[ctx.hash_source(source)],
            meshes=(source.mesh_code,) if source.mesh_code else (),
        )
        for source in ctx.sources
    ]


STAGE = Stage(
    name="ingest",
    settings=IngestSettings,
    plan=plan,
    code=("pipeline.ingest", "pipeline.geo", "citygml"),
    needs=(),
    reach="run",
    outputs=IngestOutputs,
    inputs=INPUTS,
)
