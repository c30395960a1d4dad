"""Stages as plugins: one module-level object and one registry entry make a stage.

The test stage below counts the buildings of every ingested building table and writes a
CSV; registering it needs nothing but appending it to ``pipeline.stages.STAGES``: its
settings appear in the run definition, the planner and the runner call it, and the
manifest records it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow.parquet as pq
import pytest
from pydantic import Field

import pipeline.stages
from pipeline.core.runner import run
from pipeline.core.settings import StageSettings
from pipeline.core.stage import Stage
from pipeline.core.task import Outputs, PlanContext, Record, Result, Task, done, keys

pytestmark = pytest.mark.slow


class CountSettings(StageSettings):
    """Count buildings per ingested file."""

    label: str = Field("buildings", description="Column name of the count in the CSV.")


@dataclass(frozen=True)
class CountOutputs(Outputs):
    """``counts``: the CSV of buildings per file."""

    counts: str


def count_task(out_path: str, *, settings: CountSettings, ingest: list[Record]) -> Result:
    rows = [(r.tile, pq.read_metadata(r.outputs.table).num_rows) for r in ingest]
    with open(out_path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["file", settings.label])
        writer.writerows(rows)
    return Result(outputs=CountOutputs(counts=out_path), counts={"files": len(rows)})


def plan_count(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    buildings = done(records, "ingest", feature_type="bldg")
    return [
        Task(
            stage="count",
            tile="all",
            func=count_task,
            args=(str(ctx.out("count.csv")),),
            kwargs={"settings": ctx.settings("count")},
            params={"settings": ctx.settings("count").model_dump()},
            upstream={"ingest": keys(buildings)},
        )
    ]


COUNT = Stage(
    name="count", settings=CountSettings, plan=plan_count, outputs=CountOutputs, reads={"ingest": ("table",)}
)


def test_a_stage_registered_at_run_time_runs_after_ingest(project_root, tmp_path, monkeypatch):
    from distributed import Client, LocalCluster

    monkeypatch.setattr(pipeline.stages, "STAGES", (pipeline.stages.STAGES[0], COUNT))
    path = tmp_path / "run.yaml"
    path.write_text(
        f"inputs:\n  citygml: {project_root / 'sample_data' / 'omiya'}\n  types: [bldg]\n"
        f"output: out\nstages:\n  count:\n    label: n\n",
        encoding="utf-8",
    )
    definition = pipeline.stages.load_run_definition(path)
    assert definition.stages.count.label == "n"
    # processes=False: the test module's functions need not be importable by workers
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        summary = run(definition, client=client, progress=False)
    assert summary.failed == []
    assert set(summary.stage_seconds) == {"ingest", "count"}
    [record] = summary.by_stage("count")
    assert record.counts == {"files": 4}
    with open(record.outputs.counts, encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert sum(int(r["n"]) for r in rows) == 502  # the sample district's buildings
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert any(t["stage"] == "count" and t["status"] == "done" for t in manifest["tasks"].values())
    assert str(tmp_path / "out" / "count.csv") in manifest["outputs"]


def test_unknown_stage_sections_are_refused_without_the_stage(project_root):
    from pipeline.core.config import RunDefinitionError

    with pytest.raises(RunDefinitionError, match="stages.count: unknown key"):
        pipeline.stages.load_run_definition(
            project_root / "dags" / "sample.yaml", {"stages.count.label": "n"}
        )


def test_the_definition_model_has_one_section_per_stage_section():
    model = pipeline.stages.run_definition()
    stages = model.model_fields["stages"].annotation.model_fields
    assert list(stages) == list(dict.fromkeys(s.section for s in pipeline.stages.STAGES))
    assert model.registry == tuple(pipeline.stages.STAGES)


def test_every_stage_needs_only_stages_before_it():
    """``needs`` names stages earlier in the registry (the runner plans a stage only after
    them, so a later one would never be in time); ``reach`` is a known one."""
    seen: list[str] = []
    for stage in pipeline.stages.STAGES:
        if stage.needs is not None:
            assert set(stage.needs) <= set(seen), (stage.name, sorted(set(stage.needs) - set(seen)))
        assert stage.reach in ("run", "tile", "neighbours"), stage.name
        seen.append(stage.name)
