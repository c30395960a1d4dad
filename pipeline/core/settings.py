"""The strict settings base every section of a run definition builds on, and its path types.

Every mapping forbids unknown keys, so a typo fails with its path
(``stages.shadow.step_minutes``) instead of being silently ignored. Paths are resolved
once, while validating, against the folder of the YAML file: the loader passes it as
the validation context (``{"base": folder}``) and every :data:`InputPath` /
:data:`OutputPath` field resolves itself, wherever it sits in the definition.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo


class Strict(BaseModel):
    """A settings model that refuses unknown keys and validates its defaults."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


class StageSettings(Strict):
    """Settings of one ``stages.<name>`` section; every stage has ``enabled``."""

    enabled: bool = Field(True, description="Run this stage.")


def _resolve(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base") if info.context else None
    if base is None or value.is_absolute():
        return value
    return (Path(base) / value).resolve()


def _exists(value: Path, info: ValidationInfo) -> Path:
    # Checked only when loading a file (a base is known): models built in code may name
    # files that are written later.
    if info.context and info.context.get("base") is not None and not value.exists():
        raise ValueError(f"{value}: no such file or folder")
    return value


#: A path read by the run, relative to the run definition's folder, that must exist.
InputPath = Annotated[Path, AfterValidator(_resolve), AfterValidator(_exists)]
#: A path written by the run, relative to the run definition's folder.
OutputPath = Annotated[Path, AfterValidator(_resolve)]


def one_or_many(value: Any) -> Any:
    """Let a YAML list key take a single value (``lidar: file.laz``)."""
    return [value] if isinstance(value, (str, Path)) else value
