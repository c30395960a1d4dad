"""Planning shared by the stages that work per tile on the surface model and per scenario."""
from __future__ import annotations

import contextlib
import sys
from typing import Any, Callable, Iterator, Mapping

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
                          upstream={"surface": keys(surface)}, meshes=(tile,)))
    return tasks


def numba_threads_for_task() -> int | None:
    """Numba threads a tile task should use: 1 inside a Dask worker, else None (numba's own).

    Dask supplies the parallelism: each worker thread runs one task. Numba does not follow
    the ``OMP_NUM_THREADS=1`` Dask sets, so a kernel would otherwise start one thread per
    core in every worker and two workers on two cores spent 2.1x the CPU time of one
    thread (README, Sun and shadow). Outside a worker (a test, a notebook) numba keeps
    its default, one thread per core. A process that has not imported ``distributed`` is
    no worker, so the check does not import it (about 1 CPU s outside a worker).
    """
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    try:
        distributed.get_worker()
    except ValueError:
        return None
    return 1


@contextlib.contextmanager
def numba_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` numba threads (None: leave numba's setting alone).

    numba's setting is per calling thread, so one Dask worker thread does not change
    another's; the previous value is restored on exit.
    """
    if threads is None:
        yield
        return
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(previous)
