"""The report's maps: district outlines named on the map, titles in the report's language."""

from __future__ import annotations

import warnings

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
from shapely.geometry import box

from pipeline.geo.maps import raster_map_figure
from pipeline.geo.raster import Grid
from pipeline.geo.scenarios import Scenario, Season, SeasonWeather, TimeSlot
from pipeline.walkability.rasters import MAP_WORDS, district_overlay, map_title

GRID = Grid(0.0, 400.0, 4.0, 100, 100, "EPSG:6677")


def test_district_names_are_written_inside_their_districts():
    districts = gpd.GeoDataFrame(
        {"district": ["大宮駅東口", "大宮駅西口"]},
        geometry=[box(0, 0, 200, 400), box(200, 0, 400, 400)],
        crs="EPSG:6677",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no glyph missing
        fig = raster_map_figure(
            np.ones(GRID.shape), GRID, title="t", units="u", overlays=district_overlay(districts, "ja")
        )
        fig.canvas.draw()
    try:
        ax = fig.axes[0]
        where = {t.get_text(): t.get_position() for t in ax.texts}
        assert where["大宮駅東口"][0] < 200 < where["大宮駅西口"][0]
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [MAP_WORDS["ja"]["districts"]]
    finally:
        plt.close(fig)
    assert district_overlay(None) == [] and district_overlay(districts.iloc[:0]) == []


def test_map_titles_name_the_scenario_and_mark_the_design_day():
    slot = TimeSlot("midday", "11:00", "14:00")
    heat = Scenario(Season("heat_day", 8, 5, SeasonWeather("design_heat_day")), slot)
    summer = Scenario(Season("summer_solstice", 6, 21), slot)
    assert map_title(heat, "ja") == "猛暑日 昼 (11:00-14:00) (設計条件)"
    assert map_title(heat, "en") == "hot day midday (11:00-14:00) (design case)"
    assert map_title(summer, "ja") == "夏至 昼 (11:00-14:00)"
