"""People-flow sources aligned to the run's scenarios, written as tables.

:func:`write_aligned_flow` reads each source, aligns it to every scenario (season x time
slot) and day type with the rules of :mod:`pipeline.peopleflow.alignment`, and writes to
its folder:

``flow_by_mesh.parquet``
    ``meshcode`` (int64), ``level`` (JIS X 0410 level of the code), ``scenario``,
    ``day_type``, ``population`` (persons present; NaN where suppressed or not covered),
    ``source`` (the source's name), ``people_source`` (what the value is: ``mlit``
    observed; ``counters``/``hourly``: MLIT midday shaped by the run's own hourly
    observations; ``profile``: shaped by a published profile; ``none``). Mesh sources
    only (MLIT, hourly mesh tables).
``flow_by_counter.parquet`` (when counters are given)
    ``counter_id, lat, lon, meshcode`` (3rd level), ``scenario, day_type,
    pedestrians_per_hour, source``.
``coverage.parquet`` and ``coverage.csv``
    One row per source x scenario x day type: ``source, kind, path, scenario, day_type,
    covered, how, cells, cells_with_values, people_source``. ``how`` says which month, time
    zone or hours stood for the scenario, or why nothing did. Nothing is interpolated or
    invented: a scenario a source does not cover has no values from it.

Slots MLIT does not publish (every slot but 11-14 h) are filled, per MLIT cell, with the
cell's midday value times its diurnal share (:func:`diurnal_shape`, chosen by
``stages.peopleflow.diurnal``): from the run's counters or hourly tables around the cell
(:mod:`pipeline.peopleflow.local_profiles`), else from a published profile table given as
``kind: profile`` (:mod:`pipeline.peopleflow.profiles`). None is shipped.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.geo import meshcode
from pipeline.peopleflow.alignment import AlignedFlow, align_hourly, align_mlit
from pipeline.peopleflow.profiles import mlit_with_profile
from pipeline.peopleflow.readers import (
    PeopleFlowError,
    counters_to_hourly,
    read_counters,
    read_hourly_mesh,
    read_mlit_csv,
)
from tiles.atomic import atomic_path

log = logging.getLogger(__name__)

FLOW_COLUMNS = ["meshcode", "level", "scenario", "day_type", "population", "source", "people_source"]
COUNTER_COLUMNS = [
    "counter_id",
    "lat",
    "lon",
    "meshcode",
    "scenario",
    "day_type",
    "pedestrians_per_hour",
    "source",
]
COVERAGE_COLUMNS = [
    "source",
    "kind",
    "path",
    "scenario",
    "day_type",
    "covered",
    "how",
    "cells",
    "cells_with_values",
    "people_source",
]
#: ``stages.peopleflow.diurnal`` choices; ``auto``: counters, else hourly, else a profile table.
DIURNAL_CHOICES = ("auto", "counters", "hourly", "profile", "none")


def _coverage(aligned: AlignedFlow, source, key: str, value: str) -> pd.DataFrame:
    values = aligned.values
    known = (
        values.assign(_ok=values[value].notna())
        .groupby(["scenario", "day_type"])
        .agg(cells=(key, "nunique"), cells_with_values=("_ok", "sum"))
        .reset_index()
    )
    report = aligned.coverage.merge(known, on=["scenario", "day_type"], how="left")
    report["kind"] = source.kind
    report["path"] = str(source.path)
    report[["cells", "cells_with_values"]] = report[["cells", "cells_with_values"]].fillna(0).astype(int)
    if "people_source" not in report:
        report["people_source"] = np.where(report["covered"], source.kind, "none").astype(object)
    return report[COVERAGE_COLUMNS]


def diurnal_shape(sources, choice: str = "auto", *, month_tolerance: int = 1, timezone: str = "Asia/Tokyo"):
    """The diurnal shape that fills the slots MLIT does not publish (None: no shape).

    ``choice`` (:data:`DIURNAL_CHOICES`): ``counters`` and ``hourly`` take the first source
    of that kind (:class:`~pipeline.peopleflow.local_profiles.ObservedShape`); ``profile``
    the first ``kind: profile`` table (:func:`~pipeline.peopleflow.profiles.read_profile_table`),
    and without one the shipped default, which does not exist (a clear error); ``auto``
    the first of those that the run has, else None; ``none``: None.

    Raises
    ------
    PeopleFlowError
        When the kind asked for is not among ``sources``.
    """
    from pipeline.peopleflow.local_profiles import ObservedShape
    from pipeline.peopleflow.profiles import default_profile, read_profile_table

    if choice not in DIURNAL_CHOICES:
        raise ValueError(f"diurnal must be one of {DIURNAL_CHOICES}, got {choice!r}")
    if choice == "none":
        return None
    first = {}
    for source in sources:
        first.setdefault(source.kind, source)
    kinds = ("counters", "hourly", "profile") if choice == "auto" else (choice,)
    options = dict(month_tolerance=month_tolerance)
    for kind in kinds:
        source = first.get(kind)
        if source is None:
            continue
        options["assume_all_seasons"] = source.assume_all_seasons
        if kind == "counters":
            records = read_counters(source.path, source.columns, timezone=source.timezone or timezone)
            where = records.groupby("counter_id")[["lat", "lon"]].first()
            return ObservedShape.from_counters(counters_to_hourly(records), where, **options)
        if kind == "hourly":
            return ObservedShape.from_hourly_mesh(read_hourly_mesh(source.path, source.columns), **options)
        return read_profile_table(source.path)
    if choice == "profile":
        return default_profile()  # raises: no published default is shipped
    if choice != "auto":
        raise PeopleFlowError(
            f"stages.peopleflow.diurnal is {choice!r} but inputs.peopleflow has no 'kind: {choice}' entry"
        )
    return None


def align_source(
    source, scenarios, *, day_types, month_tolerance: int, timezone: str, shape=None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One source aligned to ``scenarios``: (mesh rows, counter rows, coverage rows).

    ``source`` describes a file: ``kind`` (``mlit``, ``hourly``, ``counters``), ``path``,
    ``columns``, ``timezone``, ``assume_all_seasons`` and ``label`` (an
    ``inputs.peopleflow`` entry of the run definition). ``shape``
    (:func:`diurnal_shape`) fills the slots MLIT does not publish.
    """
    common = dict(day_types=day_types, month_tolerance=month_tolerance, source=source.label)
    meshes = pd.DataFrame(columns=FLOW_COLUMNS)
    counters = pd.DataFrame(columns=COUNTER_COLUMNS)
    if source.kind == "mlit":
        records = read_mlit_csv(source.path)
        aligned = (
            mlit_with_profile(records, scenarios, shape, **common)
            if shape is not None
            else align_mlit(records, scenarios, **common)
        )
        if "people_source" not in aligned.values:
            aligned.values["people_source"] = np.where(aligned.values["population"].notna(), "mlit", "none")
        meshes = aligned.values.assign(level=3, source=source.label)[FLOW_COLUMNS]
        coverage = _coverage(aligned, source, "meshcode", "population")
    elif source.kind == "hourly":
        table = read_hourly_mesh(source.path, source.columns)
        aligned = align_hourly(table, scenarios, assume_all_seasons=source.assume_all_seasons, **common)
        meshes = aligned.values.assign(
            level=meshcode.level_of(aligned.values["meshcode"].to_numpy()),
            source=source.label,
            people_source=np.where(aligned.values["population"].notna(), "hourly", "none"),
        )[FLOW_COLUMNS]
        coverage = _coverage(aligned, source, "meshcode", "population")
    else:
        records = read_counters(source.path, source.columns, timezone=source.timezone or timezone)
        hourly = counters_to_hourly(records)
        aligned = align_hourly(
            hourly,
            scenarios,
            key="counter_id",
            value="count",
            assume_all_seasons=source.assume_all_seasons,
            **common,
        )
        where = records.groupby("counter_id")[["lat", "lon"]].first()
        where["meshcode"] = meshcode.encode(where["lat"].to_numpy(), where["lon"].to_numpy(), 3)
        counters = (
            aligned.values.rename(columns={"count": "pedestrians_per_hour"})
            .join(where, on="counter_id")
            .assign(source=source.label)[COUNTER_COLUMNS]
        )
        coverage = _coverage(aligned, source, "counter_id", "count")
    return meshes, counters, coverage


def _write_parquet(frame: pd.DataFrame, path: Path) -> str:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
    return str(path)


def write_aligned_flow(
    out_dir: str | Path,
    sources: list,
    scenarios: list,
    *,
    day_types,
    month_tolerance: int,
    timezone: str = "Asia/Tokyo",
    diurnal: str = "auto",
) -> tuple[dict, dict]:
    """Align every source to every scenario and day type and write the tables (see module doc).

    ``diurnal`` chooses the shape of the slots MLIT does not publish (:func:`diurnal_shape`).
    Returns ``(outputs, counts)``: the written paths by name, and the number of sources,
    mesh cells and covered / not covered scenario x day type pairs.
    """
    start = time.perf_counter()
    if not sources:
        raise ValueError("peopleflow: no sources in inputs.peopleflow")
    labels = [s.label for s in sources]
    if len(set(labels)) != len(labels):
        raise ValueError(f"peopleflow: source names must be unique, got {labels}; set 'name'")
    if all(s.kind == "profile" for s in sources):
        raise PeopleFlowError(
            "inputs.peopleflow: a 'kind: profile' table shapes MLIT's midday into "
            "other slots; it needs a 'kind: mlit' (or hourly, counters) source"
        )
    shape = diurnal_shape(sources, diurnal, month_tolerance=month_tolerance, timezone=timezone)
    meshes, counters, coverage = [], [], []
    for source in (s for s in sources if s.kind != "profile"):
        m, c, cov = align_source(
            source,
            scenarios,
            day_types=day_types,
            month_tolerance=month_tolerance,
            timezone=timezone,
            shape=shape,
        )
        meshes.append(m)
        counters.append(c)
        coverage.append(cov)
        covered = cov[cov["covered"]]
        log.info(
            "peopleflow %s (%s): %d of %d scenario x day type covered",
            source.label,
            source.kind,
            len(covered),
            len(cov),
        )
    folder = Path(out_dir)
    flow = pd.concat([m for m in meshes if len(m)] or [meshes[0]], ignore_index=True)
    flow = flow.astype({"meshcode": "int64", "level": "int64", "population": "float64"})
    report = pd.concat(coverage, ignore_index=True)
    outputs = {
        "flow_by_mesh": _write_parquet(flow, folder / "flow_by_mesh.parquet"),
        "coverage": _write_parquet(report, folder / "coverage.parquet"),
    }
    with atomic_path(folder / "coverage.csv") as tmp:
        report.to_csv(tmp, index=False, encoding="utf-8")
    outputs["coverage_csv"] = str(folder / "coverage.csv")
    by_counter = (
        pd.concat([c for c in counters if len(c)], ignore_index=True)
        if any(len(c) for c in counters)
        else None
    )
    if by_counter is not None:
        outputs["flow_by_counter"] = _write_parquet(by_counter, folder / "flow_by_counter.parquet")
    counts = {
        "sources": len(sources),
        "cells": int(flow["meshcode"].nunique()),
        "covered": int(report["covered"].sum()),
        "not_covered": int((~report["covered"]).sum()),
    }
    log.info(
        "peopleflow: wrote %s (%d rows), coverage %d/%d in %.2f s",
        outputs["flow_by_mesh"],
        len(flow),
        counts["covered"],
        len(report),
        time.perf_counter() - start,
    )
    return outputs, counts


def _first_rows(path: str | Path, day_type: str) -> pd.DataFrame:
    """Rows with a population for one day type, the first source per cell and scenario."""
    flow = pd.read_parquet(path)
    flow = flow[(flow["day_type"] == day_type) & flow["population"].notna()]
    order = {name: i for i, name in enumerate(dict.fromkeys(flow["source"]))}
    flow = flow.assign(_rank=flow["source"].map(order)).sort_values("_rank", kind="stable")
    return flow.drop_duplicates(["meshcode", "level", "scenario"], keep="first")


def read_flow(path: str | Path, day_type: str) -> pd.DataFrame:
    """Mesh populations of a ``flow_by_mesh.parquet`` table for one day type.

    Returns one row per (meshcode, level) and one column per scenario. Where several
    sources give a value for the same cell and scenario, the first source in the run's
    order wins (its values are taken as they are; sources are never averaged).
    """
    return _first_rows(path, day_type).pivot(
        index=["meshcode", "level"], columns="scenario", values="population"
    )


def read_flow_sources(path: str | Path, day_type: str) -> pd.DataFrame:
    """The ``people_source`` of each value :func:`read_flow` returns (same rows and columns)."""
    return _first_rows(path, day_type).pivot(
        index=["meshcode", "level"], columns="scenario", values="people_source"
    )
