"""Typed stage outputs: a stage declares them, the next reads them by attribute, and a
read of an output no stage declares fails at planning, naming both stages (no Dask).

The stages here are defined in this module and registered in a registry built for the
test (``run_definition_model``), next to the real ``ingest`` stage: that is all a new
stage takes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pipeline.core.config import load_definition, run_definition_model
from pipeline.core.manifest import Manifest
from pipeline.core.outputs import NoOutputs, Outputs, OutputsError
from pipeline.core.plan import plan_run
from pipeline.core.runner import execute_task
from pipeline.core.settings import StageSettings
from pipeline.core.stage import Stage, check_reads
from pipeline.core.task import PlanContext, Record, Result, Task, done, keys
from pipeline.stages import STAGES, ingest


@dataclass(frozen=True)
class HeightOutputs(Outputs):
    """The tallest building of one ingested file, and a table per scenario."""

    tallest: str
    by_scenario: dict[str, str] = field(default_factory=dict)
    note: str | None = None


def tallest_task(out_path: str, *, ingest: list[Record]) -> Result:
    import pyarrow.parquet as pq

    heights = [
        h
        for r in ingest
        for h in pq.read_table(r.outputs.table, columns=["height_m"]).column("height_m").to_pylist()
        if h is not None
    ]
    Path(out_path).write_text(json.dumps({"tallest_m": max(heights)}), encoding="utf-8")
    return Result(outputs=HeightOutputs(tallest=out_path, by_scenario={"noon": out_path}))


def plan_tallest(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    buildings = done(records, "ingest", feature_type="bldg")
    return [
        Task(
            stage="tallest",
            tile="all",
            func=tallest_task,
            args=(str(ctx.out("tallest.json")),),
            upstream={"ingest": keys(buildings)},
        )
    ]


TALLEST = Stage(
    name="tallest",
    settings=StageSettings,
    plan=plan_tallest,
    needs=("ingest",),
    outputs=HeightOutputs,
    reads={"ingest": ("table",)},
)


def _reader(*names: str, of: str = "tallest", needs=("tallest",)) -> Stage:
    return Stage(
        name="report", settings=StageSettings, plan=lambda ctx, records: [], needs=needs, reads={of: names}
    )


def _definition(project_root: Path, tmp_path: Path, stages: tuple[Stage, ...]):
    (tmp_path / "out").mkdir(exist_ok=True)
    path = tmp_path / "run.yaml"
    path.write_text(
        f"inputs:\n  citygml: {project_root / 'sample_data' / 'omiya'}\n"
        f"  types: [bldg]\ncrs: EPSG:6677\noutput: out\n",
        encoding="utf-8",
    )
    return load_definition(path, run_definition_model(stages, ingest.SOURCES))


def test_a_stage_reading_a_declared_output_is_planned(project_root, tmp_path):
    definition = _definition(
        project_root, tmp_path, (ingest.STAGE, TALLEST, _reader("tallest", "by_scenario"))
    )
    plan = plan_run(definition, Manifest.open(tmp_path / "out"))
    assert [s.name for s in plan.stages] == ["ingest", "tallest", "report"]


def test_a_stage_reading_an_undeclared_output_fails_at_planning_naming_both(project_root, tmp_path):
    definition = _definition(project_root, tmp_path, (ingest.STAGE, TALLEST, _reader("tallest", "heights")))
    with pytest.raises(ValueError) as error:
        plan_run(definition, Manifest.open(tmp_path / "out"))
    assert str(error.value) == (
        "stage 'report' reads output 'heights' of stage 'tallest', which "
        "HeightOutputs does not declare (stage 'tallest' declares: "
        "tallest, by_scenario, note)"
    )
    assert not list((tmp_path / "out").iterdir())  # nothing planned, nothing written


def test_reads_must_name_a_registered_earlier_needed_stage():
    with pytest.raises(
        ValueError,
        match="stage 'report' reads outputs \\['x'\\] of stage 'gone', which is not in the registry",
    ):
        check_reads([ingest.STAGE, TALLEST, _reader("x", of="gone", needs=None)])
    with pytest.raises(
        ValueError, match="stage 'report' reads outputs of stage 'tallest', which does not come before it"
    ):
        check_reads([ingest.STAGE, _reader("tallest"), TALLEST])
    with pytest.raises(
        ValueError, match="reads outputs of stage 'tallest' but does not name it in needs \\['ingest'\\]"
    ):
        check_reads([ingest.STAGE, TALLEST, _reader("tallest", needs=("ingest",))])


def test_the_registry_reads_only_declared_outputs():
    check_reads(STAGES)
    assert all(issubclass(stage.outputs, Outputs) for stage in STAGES)
    readers = {stage.name for stage in STAGES if stage.reads}
    assert {"surface", "shadow", "thermal", "walkability", "viewer", "export_properties"} <= readers


def test_outputs_are_typed_on_the_worker_and_plain_json_in_the_manifest(project_root, tmp_path):
    definition = _definition(project_root, tmp_path, (ingest.STAGE, TALLEST))
    plan = plan_run(definition, Manifest.open(tmp_path / "out"))
    ctx = plan.context
    [source] = [s for s in ctx.sources if s.mesh_code == "53396499"]
    [ingest_task] = [t for t in ingest.plan(ctx, {}) if t.tile == Path(source.file_name).stem]
    assert ingest_task.meshes == ("53396499",)  # the mesh cell it covers, not parsed from its name
    ingest_record = execute_task(
        "ingest",
        ingest_task.tile,
        ingest_task.func,
        ingest_task.args,
        ingest_task.kwargs,
        "k1",
        ingest.IngestOutputs,
    )
    assert ingest_record.done, ingest_record.error
    assert ingest_record.feature_type == "bldg" and isinstance(ingest_record.outputs, ingest.IngestOutputs)
    record = execute_task(
        "tallest",
        "all",
        tallest_task,
        (str(tmp_path / "out" / "t.json"),),
        {"ingest": [ingest_record]},
        "k2",
        HeightOutputs,
    )
    assert record.done, record.error
    assert record.outputs.tallest == str(tmp_path / "out" / "t.json")
    assert json.loads(Path(record.outputs.tallest).read_text())["tallest_m"] > 0

    manifest = Manifest.open(tmp_path / "out")
    manifest.record(record)
    manifest.compact()
    data = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert data["tasks"]["k2"]["outputs"] == {
        "tallest": record.outputs.tallest,
        "by_scenario": {"noon": record.outputs.tallest},
    }
    again = Manifest.open(tmp_path / "out").finished("k2", "tallest", "all", outputs=HeightOutputs)
    assert again is not None and again.outputs == record.outputs


def test_a_task_returning_other_outputs_than_declared_fails_naming_the_stage(tmp_path):
    def untyped() -> Result:
        return Result(outputs={"tallest": "x"})

    def other() -> Result:
        return Result(outputs=NoOutputs())

    record = execute_task("tallest", "all", untyped, (), {}, "k", HeightOutputs)
    assert record.status == "failed"
    assert record.error == (
        "OutputsError: stage 'tallest': its task returned outputs of type dict, "
        "not the declared HeightOutputs"
    )
    record = execute_task("tallest", "all", other, (), {}, "k", HeightOutputs)
    assert "returned outputs of type NoOutputs, not the declared HeightOutputs" in record.error
    record = execute_task("tallest", "all", lambda: Result(), (), {}, "k", HeightOutputs)
    assert record.error == (
        "OutputsError: stage 'tallest': its task returned no outputs, and HeightOutputs requires ['tallest']"
    )


def test_outputs_read_back_refuse_what_the_type_does_not_declare():
    assert HeightOutputs.from_json({"tallest": "a"}) == HeightOutputs(tallest="a")
    with pytest.raises(
        OutputsError,
        match=r"stage 'tallest': outputs \['height'\] are not declared "
        r"by HeightOutputs \(declared: tallest, by_scenario, note\)",
    ):
        HeightOutputs.from_json({"tallest": "a", "height": "b"}, stage="tallest")
    with pytest.raises(OutputsError, match=r"HeightOutputs requires outputs \['tallest'\], not recorded"):
        HeightOutputs.from_json({})
    assert HeightOutputs(tallest="a", by_scenario={"x": "b"}).paths == ["a", "b"]
