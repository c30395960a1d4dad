"""Planning a run: which inputs, which CRS, which tiles, and which stages.

:func:`plan_run` selects the input files of the run (through the registry's
:class:`~pipeline.core.stage.RunSources`: the engine names no input format), settles the
analysis CRS and the third-level mesh tiles, and lists the stages the definition wants,
in registry order; with ``inputs.baseline``, which tasks the baseline run stands for
(:mod:`pipeline.core.baseline`).
Each stage plans its own tasks (``Stage.plan``) when the runner finds its inputs in: per
tile as they come for a per-tile stage (:mod:`pipeline.core.flow`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.core.baseline import BaselineRun
from pipeline.core.config import RunDefinitionBase
from pipeline.core.manifest import Manifest
from pipeline.core.stage import Stage, check_reads
from pipeline.core.task import PlanContext
from pipeline.geo.tiling import tile_codes

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """The stages a run wants (registry order) and what their planners are given."""

    context: PlanContext
    stages: list[Stage] = field(default_factory=list)
    #: A run on a baseline: which tasks are taken from it (None: every task is the run's).
    baseline: BaselineRun | None = None

    @property
    def crs(self) -> str:
        return self.context.crs

    @property
    def tiles(self) -> list[str]:
        return self.context.tiles


def plan_run(definition: RunDefinitionBase, manifest: Manifest) -> Plan:
    """The run's context (CRS, tiles, sources) and the stages it wants, in registry order.

    First holds every stage's ``reads`` against the outputs its upstream stages declare
    (:func:`~pipeline.core.stage.check_reads`): a stage reading an output no stage declares
    fails here, before any task is planned."""
    model = type(definition)
    check_reads(model.registry)
    if model.sources is None:
        raise ValueError(
            "the stage registry hands the engine no RunSources: it cannot find the run's input files"
        )
    sources, problems = model.sources.find(definition)
    crs = definition.crs if definition.crs != "auto" else model.sources.detect_crs(sources)
    log.info("analysis CRS %s", crs)
    tiles = tile_codes(definition.area.meshes, [s.mesh_code for s in sources])
    context = PlanContext(
        definition=definition,
        crs=crs,
        tiles=tiles,
        sources=sources,
        manifest=manifest,
        output=Path(definition.output),
        problems=problems,
    )
    wanted = [stage for stage in type(definition).registry if stage.is_wanted(definition)]
    log.info("stages: %s", ", ".join(s.name for s in wanted))
    baseline = BaselineRun.prepare(definition, context, wanted, model.changes)
    return Plan(context=context, stages=wanted, baseline=baseline)
