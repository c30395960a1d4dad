"""Planning a run: which inputs, which CRS, which tiles, and which stages.

:func:`plan_run` selects the CityGML files of the run, settles the analysis CRS and the
third-level mesh tiles, and lists the stages the definition wants, in registry order.
Each stage plans its own tasks (``Stage.plan``) when the runner finds its inputs in: per
tile as they come for a per-tile stage (:mod:`pipeline.core.flow`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from citygml import CityGMLError, Dataset, FileReader, Source
from pipeline.core.config import RunDefinitionBase
from pipeline.core.manifest import Manifest
from pipeline.core.stage import Stage, check_reads
from pipeline.core.task import PlanContext
from pipeline.geo.crs import plane_zone_epsg
from pipeline.geo.tiling import tile_codes

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """The stages a run wants (registry order) and what their planners are given."""

    context: PlanContext
    stages: list[Stage] = field(default_factory=list)

    @property
    def crs(self) -> str:
        return self.context.crs

    @property
    def tiles(self) -> list[str]:
        return self.context.tiles


def collect_sources(definition: RunDefinitionBase) -> tuple[list[Source], list[str]]:
    """Every CityGML file of the run's inputs, filtered by type and area, sorted by name."""
    sources, problems = [], []
    for path in definition.inputs.citygml:
        dataset, only = Dataset.for_path(path)
        found = dataset.sources(types=definition.inputs.types,
                                meshes=definition.area.meshes or None, only=only)
        problems.extend(str(p) for p in dataset.problems)
        log.info("%s: %d CityGML file(s) selected", path, len(found))
        sources.extend(found)
    return sorted(sources, key=lambda s: s.name), problems


def detect_crs(sources: list[Source]) -> str:
    """The JGD2011 plane rectangular zone of the data (from ``uro:prefecture`` and location)."""
    ordered = sorted(sources, key=lambda s: (s.feature_type != "bldg", s.name))
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


def plan_run(definition: RunDefinitionBase, manifest: Manifest) -> Plan:
    """The run's context (CRS, tiles, sources) and the stages it wants, in registry order.

    First holds every stage's ``reads`` against the outputs its upstream stages declare
    (:func:`~pipeline.core.stage.check_reads`): a stage reading an output no stage declares
    fails here, before any task is planned."""
    check_reads(type(definition).registry)
    sources, problems = collect_sources(definition)
    if not sources:
        raise ValueError(f"no CityGML files found in {[str(p) for p in definition.inputs.citygml]} "
                         f"for types {definition.inputs.types} and meshes {definition.area.meshes}")
    crs = definition.crs if definition.crs != "auto" else detect_crs(sources)
    log.info("analysis CRS %s", crs)
    tiles = tile_codes(definition.area.meshes, [s.mesh_code for s in sources])
    context = PlanContext(definition=definition, crs=crs, tiles=tiles, sources=sources,
                          manifest=manifest, output=Path(definition.output), problems=problems)
    wanted = [stage for stage in type(definition).registry if stage.is_wanted(definition)]
    log.info("stages: %s", ", ".join(s.name for s in wanted))
    return Plan(context=context, stages=wanted)
