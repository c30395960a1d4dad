"""When may a stage be planned, and for which tiles: the runner's bookkeeping of a run.

Stages overlap tile by tile. A per-tile stage (``reach`` ``"tile"`` or ``"neighbours"``,
see :class:`~pipeline.core.stage.Stage`) is planned for tile T as soon as every stage it
``needs`` is planned for the tiles of T's reach and has no task still running that touches
T's reach; a ``"run"`` stage is planned once, when every stage it needs has finished. So a
tile's shadow starts when that tile's surface is done, and the first tiles of a city are
finished while others are still being ingested.

:class:`Flow` knows the stages' declarations and the tiles of tasks, never Dask or
records: the runner tells it what it planned, submitted and saw finish, and asks it what
is ready. At 10^5 tasks every answer must stay cheap, so running tasks are counted per
mesh they touch (not listed), and a tile waiting for a stage is looked at again only when
something in its reach changed (it is then *dirty*): the work per event is bounded by the
nine tiles of one neighbourhood, not by the size of the run.

Which tiles an upstream task touches is read from its ``meshes``
(:class:`~pipeline.core.task.Task`), the mesh cells it declares, with
:func:`citygml.source.meshes_related`'s rule: a tile of the run touches itself, a finer
mesh touches the tile it lies in, a coarser one the tiles it holds (a 2nd-level ``dem``
file holds 64 tiles), and a task that declares no mesh touches every tile.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from pipeline.core.stage import Stage
from pipeline.core.task import tile_neighbourhood

#: The touch key of a task that touches every tile (it declares no mesh: a run-wide task).
EVERYWHERE = "*"
_TILE_DIGITS = 8  # a third-level mesh code: the run's tiles


def touch_keys(meshes: Iterable[str], run_tiles: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """The keys an outstanding task that declares ``meshes`` is counted under (sorted, once
    each): a tile of the run as is; a mesh code cut to the third level (a finer mesh lies
    inside one tile, a coarser one stays as it is and holds several); no mesh at all:
    :data:`EVERYWHERE`.

    >>> touch_keys(["5339649912"]), touch_keys(["533964"]), touch_keys([])
    (('53396499',), ('533964',), ('*',))
    """
    keys = set()
    for mesh in meshes:
        mesh = str(mesh)
        if mesh in run_tiles:
            keys.add(mesh)
        elif mesh.isdigit():
            keys.add(mesh[:_TILE_DIGITS])
        else:
            raise ValueError(f"{mesh!r} is not a JIS X 0410 mesh code (Task.meshes holds mesh codes)")
    return tuple(sorted(keys)) or (EVERYWHERE,)


def _is_coarse(key: str) -> bool:
    """A mesh coarser than a tile (it holds tiles): a 1st- or 2nd-level code."""
    return key.isdigit() and len(key) < _TILE_DIGITS


@functools.cache
def reach_of(tile: str, reach: str) -> frozenset[str]:
    """The tiles whose records one task of ``tile`` reads: itself, or with its eight
    neighbours (symmetric: T is in the neighbourhood of N whenever N is in T's)."""
    if reach == "neighbours" and tile.isdigit() and len(tile) == _TILE_DIGITS:
        return frozenset(tile_neighbourhood(tile))
    return frozenset((tile,))


@dataclass(eq=False)
class StageFlow:
    """One stage's state in a run: what is planned, what is still running."""

    stage: Stage
    index: int  # its place in the run (registry order of the wanted stages)
    needs: list[StageFlow] = field(default_factory=list)
    dependants: list[StageFlow] = field(default_factory=list)
    planned: set[str] = field(default_factory=set)  # tiles planned (per-tile stages)
    waiting: set[str] = field(default_factory=set)  # tiles not planned yet (per-tile stages)
    dirty: set[str] = field(default_factory=set)  # waiting tiles whose reach changed
    fully_planned: bool = False
    running: Counter = field(default_factory=Counter)  # touch key -> outstanding tasks
    coarse: set[str] = field(default_factory=set)  # running keys that hold several tiles
    outstanding: int = 0

    @property
    def name(self) -> str:
        return self.stage.name

    @property
    def complete(self) -> bool:
        """Planned for every tile and nothing of it still running: its records are final."""
        return self.fully_planned and not self.outstanding

    def covers(self, tiles: frozenset[str]) -> bool:
        """Whether it is planned for every one of ``tiles`` (tiles of the run)."""
        return self.fully_planned or (self.stage.per_tile and tiles <= self.planned)

    def touches(self, tiles: frozenset[str]) -> bool:
        """Whether a task of it still running touches any of ``tiles``."""
        if not self.outstanding:
            return False
        if self.running[EVERYWHERE] or any(self.running[t] for t in tiles):
            return True
        lengths = {len(key) for key in self.coarse}
        return any(t[:n] in self.coarse for t in tiles for n in lengths)

    def affected(self, key: str) -> set[str]:
        """The tiles still waiting whose reach a task counted under ``key`` touches."""
        if key == EVERYWHERE:
            return set(self.waiting)
        if _is_coarse(key):  # the tiles inside it, and those beside its edge
            reach = self.stage.reach
            return {t for t in self.waiting if any(r.startswith(key) for r in reach_of(t, reach))}
        return set(reach_of(key, self.stage.reach) & self.waiting)


class Flow:
    """Which stage is ready to be planned, for which tiles, as a run goes on.

    ``stages`` are the stages the run wants, in registry order; ``tiles`` the run's tiles.
    A stage's ``needs`` are resolved against them: a needed stage the run does not want
    counts as finished, one that comes later in the registry is refused (it would never be
    ready in time).
    """

    def __init__(self, stages: Iterable[Stage], tiles: Iterable[str]) -> None:
        self.tiles = frozenset(tiles)
        self.stages: list[StageFlow] = []
        stages = list(stages)
        names = [stage.name for stage in stages]
        by_name: dict[str, StageFlow] = {}
        for index, stage in enumerate(stages):
            state = StageFlow(stage=stage, index=index)
            state.needs = self._resolve_needs(stage, by_name, names[index:])
            for upstream in state.needs:
                upstream.dependants.append(state)
            if stage.per_tile:
                state.waiting = set(self.tiles)
                state.dirty = set(self.tiles)
                state.fully_planned = not self.tiles
            self.stages.append(state)
            by_name[stage.name] = state
        self.by_name = by_name
        self._reported: set[str] = set()

    @staticmethod
    def _resolve_needs(stage: Stage, earlier: dict[str, StageFlow], later: list[str]) -> list[StageFlow]:
        """The states of the wanted stages ``stage`` reads (unwanted ones are left out)."""
        if stage.needs is None:
            return list(earlier.values())
        wrong = [name for name in stage.needs if name in later]
        if wrong:
            raise ValueError(f"stage {stage.name} needs {wrong}, which do not come before it in the registry")
        return [earlier[name] for name in stage.needs if name in earlier]

    # -- questions -------------------------------------------------------------------
    def next_ready(self) -> tuple[Stage, list[str] | None] | None:
        """The first stage (in run order) that can be planned now, with its ready tiles
        (sorted; None for a ``"run"`` stage: every tile), or None when none can.

        The caller plans it and reports :meth:`planned` before asking again."""
        for state in self.stages:
            if state.fully_planned:
                continue
            if state.stage.per_tile:
                ready = self._take_ready(state)
                if ready:
                    return state.stage, sorted(ready)
            elif all(upstream.complete for upstream in state.needs):
                return state.stage, None
        return None

    def _take_ready(self, state: StageFlow) -> list[str]:
        """The dirty tiles of ``state`` that are ready; the others wait for the next change
        in their reach (which makes them dirty again)."""
        if not state.dirty:
            return []
        if any(not up.stage.per_tile and not up.fully_planned for up in state.needs):
            return []  # a run-wide input not planned yet: planning it makes every tile dirty
        ready = [tile for tile in state.dirty if self._tile_ready(state, tile)]
        state.dirty.clear()
        return ready

    def _tile_ready(self, state: StageFlow, tile: str) -> bool:
        reach = reach_of(tile, state.stage.reach)
        in_run = reach & self.tiles
        return all(up.covers(in_run) and not up.touches(reach) for up in state.needs)

    @property
    def finished(self) -> bool:
        """Whether every stage is planned and nothing is running."""
        return all(state.complete for state in self.stages)

    def newly_complete(self) -> list[Stage]:
        """The stages that became complete since the last call, in run order."""
        fresh = [s for s in self.stages if s.complete and s.name not in self._reported]
        self._reported.update(s.name for s in fresh)
        return [s.stage for s in fresh]

    def stuck(self) -> list[str]:
        """Names of the stages not fully planned (nothing running means a bug: a stage
        waits for something that will never come)."""
        return [s.name for s in self.stages if not s.fully_planned]

    # -- events ----------------------------------------------------------------------
    def planned(self, stage: Stage, tiles: Iterable[str] | None) -> None:
        """``stage`` was planned for ``tiles`` (None: a ``"run"`` stage, planned once) and
        its tasks submitted (or found finished)."""
        state = self.by_name[stage.name]
        if tiles is None or not stage.per_tile:
            state.fully_planned = True
            for dependant in state.dependants:
                dependant.dirty |= dependant.waiting
            return
        tiles = set(tiles)
        state.planned |= tiles
        state.waiting -= tiles
        state.fully_planned = not state.waiting
        for dependant in state.dependants:
            if dependant.stage.per_tile:
                for tile in tiles:
                    dependant.dirty |= dependant.affected(tile)

    def submitted(self, stage: Stage, meshes: Iterable[str]) -> None:
        """A task of ``stage`` touching ``meshes`` (its ``Task.meshes``; empty: every tile)
        was submitted and is running."""
        state = self.by_name[stage.name]
        state.outstanding += 1
        for key in touch_keys(meshes, self.tiles):
            state.running[key] += 1
            if _is_coarse(key):
                state.coarse.add(key)

    def finished_task(self, stage: Stage, meshes: Iterable[str]) -> None:
        """A submitted task of ``stage`` touching ``meshes`` finished (done or failed)."""
        state = self.by_name[stage.name]
        state.outstanding -= 1
        for key in touch_keys(meshes, self.tiles):
            state.running[key] -= 1
            if state.running[key]:
                continue
            del state.running[key]
            state.coarse.discard(key)
            for dependant in state.dependants:
                if dependant.stage.per_tile:
                    dependant.dirty |= dependant.affected(key)
