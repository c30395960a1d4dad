"""The priority index of where to act first (pipeline.walkability.priority): analytic cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.walkability.priority import COLUMNS, priority_index, priority_table


def test_index_is_person_hours_times_the_shade_deficit():
    person_hours, priority = priority_index(
        [10.0, 10.0, 4.0, np.nan], [3.0, 3.0, 0.5, 2.0], [0.0, 0.75, 0.2, 0.0]
    )
    np.testing.assert_allclose(person_hours[:3], [30.0, 30.0, 2.0])
    np.testing.assert_allclose(priority[:3], [30.0, 7.5, 1.6])  # 4 people x 0.5 h x 0.8 in the sun
    assert np.isnan(person_hours[3]) and np.isnan(priority[3])  # no people-flow data: no index, not zero


def test_a_shade_share_past_its_bounds_is_clipped_and_negative_people_refused():
    _, priority = priority_index([2.0, 2.0], [1.0, 1.0], [-0.5, 1.5])
    np.testing.assert_allclose(priority, [2.0, 0.0])
    with pytest.raises(ValueError, match=">= 0"):
        priority_index([-1.0], [1.0], [0.0])


def _segments():
    # b: 20 people x 2 h x 0.5 sun = 20; a: 10 x 2 x 1 = 20 (tie, a first by id);
    # c: shaded all slot = 0 (left out); d: no flow (left out); e: 5 x 1 x 1 = 5
    return pd.DataFrame(
        {
            "segment_id": ["b", "a", "c", "d", "e"],
            "length_m": [50.0, 100.0, 80.0, 40.0, 25.0],
            "people": [20.0, 10.0, 30.0, np.nan, 5.0],
            "hours_utci_above_32": [2.0, 2.0, 3.0, 3.0, 1.0],
            "shade_share": [0.5, 0.0, 1.0, 0.0, 0.0],
            "name": ["Chuo-dori", None, "", "", "Ginza"],
            "highway": ["primary"] * 5,
        }
    )


def test_ranking_leaves_out_unknown_and_zero_and_breaks_ties_by_id():
    table = priority_table(_segments(), "heat_day_midday")
    assert list(table.columns) == list(COLUMNS)
    assert table["segment_id"].tolist() == ["a", "b", "e"]
    assert table["rank"].tolist() == [1, 2, 3]
    assert table["priority"].tolist() == [20.0, 20.0, 5.0]
    assert table["name"].tolist() == ["", "Chuo-dori", "Ginza"]
    assert table["people_per_100m"].tolist() == [10.0, 40.0, 20.0]
    assert (table["scenario"] == "heat_day_midday").all()
    assert priority_table(_segments(), "x", top=1)["segment_id"].tolist() == ["a"]


def test_a_table_without_the_thermal_columns_is_refused_by_name():
    with pytest.raises(ValueError, match=r"'winter_midday'.*hours_utci_above_32"):
        priority_table(_segments().drop(columns="hours_utci_above_32"), "winter_midday")
