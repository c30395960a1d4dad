"""Planning shared by the stages that work per tile on the surface model and per scenario."""
from __future__ import annotations

from typing import Any, Callable, Mapping

from pipeline.core.settings import StageSettings
from pipeline.core.task import PlanContext, Record, Task, done, keys


def surface_scenario_tasks(ctx: PlanContext, records: Mapping[str, Record], *, stage: str,
                           func: Callable[..., Any], settings: StageSettings) -> list[Task]:
    """One task per tile whose surface is done: ``func(tile, inner_grid, out_dir, *,
    settings, scenarios, year, halo_m, timezone, surface=[record])``, writing under
    ``<output>/<stage>/``."""
    definition = ctx.definition
    tasks = []
    for tile in ctx.tiles:
        surface = done(records, "surface", tile=tile)
        if not surface:
            continue
        tasks.append(Task(stage=stage, tile=tile, func=func,
                          args=(tile, ctx.tile_grid(tile, halo=False), str(ctx.out(stage))),
                          kwargs={"settings": settings, "scenarios": ctx.scenarios,
                                  "year": definition.scenarios.year,
                                  "halo_m": definition.grid.halo_m, "timezone": definition.timezone},
                          params={"settings": settings.model_dump(mode="json"),
                                  "scenarios": definition.scenarios.model_dump(mode="json"),
                                  "tz": definition.timezone, "halo": definition.grid.halo_m},
                          upstream={"surface": keys(surface)}))
    return tasks
