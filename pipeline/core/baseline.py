"""A run on a baseline: recompute only what a set of changes can reach, take the rest
from the baseline run's output folder, never writing there.

A run definition with ``inputs.baseline`` (the output folder of the same run without the
changes) and change files (for Machi, ``inputs.measures``) runs every stage as usual,
except that a task the changes cannot reach is not run: its record is the baseline's
record of the same stage and tile, outputs and all, so the new manifest records where
each output lives (paths into the baseline folder) and nothing is copied. Which stages
and tiles the changes reach is the registry's to say (:class:`RunChanges`):

- a stage the changes enter (``RunChanges.enters``) and every stage that needs one of
  them, directly or not, is *affected*; the others (ingest, people flow, ...) are taken
  whole from the baseline, and so are the ``RunChanges.fixed`` stages (references such as
  the walkability scale, kept so that before and after are on one scale);
- a per-tile affected stage runs the tiles of ``RunChanges.touched`` and takes the others
  from the baseline; a run-wide affected stage (a summary, an export) runs.

A task with no baseline record of its stage and tile runs. The baseline must be a run of
the same definition (:meth:`Baseline.check_definition`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipeline.core.manifest import Manifest
from pipeline.core.outputs import Outputs, OutputsError
from pipeline.core.stage import RunChanges
from pipeline.core.task import PlanContext, Record

__all__ = ["Baseline", "BaselineError", "BaselineRun", "RunChanges", "affected_stages"]

log = logging.getLogger(__name__)

#: Keys of a run definition that may differ between a baseline and a run on it.
FREE_KEYS = ("name", "output", "dask")


class BaselineError(ValueError):
    """A baseline folder that cannot be used."""


class Baseline:
    """The finished records of a baseline run, by stage and tile (read-only)."""

    def __init__(self, folder: Path, tasks: dict[str, dict], definition: dict) -> None:
        self.folder = folder
        self.definition = definition
        self._by_place: dict[tuple[str, str], list[dict]] = {}
        for data in tasks.values():
            if isinstance(data, dict) and data.get("status") == "done":
                self._by_place.setdefault((data.get("stage", ""), data.get("tile", "")), []).append(data)

    @classmethod
    def open(cls, folder: str | Path) -> Baseline:
        """The baseline of ``folder`` (its ``manifest.json`` and journal, read, never written)."""
        folder = Path(folder)
        if not (folder / "manifest.json").is_file():
            raise BaselineError(f"{folder}: no manifest.json: not the output folder of a finished run")
        manifest = Manifest.open(folder)  # reading writes nothing
        data = manifest.data
        if not data.get("tasks"):
            raise BaselineError(f"{folder}/manifest.json: records no task")
        return cls(folder, data["tasks"], data.get("definition") or {})

    def check_definition(self, definition: Any, change_input: str) -> None:
        """Refuse a run whose definition differs from the baseline's beyond its name,
        output, Dask settings, ``inputs.baseline`` and the change files: the baseline
        would not be its 'before'."""
        mine = definition.model_dump(mode="json")
        theirs = dict(self.definition)
        differ = []
        for key in sorted(set(mine) | set(theirs)):
            if key in FREE_KEYS:
                continue
            a, b = mine.get(key), theirs.get(key)
            if key == "inputs":
                # files compared by name: a checkout moved elsewhere is the same run
                a = {k: _names(v) for k, v in (a or {}).items() if k not in ("baseline", change_input)}
                b = {k: _names(v) for k, v in (b or {}).items() if k not in ("baseline", change_input)}
                differ += [f"inputs.{k}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
            elif key == "stages":
                a, b = a or {}, b or {}
                # a section only one side has is a stage added or dropped since: not compared
                differ += [f"stages.{k}" for k in sorted(set(a) & set(b)) if a[k] != b[k]]
            elif a != b:
                differ.append(key)
        if differ:
            raise BaselineError(
                f"{self.folder}: the baseline was run with other {', '.join(differ)} "
                f"than this run definition; run the baseline with the same keys"
            )

    def record(self, stage: str, tile: str, key: str, outputs: type[Outputs]) -> Record | None:
        """The baseline's record of ``stage`` and ``tile`` as the record of task ``key``
        (``details.baseline``: the baseline's own key), or None when it has none, or
        several, or one whose outputs are not on disk or not of type ``outputs``."""
        found = self._by_place.get((stage, tile), [])
        if len(found) != 1:
            return None
        try:
            record = Record.from_json(found[0], outputs)
        except OutputsError as exc:
            log.warning("baseline %s: %s; the task runs", self.folder, exc)
            return None
        if not all(Path(path).exists() for path in record.outputs.paths):
            return None
        return replace(
            record, key=key, seconds=0.0, details={**record.details, "baseline": found[0].get("key", "")}
        )


def _names(value: Any) -> Any:
    """``value`` (a JSON input value) with every path string cut to its file name."""
    if isinstance(value, str) and ("/" in value or "\\" in value):
        return Path(value).name
    if isinstance(value, list):
        return [_names(v) for v in value]
    if isinstance(value, dict):
        return {k: _names(v) for k, v in value.items()}
    return value


def affected_stages(stages: list, changes: RunChanges) -> set[str]:
    """Names of the stages the changes reach: those they enter and every stage that
    needs one of those (``needs`` None: every stage before it), less ``changes.fixed``."""
    affected: set[str] = set()
    earlier: list[str] = []
    for stage in stages:
        needs = earlier if stage.needs is None else stage.needs
        if stage.name in changes.enters or affected.intersection(needs):
            if stage.name not in changes.fixed:
                affected.add(stage.name)
        earlier.append(stage.name)
    return affected


@dataclass
class BaselineRun:
    """A run on a baseline: which tasks are taken from it (module docstring)."""

    baseline: Baseline
    affected: set[str]
    touched: frozenset[str]

    @classmethod
    def prepare(
        cls, definition: Any, context: PlanContext, stages: list, changes: RunChanges | None
    ) -> BaselineRun | None:
        """The baseline use of ``definition`` (None without ``inputs.baseline``)."""
        folder = getattr(definition.inputs, "baseline", None)
        if folder is None:
            return None
        if changes is None:
            raise BaselineError(
                "inputs.baseline is set, but the stage registry declares no "
                "changes a run on a baseline could apply"
            )
        baseline = Baseline.open(folder)
        baseline.check_definition(definition, changes.input)
        touched = frozenset(changes.touched(definition, context)) & frozenset(context.tiles)
        affected = affected_stages(stages, changes)
        log.info(
            "baseline %s: the changes reach %d of %d tile(s); stages recomputed there: %s",
            folder,
            len(touched),
            len(context.tiles),
            ", ".join(s.name for s in stages if s.name in affected) or "none",
        )
        return cls(baseline, affected, touched)

    def reused(self, stage: Any, key: str, tile: str) -> Record | None:
        """The baseline's record standing for task ``key`` of ``stage`` on ``tile``, or
        None when the task must run (the changes reach it, or the baseline lacks it)."""
        if stage.name in self.affected and (not stage.per_tile or tile in self.touched):
            return None
        return self.baseline.record(stage.name, tile, key, stage.outputs)
