"""Rasterisation at cell centres, highest surface winning."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import Polygon, box

from pipeline.geo.raster import Grid
from pipeline.surface.rasterize import (
    merge_max,
    rasterize_plant_cover,
    rasterize_polygons_height,
    rasterize_tree_crowns,
    rasterize_triangles_max,
)

GRID = Grid(1000.0, 2010.0, 1.0, 10, 10, "EPSG:6677")  # x 1000..1010, y 2000..2010


def test_triangles_interpolate_a_plane_exactly():
    # z = 5 + 0.5 (x - 1000) + 0.25 (y - 2000) over the whole grid, as two triangles
    def z(x, y):
        return 5 + 0.5 * (x - 1000) + 0.25 * (y - 2000)

    corners = [(1000, 2000), (1010, 2000), (1010, 2010), (1000, 2010)]
    v = [(x, y, z(x, y)) for x, y in corners]
    tris = np.array([[v[0], v[1], v[2]], [v[0], v[2], v[3]]])
    height, index = rasterize_triangles_max(tris, GRID, np.array([7, 7]))
    xc, yc = GRID.cell_centres()
    np.testing.assert_allclose(height, z(xc[None, :], yc[:, None]), rtol=0, atol=1e-5)
    assert (index == 7).all()


def test_higher_triangle_wins_and_walls_are_ignored():
    low = [(1000, 2000, 1.0), (1010, 2000, 1.0), (1000, 2010, 1.0)]
    high = [(1000, 2000, 9.0), (1005, 2000, 9.0), (1000, 2005, 9.0)]
    wall = [(1000, 2000, 0.0), (1010, 2010, 0.0), (1010, 2010, 50.0)]
    height, index = rasterize_triangles_max(np.array([low, high, wall]), GRID, np.array([0, 1, 2]))
    assert height[9, 0] == 9.0 and index[9, 0] == 1  # south-west corner cell
    assert height[0, 0] == 1.0 and index[0, 0] == 0
    assert np.isnan(height[0, 9]) and index[0, 9] == -1  # outside both, wall covers no centre
    assert not (index == 2).any()


def test_polygons_burn_cell_centres_highest_on_top():
    polygons = [box(1000, 2000, 1006, 2006), box(1004, 2004, 1010, 2010), Polygon()]
    height, index = rasterize_polygons_height(polygons, np.array([20.0, 10.0, 99.0]), GRID)
    assert (index == 0).sum() == 36  # 6 x 6 centres
    assert (index == 1).sum() == 36 - 4  # overlap goes to the higher one
    assert height[5, 5] == 20.0 and height[0, 9] == 10.0
    assert np.isnan(height[0, 0]) and index[0, 0] == -1


def test_polygon_heights_must_be_finite():
    with pytest.raises(ValueError, match="polygon 1"):
        rasterize_polygons_height([box(0, 0, 1, 1), box(0, 0, 1, 1)], np.array([1.0, np.nan]), GRID)


def test_tree_crowns_are_discs_and_tiny_crowns_mark_their_cell():
    grid = Grid(0.0, 100.0, 0.5, 200, 200, "EPSG:6677")
    canopy = rasterize_tree_crowns(
        np.array([50.0, 10.2]), np.array([50.0, 10.2]), np.array([6.0, 0.1]), np.array([12.0, 5.0]), grid
    )
    area = np.isfinite(canopy).sum() * 0.25
    assert area == pytest.approx(np.pi * 36 + 0.25, rel=0.02)
    assert np.nanmax(canopy) == 12.0
    row, col = grid.rowcol(np.array([10.2]), np.array([10.2]))
    assert canopy[row[0], col[0]] == 5.0


def test_plant_cover_and_merge():
    cover = rasterize_plant_cover([box(1000, 2000, 1005, 2005)], np.array([6.0]), GRID)
    crowns = rasterize_tree_crowns(
        np.array([1002.5]), np.array([2002.5]), np.array([1.0]), np.array([9.0]), GRID
    )
    merged = merge_max(cover, crowns)
    assert np.isfinite(merged).sum() == 25 and np.nanmax(merged) == 9.0 and np.nanmin(merged) == 6.0


def test_leaf_habit_from_the_function_label():
    from pipeline.surface.habit import DECIDUOUS, EVERGREEN, UNKNOWN_HABIT, habit_of_label

    assert habit_of_label("常緑広葉樹") == EVERGREEN
    assert habit_of_label("落葉針葉樹") == DECIDUOUS
    assert habit_of_label(["落葉広葉樹"]) == DECIDUOUS
    assert habit_of_label('["常緑針葉樹"]') == EVERGREEN
    assert habit_of_label("evergreen") == EVERGREEN and habit_of_label("Deciduous") == DECIDUOUS
    assert habit_of_label(None) == UNKNOWN_HABIT and habit_of_label(float("nan")) == UNKNOWN_HABIT
    assert habit_of_label("高木") == UNKNOWN_HABIT
    assert habit_of_label("常緑広葉樹 落葉広葉樹") == UNKNOWN_HABIT  # both: undecided


def test_canopy_habit_follows_the_highest_crown_and_evergreen_top_is_part_of_the_canopy():
    from pipeline.surface.habit import (
        DECIDUOUS,
        EVERGREEN,
        NO_TREE,
        UNKNOWN_HABIT,
        canopy_habit,
        evergreen_canopy_top,
    )

    evergreen = rasterize_tree_crowns(
        np.array([1002.5]), np.array([2002.5]), np.array([1.5]), np.array([9.0]), GRID
    )
    deciduous = rasterize_tree_crowns(
        np.array([1004.5]), np.array([2002.5]), np.array([1.5]), np.array([12.0]), GRID
    )
    lidar = np.full(GRID.shape, np.nan, np.float32)
    lidar[0, :] = 3.0
    layers = [(evergreen, EVERGREEN), (deciduous, DECIDUOUS), (lidar, UNKNOWN_HABIT)]
    canopy = merge_max(*(layer for layer, _ in layers))
    habit = canopy_habit(canopy, layers)
    row, col = GRID.rowcol(np.array([1001.5, 1004.5, 1008.5]), np.array([2002.5, 2002.5, 2005.5]))
    assert habit[row[0], col[0]] == EVERGREEN and habit[row[1], col[1]] == DECIDUOUS
    assert habit[row[2], col[2]] == NO_TREE and habit[0, 0] == UNKNOWN_HABIT
    assert ((habit == NO_TREE) == np.isnan(canopy)).all()
    top = evergreen_canopy_top(canopy, habit)
    kept = np.isfinite(top)
    assert kept.any() and (habit[kept] == EVERGREEN).all()
    np.testing.assert_array_equal(top[kept], canopy[kept])
    # crowns of unknown habit counted as evergreen when the run says so
    assert np.isfinite(evergreen_canopy_top(canopy, habit, "evergreen")[0, 0])
    assert evergreen_canopy_top(canopy, None) is None


def test_surface_stage_writes_the_canopy_habit_of_plateau_trees(tmp_path):
    import geopandas as gpd
    import shapely

    from pipeline.surface.habit import DECIDUOUS, EVERGREEN, UNKNOWN_HABIT
    from pipeline.surface.model import build_canopy

    grid = Grid(0.0, 40.0, 1.0, 40, 40, "EPSG:6677")
    trees = gpd.GeoDataFrame(
        {
            "gml_id": ["a", "b", "c"],
            "feature_type": ["veg:SolitaryVegetationObject"] * 3,
            "height_m": [8.0, 10.0, 6.0],
            "ground_elevation_m": [0.0, 0.0, 0.0],
            "crown_diameter": [4.0, 4.0, 4.0],
            "function_label": ["常緑広葉樹", "落葉広葉樹", None],
        },
        geometry=[shapely.Point(10, 30), shapely.Point(20, 30), shapely.Point(30, 30)],
        crs="EPSG:6677",
    )
    path = tmp_path / "veg.parquet"
    trees.to_parquet(path)
    canopy, habit, source = build_canopy(grid, [str(path)], None, None, np.zeros(grid.shape, np.float32))
    assert source == "PLATEAU veg"
    row, col = grid.rowcol(np.array([10.5, 20.5, 30.5]), np.array([30.5, 30.5, 30.5]))
    assert list(habit[row, col]) == [EVERGREEN, DECIDUOUS, UNKNOWN_HABIT]
    assert list(canopy[row, col]) == [8.0, 10.0, 6.0]
