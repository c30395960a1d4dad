"""Planning a run: which inputs, which CRS, which tiles, and the tasks of each stage.

Each stage contributes a *planner*: a function that, given the records of the stages
before it, returns its :class:`~pipeline.runner.Task` list (one per tile or file).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from citygml import CityGMLError, Dataset, FileReader, Source
from pipeline.config import RunDefinition
from pipeline.crs import plane_zone_epsg
from pipeline.ingest import ingest_file
from pipeline.manifest import Manifest, sha256_stream
from pipeline.runner import Task, hash_source
from pipeline.tiling import tile_codes, tile_grid

log = logging.getLogger(__name__)

Planner = Callable[[dict[str, dict]], list[Task]]


@dataclass
class Plan:
    crs: str
    sources: list[Source]
    tiles: list[str] = field(default_factory=list)
    stages: list[tuple[str, Planner]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def collect_sources(definition: RunDefinition) -> tuple[list[Source], list[str]]:
    """Every CityGML file of the run's inputs, filtered by type and area."""
    sources, problems = [], []
    for path in definition.inputs.citygml:
        dataset, only = Dataset.for_path(path)
        found = dataset.sources(types=definition.inputs.types,
                                meshes=definition.area.meshes or None, only=only)
        problems.extend(str(p) for p in dataset.problems)
        log.info("%s: %d CityGML file(s) selected", path, len(found))
        sources.extend(found)
    return sources, problems


def detect_crs(sources: list[Source]) -> str:
    """The JGD2011 plane rectangular zone of the data (from ``uro:prefecture`` and location)."""
    ordered = sorted(sources, key=lambda s: s.feature_type != "bldg")
    for source in ordered:
        try:
            for obj in FileReader(source, include_appearance=False):
                vertices = obj.all_vertices()
                if not len(vertices):
                    continue
                lon, lat = float(vertices[0, 0]), float(vertices[0, 1])
                prefecture = _prefecture(obj.attributes)
                return f"EPSG:{plane_zone_epsg(prefecture, lon, lat)}"
        except CityGMLError as exc:
            log.warning("CRS detection skipped %s: %s", source.name, exc)
    raise ValueError("crs: auto found no feature with coordinates; name the CRS in the run")


def _prefecture(attributes: dict) -> str | None:
    for group in ("uro:buildingIDAttribute", "uro:buildingIdAttribute"):
        for entry in attributes.get(group, []):
            for key in ("prefecture", "city"):
                if entry.get(key):
                    return str(entry[key])
    return None


def plan_run(definition: RunDefinition, manifest: Manifest) -> Plan:
    sources, problems = collect_sources(definition)
    if not sources:
        raise ValueError(f"no CityGML files found in {[str(p) for p in definition.inputs.citygml]} "
                         f"for types {definition.inputs.types} and meshes {definition.area.meshes}")
    crs = definition.crs if definition.crs != "auto" else detect_crs(sources)
    log.info("analysis CRS %s", crs)
    tiles = tile_codes(definition.area.meshes, [s.mesh_code for s in sources])
    plan = Plan(crs=crs, sources=sources, tiles=tiles, problems=problems)
    output = Path(definition.output)
    if definition.stages.ingest.enabled:
        plan.stages.append(("ingest", lambda records: ingest_tasks(definition, plan, manifest,
                                                                   output)))
    if definition.stages.lidar.enabled and definition.inputs.lidar:
        plan.stages.append(("lidar", lambda records: lidar_tasks(definition, plan, manifest,
                                                                 output)))
    return plan


def ingest_tasks(definition: RunDefinition, plan: Plan, manifest: Manifest,
                 output: Path) -> list[Task]:
    bbox = tuple(definition.area.bbox) if definition.area.bbox else None
    params = {"crs": plan.crs, "bbox": bbox}
    tasks = []
    for source in plan.sources:
        tile = Path(source.file_name).stem
        tasks.append(Task(stage="ingest", tile=tile, func=ingest_file,
                          args=(source, output / "ingest", plan.crs), kwargs={"bbox": bbox},
                          params=params, input_hashes=[hash_source(manifest, source)]))
    return tasks


def hash_file(manifest: Manifest, path: Path) -> str:
    stat = Path(path).stat()

    def compute() -> str:
        with open(path, "rb") as stream:
            return sha256_stream(stream)

    return manifest.input_hash(str(path), stat.st_size, stat.st_mtime, compute)


def lidar_tasks(definition: RunDefinition, plan: Plan, manifest: Manifest,
                output: Path) -> list[Task]:
    """One task per tile that a LAS/LAZ file touches (grid plus halo)."""
    from pipeline.lidar.stage import files_touching, lidar_tile

    settings = definition.stages.lidar
    tasks = []
    for tile in plan.tiles:
        grid = tile_grid(tile, plan.crs, definition.grid.resolution_m).buffered(definition.grid.halo_m)
        paths, problems = files_touching(definition.inputs.lidar, grid, definition.inputs.lidar_crs)
        plan.problems.extend(problems)
        if not paths:
            continue
        params = {"grid": grid.__dict__, "crs": definition.inputs.lidar_crs,
                  "backend": settings.backend}
        tasks.append(Task(stage="lidar", tile=tile, func=lidar_tile,
                          args=(paths, grid, str(output / "lidar"), tile),
                          kwargs={"source_crs": definition.inputs.lidar_crs,
                                  "backend": settings.backend, "chunk_size": settings.chunk_size},
                          params=params, input_hashes=[hash_file(manifest, Path(p)) for p in paths]))
    return tasks
