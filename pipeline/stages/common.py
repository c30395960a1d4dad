"""Planning shared by the stages that work per tile on the surface model and per scenario,
and the settings and surface reading the shadow and thermal stages share (they cast shade alike)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator

from pipeline.core.settings import StageSettings, Strict
from pipeline.core.task import PlanContext, Record, Task, done, keys


def surface_scenario_tasks(
    ctx: PlanContext,
    records: Mapping[str, Record],
    *,
    stage: str,
    func: Callable[..., Any],
    settings: StageSettings,
) -> list[Task]:
    """One task per tile whose surface is done: ``func(tile, inner_grid, out_dir, *,
    settings, scenarios, year, halo_m, timezone, surface=[record])``, writing under
    ``<output>/<stage>/``."""
    definition = ctx.definition
    tasks = []
    for tile in ctx.tiles:
        surface = done(records, "surface", tile=tile)
        if not surface:
            continue
        tasks.append(
            Task(
                stage=stage,
                tile=tile,
                func=func,
                args=(tile, ctx.tile_grid(tile, halo=False), str(ctx.out(stage))),
                kwargs={
                    "settings": settings,
                    "scenarios": ctx.scenarios,
                    "year": definition.scenarios.year,
                    "halo_m": definition.grid.halo_m,
                    "timezone": definition.timezone,
                },
                params={
                    "settings": settings.model_dump(mode="json"),
                    "scenarios": definition.scenarios.model_dump(mode="json"),
                    "tz": definition.timezone,
                    "halo": definition.grid.halo_m,
                },
                upstream={"surface": keys(surface)},
                meshes=(tile,),
            )
        )
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


# -- shared by the shadow and thermal stages (their settings cast shade alike) ----------
class Transmissivity(Strict):
    """Share of direct sunlight that passes through a tree crown, by leaf habit.

    Defaults are SOLWEIG's (UMEP ``Tree_settings``: 0.03 in leaf, 0.5 bare; see
    :mod:`pipeline.shade.shadow`). Evergreen crowns (PLATEAU ``veg:function`` 常緑...)
    pass ``leaf_on`` all year; deciduous crowns pass ``leaf_off`` in ``leaf_off_months``.
    """

    leaf_on: float = Field(
        0.03,
        ge=0,
        le=1,
        description="Share of direct sunlight through a tree "
        "crown in leaf (evergreen crowns all year). SOLWEIG's default.",
    )
    leaf_off: float = Field(
        0.5, ge=0, le=1, description="Share through a bare deciduous crown. SOLWEIG's default."
    )
    leaf_off_months: list[int] = Field(
        [12, 1, 2, 3], description="Months in which deciduous crowns are bare."
    )
    unknown_habit: Literal["deciduous", "evergreen"] = Field(
        "deciduous",
        description="Leaf habit of crowns without one (LiDAR canopy, plant covers, "
        "PLATEAU trees without `veg:function`).",
    )

    @field_validator("leaf_off_months")
    @classmethod
    def _months(cls, value: list[int]) -> list[int]:
        if any(not 1 <= m <= 12 for m in value):
            raise ValueError(f"months are 1-12, got {value}")
        return sorted(set(value))


def _divides_360(value: float) -> float:
    turns = 360.0 / value
    if abs(turns - round(turns)) > 1e-9:
        raise ValueError(f"sector_deg must divide 360 degrees (e.g. 1, 2, 2.5, 3), got {value}")
    return value


#: How shade is decided for a sun position (see :mod:`pipeline.shade.shadow`); shared
#: with the thermal stage. Literal values mirror :data:`pipeline.shade.shadow.SHADE_METHODS`
#: (the settings import no domain code, so the CLI starts fast).
ShadeMethodSetting = Annotated[
    Literal["horizon", "sweep"],
    Field(
        description="How a cell's shade is decided: `horizon` (horizon angles once per tile and "
        "azimuth sector, interpolated between sectors; agrees with the exact sweep on >= 99.5 % of "
        "cells, several times faster) or `sweep` (the exact ray sweep, one pass per sun position; "
        "the reference)."
    ),
]
#: Azimuth step between the horizons of ``method: horizon``, degrees.
SectorSetting = Annotated[
    float,
    Field(
        gt=0,
        le=10,
        description="Azimuth step between computed "
        "horizons, degrees; must divide 360 (`method: horizon` only).",
    ),
    AfterValidator(_divides_360),
]


def read_evergreen_top(outputs, canopy, unknown_habit: str):
    """The evergreen crowns' canopy tops of a surface record's outputs
    (:class:`~pipeline.stages.surface.SurfaceOutputs`; NaN elsewhere), or None.

    Reads ``canopy_habit`` when the surface stage wrote it (a record without one: every
    crown of unknown habit, taken as ``unknown_habit``).
    """
    from pipeline.geo.raster import read_raster
    from pipeline.surface.habit import evergreen_canopy_top

    habit = read_raster(outputs.canopy_habit)[0] if outputs.canopy_habit else None
    return evergreen_canopy_top(canopy, habit, unknown_habit)
