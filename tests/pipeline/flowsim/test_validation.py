"""GEH as defined, the fitted ratio, people per 100 m, trip ends from floor area and stops."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from pipeline.flowsim.generation import TripRateError, building_floor_by_class, read_trip_rates, trip_ends
from pipeline.flowsim.graph import FlowGraph
from pipeline.flowsim.scaling import mlit_ratio, people_per_100m
from pipeline.flowsim.validation import fit_ratio, geh, validation_table


def test_geh_hand_worked():
    # M = 150, C = 100: 2 x 50^2 / 250 = 20 -> sqrt(20) = 4.4721
    # M = 400, C = 300: 2 x 100^2 / 700 = 28.571 -> 5.3452
    np.testing.assert_allclose(geh([150.0, 400.0], [100.0, 300.0]), [4.472136, 5.345225], atol=1e-6)
    assert geh(100.0, 100.0) == 0.0
    assert np.isnan(geh(0.0, 0.0))


def test_validation_table_and_share_below_5():
    flows = pd.DataFrame({"midday": [150.0, 400.0, 7.0], "morning": [10.0, 20.0, 30.0]})
    counted = pd.DataFrame(
        {
            "counter_id": ["a", "b", "c"],
            "scenario": "midday",
            "day_type": "weekday",
            "pedestrians_per_hour": [100.0, 300.0, 5.0],
        }
    )
    on_segment = pd.Series([0, 1], index=["a", "b"])  # counter c stands on no segment
    table, share = validation_table(counted, flows, on_segment)
    assert table["counter_id"].tolist() == ["a", "b"]
    np.testing.assert_allclose(table["geh"], [4.472136, 5.345225], atol=1e-6)
    assert share == 0.5
    scaled, _ = validation_table(counted, flows, on_segment, ratio=0.5)
    np.testing.assert_allclose(scaled["modelled"], [75.0, 200.0])


def test_fit_ratio_least_squares_through_origin():
    assert fit_ratio([1.0, 2.0, np.nan], [2.0, 4.0, 9.0]) == pytest.approx(2.0)
    # (1*1 + 2*3) / (1 + 4) = 1.4
    assert fit_ratio([1.0, 2.0], [1.0, 3.0]) == pytest.approx(1.4)
    sim = pd.DataFrame({"midday": [10.0, 20.0], "morning": [5.0, 8.0]}, index=[1, 2])
    mlit = pd.DataFrame({"midday": [30.0, 60.0], "morning": [np.nan, np.nan]}, index=[1, 2])
    ratio, pairs = mlit_ratio(sim, mlit)
    assert (ratio, pairs) == (pytest.approx(3.0), 2)


def test_people_per_100m_at_80_m_per_minute():
    # 4,800 walkers an hour at 4,800 m/h: one walker on every 1 m... 100 per 100 m
    assert people_per_100m(np.array([4800.0]))[0] == pytest.approx(100.0)


RATES = """# source: test table (values chosen for the test, not from a publication)
class,day_type,hour,produced,attracted
residential,weekday,7,2.0,0.5
residential,weekday,8,4.0,0.5
office,weekday,7,0.0,3.0
office,weekday,8,1.0,5.0
station,weekday,7,0.01,0.02
station,weekday,8,0.03,0.02
"""


def test_trip_rates_need_a_source(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text(RATES.split("\n", 1)[1], encoding="utf-8")
    with pytest.raises(TripRateError, match="line 1: trip rates must name their source"):
        read_trip_rates(path)
    path.write_text(RATES.replace("office,weekday,8,1.0", "office,weekday,25,1.0"), encoding="utf-8")
    with pytest.raises(TripRateError, match="line 6: bad row"):
        read_trip_rates(path)


def test_trip_ends_from_floor_area_and_stops(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text(RATES, encoding="utf-8")
    rates = read_trip_rates(path)
    slot = rates.for_slot("07:00", "09:00", "weekday")
    assert slot.loc["residential", "produced"] == pytest.approx(3.0)
    with pytest.raises(TripRateError, match="hours"):
        rates.for_slot("07:00", "10:00", "weekday")
    graph = FlowGraph.from_arrays(
        np.array([0]), np.array([1]), np.array([100.0]), np.array([[0.0, 0.0], [100.0, 0.0]])
    )
    buildings = gpd.GeoDataFrame(
        {"usage": ["411", "401", "413", "461"], "storeys_above_ground": [2, 5, 1, 3]},
        geometry=[box(-10, 5, 10, 15), box(90, 5, 110, 25), box(-5, -15, 5, -5), box(95, -20, 105, -10)],
        crs="EPSG:6677",
    )
    floor = building_floor_by_class(buildings)
    # 413 (shop + housing): floor area split evenly; 461 (unknown): no trips
    assert floor.loc[2, "commercial"] == floor.loc[2, "residential"] == pytest.approx(50.0)
    assert floor.loc[3].sum() == 0.0
    stops = gpd.GeoDataFrame(
        {"kind": ["station"], "weight": [1000.0]}, geometry=[Point(99, 1)], crs="EPSG:6677"
    )
    ends = trip_ends(graph, buildings, stops, slot)
    # node 0: housing 400 m2 (x3 /100 m2) + 50 m2 housing of the shop-house; node 1: office 2,000 m2
    # (x0.5 /100 m2) and the station (1000 x 0.02)
    assert ends.production[0] == pytest.approx(4.5 * 3.0)
    assert ends.production[1] == pytest.approx(20 * 0.5 + 1000 * 0.02)
    assert ends.attraction[1] == pytest.approx(20 * 4.0 + 1000 * 0.02)
    assert ends.unsnapped_production == 0.0
