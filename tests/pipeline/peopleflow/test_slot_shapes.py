"""Every slot from MLIT's midday: each cell's counters (or all of them pooled) give the hourly share."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.geo import meshcode
from pipeline.geo.scenarios import Scenario, Season, TimeSlot
from pipeline.peopleflow.readers import PeopleFlowError
from pipeline.peopleflow.tables import read_flow, read_flow_sources
from pipeline.stages.peopleflow import (
    PeopleFlowSettings,
    PeopleFlowSource,
    peopleflow_task,
)

EQUINOX = Season("equinox", 3, 20)
MORNING, MIDDAY = TimeSlot("morning", "08:00", "11:00"), TimeSlot("midday", "11:00", "14:00")
SCENARIOS = [Scenario(EQUINOX, MORNING), Scenario(EQUINOX, MIDDAY)]


@pytest.fixture
def files(project_root):
    folder = project_root / "sample_data/omiya/peopleflow"
    return folder / "mlit_peopleflow_omiya.csv", folder / "counters_omiya.csv"


def hand_factor(counters: pd.DataFrame, ids) -> float:
    """March weekdays: per counter the mean over days of each hour, summed over counters,
    mean of 8-10 h over mean of 11-13 h: the rule written out by hand."""
    t = pd.to_datetime(counters["timestamp"])
    rows = counters[(t.dt.month == 3) & (t.dt.day_of_week < 5) & counters["counter_id"].isin(ids)]
    hour = pd.to_datetime(rows["timestamp"]).dt.hour
    by_hour = rows.groupby([rows["counter_id"], hour])["count"].mean().groupby(level=1).sum()
    return by_hour.loc[[8, 9, 10]].mean() / by_hour.loc[[11, 12, 13]].mean()


def test_counters_shape_the_morning_around_each_cell(files, tmp_path):
    mlit, counters_csv = files
    sources = [PeopleFlowSource(kind="mlit", path=mlit), PeopleFlowSource(kind="counters", path=counters_csv)]
    result = peopleflow_task(
        str(tmp_path), sources, SCENARIOS, settings=PeopleFlowSettings(), timezone="Asia/Tokyo"
    )
    wide = read_flow(result.outputs.flow_by_mesh, "weekday").droplevel("level")
    labels = read_flow_sources(result.outputs.flow_by_mesh, "weekday").droplevel("level")
    counters = pd.read_csv(counters_csv)
    where = counters.groupby("counter_id")[["lat", "lon"]].first()
    cell_of = pd.Series(
        meshcode.encode(where["lat"].to_numpy(), where["lon"].to_numpy(), 3), index=where.index
    )
    pooled = hand_factor(counters, list(where.index))
    assert 0.2 < pooled < 5 and pooled != pytest.approx(1.0, abs=0.01)  # the morning differs
    for cell in wide.index:
        own = list(cell_of[cell_of == cell].index)
        factor = hand_factor(counters, own) if own else pooled
        assert wide.loc[cell, "equinox_morning"] == pytest.approx(
            wide.loc[cell, "equinox_midday"] * factor, rel=1e-9
        )
    assert set(labels["equinox_morning"]) == {"counters"} and set(labels["equinox_midday"]) == {"mlit"}
    assert cell_of.nunique() < len(wide)  # both rules were exercised: cells with and without counters
    coverage = pd.read_parquet(result.outputs.coverage)
    mlit_rows = coverage[coverage["kind"] == "mlit"].set_index(["scenario", "day_type"])
    morning = mlit_rows.loc[("equinox_morning", "weekday")]
    assert morning["covered"] and morning["people_source"] == "counters"
    assert "share over hours [8, 9, 10]" in morning["how"]


def test_none_leaves_the_morning_empty(files, tmp_path):
    mlit, counters_csv = files
    sources = [PeopleFlowSource(kind="mlit", path=mlit), PeopleFlowSource(kind="counters", path=counters_csv)]
    result = peopleflow_task(
        str(tmp_path), sources, SCENARIOS, settings=PeopleFlowSettings(diurnal="none"), timezone="Asia/Tokyo"
    )
    assert "equinox_morning" not in read_flow(result.outputs.flow_by_mesh, "weekday")


def test_profile_asked_for_without_a_table_is_a_clear_error(files, tmp_path):
    sources = [PeopleFlowSource(kind="mlit", path=files[0])]
    with pytest.raises(PeopleFlowError, match="no default diurnal profile is shipped"):
        peopleflow_task(
            str(tmp_path),
            sources,
            SCENARIOS,
            settings=PeopleFlowSettings(diurnal="profile"),
            timezone="Asia/Tokyo",
        )
    with pytest.raises(PeopleFlowError, match="no 'kind: counters' entry"):
        peopleflow_task(
            str(tmp_path),
            sources,
            SCENARIOS,
            settings=PeopleFlowSettings(diurnal="counters"),
            timezone="Asia/Tokyo",
        )


def test_a_published_profile_shapes_every_cell_alike_and_is_modelled(files, tmp_path):
    from tests.pipeline.peopleflow.test_profiles import TRIPS, write_table

    table = write_table(tmp_path / "profile.csv")
    sources = [PeopleFlowSource(kind="mlit", path=files[0]), PeopleFlowSource(kind="profile", path=table)]
    result = peopleflow_task(
        str(tmp_path / "out"),
        sources,
        SCENARIOS,
        settings=PeopleFlowSettings(diurnal="profile"),
        timezone="Asia/Tokyo",
    )
    wide = read_flow(result.outputs.flow_by_mesh, "weekday")
    factor = (TRIPS[8] + TRIPS[9] + TRIPS[10]) / (TRIPS[11] + TRIPS[12] + TRIPS[13])
    assert (wide["equinox_morning"] / wide["equinox_midday"]).to_numpy() == pytest.approx(factor)
    labels = read_flow_sources(result.outputs.flow_by_mesh, "weekday")
    assert set(labels["equinox_morning"]) == {"profile"}
    with pytest.raises(PeopleFlowError, match="needs a 'kind: mlit'"):
        peopleflow_task(
            str(tmp_path / "out2"),
            sources[1:],
            SCENARIOS,
            settings=PeopleFlowSettings(),
            timezone="Asia/Tokyo",
        )
