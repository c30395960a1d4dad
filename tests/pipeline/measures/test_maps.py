"""Before/after/change maps of the effects, on built rasters."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from PIL import Image

from pipeline.geo.raster import Grid, write_cog
from pipeline.measures.maps import (
    MARGIN_M,
    changed_bounds,
    measure_overlays,
    shared_range,
    symmetric_limit,
    write_effect_maps,
)
from pipeline.measures.records import Building, MeasureSet, StreetChange, Tree

CRS = "EPSG:6677"
#: 400 m x 300 m at 1 m, its corner in Omiya
GRID = Grid(-19900.0, -10500.0, 1.0, 400, 300, CRS)


def test_symmetric_limit_is_a_percentile_of_the_visible_change_rounded_up():
    change = np.zeros((10, 10))
    change[0, :4] = [-1.2, -0.3, 0.01, 0.02]  # the last two under `visible`
    assert symmetric_limit(change, visible=0.1, percentile=100) == 1.5
    assert symmetric_limit(change, visible=0.1, percentile=100, step=0.1) == pytest.approx(1.2)
    assert symmetric_limit(np.zeros((3, 3)), visible=0.1) == 0.5  # nothing changed: one step
    assert symmetric_limit(np.full((2, 2), np.nan)) == 0.5


def test_shared_range_rounds_out_over_both_rasters():
    assert shared_range(np.array([30.4, np.nan]), np.array([41.2])) == (30.0, 42.0)
    assert shared_range(np.array([np.nan])) == (0.0, 1.0)


def test_changed_bounds_are_the_cells_that_changed_grown_by_the_margin_and_clipped():
    change = np.zeros(GRID.shape, np.float32)
    change[100:110, 200:205] = -2.0  # rows from the top, columns from the left
    change[0, 0] = 1e-4  # numerical noise, under `visible`
    x0, y0, x1, y1 = changed_bounds(change, GRID, visible=0.1, margin_m=20)
    assert (x0, x1) == (GRID.x_min + 200 - 20, GRID.x_min + 205 + 20)
    assert (y0, y1) == (GRID.y_max - 110 - 20, GRID.y_max - 100 + 20)
    change[299, 399] = 3.0  # the bottom-right cell: the margin is clipped to the grid
    assert changed_bounds(change, GRID, visible=0.1, margin_m=20)[1:3] == (GRID.y_min, GRID.x_max)
    assert changed_bounds(np.zeros(GRID.shape), GRID, visible=0.1) is None


def test_the_measures_and_districts_are_outlines():
    import geopandas as gpd

    measures = MeasureSet(CRS)
    measures.trees.append(Tree("t1", -19800.0, -10600.0, 8.0, 6.0, 3.2, False))
    lot = shapely.box(-19710, -10710, -19670, -10670)
    measures.buildings.append(
        Building("b1", shapely.box(-19700, -10700, -19680, -10680), 30.0, lot=lot, lot_id="L")
    )
    measures.buildings.append(
        Building("b2", shapely.box(-19690, -10690, -19685, -10685), 9.0, lot=lot, lot_id="L")
    )
    measures.streets.append(StreetChange("s1", line=shapely.LineString([(-19900, -10650), (-19600, -10650)])))
    districts = gpd.GeoDataFrame({"district": ["A"]}, geometry=[shapely.box(*GRID.bounds)], crs=CRS)
    overlays = measure_overlays(measures, districts)
    assert [o.label for o in overlays] == [
        "districts",
        "trees planted",
        "canopies and buildings added",
        "lots of added buildings",
        "streets changed",
    ]
    assert len(overlays[3].data) == 1  # one lot, however many buildings stand on it
    crown = overlays[1].data[0]
    assert crown.geom_type == "LineString" and crown.length == pytest.approx(np.pi * 6.0, rel=0.01)
    assert all(g.geom_type in ("LineString", "LinearRing") for o in overlays[1:] for g in o.data)
    # the districts as on the walkability maps: outlined and named
    assert overlays[0].text_column == "district" and list(overlays[0].data["district"]) == ["A"]
    assert [o.label for o in measure_overlays(measures, districts, "ja")] == [
        "地区",
        "植栽した樹木",
        "追加した日よけ・建物",
        "追加建物の敷地",
        "変更した街路",
    ]
    assert measure_overlays(MeasureSet(CRS)) == []


def _rasters(folder, shift: float = 0.0):
    """A before and an after mean-UTCI raster: 40 °C, 5 K cooler under a 10 x 10 m crown."""
    before = np.full(GRID.shape, 40.0, np.float32)
    after = before.copy()
    after[140:150, 190:200] -= 5.0 + shift
    return (
        [write_cog(folder / "before.tif", before, GRID, nodata=np.nan)],
        [write_cog(folder / "after.tif", after, GRID, nodata=np.nan)],
    )


def test_three_maps_over_the_changed_area_byte_identical_when_drawn_again(tmp_path):
    before, after = _rasters(tmp_path)
    kwargs = dict(before=before, after=after, crs=CRS)
    first = write_effect_maps(tmp_path / "a", "heat_day_midday", "hot day midday", "utci_mean", **kwargs)
    again = write_effect_maps(tmp_path / "b", "heat_day_midday", "hot day midday", "utci_mean", **kwargs)
    assert sorted(first) == ["after", "before", "change"]
    assert first["change"].endswith("a/utci_mean_change_heat_day_midday.png")
    for panel in first:
        assert open(first[panel], "rb").read() == open(again[panel], "rb").read()
    with Image.open(first["change"]) as image:
        info = dict(image.text)
    assert info["Title"] == "Mean UTCI change: hot day midday"
    assert "UTCI change, after - before (K)" in info["Description"]
    # the extent: the 10 x 10 m cooled cells and the margin around them, not the whole tile
    x0, y0, x1, y1 = map(float, info["Extent"].split()[:4])
    assert (x0, x1) == (GRID.x_min + 190 - MARGIN_M, GRID.x_min + 200 + MARGIN_M)
    assert (y0, y1) == (GRID.y_max - 150 - MARGIN_M, GRID.y_max - 140 + MARGIN_M)
    # a different change draws a different map
    other = write_effect_maps(
        tmp_path / "c",
        "heat_day_midday",
        "hot day midday",
        "utci_mean",
        crs=CRS,
        **dict(zip(("before", "after"), _rasters(tmp_path, 1.0))),
    )
    assert open(other["change"], "rb").read() != open(first["change"], "rb").read()
    # in the report's language
    japanese = write_effect_maps(
        tmp_path / "d", "heat_day_midday", "猛暑日 昼", "utci_mean", lang="ja", **kwargs
    )
    with Image.open(japanese["change"]) as image:
        info = dict(image.text)
    assert info["Title"] == "平均 UTCI 変化: 猛暑日 昼"
    assert "UTCI の変化、施策後 − 施策前 (K)" in info["Description"]


def test_no_rasters_no_maps(tmp_path):
    assert write_effect_maps(tmp_path, "s", "s", "shade_hours", before=[], after=[], crs=CRS) == {}
