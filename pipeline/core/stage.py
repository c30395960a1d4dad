"""What a stage is: a name, a settings model, whether the run wants it, a planner, and the
outputs it declares.

A stage module (``pipeline/stages/<name>.py``) defines one module-level :class:`Stage`
and the registry (``pipeline.stages.STAGES``) lists it once, in run order; that is all
it takes to add one. The run definition's ``stages:`` section, the planner and the
runner are built from the registry and know only this interface::

    SHADE = Stage(name="shade", settings=ShadeSettings, plan=plan_shade,
                  outputs=ShadeOutputs, reads={"surface": ("dsm", "canopy")},
                  needs=("surface",), reach="tile")

``plan(ctx, records)`` receives the :class:`~pipeline.core.task.PlanContext` and every
record so far (by task key) and returns the stage's tasks. When it is called is declared,
not coded: ``needs`` names the stages whose records it reads and ``reach`` how far the
inputs of one of its tiles reach. The runner plans a per-tile stage (``reach="tile"`` or
``"neighbours"``) for a tile as soon as the records of that tile's reach are all in, so
a tile's shadow starts when its surface is done, not when every surface is done; a
``"run"`` stage is planned once, when every stage it needs has finished. Declare what the
planner reads, no less: a planner that reads records beyond its declaration could see
some of them and not others, and its task keys would depend on the order tasks finished
in.

``outputs`` is the frozen dataclass (:class:`~pipeline.core.outputs.Outputs`) its tasks
return and the next stage reads by attribute; ``reads`` names, per upstream stage, the
outputs it reads. :func:`check_reads` holds every ``reads`` against the declarations before
anything is planned, so a renamed output fails there, naming both stages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.core.outputs import NoOutputs, Outputs
from pipeline.core.settings import StageSettings
from pipeline.core.task import PlanContext, Record, Task

Planner = Callable[[PlanContext, Mapping[str, Record]], list[Task]]
#: How far the inputs of one tile of a stage reach (see :class:`Stage`).
Reach = Literal["run", "tile", "neighbours"]
REACHES: tuple[str, ...] = ("run", "tile", "neighbours")


def _enabled(definition: Any, stage: Stage) -> bool:
    return bool(getattr(definition.stages, stage.section).enabled)


@dataclass(frozen=True, eq=False)  # one object per stage: compared and hashed by identity
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
    needs : tuple of str or None
        The stages whose records its planner reads (``("surface",)``), each earlier in the
        registry. None (the default) means every stage before it: always right, never
        early. A needed stage the run does not want counts as finished.
    reach : ``"run"``, ``"tile"`` or ``"neighbours"``
        How far the inputs of one of its tiles reach, which decides when the runner may
        plan it. ``"tile"``: the records of the same tile only (``done(records,
        "surface", tile=tile)``); ``"neighbours"``: the tile and its eight third-level mesh
        neighbours (a halo of up to 1 km, :func:`~pipeline.core.task.tile_neighbourhood`).
        Both are *per-tile*: the planner is called with ``ctx.tiles`` holding only the
        tiles whose inputs are complete, and must plan tasks for those tiles only, each
        with ``tile`` one of them. ``"run"`` (the default): planned once, with every tile,
        after every needed stage has finished entirely (input files, run-wide tasks).
        An upstream task counts as part of a tile's reach when one of its ``meshes``
        (:class:`~pipeline.core.task.Task`) is that tile, a finer mesh inside it or a
        coarser mesh holding it (a 2nd-level ``dem`` file), or when it names no mesh (a
        run-wide task).
    outputs : type of Outputs
        The frozen dataclass its tasks return as ``Result.outputs`` (default
        :class:`~pipeline.core.outputs.NoOutputs`).
    reads : mapping of str to tuple of str
        Upstream stage name -> the names of its outputs this stage reads
        (``{"surface": ("dsm", "canopy")}``); checked by :func:`check_reads`.
    inputs : mapping of str to (annotation, FieldInfo)
        The keys of the run definition's ``inputs:`` section it reads (files it is handed,
        ``{"streets": (list[InputPath], Field([], description=...))}``), as pydantic field
        definitions; every input file of a run is under ``inputs:``, declared by the stage
        that reads it. Stages that read the same input declare it once.
    moved : mapping of str to str
        Old dotted keys of the run definition -> where they are now
        (``{"stages.walkability.streets": "inputs.streets"}``): a definition that still
        uses one is refused with a message naming both.
    """

    name: str
    settings: type[StageSettings]
    plan: Planner
    wanted: Callable[[Any], bool] | None = None
    section: str = ""
    code: tuple[str, ...] = ()
    needs: tuple[str, ...] | None = None
    reach: Reach = "run"
    outputs: type[Outputs] = NoOutputs
    reads: Any = ()  # given as a mapping, kept as a tuple of (stage, names)
    inputs: Any = ()  # given as a mapping, kept as a tuple of (name, annotation, field)
    moved: Any = ()  # given as a mapping, kept as a tuple of (old key, new key)

    def __post_init__(self) -> None:
        if not self.section:
            object.__setattr__(self, "section", self.name)
        reads = self.reads.items() if isinstance(self.reads, Mapping) else self.reads
        object.__setattr__(self, "reads", tuple((str(stage), tuple(names)) for stage, names in reads))
        inputs = (
            self.inputs.items()
            if isinstance(self.inputs, Mapping)
            else ((name, (annotation, info)) for name, annotation, info in self.inputs)
        )
        object.__setattr__(self, "inputs", tuple((name, *field) for name, field in inputs))
        moved = self.moved.items() if isinstance(self.moved, Mapping) else self.moved
        object.__setattr__(self, "moved", tuple((str(old), str(new)) for old, new in moved))
        if not (isinstance(self.outputs, type) and issubclass(self.outputs, Outputs)):
            raise TypeError(
                f"stage {self.name!r}: outputs must be an Outputs dataclass, got {self.outputs!r}"
            )
        if self.reach not in REACHES:
            raise ValueError(f"stage {self.name}: reach must be one of {REACHES}, got {self.reach!r}")
        if self.needs is not None:
            object.__setattr__(self, "needs", tuple(self.needs))

    @property
    def per_tile(self) -> bool:
        """Whether the runner plans it tile by tile (``reach`` ``"tile"`` or ``"neighbours"``)."""
        return self.reach != "run"

    def is_wanted(self, definition: Any) -> bool:
        if not _enabled(definition, self):
            return False
        return True if self.wanted is None else bool(self.wanted(definition))


@dataclass(frozen=True)
class RunSources:
    """How a run finds the input files its first stage works through, and its CRS: handed
    to the engine by the registry (``run_definition_model(stages, sources)``), so the
    engine names no input format.

    Parameters
    ----------
    find : callable
        ``find(definition) -> (sources, problems)``: the files of the run's inputs and area,
        sorted by name, each with a ``mesh_code`` (the JIS X 0410 mesh it covers, or None),
        and messages about files left out. Raises ValueError when there is none.
    detect_crs : callable
        ``detect_crs(sources) -> "EPSG:<code>"``: the metric CRS of ``crs: auto``.
    """

    find: Callable[[Any], tuple[list, list[str]]]
    detect_crs: Callable[[list], str]


@dataclass(frozen=True)
class RunChanges:
    """What the registry tells the engine about changes to a baseline (measures): handed
    in like :class:`RunSources` (``run_definition_model(stages, sources, changes)``); see
    :mod:`pipeline.core.baseline`.

    Parameters
    ----------
    input : str
        The ``inputs:`` key listing the change files (``"measures"``).
    enters : tuple of str
        The stages that read them.
    touched : callable
        ``touched(definition, ctx) -> set of tile codes``: the tiles of ``ctx.tiles`` the
        changes can reach (read once, when the run is planned).
    fixed : tuple of str
        Stages always taken from the baseline (run-wide references).
    """

    input: str
    enters: tuple[str, ...]
    touched: Callable[[Any, PlanContext], Iterable[str]]
    fixed: tuple[str, ...] = ()


def check_reads(stages: Iterable[Stage]) -> None:
    """Hold every stage's ``reads`` against the outputs the stages before it declare.

    Raises ValueError naming the reading stage, the stage it reads and the output, when
    that stage is not in ``stages`` (registry order), comes after the reader, is not among
    the reader's ``needs``, or does not declare the output.
    """
    stages = list(stages)
    position = {stage.name: index for index, stage in enumerate(stages)}
    for index, stage in enumerate(stages):
        for upstream, names in stage.reads:
            source = stages[position[upstream]] if upstream in position else None
            if source is None:
                raise ValueError(
                    f"stage {stage.name!r} reads outputs {list(names)} of stage "
                    f"{upstream!r}, which is not in the registry"
                )
            if position[upstream] >= index:
                raise ValueError(
                    f"stage {stage.name!r} reads outputs of stage {upstream!r}, "
                    f"which does not come before it in the registry"
                )
            if stage.needs is not None and upstream not in stage.needs:
                raise ValueError(
                    f"stage {stage.name!r} reads outputs of stage {upstream!r} "
                    f"but does not name it in needs {list(stage.needs)}"
                )
            undeclared = [name for name in names if name not in source.outputs.names()]
            if undeclared:
                raise ValueError(
                    f"stage {stage.name!r} reads output {undeclared[0]!r} of stage {upstream!r}, "
                    f"which {source.outputs.__name__} does not declare (stage {upstream!r} "
                    f"declares: {', '.join(source.outputs.names()) or 'no outputs'})"
                )
