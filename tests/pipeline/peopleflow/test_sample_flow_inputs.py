"""The sample's generated counters and stops: readable by the readers, regenerated identically."""

from __future__ import annotations

import importlib.util

import geopandas as gpd
import numpy as np
import pytest

from pipeline.peopleflow.profiles import profile_from_hourly
from pipeline.peopleflow.readers import counters_to_hourly, read_counters


@pytest.fixture(scope="module")
def maker(project_root):
    spec = importlib.util.spec_from_file_location(
        "make_flow_and_streets", project_root / "sample_data/make_flow_and_streets.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_counters_are_hourly_on_weekdays_and_holidays(project_root):
    records = read_counters(project_root / "sample_data/omiya/peopleflow/counters_omiya.csv")
    hourly = counters_to_hourly(records)
    assert sorted(hourly["counter_id"].unique()) == ["C1", "C2", "C3", "C4"]
    assert set(hourly["day_type"]) == {"weekday", "holiday"}
    assert sorted(hourly["month"].unique()) == [3, 6, 8, 12]
    assert hourly.groupby(["counter_id", "date"]).size().eq(24).all()
    profile = profile_from_hourly(hourly, key="counter_id", value="count", source="counters")
    weekday = profile.shares["weekday"].to_numpy()
    assert weekday[[11, 12, 13]].mean() == pytest.approx(1.0)
    assert weekday[8] > 1.0 > weekday[3]  # a morning peak above midday, a quiet night


def test_omiya_station_at_its_real_place(project_root):
    stops = gpd.read_file(project_root / "sample_data/omiya/stops.geojson")
    station = stops[stops["kind"] == "station"].geometry.iloc[0]
    assert (station.y, station.x) == pytest.approx((35.906139, 139.624944), abs=1e-6)
    assert (stops["kind"] == "bus_stop").sum() == 4
    streets = gpd.read_file(project_root / "sample_data/omiya/streets.geojson")
    assert streets.total_bounds[0] < station.x < streets.total_bounds[2]
    assert streets.total_bounds[1] < station.y < streets.total_bounds[3]


def test_regenerated_files_are_identical(maker, project_root, tmp_path):
    root = project_root / "sample_data/omiya"
    (tmp_path / "peopleflow").mkdir()
    (tmp_path / "streets.geojson").write_bytes((root / "streets.geojson").read_bytes())
    maker.write_counters(tmp_path)
    maker.write_stops(tmp_path)
    for name in ("peopleflow/counters_omiya.csv", "stops.geojson"):
        assert (tmp_path / name).read_bytes() == (root / name).read_bytes(), name
    assert np.all([row[4] >= 0 for row in maker.counter_rows(root)])
