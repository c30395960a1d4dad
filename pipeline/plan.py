"""Planning a run: which inputs, which CRS, which tiles, and the tasks of each stage.

Each stage contributes a *planner*: a function that, given the records of the stages
before it, returns its :class:`~pipeline.runner.Task` list (one per tile or file).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from citygml import CityGMLError, Dataset, FileReader, Source
from citygml.source import meshes_related
from pipeline.config import RunDefinition
from pipeline.geo.crs import plane_zone_epsg
from pipeline.ingest import ingest_file
from pipeline.manifest import Manifest, sha256_stream
from pipeline.runner import Task, hash_source
from pipeline.geo.tiling import tile_codes, tile_grid

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
        if definition.stages.lidar.point_tiles:
            plan.stages.append(("lidar_tiles", lambda records: lidar_tile_tasks(
                definition, manifest, output)))
    stages = definition.stages
    if stages.surface.enabled:
        plan.stages.append(("surface", lambda records: surface_tasks(definition, plan, records,
                                                                     output)))
    if stages.surface.enabled and stages.shadow.enabled:
        plan.stages.append(("shadow", lambda records: shadow_tasks(definition, plan, records, output)))
        plan.stages.append(("shadow_maps", lambda records: shadow_map_tasks(definition, plan, records,
                                                                            output)))
    if stages.shadow_diagram.enabled:
        plan.stages.append(("shadow_diagram", lambda records: shadow_diagram_tasks(
            definition, plan, records, output)))
    if stages.peopleflow.enabled and definition.inputs.peopleflow:
        from pipeline.peopleflow.stage import peopleflow_tasks
        plan.stages.append(("peopleflow", lambda records: peopleflow_tasks(definition, plan, manifest,
                                                                           output)))
    if stages.walkability.enabled and stages.walkability.streets:
        from pipeline.walkability.stage import walkability_summary_tasks, walkability_tasks
        plan.stages.append(("walkability", lambda records: walkability_tasks(
            definition, plan, manifest, records, output)))
        plan.stages.append(("walkability_summary", lambda records: walkability_summary_tasks(
            definition, plan, manifest, records, output)))
    if stages.export_tiles.enabled:  # last: it merges the shadow and walkability results
        from pipeline.export.tiles_stage import plan_export_tiles
        plan.stages.append(("export_tiles", plan_export_tiles(definition, plan, manifest, output)))
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


def lidar_tile_tasks(definition: RunDefinition, manifest: Manifest, output: Path) -> list[Task]:
    """One task writing every LAS/LAZ point as a 3D Tiles point cloud."""
    from pipeline.lidar.stage import lidar_point_tiles

    settings = definition.stages.lidar
    paths = [str(p) for p in definition.inputs.lidar]
    return [Task(stage="lidar_tiles", tile="all", func=lidar_point_tiles,
                 args=(paths, str(output / "3dtiles" / "lidar")),
                 kwargs={"source_crs": definition.inputs.lidar_crs,
                         "geoid_model": settings.geoid_model, "chunk_size": settings.chunk_size,
                         "max_points_per_tile": settings.max_points_per_tile},
                 params={"geoid": settings.geoid_model, "max": settings.max_points_per_tile,
                         "crs": definition.inputs.lidar_crs},
                 input_hashes=[hash_file(manifest, Path(p)) for p in paths])]


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


def _keys(records: dict[str, dict], stage: str, **match) -> list[str]:
    """Keys of the finished records of ``stage`` whose fields equal ``match``."""
    return [key for key, r in records.items() if r.get("stage") == stage
            and all(r.get(k) == v for k, v in match.items())]


def _tile_meshes(tile: str) -> list[str]:
    """A tile and its eight neighbours: whose data a halo of up to 1 km can reach."""
    from pipeline.geo import meshcode
    return [str(code) for code in meshcode.neighbours(int(tile), include_self=True)]


def surface_tasks(definition: RunDefinition, plan: Plan, records: dict[str, dict],
                  output: Path) -> list[Task]:
    from pipeline.surface_stage_tmp import surface_tile

    settings = definition.stages.surface
    ingest = _keys(records, "ingest")
    tasks = []
    for tile in plan.tiles:
        grid = tile_grid(tile, plan.crs, definition.grid.resolution_m).buffered(definition.grid.halo_m)
        meshes = _tile_meshes(tile)
        related = [k for k in ingest if meshes_related(records[k].get("mesh_code"), meshes)]
        tasks.append(Task(stage="surface", tile=tile, func=surface_tile,
                          args=(tile, grid, str(output / "surface")),
                          kwargs={"settings": settings},
                          params={"grid": grid.__dict__, "settings": settings.model_dump()},
                          upstream={"ingest": related, "lidar": _keys(records, "lidar", tile=tile)}))
    return tasks


def shadow_tasks(definition: RunDefinition, plan: Plan, records: dict[str, dict],
                 output: Path) -> list[Task]:
    from pipeline.shadow_stage import shadow_tile

    settings = definition.stages.shadow
    tasks = []
    for tile in plan.tiles:
        surface = _keys(records, "surface", tile=tile)
        if not surface:
            continue
        inner = tile_grid(tile, plan.crs, definition.grid.resolution_m)
        tasks.append(Task(stage="shadow", tile=tile, func=shadow_tile,
                          args=(tile, inner, str(output / "shadow")),
                          kwargs={"settings": settings, "halo_m": definition.grid.halo_m,
                                  "timezone": definition.timezone},
                          params={"settings": settings.model_dump(), "tz": definition.timezone},
                          upstream={"surface": surface}))
    return tasks


def shadow_map_tasks(definition: RunDefinition, plan: Plan, records: dict[str, dict],
                     output: Path) -> list[Task]:
    from pipeline.shadow_stage import shadow_maps

    shadow = _keys(records, "shadow")
    tables = sorted(r["outputs"]["table"] for r in records.values()
                    if r.get("stage") == "ingest" and r.get("feature_type") == "bldg"
                    and r.get("status") == "done")
    if not shadow:
        return []
    extent = _data_extent(tables, margin_m=100.0)
    return [Task(stage="shadow_maps", tile="all", func=shadow_maps,
                 args=(str(output / "maps"), extent, plan.crs), kwargs={"buildings": tables},
                 params={"extent": extent}, upstream={"shadow": shadow})]


def _data_extent(tables: list[str], margin_m: float) -> tuple[float, float, float, float] | None:
    import pyarrow.parquet as pq
    import geopandas as gpd

    bounds = [gpd.read_parquet(t, columns=["geometry"]).total_bounds for t in tables
              if pq.read_metadata(t).num_rows]
    if not bounds:
        return None
    stacked = np.array(bounds)
    return (float(stacked[:, 0].min() - margin_m), float(stacked[:, 1].min() - margin_m),
            float(stacked[:, 2].max() + margin_m), float(stacked[:, 3].max() + margin_m))


def shadow_diagram_tasks(definition: RunDefinition, plan: Plan, records: dict[str, dict],
                         output: Path) -> list[Task]:
    from pipeline.shadow_stage import shadow_diagram_tile

    settings = definition.stages.shadow_diagram
    tasks = []
    for tile in plan.tiles:
        meshes = _tile_meshes(tile)
        related = [k for k in _keys(records, "ingest", feature_type="bldg")
                   if meshes_related(records[k].get("mesh_code"), meshes)]
        if not related:
            continue
        inner = tile_grid(tile, plan.crs, definition.grid.resolution_m)
        tasks.append(Task(stage="shadow_diagram", tile=tile, func=shadow_diagram_tile,
                          args=(tile, inner, str(output / "shadow_diagram")),
                          kwargs={"settings": settings, "timezone": definition.timezone},
                          params={"settings": settings.model_dump(), "tz": definition.timezone},
                          upstream={"ingest": related}))
    return tasks
