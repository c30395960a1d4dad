"""The peopleflow stage: every source aligned to the run's scenarios, with its coverage report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from pipeline.core.manifest import Manifest
from pipeline.core.task import PlanContext
from pipeline.geo.scenarios import Scenario, Season, TimeSlot
from pipeline.peopleflow.tables import read_flow
from pipeline.stages import load_run_definition
from pipeline.stages.peopleflow import STAGE, PeopleFlowSettings, PeopleFlowSource, peopleflow_task


def peopleflow_run(out_dir, sources, scenarios, settings):
    return peopleflow_task(out_dir, sources, scenarios, settings=settings, timezone="Asia/Tokyo")


SUMMER = Season("summer_solstice", 6, 21)
MIDDAY, MORNING = TimeSlot("midday", "11:00", "14:00"), TimeSlot("morning", "08:00", "11:00")
SCENARIOS = [Scenario(SUMMER, MIDDAY), Scenario(SUMMER, MORNING)]
CELL = 53396489


@pytest.fixture
def sources(tmp_path, project_root):
    mlit = project_root / "sample_data/omiya/peopleflow/mlit_peopleflow_omiya.csv"
    # an hourly table for one cell, June weekdays 8-13 h, with its own column names
    rows = [(CELL, "2024-06-03", h, 100.0 * h) for h in range(8, 14)]
    hourly = tmp_path / "hourly.csv"
    pd.DataFrame(rows, columns=["mesh", "day", "hh", "people"]).to_csv(hourly, index=False)
    counters = tmp_path / "counters.csv"
    pd.DataFrame(
        {
            "counter_id": "c1",
            "lat": 35.9071,
            "lon": 139.6235,
            "timestamp": [f"2024-06-04 {h:02d}:00" for h in range(8, 14)],
            "count": [120, 130, 140, 150, 160, 170],
        }
    ).to_csv(counters, index=False)
    return [
        PeopleFlowSource(kind="mlit", path=mlit),
        PeopleFlowSource(
            kind="hourly",
            path=hourly,
            name="phone",
            columns={"meshcode": "mesh", "date": "day", "hour": "hh", "population": "people"},
        ),
        PeopleFlowSource(kind="counters", path=counters, name="counters"),
    ]


def test_sources_aligned_with_coverage(sources, tmp_path):
    result = peopleflow_run(str(tmp_path / "out"), sources, SCENARIOS, PeopleFlowSettings())
    flow = pd.read_parquet(result.outputs.flow_by_mesh)
    assert list(flow.columns) == [
        "meshcode",
        "level",
        "scenario",
        "day_type",
        "population",
        "source",
        "people_source",
    ]
    phone = flow[(flow.source == "phone") & (flow.day_type == "weekday")].set_index("scenario")
    assert phone.loc["summer_solstice_morning", "population"] == pytest.approx(900.0)  # hours 8, 9, 10
    assert phone.loc["summer_solstice_midday", "population"] == pytest.approx(1200.0)  # hours 11-13
    coverage = pd.read_parquet(result.outputs.coverage)
    assert len(coverage) == 3 * 2 * 2  # sources x scenarios x day types
    mlit = coverage[coverage.source == "mlit_peopleflow_omiya"].set_index(["scenario", "day_type"])
    assert not mlit.loc[("summer_solstice_morning", "weekday"), "covered"]
    assert mlit.loc[("summer_solstice_midday", "weekday"), "covered"]
    # the hourly table has no holidays: reported, not filled in from weekdays
    holiday = coverage[(coverage.source == "phone") & (coverage.day_type == "holiday")]
    assert not holiday["covered"].any() and holiday["how"].str.contains("no holiday records").all()
    assert np.isnan(flow[(flow.source == "phone") & (flow.day_type == "holiday")]["population"]).all()
    counters = pd.read_parquet(result.outputs.flow_by_counter)
    row = counters[(counters.day_type == "weekday") & (counters.scenario == "summer_solstice_midday")]
    assert row["pedestrians_per_hour"].tolist() == [pytest.approx(160.0)]
    assert row["meshcode"].tolist() == [CELL]
    assert pd.read_csv(result.outputs.coverage_csv).shape == coverage.shape
    assert result.counts["covered"] == int(coverage["covered"].sum())


def test_read_flow_takes_the_first_source_per_cell_and_scenario(sources, tmp_path):
    result = peopleflow_run(str(tmp_path / "out"), sources[:2], SCENARIOS, PeopleFlowSettings())
    wide = read_flow(result.outputs.flow_by_mesh, "weekday")
    # midday: MLIT (first) wins; morning: MLIT has nothing, the hourly table is used
    assert wide.loc[(CELL, 3), "summer_solstice_midday"] == pytest.approx(5200 * 0.95)
    assert wide.loc[(CELL, 3), "summer_solstice_morning"] == pytest.approx(900.0)


def test_bad_definitions_are_refused(sources, tmp_path, project_root):
    with pytest.raises(ValidationError, match="extra"):
        PeopleFlowSource(kind="mlit", path="x.csv", colums={})
    with pytest.raises(ValidationError):
        PeopleFlowSource(kind="gps", path="x.csv")
    twice = [str(sources[0].path)] * 2
    with pytest.raises(ValueError, match="unique"):
        load_run_definition(
            project_root / "dags/sample.yaml",
            {"inputs.peopleflow": [{"kind": "mlit", "path": p} for p in twice]},
        )


def test_planner_makes_one_task_with_input_hashes(sources, tmp_path, project_root):
    definition = load_run_definition(
        project_root / "dags/sample.yaml", {"inputs.peopleflow": [s.model_dump(mode="json") for s in sources]}
    )
    ctx = PlanContext(
        definition=definition,
        crs="EPSG:6677",
        tiles=[],
        sources=[],
        manifest=Manifest.open(tmp_path),
        output=tmp_path,
    )
    [task] = STAGE.plan(ctx, {})
    assert task.stage == "peopleflow" and len(task.input_hashes) == 3
    assert len(task.args[2]) == 12  # the default 4 seasons x 3 slots
    assert STAGE.is_wanted(definition)
    definition.inputs.peopleflow = []
    assert not STAGE.is_wanted(definition)
