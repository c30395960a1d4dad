"""Effects tables and the reach of measures, on built cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import shapely

from pipeline.geo.tiling import tile_grid
from pipeline.measures.effects import (
    change_raster,
    district_coolwalk_change,
    district_person_hours,
    segment_effects,
)
from pipeline.measures.reach import lowest_sun_altitude_deg, shadow_reach_m, touched_tiles
from pipeline.measures.records import MeasureSet, Tree

CRS = "EPSG:6677"


def scored(utci, hours, people, shade) -> pd.DataFrame:
    rows = []
    for i, (u, h, p, s) in enumerate(zip(utci, hours, people, shade)):
        rows.append(
            {
                "segment_id": f"t:{i}",
                "scenario": "heat_day_midday",
                "season": "heat_day",
                "slot": "midday",
                "length_m": 70.0,
                "shade_share": s,
                "utci_mean_c": u,
                "hours_utci_above_32": h,
                "c_thermal": 1 - u / 46,
                "score": 50 + s,
                "people": p,
                "class": "neither",
                "utci_class": "strong_heat",
            }
        )
    return pd.DataFrame(rows)


def test_segment_effects_before_after_change():
    before = scored([40.0, 38.0], [3.0, 2.0], [100.0, 10.0], [0.0, 0.2])
    after = scored([36.0, 38.0], [1.0, 2.0], [100.0, 10.0], [0.6, 0.2])
    effects = segment_effects(before, after.iloc[::-1])  # row order does not matter
    first = effects.set_index("segment_id").loc["t:0"]
    assert (first.utci_mean_c_before, first.utci_mean_c_after, first.utci_mean_c_change) == (40.0, 36.0, -4.0)
    assert first.hours_utci_above_32_change == -2.0 and first.shade_share_change == pytest.approx(0.6)
    assert effects.set_index("segment_id").loc["t:1"].utci_mean_c_change == 0.0
    assert {"class_before", "class_after"} <= set(effects.columns)


def test_district_person_hours_are_people_times_hours():
    before = scored([40.0, 38.0, 39.0], [3.0, 2.0, 1.0], [100.0, 10.0, 5.0], [0.0, 0.2, 0.0])
    after = scored([36.0, 38.0, 39.0], [1.0, 2.0, 1.0], [100.0, 10.0, 5.0], [0.6, 0.2, 0.0])
    effects = segment_effects(before, after)
    table = district_person_hours(effects, ["east", "east", None]).set_index("district")
    assert table.loc["east", "person_hours_before"] == 100 * 3 + 10 * 2
    assert table.loc["east", "person_hours_after"] == 100 * 1 + 10 * 2
    assert table.loc["east", "person_hours_change"] == -200 and table.loc["east", "segments_changed"] == 1
    assert list(table.index) == ["east"]  # outside every district: left out


def test_change_raster_is_after_minus_before():
    before = np.array([[30.0, np.nan]], np.float32)
    np.testing.assert_array_equal(
        change_raster(before, np.array([[28.5, 1.0]], np.float32)), [[-1.5, np.nan]]
    )
    with pytest.raises(ValueError, match="one grid"):
        change_raster(before, np.zeros((2, 2), np.float32))


def test_shadow_reach_is_height_over_tan_altitude_capped_by_the_halo():
    assert shadow_reach_m(10.0, 45.0, 200.0) == pytest.approx(10.0)
    assert shadow_reach_m(10.0, 30.0, 200.0) == pytest.approx(10.0 / math.tan(math.radians(30)))
    assert shadow_reach_m(100.0, 5.0, 200.0) == 200.0 and shadow_reach_m(1.0, 0.0, 150.0) == 150.0


def test_lowest_sun_of_the_scenarios():
    from pipeline.geo.scenarios import Scenario, Season, TimeSlot

    midday = [Scenario(Season("winter_solstice", 12, 21), TimeSlot("midday", "11:00", "14:00"))]
    # Omiya at the winter solstice, 11-14 h: the sun stands 25-31 degrees high
    assert 20.0 < lowest_sun_altitude_deg(midday, 2026, 35.9, 139.62) < 31.0


def test_a_tree_touches_its_tile_and_a_neighbour_only_within_its_reach():
    tiles = ["53396489", "53396499"]  # 53396499 lies north of 53396489
    x0, y0, x1, y1 = tile_grid("53396489", CRS, 1.0).bounds
    middle = MeasureSet(CRS, trees=[Tree("m", (x0 + x1) / 2, (y0 + y1) / 2, 10.0, 6.0, 4.0, False)])
    assert touched_tiles(middle, tiles, CRS, halo_m=200.0, lowest_sun_deg=0.0) == {"53396489"}
    edge = MeasureSet(CRS, trees=[Tree("e", (x0 + x1) / 2, y1 - 15.0, 10.0, 6.0, 4.0, False)])
    # 15 m from the northern tile: reached at a 20 degree sun (27.5 m), not at 60 degrees (5.8 m)
    assert touched_tiles(edge, tiles, CRS, halo_m=200.0, lowest_sun_deg=20.0) == set(tiles)
    assert touched_tiles(edge, tiles, CRS, halo_m=200.0, lowest_sun_deg=60.0) == {"53396489"}
    street = shapely.LineString([(x0 + 10, (y0 + y1) / 2), (x0 + 50, (y0 + y1) / 2)])
    assert touched_tiles(
        MeasureSet(CRS),
        tiles,
        CRS,
        halo_m=200.0,
        lowest_sun_deg=0.0,
        street_lines=[street],
        network_reach_m=800.0,
    ) == set(tiles)


def test_district_coolwalk_change_is_after_minus_before_per_district_and_scenario():
    table = pd.DataFrame(
        {"district": ["東口", "西口"], "scenario": ["noon", "noon"], "person_hours_change": [-3.0, 0.0]}
    )
    before = pd.DataFrame(
        {
            "district": ["東口", "西口", "東口"],
            "scenario": ["noon", "noon", "dawn"],
            "coolwalkability_shade": [0.30, 0.50, 0.9],
            "coolwalkability_thermal": [0.20, 0.40, 0.8],
        }
    )
    after = before.assign(coolwalkability_shade=[0.45, 0.50, 0.9], coolwalkability_thermal=[0.35, 0.40, 0.8])
    out = district_coolwalk_change(table, before, after).set_index("district")
    assert len(out) == 2  # the rows of the person-hours table, no more
    assert out.loc["東口", "coolwalkability_shade_before"] == 0.30
    assert math.isclose(out.loc["東口", "coolwalkability_shade_change"], 0.15)
    assert math.isclose(out.loc["東口", "coolwalkability_thermal_change"], 0.15)
    assert out.loc["西口", "coolwalkability_shade_change"] == 0.0
    assert list(district_coolwalk_change(table, None, after).columns) == list(table.columns)
    shade_only = district_coolwalk_change(table, before.drop(columns="coolwalkability_thermal"), after)
    assert "coolwalkability_thermal_change" not in shade_only and "coolwalkability_shade_change" in shade_only
