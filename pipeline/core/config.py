"""The run definition: a YAML file (``dags/*.yaml``) validated with pydantic.

The run-level sections (inputs, area, CRS, grid, scenarios, Dask) are defined here; the
``stages:`` section is built from the stage registry by :func:`run_definition_model`, one
key per stage with the stage's own settings model. This module names no stage: the
registry (``pipeline.stages``) hands its stages in, and the model it builds carries them
(``RunDefinition.registry``) to the planner and the runner.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, Field, ValidationError, create_model, field_validator, model_validator

from pipeline.core.settings import InputPath, OutputPath, Strict

if TYPE_CHECKING:
    from pipeline.core.baseline import RunChanges
    from pipeline.core.stage import RunSources, Stage


class InputsBase(Strict):
    """Where the data comes from: every file the run reads, one key per input.

    The keys are declared by the stages that read them (``Stage.inputs``: ``citygml`` and
    ``types`` by ingest, ``lidar`` by lidar, ``weather`` by thermal, ``streets`` by
    walkability, ...) and gathered here by :func:`run_definition_model`; a stage's own
    section (``stages.<name>``) holds how it works, never which file it reads.
    ``baseline``, the engine's own, is the output folder of this run without its changes
    (:mod:`pipeline.core.baseline`): read, never written.
    """

    baseline: InputPath | None = Field(
        None,
        description=(
            "Output folder of the same run without its measures: only the tiles and tasks the "
            "measures reach are recomputed, everything else is taken from it (never written). "
            "See docs/measures.md."
        ),
    )


class Area(Strict):
    """Which part of the inputs to process. Empty means everything."""

    meshes: list[str] = Field(
        default_factory=list,
        description="JIS X 0410 mesh codes to "
        "process; a 2nd-level code selects the 3rd-level tiles inside it. "
        "Empty: every mesh of the inputs.",
    )
    bbox: tuple[float, float, float, float] | None = Field(
        None,
        description="`[lon_min, lat_min, lon_max, lat_max]` (JGD2011 degrees): only "
        "features intersecting it are ingested.",
    )

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


class GridSettings(Strict):
    """The raster grid every raster stage shares, per third-level mesh tile."""

    resolution_m: float = Field(1.0, gt=0, le=50, description="Raster cell size (m) of every raster stage.")
    halo_m: float = Field(
        200.0,
        ge=0,
        le=1000,
        description="Margin (m) read around each tile so shadows and walks cross tile edges.",
    )


def _default_seasons() -> dict[str, str]:
    from pipeline.geo.scenarios import DEFAULT_SEASONS

    return {s.name: f"{s.month:02d}-{s.day:02d}" for s in DEFAULT_SEASONS}


def _default_slots() -> dict[str, tuple[str, str]]:
    from pipeline.geo.scenarios import DEFAULT_TIME_SLOTS

    return {s.name: (s.start, s.end) for s in DEFAULT_TIME_SLOTS}


class SeasonSettings(Strict):
    """One season written as a mapping: its date and how its weather is made."""

    date: str = Field(description="`MM-DD`.")
    weather: Literal["file", "design_heat_day", "observed_hot_days"] | None = Field(
        None, description="None: `design_heat_day` for `heat_day`, `file` otherwise."
    )
    max_temperature_c: float | None = Field(
        None, ge=-30, le=50, description="design_heat_day: the daily maximum, °C (default 35.0)."
    )
    threshold_c: float | None = Field(
        None,
        ge=-30,
        le=50,
        description="observed_hot_days: the lowest daily maximum of a day taken, °C (default 35.0).",
    )
    window_days: int | None = Field(
        None,
        ge=0,
        le=92,
        description="observed_hot_days: days either side of the date (default stages.thermal.window_days).",
    )
    radiation: Literal["clear_sky", "observed"] = Field(
        "clear_sky",
        description=("`clear_sky` (design case) or `observed` (the file's global radiation, Erbs split)."),
    )

    def season_weather(self, name: str):
        """The :class:`pipeline.geo.scenarios.SeasonWeather` of season ``name``."""
        from pipeline.geo.scenarios import MOSHOBI_C, SeasonWeather

        kind = self.weather or SeasonWeather.default_for(name).kind
        return SeasonWeather(
            kind,
            max_temperature_c=MOSHOBI_C if self.max_temperature_c is None else self.max_temperature_c,
            threshold_c=MOSHOBI_C if self.threshold_c is None else self.threshold_c,
            window_days=self.window_days,
            radiation=self.radiation,
        )


#: which keys of a season's mapping belong to which kind of weather
_SEASON_KEYS_OF_KIND = {
    "max_temperature_c": "design_heat_day",
    "threshold_c": "observed_hot_days",
    "window_days": "observed_hot_days",
}


def _season(name: str, value: Any) -> SeasonSettings:
    """A season's ``MM-DD`` or mapping, checked; errors name the season and the key."""
    if isinstance(value, SeasonSettings):
        value = value.model_dump(exclude_defaults=True)
    if not isinstance(value, dict):
        value = {"date": value}
    try:
        season = SeasonSettings(**value)
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "date"
        raise ValueError(f"season {name!r}: {key}: {first['msg']}") from None
    try:
        dt.date(2001, *(int(p) for p in str(season.date).split("-")))
    except (ValueError, TypeError):
        raise ValueError(f"season {name!r}: date {season.date!r} is not MM-DD") from None
    kind = season.weather or ("design_heat_day" if name == "heat_day" else "file")
    for key, wanted in _SEASON_KEYS_OF_KIND.items():
        if getattr(season, key) is not None and kind != wanted:
            raise ValueError(
                f"season {name!r}: {key} applies to weather: {wanted} only (this season's weather is {kind})"
            )
    return season


class ScenarioSettings(Strict):
    """Seasons x time slots: the scenarios every stage computes, reports and exports."""

    year: int = Field(
        2026,
        ge=1900,
        le=2100,
        description="Year of the season dates (and of the winter solstice of the shadow diagram).",
    )
    seasons: dict[str, str | SeasonSettings] = Field(
        default_factory=_default_seasons,
        description=(
            "Season name to a date (`MM-DD`) or a mapping `{date: MM-DD, weather: ..., ...}`. "
            "`weather`: `file` (the weather file's day: normals curve or composite of observed "
            "days), `design_heat_day` (設計猛暑日: that day's shape and vapour pressure shifted to "
            "a daily maximum `max_temperature_c`, default 35.0 °C) or `observed_hot_days` (the "
            "composite of the observed days whose maximum is at least `threshold_c`, default "
            "35.0 °C, within `window_days` of the date; needs hourly observations). `heat_day` "
            "given as a date is the design heat day, any other season the file's day. "
            "`radiation`: `clear_sky` (the design case, default) or `observed` (the JMA file's "
            "global radiation 日射量, split into direct and diffuse by Erbs et al. 1982)."
        ),
    )
    slots: dict[str, tuple[str, str]] = Field(
        default_factory=_default_slots,
        description=(
            "Time-slot name to local `[start, end]` (`HH:MM`). Scenarios are every season x "
            "every slot, named `<season>_<slot>`."
        ),
    )

    @field_validator("seasons", mode="before")
    @classmethod
    def _dates(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        if not value:
            raise ValueError("at least one season")
        return {
            name: (
                text if isinstance(text, str) and _season(name, text).date == text else _season(name, text)
            )
            for name, text in value.items()
        }

    @field_validator("slots")
    @classmethod
    def _times(cls, value: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
        if not value:
            raise ValueError("at least one time slot")
        for name, (start, end) in value.items():
            try:
                first, last = (dt.time.fromisoformat(t) for t in (start, end))
            except ValueError:
                raise ValueError(f"slot {name!r}: {start!r}-{end!r} is not HH:MM-HH:MM") from None
            if last <= first:
                raise ValueError(f"slot {name!r}: end {end} is not after start {start}")
        return value

    def scenarios(self) -> list:
        """Every season x every slot (:class:`pipeline.geo.scenarios.Scenario`)."""
        from pipeline.geo.scenarios import Scenario, Season, TimeSlot

        seasons = []
        for name, value in self.seasons.items():
            season = _season(name, value)
            seasons.append(
                Season(name, *(int(p) for p in season.date.split("-")), season.season_weather(name))
            )
        slots = [TimeSlot(name, start, end) for name, (start, end) in self.slots.items()]
        return [Scenario(season, slot) for season in seasons for slot in slots]


class DaskSettings(Strict):
    """Where tasks run: a local cluster by default, or an existing scheduler."""

    scheduler: str | None = Field(
        None, description="`tcp://host:8786` of an existing cluster (same as `--scheduler`)."
    )
    workers: int = Field(
        2, ge=1, le=512, description="Worker processes of the local cluster (same as `--workers`)."
    )
    threads_per_worker: int = Field(1, ge=1, le=64, description="Threads per local worker.")
    memory_limit: str = Field("4GiB", description="Memory limit per local worker.")


class RunDefinitionBase(Strict):
    """A whole run: inputs, area, CRS, scenarios, stages and where outputs go."""

    registry: ClassVar[tuple[Stage, ...]] = ()
    #: How the run finds its input files and CRS (handed in by the registry).
    sources: ClassVar[RunSources | None] = None
    #: Old dotted keys -> where they moved (declared by the stages, ``Stage.moved``).
    moved: ClassVar[dict[str, str]] = {}
    #: What changes to a baseline the registry can apply (:mod:`pipeline.core.baseline`).
    changes: ClassVar[RunChanges | None] = None

    name: str = Field("machi-run", description="Name of the run (manifest, report titles).")
    inputs: InputsBase = Field(default_factory=InputsBase, description="Input data.")
    area: Area = Field(default_factory=Area, description="Area to process.")
    crs: str = Field(
        "auto",
        description="Metric analysis CRS. `auto` picks the JGD2011 plane "
        "rectangular zone (EPSG:6669-6687) from the data's prefecture and location; "
        "or name one, e.g. `EPSG:6677`. Must be projected.",
    )
    timezone: str = Field("Asia/Tokyo", description="Time zone of scenario times.")
    output: OutputPath = Field(Path("out"), description="Output folder (manifest, stage outputs).")
    grid: GridSettings = Field(default_factory=GridSettings, description="Raster grid.")
    scenarios: ScenarioSettings = Field(
        default_factory=ScenarioSettings, description="Seasons and time slots."
    )
    dask: DaskSettings = Field(default_factory=DaskSettings, description="Dask cluster.")

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

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Asia/Tokyo)") from None
        return value

    @model_validator(mode="after")
    def _baseline_not_output(self) -> RunDefinitionBase:
        baseline = getattr(self.inputs, "baseline", None)
        if baseline is not None and Path(baseline).resolve() == Path(self.output).resolve():
            raise ValueError(
                f"inputs.baseline and output are both {self.output}: a run on a "
                f"baseline writes to its own folder, never the baseline's"
            )
        return self


@functools.lru_cache(maxsize=8)
def run_definition_model(
    stages: tuple[Stage, ...], sources: RunSources | None = None, changes: RunChanges | None = None
) -> type[RunDefinitionBase]:
    """The run-definition model whose ``inputs:`` section has the input keys the stages
    declare (``Stage.inputs``) and whose ``stages:`` section has one key per stage section.

    Stages that share a section (a stage and its run-wide follow-up, such as ``shadow``
    and ``shadow_maps``) share one settings model; stages that read the same input
    declare it once (or the very same field). ``sources`` tells the planner how the run
    finds its input files and its CRS (:class:`~pipeline.core.stage.RunSources`);
    ``changes`` what a run on a baseline may change (:class:`~pipeline.core.baseline.RunChanges`).
    """
    sections: dict[str, type[BaseModel]] = {}
    inputs: dict[str, tuple[Any, Any]] = {}
    moved: dict[str, str] = {}
    for stage in stages:
        known = sections.setdefault(stage.section, stage.settings)
        if known is not stage.settings:
            raise ValueError(
                f"stage {stage.name!r}: section {stage.section!r} already has settings {known.__name__}"
            )
        for name, annotation, info in stage.inputs:
            declared = inputs.setdefault(name, (annotation, info))
            if declared[1] is not info:
                raise ValueError(f"stage {stage.name!r}: input {name!r} is already declared by another stage")
        moved.update(stage.moved)
    inputs_model = create_model("Inputs", __base__=InputsBase, **inputs)
    inputs_model.__doc__ = InputsBase.__doc__
    fields = {
        name: (model, Field(default_factory=model, description=(model.__doc__ or "").strip().split("\n")[0]))
        for name, model in sections.items()
    }
    stages_model = create_model("Stages", __base__=Strict, **fields)
    stages_model.__doc__ = "One section per stage, in run order."
    model = create_model(
        "RunDefinition",
        __base__=RunDefinitionBase,
        inputs=(inputs_model, Field(default_factory=inputs_model, description="Input data.")),
        stages=(stages_model, Field(default_factory=stages_model, description="Stage settings.")),
    )
    model.registry = tuple(stages)
    model.sources = sources
    model.changes = changes
    model.moved = moved
    return model


class RunDefinitionError(ValueError):
    """A run definition that does not validate; the message lists every problem by path."""


def apply_overrides(raw: dict, overrides: dict[str, Any] | None) -> dict:
    """Set dotted keys (``{"dask.workers": 4}``) in a raw (YAML) mapping."""
    for dotted, value in (overrides or {}).items():
        target = raw
        *parents, last = dotted.split(".")
        for key in parents:
            if not isinstance(target.get(key, {}), dict):
                raise RunDefinitionError(f"--set {dotted}: {key} is not a section")
            target = target.setdefault(key, {})
        target[last] = value
    return raw


def load_definition(
    path: str | Path, model: type[RunDefinitionBase], overrides: dict[str, Any] | None = None
) -> RunDefinitionBase:
    """Read, validate and resolve a run definition with ``model``.

    Relative paths resolve against the YAML file's folder (the validation context).
    ``overrides`` are dotted keys applied before validation.
    """
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise RunDefinitionError(f"{path}: not valid YAML: {exc}") from None
    except OSError as exc:
        raise RunDefinitionError(f"{path}: {exc.strerror}") from None
    if not isinstance(raw, dict):
        raise RunDefinitionError(f"{path}: the run definition must be a mapping")
    apply_overrides(raw, overrides)
    moved = [
        f"  {old}: moved to {new} (every input file is under `inputs:`)"
        for old, new in model.moved.items()
        if _has_key(raw, old)
    ]
    if moved:
        raise RunDefinitionError("\n".join([f"{path}: invalid run definition", *moved]))
    try:
        return model.model_validate(raw, context={"base": path.resolve().parent})
    except ValidationError as exc:
        raise RunDefinitionError(format_validation_error(path, exc)) from None


def _has_key(raw: dict, dotted: str) -> bool:
    """Whether the raw (YAML) mapping holds the dotted key."""
    target: Any = raw
    for key in dotted.split("."):
        if not isinstance(target, dict) or key not in target:
            return False
        target = target[key]
    return True


def format_validation_error(path: Path, exc: ValidationError) -> str:
    lines = [f"{path}: invalid run definition"]
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "(top level)"
        if error["type"] == "extra_forbidden":
            lines.append(f"  {where}: unknown key")
        else:
            lines.append(f"  {where}: {error['msg']} (got {error.get('input')!r})")
    return "\n".join(lines)
