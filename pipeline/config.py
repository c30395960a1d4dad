"""The run definition: a YAML file (``dags/*.yaml``) validated with pydantic.

Every mapping forbids unknown keys, so a typo fails with its path
(``stages.shadow.step_minutes``) instead of being silently ignored. Relative paths
are resolved against the folder of the YAML file. The README documents every key.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.export.tiles_stage import ExportTilesStage
from pipeline.lidar.stage import LidarStage
from pipeline.peopleflow.stage import PeopleFlowSource, PeopleFlowStage
from pipeline.shadow_stage import ShadowDiagramStage, ShadowStage
from pipeline.surface_stage_tmp import SurfaceStage
from pipeline.walkability.stage import WalkabilityStage

FEATURE_TYPES = ("bldg", "veg", "dem", "tran", "frn", "brid", "luse", "wtr", "tun",
                 "urf", "lsld", "fld", "htd", "ifld", "tnm", "gen", "area", "cons", "ubld",
                 "unf", "wwy", "rwy", "trk", "squr")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class Inputs(Strict):
    """Where the data comes from."""

    citygml: list[Path] = Field(default_factory=list,
                                description="PLATEAU folders, .zip files or .gml files")
    types: list[str] = Field(default_factory=lambda: ["bldg", "veg", "dem", "tran", "frn"],
                             description="PLATEAU feature folders to read")
    lidar: list[Path] = Field(default_factory=list, description="LAS/LAZ files")
    lidar_crs: str | None = Field(None, description="CRS of LAS/LAZ files whose header names none")
    peopleflow: list[PeopleFlowSource] = Field(
        default_factory=list, description="people-flow files: MLIT CSV, hourly mesh tables, counters")

    @field_validator("citygml", "lidar", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, (str, Path)) else value

    @field_validator("types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        unknown = [t for t in value if t not in FEATURE_TYPES]
        if unknown:
            raise ValueError(f"unknown feature type(s) {unknown}; known: {', '.join(FEATURE_TYPES)}")
        return value


class Area(Strict):
    """Which part of the inputs to process. Empty means everything."""

    meshes: list[str] = Field(default_factory=list,
                              description="JIS X 0410 mesh codes (2nd or 3rd level)")
    bbox: tuple[float, float, float, float] | None = Field(
        None, description="lon_min, lat_min, lon_max, lat_max in degrees (JGD2011)")

    @field_validator("meshes", mode="before")
    @classmethod
    def _codes(cls, value: Any) -> Any:
        if value is None:
            return []
        codes = [str(v) for v in value]
        for code in codes:
            if not code.isdigit() or len(code) not in (4, 6, 8, 9, 10, 11):
                raise ValueError(f"{code!r} is not a JIS X 0410 mesh code")
        return codes

    @field_validator("bbox")
    @classmethod
    def _ordered(cls, value):
        if value is not None and (value[0] >= value[2] or value[1] >= value[3]):
            raise ValueError("bbox must be lon_min, lat_min, lon_max, lat_max with min < max")
        return value


class IngestStage(Strict):
    enabled: bool = True


class GridSettings(Strict):
    """The raster grid every raster stage shares, per third-level mesh tile."""

    resolution_m: float = Field(1.0, gt=0, le=50, description="cell size in metres")
    halo_m: float = Field(200.0, ge=0, description="extra margin read around each tile "
                          "so shadows and walks can cross tile edges")


class Stages(Strict):
    ingest: IngestStage = Field(default_factory=IngestStage)
    lidar: LidarStage = Field(default_factory=LidarStage)
    surface: SurfaceStage = Field(default_factory=SurfaceStage)
    shadow: ShadowStage = Field(default_factory=ShadowStage)
    shadow_diagram: ShadowDiagramStage = Field(default_factory=ShadowDiagramStage)
    peopleflow: PeopleFlowStage = Field(default_factory=PeopleFlowStage)
    walkability: WalkabilityStage = Field(default_factory=WalkabilityStage)
    export_tiles: ExportTilesStage = Field(default_factory=ExportTilesStage)


class DaskSettings(Strict):
    """Where tasks run: a local cluster by default, or an existing scheduler."""

    scheduler: str | None = Field(None, description="tcp://host:8786 of an existing cluster")
    workers: int = Field(2, ge=1, description="local cluster: worker processes")
    threads_per_worker: int = Field(1, ge=1)
    memory_limit: str = Field("4GiB", description="local cluster: memory per worker")


class RunDefinition(Strict):
    """A whole run: inputs, area, CRS, stages and where outputs go."""

    name: str = "machi-run"
    inputs: Inputs = Field(default_factory=Inputs)
    area: Area = Field(default_factory=Area)
    crs: str = Field("auto", description="'auto' (JGD2011 plane zone of the data) or e.g. EPSG:6677")
    timezone: str = "Asia/Tokyo"
    output: Path = Path("out")
    grid: GridSettings = Field(default_factory=GridSettings)
    stages: Stages = Field(default_factory=Stages)
    dask: DaskSettings = Field(default_factory=DaskSettings)

    @field_validator("crs")
    @classmethod
    def _crs(cls, value: str) -> str:
        if value == "auto":
            return value
        from pyproj import CRS
        try:
            crs = CRS.from_user_input(value)
        except Exception as exc:  # pyproj raises CRSError with a readable message
            raise ValueError(f"not a CRS: {exc}") from None
        if not crs.is_projected:
            raise ValueError(f"{value} is not a projected (metric) CRS")
        return value

    def resolve_paths(self, base: Path) -> "RunDefinition":
        """Make relative input and output paths relative to ``base`` (the YAML's folder)."""
        def fix(p: Path) -> Path:
            return p if p.is_absolute() else (base / p).resolve()
        self.inputs.citygml = [fix(p) for p in self.inputs.citygml]
        self.inputs.lidar = [fix(p) for p in self.inputs.lidar]
        for source in self.inputs.peopleflow:
            source.path = fix(source.path)
        self.stages.walkability.resolve_paths(base)
        self.stages.export_tiles.extra_tables = [fix(p) for p in self.stages.export_tiles.extra_tables]
        self.output = fix(self.output)
        return self


class RunDefinitionError(ValueError):
    """A run definition that does not validate; the message lists every problem by path."""


def load_run_definition(path: str | Path, overrides: dict[str, Any] | None = None) -> RunDefinition:
    """Read, validate and resolve a run definition.

    ``overrides`` are dotted keys (``{"dask.workers": 4}``) applied before validation.
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise RunDefinitionError(f"{path}: not valid YAML: {exc}") from None
    except OSError as exc:
        raise RunDefinitionError(f"{path}: {exc.strerror}") from None
    if not isinstance(raw, dict):
        raise RunDefinitionError(f"{path}: the run definition must be a mapping")
    for dotted, value in (overrides or {}).items():
        target = raw
        *parents, last = dotted.split(".")
        for key in parents:
            target = target.setdefault(key, {})
        target[last] = value
    try:
        definition = RunDefinition.model_validate(raw)
    except ValidationError as exc:
        raise RunDefinitionError(format_validation_error(path, exc)) from None
    return definition.resolve_paths(path.resolve().parent)


def format_validation_error(path: Path, exc: ValidationError) -> str:
    lines = [f"{path}: invalid run definition"]
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "(top level)"
        if error["type"] == "extra_forbidden":
            lines.append(f"  {where}: unknown key")
        else:
            lines.append(f"  {where}: {error['msg']} (got {error.get('input')!r})")
    return "\n".join(lines)
