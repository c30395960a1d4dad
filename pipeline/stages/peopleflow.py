"""``peopleflow``: every people-flow source aligned to the run's scenarios (one task).

The tables are small (a city is a few thousand 1 km cells), so one task serves the run.
Writes ``<output>/peopleflow/flow_by_mesh.parquet``, ``flow_by_counter.parquet`` (with
counters), ``coverage.parquet`` and ``coverage.csv`` (see :mod:`pipeline.peopleflow.tables`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from pipeline.core.settings import InputPath, StageSettings, Strict
from pipeline.core.stage import Stage
from pipeline.core.task import Outputs, PlanContext, Record, Result, Task


class PeopleFlowSource(Strict):
    """One entry of ``inputs.peopleflow``: a people-flow file and how to read it."""

    kind: Literal["mlit", "hourly", "counters", "profile"] = Field(
        description="`mlit`: MLIT 全国の人流オープンデータ 1 km mesh CSV (`mesh1kmid, prefcode, "
        "citycode, year, month, dayflag, timezone, population`); `hourly`: population "
        "per mesh cell and hour; `counters`: pedestrian counters "
        "(`id, lat, lon, timestamp, count`); `profile`: a published table of trips by "
        "hour with its `# title/table/year/url` lines (none is shipped)."
    )
    path: InputPath = Field(description="CSV (UTF-8) or Parquet file.")
    name: str | None = Field(None, description="Name in the outputs (default: the file stem).")
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="`hourly`/`counters`: canonical column -> column in the file, e.g. "
        "`{meshcode: mesh_id, hour: hh}` (canonical: `meshcode`, `date` or "
        "`day_type`, `hour`, `population`).",
    )
    timezone: str | None = Field(
        None, description="`counters`: zone of naive timestamps (default: the run's `timezone`)."
    )
    assume_all_seasons: bool = Field(
        False,
        description="`hourly`/`counters` without dates: use the values for every season (reported as such).",
    )

    @property
    def label(self) -> str:
        return self.name or self.path.stem


def _unique_names(value: list[PeopleFlowSource]) -> list[PeopleFlowSource]:
    labels = [s.label for s in value]
    if len(set(labels)) != len(labels):
        raise ValueError(f"source names must be unique, got {labels}; set 'name'")
    return value


#: The run's people-flow inputs (``inputs.peopleflow``).
INPUTS: dict[str, Any] = {
    "peopleflow": (
        Annotated[list[PeopleFlowSource], AfterValidator(_unique_names)],
        Field(default_factory=list, description="People-flow sources, each a mapping with the keys below."),
    ),
}


class PeopleFlowSettings(StageSettings):
    """Align people flow to the scenarios (runs when `inputs.peopleflow` names files)."""

    day_types: list[Literal["weekday", "holiday", "all"]] = Field(
        ["weekday", "holiday"],
        min_length=1,
        description="Day types aligned (MLIT `dayflag` 1 weekday, 0 holiday, 2 all).",
    )
    month_tolerance: int = Field(
        1, ge=0, le=6, description="How many months a source's month may be from a season's month."
    )
    diurnal: Literal["auto", "counters", "hourly", "profile", "none"] = Field(
        "auto",
        description="Shape of the slots MLIT does not publish (all but 11-14 h): its midday "
        "value times each hour's share relative to 11-14 h from the counters around the cell "
        "(`counters`), an hourly table (`hourly`) or a published `kind: profile` table (`profile`; "
        "no default is shipped); `auto`: the first the run has; `none`: leave them empty.",
    )


@dataclass(frozen=True)
class PeopleFlowOutputs(Outputs):
    """The aligned flow per mesh cell and scenario slot, its coverage (Parquet and CSV), and
    the counters' flow when a source is ``counters``."""

    flow_by_mesh: str
    coverage: str
    coverage_csv: str
    flow_by_counter: str | None = None


def peopleflow_task(
    out_dir: str, sources: list, scenarios: list, *, settings: PeopleFlowSettings, timezone: str
) -> Result:
    from pipeline.peopleflow.tables import write_aligned_flow

    outputs, counts = write_aligned_flow(
        out_dir,
        sources,
        scenarios,
        day_types=settings.day_types,
        month_tolerance=settings.month_tolerance,
        timezone=timezone,
        diurnal=settings.diurnal,
    )
    return Result(outputs=PeopleFlowOutputs.from_json(outputs, stage="peopleflow"), counts=counts)


def plan(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    definition = ctx.definition
    sources = list(definition.inputs.peopleflow)
    settings: PeopleFlowSettings = ctx.settings("peopleflow")
    scenarios = ctx.scenarios
    return [
        Task(
            stage="peopleflow",
            tile="all",
            func=peopleflow_task,
            args=(str(ctx.out("peopleflow")), sources, scenarios),
            kwargs={"settings": settings, "timezone": definition.timezone},
            params={
                "settings": settings.model_dump(mode="json"),
                "sources": [s.model_dump(mode="json") for s in sources],
                "scenarios": definition.scenarios.model_dump(mode="json"),
                "tz": definition.timezone,
            },
            input_hashes=[ctx.hash_file(s.path) for s in sources],
        )
    ]


STAGE = Stage(
    name="peopleflow",
    settings=PeopleFlowSettings,
    plan=plan,
    wanted=lambda definition: bool(definition.inputs.peopleflow),
    code=("pipeline.peopleflow", "pipeline.geo"),
    needs=(),
    reach="run",
    outputs=PeopleFlowOutputs,
    inputs=INPUTS,
)
