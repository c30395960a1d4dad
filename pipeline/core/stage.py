"""What a stage is: a name, a settings model, whether the run wants it, and a planner.

A stage module (``pipeline/stages/<name>.py``) defines one module-level :class:`Stage`
and the registry (``pipeline.stages.STAGES``) lists it once, in run order; that is all
it takes to add one. The run definition's ``stages:`` section, the planner and the
runner are built from the registry and know only this interface::

    SHADE = Stage(name="shade", settings=ShadeSettings, plan=plan_shade)

``plan(ctx, records)`` receives the :class:`~pipeline.core.task.PlanContext` and every
record so far (by task key) and returns the stage's tasks; it is called once the stages
before it in the registry have finished.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from pipeline.core.settings import StageSettings
from pipeline.core.task import PlanContext, Record, Task

Planner = Callable[[PlanContext, Mapping[str, Record]], list[Task]]


def _enabled(definition: Any, stage: "Stage") -> bool:
    return bool(getattr(definition.stages, stage.section).enabled)


@dataclass(frozen=True)
class Stage:
    """One step of a run.

    Parameters
    ----------
    name : str
        The stage's name in records, logs and the manifest (``shadow``).
    settings : type of StageSettings
        Its ``stages.<section>`` model.
    plan : callable
        ``plan(ctx, records) -> list[Task]``.
    wanted : callable, optional
        ``wanted(definition) -> bool``: whether the run wants the stage (default: its
        section's ``enabled``). Stages that need an input (LiDAR files, streets) say so here.
    section : str, optional
        The ``stages:`` key of its settings, when a follow-up step shares its stage's
        section (``shadow_maps`` is configured by ``stages.shadow``). Default: ``name``.
    code : tuple of str
        The domain packages its tasks run (``("pipeline.shade", "pipeline.geo")``): their
        source is part of every task key, so a finished task reruns when they change.
    """

    name: str
    settings: type[StageSettings]
    plan: Planner
    wanted: Callable[[Any], bool] | None = None
    section: str = ""
    code: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.section:
            object.__setattr__(self, "section", self.name)

    def is_wanted(self, definition: Any) -> bool:
        if not _enabled(definition, self):
            return False
        return True if self.wanted is None else bool(self.wanted(definition))
