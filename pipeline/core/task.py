"""Tasks, their records, and what a stage's planner is given.

A stage plans :class:`Task` objects (one per tile, input file or layer); the runner runs
each as ``func(*args, **kwargs, **upstream)`` on a Dask worker and keeps what it returns
as a :class:`Record`. Upstream records reach a task as keyword arguments named in
``Task.upstream``, so a stage's task function sees the records of the stages it reads
and nothing else. This module is the leaf of the engine: stage modules import from here
(and from :mod:`pipeline.core.settings`), never from the runner, planner or config.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, Protocol

from pipeline.core.outputs import NoOutputs, Outputs, OutputsError

__all__ = [
    "InputHashCache",
    "NoOutputs",
    "Outputs",
    "OutputsError",
    "PlanContext",
    "Record",
    "Result",
    "Task",
    "done",
    "keys",
    "tile_neighbourhood",
]

Status = Literal["done", "failed"]


class InputHashCache(Protocol):
    """Where input hashes are kept between runs (the manifest): recomputed only when a
    file's size or mtime changed."""

    def input_hash(self, name: str, size: int, mtime: float, compute: Callable[[], str]) -> str: ...


@dataclass
class Result:
    """What a stage's task function returns: its outputs and what the manifest should say.

    ``outputs`` is an instance of the stage's declared :class:`~pipeline.core.outputs.Outputs`
    type (paths, possibly nested mappings of paths; None: every output at its default);
    ``counts`` holds numbers for the run report. ``feature_type`` names the PLATEAU layer
    a record concerns (ingest files; tables keyed by ``gml_id`` in ``outputs.feature_table``
    join that layer's 3D Tiles property tables); ``mesh_code`` the mesh of an input
    file. ``details`` carries anything else worth keeping (sources, statistics).
    """

    outputs: Outputs | None = None
    counts: dict = field(default_factory=dict)
    feature_type: str | None = None
    mesh_code: str | None = None
    problems: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)


@dataclass
class Record(Result):
    """A finished task as the manifest keeps it: its :class:`Result` plus identity,
    status and timing. ``outputs`` is always its stage's declared type (a failed task's
    is :class:`~pipeline.core.outputs.NoOutputs`)."""

    outputs: Outputs = field(default_factory=NoOutputs)

    stage: str = ""
    tile: str = ""
    status: Status = "done"
    seconds: float = 0.0
    error: str | None = None
    traceback: str | None = None
    key: str = ""

    @property
    def done(self) -> bool:
        return self.status == "done"

    def to_json(self) -> dict:
        """The manifest form: plain JSON, the outputs as ``{name: value}``."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["outputs"] = self.outputs.to_json()
        return json.loads(json.dumps(data, default=str))

    @classmethod
    def from_json(cls, data: Mapping[str, Any], outputs: type[Outputs] = NoOutputs) -> Record:
        """A record from its manifest form, its outputs read as ``outputs`` (its stage's
        declared type; :class:`~pipeline.core.outputs.OutputsError` when they do not
        match it). Unknown keys (older manifests) go to ``details``."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["outputs"] = outputs.from_json(data.get("outputs"), stage=str(data.get("stage", "")))
        record = cls(**values)
        extra = {k: v for k, v in data.items() if k not in known}
        if extra:
            record.details = {**extra, **record.details}
        return record

    @classmethod
    def from_result(
        cls,
        result: Result | None,
        *,
        stage: str,
        tile: str,
        seconds: float,
        outputs: type[Outputs] | None = None,
    ) -> Record:
        """The record of a task that returned ``result``. With ``outputs`` (the stage's
        declared type), result outputs of another type raise
        :class:`~pipeline.core.outputs.OutputsError`, and None becomes that type's
        defaults."""
        result = result if result is not None else Result()
        written = result.outputs
        if written is None:
            try:
                written = (outputs or NoOutputs)()
            except TypeError:
                raise OutputsError(
                    f"stage {stage!r}: its task returned no outputs, and "
                    f"{outputs.__name__} requires {list(outputs.required())}"
                ) from None
        elif not isinstance(written, Outputs) or (outputs is not None and not isinstance(written, outputs)):
            expected = outputs.__name__ if outputs is not None else "an Outputs dataclass"
            raise OutputsError(
                f"stage {stage!r}: its task returned outputs of type "
                f"{type(written).__name__}, not the declared {expected}"
            )
        values = {f.name: getattr(result, f.name) for f in fields(Result)}
        values["outputs"] = written
        return cls(**values, stage=stage, tile=tile, seconds=seconds)


def done(records: Mapping[str, Record] | Iterable[Record], stage: str, **match: Any) -> list[Record]:
    """The finished records of ``stage`` whose fields equal ``match``, in a stable order.

    Sorted by tile then key, so whatever order tasks finished in, a stage sees its
    upstream records in the same order (outputs do not depend on arrival order).

    >>> done(records, "ingest", feature_type="bldg")  # doctest: +SKIP
    """
    values = records.values() if isinstance(records, Mapping) else records
    chosen = [
        r for r in values if r.stage == stage and r.done and all(getattr(r, k) == v for k, v in match.items())
    ]
    return sorted(chosen, key=lambda r: (r.tile, r.key))


def keys(records: Iterable[Record]) -> list[str]:
    """The keys of ``records`` (for ``Task.upstream``)."""
    return [r.key for r in records]


@dataclass
class Task:
    """One unit of work: ``func(*args, **kwargs)`` for one stage and one tile.

    ``upstream`` maps keyword names to lists of upstream task keys; the runner passes
    those tasks' :class:`Record` objects (sorted by tile and key) as the keyword's
    value. ``params`` and ``input_hashes`` (with the upstream keys and the code of
    ``func``'s module) make the task's key: a task whose key the manifest records as
    done, with its outputs on disk, is skipped.

    ``meshes`` names the mesh cells (JIS X 0410 codes of any level) whose data the task
    reads or writes: a tile's own code for a per-tile task, an input file's mesh for
    ingest. Empty means the whole run (a run-wide task, a layer), except for a task of a
    per-tile stage, whose ``tile`` is a tile of the run and which covers it by default.
    The runner counts a running task against those cells only (:mod:`pipeline.core.flow`),
    so a tile's next stage waits for exactly the tasks that touch it. ``tile`` is only the
    task's name in records and logs (a mesh code, ``"all"``, a file stem, ``bldg_<part>``).
    """

    stage: str
    tile: str
    func: Callable[..., Any]
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    input_hashes: list[str] = field(default_factory=list)
    upstream: dict[str, list[str]] = field(default_factory=dict)
    meshes: tuple[str, ...] = ()
    key: str = ""

    def __post_init__(self) -> None:
        self.meshes = tuple(str(m) for m in self.meshes)

    def compute_key(self, version: str = "dev", code: tuple[str, ...] = ()) -> str:
        """The task's identity; ``code`` names the packages whose source it depends on
        besides its function's module (``Stage.code``), so editing them reruns it."""
        upstream_keys = sorted(k for ks in self.upstream.values() for k in ks)
        sources = {"func": code_version(self.func), **{name: package_version(name) for name in code}}
        blob = json.dumps(
            {
                "stage": self.stage,
                "tile": self.tile,
                "params": {**self.params, "code": sources},
                "inputs": sorted(self.input_hashes),
                "upstream": upstream_keys,
                "machi": version,
            },
            sort_keys=True,
            default=str,
        )
        self.key = f"{self.stage}-{self.tile}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"
        return self.key


@functools.cache
def code_version(func: Callable) -> str:
    """Hash of the source file defining ``func``: edited stage code reruns its tasks."""
    module = sys.modules.get(func.__module__)
    path = getattr(module, "__file__", None)
    if not path:
        return "unknown"
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


@functools.cache
def package_version(name: str) -> str:
    """Hash of the source of a package (every ``.py`` below it) or module."""
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or not spec.origin:
        return "unknown"
    origin = Path(spec.origin)
    files = sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def sha256_stream(stream, chunk: int = 1 << 20) -> str:
    """SHA-256 (hex) of a binary stream, read in chunks."""
    digest = hashlib.sha256()
    while True:
        block = stream.read(chunk)
        if not block:
            return digest.hexdigest()
        digest.update(block)


@dataclass
class PlanContext:
    """What every stage's planner is given besides the records so far.

    ``definition`` is the validated run definition (``definition.stages.<name>`` the
    stage's own settings, ``definition.scenarios`` the run's seasons x time slots);
    ``crs`` the analysis CRS; ``tiles`` the third-level mesh codes to plan (sorted: every
    tile of the run for a ``"run"`` stage, the tiles whose inputs are complete for a
    per-tile one, see :class:`~pipeline.core.stage.Stage`);
    ``sources`` the input files the registry's
    :class:`~pipeline.core.stage.RunSources` found (CityGML files); ``output`` the output folder.
    """

    definition: Any
    crs: str
    tiles: list[str]
    sources: list[Any]
    manifest: InputHashCache
    output: Path
    problems: list[str] = field(default_factory=list)

    def for_tiles(self, tiles: Iterable[str]) -> PlanContext:
        """A copy whose ``tiles`` are ``tiles`` (sorted): what a per-tile stage's planner is
        given when those tiles' inputs are complete. ``problems`` and the manifest are
        shared with this context, so what a planner reports is kept."""
        return dataclasses.replace(self, tiles=sorted(tiles))

    def settings(self, section: str) -> Any:
        """The settings of ``stages.<section>``."""
        return getattr(self.definition.stages, section)

    @property
    def scenarios(self) -> list:
        return self.definition.scenarios.scenarios()

    def out(self, *parts: str) -> Path:
        return Path(self.output).joinpath(*parts)

    def tile_grid(self, tile: str, *, halo: bool = True):
        """The raster grid of ``tile`` at the run's resolution, grown by the halo."""
        from pipeline.geo.tiling import tile_grid

        grid = tile_grid(tile, self.crs, self.definition.grid.resolution_m)
        return grid.buffered(self.definition.grid.halo_m) if halo else grid

    # -- input hashes (cached in the manifest by size and mtime) -------------------------
    def hash_file(self, path: str | Path) -> str:
        """Content hash of a local input file."""
        stat = Path(path).stat()

        def compute() -> str:
            with open(path, "rb") as stream:
                return sha256_stream(stream)

        return self.manifest.input_hash(str(path), stat.st_size, stat.st_mtime, compute)

    def hash_source(self, source) -> str:
        """Content hash of a source of :attr:`sources` (a file, or a member of an archive:
        ``source.dataset.local_path(member)``, ``source.open()``, ``source.size``)."""
        dataset = source.dataset
        local = dataset.local_path(source.member)
        if local is not None:
            stat = local.stat()
            size, mtime = stat.st_size, stat.st_mtime
        else:
            size, mtime = source.size, Path(dataset.path).stat().st_mtime

        def compute() -> str:
            with source.open() as stream:
                return sha256_stream(stream)

        return self.manifest.input_hash(source.name, size, mtime, compute)


def tile_neighbourhood(tile: str) -> set[str]:
    """A third-level tile and its eight neighbours: whose data a halo of up to 1 km reaches."""
    from pipeline.geo import meshcode

    return {str(code) for code in meshcode.neighbours(int(tile), include_self=True)}
