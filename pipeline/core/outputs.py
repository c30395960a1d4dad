"""Typed stage outputs: what a stage's tasks write, declared once, read by attribute.

Every stage declares the outputs of its tasks as a frozen dataclass deriving from
:class:`Outputs` (``Stage.outputs``)::

    @dataclass(frozen=True)
    class SurfaceOutputs(Outputs):
        dsm: str
        terrain: str
        canopy: str
        building_id: str
        buildings: str

Its task function returns ``Result(outputs=SurfaceOutputs(...))`` and the next stage reads
``record.outputs.dsm``. A stage that reads another's outputs says which
(``Stage(reads={"surface": ("dsm", "canopy")})``) and the engine checks, before it plans
anything, that each of them is declared (:func:`pipeline.core.stage.check_reads`): a renamed
output fails at planning time naming both stages, not on a worker half-way through a run.

In the manifest an outputs record is plain JSON, a mapping from field name to value
(paths as strings, nested mappings of paths), with the fields that are None left out,
so manifests written before outputs were typed read back unchanged.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import MISSING, dataclass
from typing import Any, TypeVar

OutputsT = TypeVar("OutputsT", bound="Outputs")


class OutputsError(ValueError):
    """An outputs record that does not match its stage's declared type."""


@dataclass(frozen=True)
class Outputs:
    """Base of every stage's declared outputs (subclass it as a frozen dataclass).

    Field values are JSON: path strings, mappings of names to paths, lists, numbers or
    None (an output a task did not write). A field named ``feature_table`` (a Parquet
    table keyed by ``gml_id``) hands per-feature values to the 3D Tiles layer named by
    ``Result.feature_type``.
    """

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The declared output names, in declaration order."""
        return _names(cls)

    @classmethod
    def required(cls) -> tuple[str, ...]:
        """The outputs without a default: every task of the stage must write them."""
        return _required(cls)

    def to_json(self) -> dict[str, Any]:
        """The manifest form: ``{name: value}`` for every output that is not None."""
        return {name: value for name in self.names() if (value := getattr(self, name)) is not None}

    @classmethod
    def from_json(cls: type[OutputsT], data: Mapping[str, Any] | None, *, stage: str = "") -> OutputsT:
        """An outputs record from its manifest form; raises :class:`OutputsError` naming the
        stage and the output when ``data`` holds one the type does not declare, or lacks
        one it requires."""
        data = dict(data or {})
        where = f"stage {stage!r}: " if stage else ""
        unknown = sorted(set(data).difference(_name_set(cls)))
        if unknown:
            raise OutputsError(
                f"{where}outputs {unknown} are not declared by {cls.__name__} "
                f"(declared: {', '.join(cls.names()) or 'none'})"
            )
        missing = [name for name in cls.required() if name not in data]
        if missing:
            raise OutputsError(f"{where}{cls.__name__} requires outputs {missing}, not recorded")
        return cls(**data)

    @property
    def paths(self) -> list[str]:
        """Every path string among the outputs (nested mappings and lists included)."""
        return paths_in(self.to_json())


@functools.cache
def _names(cls: type[Outputs]) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


@functools.cache
def _name_set(cls: type[Outputs]) -> frozenset[str]:
    return frozenset(_names(cls))


@functools.cache
def _required(cls: type[Outputs]) -> tuple[str, ...]:
    return tuple(
        f.name for f in dataclasses.fields(cls) if f.default is MISSING and f.default_factory is MISSING
    )


@dataclass(frozen=True)
class NoOutputs(Outputs):
    """The outputs of a stage that writes nothing another stage reads."""


def paths_in(value: Any) -> list[str]:
    """Every string in a (nested) JSON value of outputs."""
    if isinstance(value, Outputs):
        value = value.to_json()
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [p for v in value.values() for p in paths_in(v)]
    if isinstance(value, (list, tuple)):
        return [p for v in value for p in paths_in(v)]
    return []
