"""The ``peopleflow`` stage: every people-flow source aligned to the run's scenarios.

One task for the whole run (the tables are small: a city is a few thousand 1 km cells).
It reads each source named in ``inputs.peopleflow``, aligns it to every scenario (season
x time slot, from ``stages.shadow``) and day type with the rules of
:mod:`pipeline.peopleflow.alignment`, and writes to ``<output>/peopleflow/``:

``flow_by_mesh.parquet``
    ``meshcode`` (int64), ``level`` (JIS X 0410 level of the code), ``scenario``,
    ``day_type``, ``population`` (persons present; NaN where suppressed or not covered),
    ``source`` (the source's name). Mesh sources only (MLIT, hourly mesh tables).
``flow_by_counter.parquet`` (when counters are given)
    ``counter_id, lat, lon, meshcode`` (3rd level), ``scenario, day_type,
    pedestrians_per_hour, source``.
``coverage.parquet`` and ``coverage.csv``
    One row per source x scenario x day type: ``source, kind, path, scenario, day_type,
    covered, how, cells, cells_with_values``. ``how`` says which month, time zone or
    hours stood for the scenario, or why nothing did. Nothing is interpolated or
    invented: a scenario a source does not cover has no values from it.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from pipeline.geo import meshcode
from pipeline.geo.atomic import atomic_path
from pipeline.peopleflow.alignment import AlignedFlow, align_hourly, align_mlit
from pipeline.peopleflow.readers import (counters_to_hourly, read_counters, read_hourly_mesh,
                                         read_mlit_csv)
from pipeline.records import StageResult

log = logging.getLogger(__name__)

FLOW_COLUMNS = ["meshcode", "level", "scenario", "day_type", "population", "source"]
COUNTER_COLUMNS = ["counter_id", "lat", "lon", "meshcode", "scenario", "day_type",
                   "pedestrians_per_hour", "source"]
COVERAGE_COLUMNS = ["source", "kind", "path", "scenario", "day_type", "covered", "how", "cells",
                    "cells_with_values"]


class PeopleFlowSource(BaseModel):
    """One entry of ``inputs.peopleflow``: a people-flow file and how to read it."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["mlit", "hourly", "counters"] = Field(
        description="mlit: MLIT 全国の人流オープンデータ 1 km mesh CSV; hourly: a table of "
                    "population per mesh cell and hour; counters: pedestrian counter records")
    path: Path = Field(description="CSV (UTF-8) or Parquet file")
    name: str | None = Field(None, description="name in the outputs (default: the file stem)")
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="hourly/counters: canonical column -> column in the file, e.g. "
                    "{meshcode: mesh_id, hour: hh}")
    timezone: str | None = Field(None, description="counters: zone of naive timestamps "
                                 "(default: the run's timezone)")
    assume_all_seasons: bool = Field(False, description="hourly/counters without dates: use the "
                                     "values for every season (reported as such)")

    @property
    def label(self) -> str:
        return self.name or self.path.stem


class PeopleFlowStage(BaseModel):
    """``stages.peopleflow``: how the sources are aligned to scenarios."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    day_types: list[Literal["weekday", "holiday", "all"]] = Field(
        ["weekday", "holiday"], description="day types to align (MLIT dayflag 1 / 0 / 2)")
    month_tolerance: int = Field(1, ge=0, le=6, description="how many months a source month may "
                                 "be from the season's month")


def _coverage(aligned: AlignedFlow, source: PeopleFlowSource, key: str, value: str) -> pd.DataFrame:
    values = aligned.values
    known = (values.assign(_ok=values[value].notna())
             .groupby(["scenario", "day_type"])
             .agg(cells=(key, "nunique"), cells_with_values=("_ok", "sum")).reset_index())
    report = aligned.coverage.merge(known, on=["scenario", "day_type"], how="left")
    report["kind"] = source.kind
    report["path"] = str(source.path)
    report[["cells", "cells_with_values"]] = report[["cells", "cells_with_values"]].fillna(0).astype(int)
    return report[COVERAGE_COLUMNS]


def align_source(source: PeopleFlowSource, scenarios, *, day_types, month_tolerance: int,
                 timezone: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One source aligned to ``scenarios``: (mesh rows, counter rows, coverage rows)."""
    common = dict(day_types=day_types, month_tolerance=month_tolerance, source=source.label)
    meshes = pd.DataFrame(columns=FLOW_COLUMNS)
    counters = pd.DataFrame(columns=COUNTER_COLUMNS)
    if source.kind == "mlit":
        aligned = align_mlit(read_mlit_csv(source.path), scenarios, **common)
        meshes = aligned.values.assign(level=3, source=source.label)[FLOW_COLUMNS]
        coverage = _coverage(aligned, source, "meshcode", "population")
    elif source.kind == "hourly":
        table = read_hourly_mesh(source.path, source.columns)
        aligned = align_hourly(table, scenarios, assume_all_seasons=source.assume_all_seasons, **common)
        meshes = aligned.values.assign(level=meshcode.level_of(aligned.values["meshcode"].to_numpy()),
                                       source=source.label)[FLOW_COLUMNS]
        coverage = _coverage(aligned, source, "meshcode", "population")
    else:
        records = read_counters(source.path, source.columns, timezone=source.timezone or timezone)
        hourly = counters_to_hourly(records)
        aligned = align_hourly(hourly, scenarios, key="counter_id", value="count",
                               assume_all_seasons=source.assume_all_seasons, **common)
        where = records.groupby("counter_id")[["lat", "lon"]].first()
        where["meshcode"] = meshcode.encode(where["lat"].to_numpy(), where["lon"].to_numpy(), 3)
        counters = (aligned.values.rename(columns={"count": "pedestrians_per_hour"})
                    .join(where, on="counter_id").assign(source=source.label)[COUNTER_COLUMNS])
        coverage = _coverage(aligned, source, "counter_id", "count")
    return meshes, counters, coverage


def _write_parquet(frame: pd.DataFrame, path: Path) -> str:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
    return str(path)


def peopleflow_run(out_dir: str, sources: list[PeopleFlowSource], scenarios: list, *,
                   settings: PeopleFlowStage, timezone: str = "Asia/Tokyo") -> StageResult:
    """Align every source to every scenario and day type and write the tables (see module doc)."""
    start = time.perf_counter()
    if not sources:
        raise ValueError("peopleflow: no sources in inputs.peopleflow")
    labels = [s.label for s in sources]
    if len(set(labels)) != len(labels):
        raise ValueError(f"peopleflow: source names must be unique, got {labels}; set 'name'")
    meshes, counters, coverage = [], [], []
    for source in sources:
        m, c, cov = align_source(source, scenarios, day_types=settings.day_types,
                                 month_tolerance=settings.month_tolerance, timezone=timezone)
        meshes.append(m)
        counters.append(c)
        coverage.append(cov)
        covered = cov[cov["covered"]]
        log.info("peopleflow %s (%s): %d of %d scenario x day type covered", source.label,
                 source.kind, len(covered), len(cov))
    folder = Path(out_dir)
    flow = pd.concat([m for m in meshes if len(m)] or [meshes[0]], ignore_index=True)
    flow = flow.astype({"meshcode": "int64", "level": "int64", "population": "float64"})
    report = pd.concat(coverage, ignore_index=True)
    outputs = {"flow_by_mesh": _write_parquet(flow, folder / "flow_by_mesh.parquet"),
               "coverage": _write_parquet(report, folder / "coverage.parquet")}
    with atomic_path(folder / "coverage.csv") as tmp:
        report.to_csv(tmp, index=False, encoding="utf-8")
    outputs["coverage_csv"] = str(folder / "coverage.csv")
    by_counter = pd.concat([c for c in counters if len(c)], ignore_index=True) if any(
        len(c) for c in counters) else None
    if by_counter is not None:
        outputs["flow_by_counter"] = _write_parquet(by_counter, folder / "flow_by_counter.parquet")
    counts = {"sources": len(sources), "cells": int(flow["meshcode"].nunique()),
              "covered": int(report["covered"].sum()), "not_covered": int((~report["covered"]).sum())}
    log.info("peopleflow: wrote %s (%d rows), coverage %d/%d in %.2f s", outputs["flow_by_mesh"],
             len(flow), counts["covered"], len(report), time.perf_counter() - start)
    return StageResult(outputs, counts)


def read_flow(record: dict, day_type: str) -> pd.DataFrame:
    """Mesh populations of a finished ``peopleflow`` record for one day type.

    Returns one row per (meshcode, level) and one column per scenario. Where several
    sources give a value for the same cell and scenario, the first source in the run's
    order wins (its values are taken as they are; sources are never averaged).
    """
    flow = pd.read_parquet(record["outputs"]["flow_by_mesh"])
    flow = flow[(flow["day_type"] == day_type) & flow["population"].notna()]
    order = {name: i for i, name in enumerate(dict.fromkeys(flow["source"]))}
    flow = flow.assign(_rank=flow["source"].map(order)).sort_values("_rank")
    first = flow.drop_duplicates(["meshcode", "level", "scenario"], keep="first")
    return first.pivot(index=["meshcode", "level"], columns="scenario", values="population")


# -- planning --------------------------------------------------------------------------
def peopleflow_tasks(definition, plan, manifest, output: Path) -> list:
    """The single ``peopleflow`` task of a run (none without sources).

    ``definition`` is the run definition (``inputs.peopleflow``, ``stages.peopleflow``,
    ``stages.shadow`` for the scenarios, ``timezone``).
    """
    from pipeline.plan import hash_file
    from pipeline.runner import Task

    sources = list(definition.inputs.peopleflow)
    settings = definition.stages.peopleflow
    if not settings.enabled or not sources:
        return []
    scenarios = definition.stages.shadow.scenarios()
    return [Task(stage="peopleflow", tile="all", func=peopleflow_run,
                 args=(str(Path(output) / "peopleflow"), sources, scenarios),
                 kwargs={"settings": settings, "timezone": definition.timezone},
                 params={"settings": settings.model_dump(mode="json"),
                         "sources": [s.model_dump(mode="json") for s in sources],
                         "scenarios": [s.name for s in scenarios],
                         "seasons": definition.stages.shadow.seasons,
                         "slots": definition.stages.shadow.slots, "tz": definition.timezone},
                 input_hashes=[hash_file(manifest, s.path) for s in sources])]
