"""The stage registry: every stage of a run, in run order.

A stage is one module here with a module-level :class:`~pipeline.core.stage.Stage` (its
name, settings model, ``wanted``, ``plan``, ``needs``/``reach``: which stages its planner
reads, and how far around a tile; ``outputs``/``reads``: the typed outputs it hands on and
those of other stages it reads; ``inputs``: its keys of the ``inputs:`` section) and one
line in :data:`STAGES`, after the stages it needs. The run definition's ``inputs:`` and
``stages:`` sections, the planner and the runner are built from this tuple (and from
:data:`pipeline.stages.ingest.SOURCES`, how a run finds its CityGML files and CRS) and
know only the interface; nothing else needs editing to add a stage.

Stage modules import only light things at module level (pydantic settings and the
engine's leaf); their task functions import the domain packages (numpy, rasterio,
geopandas, numba, cityseer, ...) when they run, so the command line starts fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.core.config import RunDefinitionBase, load_definition, run_definition_model
from pipeline.stages import (
    effects,
    export_tiles,
    flow,
    ingest,
    lidar,
    measures,
    peopleflow,
    shadow,
    shadow_diagram,
    surface,
    thermal,
    thermal_forcing,
    trees,
    viewer,
    walkability,
)

STAGES = (
    ingest.STAGE,
    lidar.STAGE,
    lidar.POINT_TILES,
    lidar.POINT_TILESET,
    trees.STAGE,  # per tile after lidar: trees found in the LiDAR, as PLATEAU veg
    trees.CHANGES,
    trees.CHANGES_TABLE,  # run-wide: trees/changes.parquet from the tiles' rows
    surface.STAGE,
    thermal_forcing.STAGE,  # run-wide: every scenario's weather and irradiance (thermal/weather.csv)
    shadow.STAGE,  # with weather, its pass computes the thermal outputs too
    shadow.MAPS,
    shadow_diagram.STAGE,
    thermal.STAGE,  # hands on what the shadow pass computed (or computes it)
    peopleflow.STAGE,
    walkability.STAGE,
    flow.STAGE,  # simulated walkers per segment on each scenario's perceived cost
    flow.FIT,
    walkability.SCALE,
    walkability.SCORE,
    walkability.SUMMARY,
    effects.STAGE,  # a run on a baseline: before and after of its measures
    export_tiles.PROPERTIES,  # joins the per-building results of the stages before it
    export_tiles.SCHEMA,
    export_tiles.STAGE,
    export_tiles.TILESET,
    viewer.STAGE,  # last: shows everything on the 3D city model
)


def run_definition() -> type[RunDefinitionBase]:
    """The run-definition model of the current registry (:data:`STAGES`)."""
    return run_definition_model(tuple(STAGES), ingest.SOURCES, measures.CHANGES)


def load_run_definition(path: str | Path, overrides: dict[str, Any] | None = None) -> RunDefinitionBase:
    """Read, validate and resolve a run definition (YAML) against the current registry.

    ``overrides`` are dotted keys (``{"dask.workers": 4}``) applied before validation;
    relative paths resolve against the YAML file's folder.
    """
    return load_definition(path, run_definition(), overrides)
