"""A run on a baseline (:mod:`pipeline.core.baseline`): only the stages and tiles the
changes reach run, every other task is the baseline's record (no copy), and the baseline
folder is byte-identical afterwards. A toy registry after ingest: ``paint`` (per tile,
reads the change file), ``sum`` (per tile, needs paint) and ``total`` (run-wide)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import Field

import pipeline.stages
from pipeline.core.baseline import affected_stages
from pipeline.core.runner import run
from pipeline.core.settings import InputPath, StageSettings
from pipeline.core.stage import RunChanges, Stage
from pipeline.core.task import Outputs, PlanContext, Record, Result, Task, done, keys

pytestmark = pytest.mark.slow


class ToySettings(StageSettings):
    """A toy stage."""


@dataclass(frozen=True)
class FileOutputs(Outputs):
    """``path``: one text file."""

    path: str


def paint_task(tile: str, out: str, measures: tuple[str, ...]) -> Result:
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(f"{tile} {len(measures)} change file(s)\n")
    return Result(outputs=FileOutputs(out))


def sum_task(tile: str, out: str, *, paint: list[Record]) -> Result:
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text("".join(Path(r.outputs.path).read_text() for r in paint))
    return Result(outputs=FileOutputs(out))


def total_task(out: str, *, sums: list[Record]) -> Result:
    Path(out).write_text("".join(Path(r.outputs.path).read_text() for r in sums))
    return Result(outputs=FileOutputs(out))


def plan_paint(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    measures = tuple(str(p) for p in ctx.definition.inputs.measures)
    return [
        Task(
            stage="paint",
            tile=t,
            func=paint_task,
            args=(t, str(ctx.out("paint", f"{t}.txt")), measures),
            input_hashes=[ctx.hash_file(p) for p in measures],
        )
        for t in ctx.tiles
    ]


def plan_sum(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    return [
        Task(
            stage="sum",
            tile=t,
            func=sum_task,
            args=(t, str(ctx.out("sum", f"{t}.txt"))),
            upstream={"paint": keys(done(records, "paint", tile=t))},
        )
        for t in ctx.tiles
    ]


def plan_total(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    return [
        Task(
            stage="total",
            tile="all",
            func=total_task,
            args=(str(ctx.out("total.txt")),),
            upstream={"sums": keys(done(records, "sum"))},
        )
    ]


MEASURES = (list[InputPath], Field(default_factory=list, description="Change files."))
PAINT = Stage(
    name="paint",
    settings=ToySettings,
    plan=plan_paint,
    needs=("ingest",),
    reach="tile",
    outputs=FileOutputs,
    inputs={"measures": MEASURES},
)
SUM = Stage(
    name="sum",
    settings=ToySettings,
    plan=plan_sum,
    needs=("paint",),
    reach="tile",
    outputs=FileOutputs,
    reads={"paint": ("path",)},
)
TOTAL = Stage(
    name="total",
    settings=ToySettings,
    plan=plan_total,
    needs=("sum",),
    outputs=FileOutputs,
    reads={"sum": ("path",)},
)


def _touched(definition, ctx):
    return {ctx.tiles[0]}


CHANGES = RunChanges(input="measures", enters=("paint",), touched=_touched)


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_affected_stages_follow_needs_less_the_fixed():
    stages = [pipeline.stages.STAGES[0], PAINT, SUM, TOTAL]
    assert affected_stages(stages, CHANGES) == {"paint", "sum", "total"}
    fixed = RunChanges(input="measures", enters=("paint",), touched=_touched, fixed=("sum",))
    assert affected_stages(stages, fixed) == {"paint"}  # total reads only the fixed sum


def test_only_the_reached_tiles_run_and_the_baseline_is_not_written(project_root, tmp_path, monkeypatch):
    from distributed import Client, LocalCluster

    monkeypatch.setattr(pipeline.stages, "STAGES", (pipeline.stages.STAGES[0], PAINT, SUM, TOTAL))
    monkeypatch.setattr(pipeline.stages.measures, "CHANGES", CHANGES)
    change = tmp_path / "change.geojson"
    change.write_text("{}")
    text = f"inputs:\n  citygml: {project_root / 'sample_data' / 'omiya'}\n  types: [bldg]\noutput: base\n"
    (tmp_path / "base.yaml").write_text(text)
    after_text = (
        f"inputs:\n  citygml: {project_root / 'sample_data' / 'omiya'}\n  types: [bldg]\n"
        f"  measures: [{change}]\n  baseline: base\noutput: after\n"
    )
    (tmp_path / "after.yaml").write_text(after_text)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        base = run(pipeline.stages.load_run_definition(tmp_path / "base.yaml"), client=client, progress=False)
        assert base.failed == [] and base.touched_tiles is None
        before = _digest(tmp_path / "base")
        after = run(
            pipeline.stages.load_run_definition(tmp_path / "after.yaml"), client=client, progress=False
        )
    assert after.failed == []
    tiles = sorted(r.tile for r in base.by_stage("paint"))
    assert len(tiles) == 4 and after.touched_tiles == tiles[:1]
    ran = sorted((r.stage, r.tile) for r in after.records.values() if not r.details.get("baseline"))
    assert ran == [("paint", tiles[0]), ("sum", tiles[0]), ("total", "all")]
    assert after.executed == 3
    assert after.from_baseline == len(base.records) - 3
    assert _digest(tmp_path / "base") == before  # the baseline is never written
    # the untouched tiles' outputs are the baseline's files, recorded in the new manifest
    manifest = json.loads((tmp_path / "after" / "manifest.json").read_text())
    sums = {t["tile"]: t["outputs"]["path"] for t in manifest["tasks"].values() if t["stage"] == "sum"}
    assert sums[tiles[0]] == str(tmp_path / "after" / "sum" / f"{tiles[0]}.txt")
    assert all(sums[t] == str(tmp_path / "base" / "sum" / f"{t}.txt") for t in tiles[1:])
    total = (tmp_path / "after" / "total.txt").read_text().splitlines()
    assert total == [f"{tiles[0]} 1 change file(s)"] + [f"{t} 0 change file(s)" for t in tiles[1:]]
    assert not (tmp_path / "after" / "ingest").exists()  # nothing copied
    assert manifest["runs"][-1]["touched_tiles"] == tiles[:1]


def test_a_baseline_that_is_the_output_is_refused(project_root, tmp_path):
    from pipeline.core.config import RunDefinitionError

    (tmp_path / "out").mkdir()
    with pytest.raises(RunDefinitionError, match="never the baseline's"):
        pipeline.stages.load_run_definition(
            project_root / "dags" / "sample.yaml",
            {"output": str(tmp_path / "out"), "inputs.baseline": str(tmp_path / "out")},
        )


def test_a_baseline_of_another_definition_is_refused(project_root, tmp_path):
    from pipeline.core.baseline import Baseline, BaselineError

    definition = pipeline.stages.load_run_definition(
        project_root / "dags" / "sample.yaml", {"output": str(tmp_path / "after")}
    )
    same = definition.model_dump(mode="json")
    moved = {
        **same,
        "name": "other",
        "output": "/elsewhere",
        "inputs": {**same["inputs"], "streets": ["/another/checkout/streets.osm"]},
    }
    Baseline(tmp_path, {}, moved).check_definition(definition, "measures")  # names and places may differ
    other = {
        **same,
        "grid": {**same["grid"], "resolution_m": 2.0},
        "stages": {**same["stages"], "shadow": {**same["stages"]["shadow"], "step_minutes": 5.0}},
    }
    with pytest.raises(BaselineError, match=r"other grid, stages.shadow than this run definition"):
        Baseline(tmp_path, {}, other).check_definition(definition, "measures")
    with pytest.raises(BaselineError, match="no manifest.json"):
        Baseline.open(tmp_path)
