"""Tree tops, crowns and per-tree metrics on built cases with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from pipeline.trees.detect import crown_spreads, detect_trees
from pipeline.trees.matching import detection_accuracy
from pipeline.trees.parameters import TreeParameters, height_class, window_diameter
from pipeline.trees.stand import harder_stand, survey, tile_points

from .helpers import ORIGIN, one_tree, surface_of


def test_single_cone_tree_top_height_crown_and_base():
    surface, _, _ = surface_of([one_tree(height=10.0, base=4.0, radius=3.0)])
    trees = detect_trees(surface)
    assert len(trees) == 1
    tree = trees.iloc[0]
    # the top of a cone is its stem; 20 returns/m² land within ~0.2 m of it
    assert math.hypot(tree.top_x - ORIGIN[0], tree.top_y - ORIGIN[1]) < 0.3
    assert math.hypot(tree.x - ORIGIN[0], tree.y - ORIGIN[1]) < 0.2
    assert 9.7 < tree.height_m <= 10.0
    assert tree.crown_diameter_m == pytest.approx(6.0, abs=0.3)
    # 10th percentile of a cone's surface heights: 1 - (1 - t)^2 = 0.1 -> t = 0.0513, 4.31 m;
    # Dalponte's seed criterion drops the crown's cells under 0.45 x 10 = 4.5 m, which
    # raises it (a median, 5.76 m, would fail)
    assert 4.3 <= tree.crown_base_m <= 4.8
    assert tree.class_code == "1"
    assert tree.ground_z == pytest.approx(0.0, abs=0.05)


def test_two_trees_apart_are_two_trees_with_their_own_heights():
    surface, _, _ = surface_of(
        [
            one_tree(-6, 0, height=12.0, radius=3.0, shape="paraboloid", tree_id="a"),
            one_tree(6, 0, height=7.0, radius=2.5, shape="ellipsoid", base=3.0, tree_id="b"),
        ]
    )
    trees = detect_trees(surface).sort_values("x")
    assert len(trees) == 2
    assert trees.height_m.to_list() == pytest.approx([12.0, 7.0], abs=0.3)
    assert trees.crown_diameter_m.to_list() == pytest.approx([6.0, 5.0], abs=0.35)


def test_popescu_wynne_window_and_its_floor():
    # deciduous: 3.09632 + 0.00895 h^2; pines: 3.75105 + 0.17919 h + 0.01241 h^2
    assert window_diameter(10.0) == pytest.approx(3.09632 + 0.895)
    assert window_diameter(10.0, "pines") == pytest.approx(3.75105 + 1.7919 + 1.241)
    assert window_diameter(2.0, "combined", min_window_m=3.0) == 3.0


def test_height_class_follows_the_plateau_code_list():
    classes = height_class(np.array([0.5, 0.99, 1.0, 2.99, 3.0, 25.0, np.nan]))
    assert classes.tolist() == ["3", "3", "2", "2", "1", "1", "0"]


def test_crown_spreads_of_a_rectangle_and_a_disc():
    rectangle = shapely.box(0, 0, 4, 2)
    disc = shapely.Point(0, 0).buffer(3.0, quad_segs=64)
    long_m, short_m = crown_spreads(np.array([rectangle, disc]))
    assert long_m[0] == pytest.approx(math.hypot(4, 2), rel=1e-3)  # the diagonal
    assert short_m[0] == pytest.approx(2.0, rel=1e-6)
    assert long_m[1] == pytest.approx(6.0, rel=1e-3)
    assert short_m[1] == pytest.approx(6.0, rel=2e-3)


def test_a_tile_without_vegetation_gives_an_empty_table_with_every_column():
    surface, _, _ = surface_of([])
    assert not surface.has_vegetation
    trees = detect_trees(surface)
    assert len(trees) == 0
    assert {"tree_id", "height_m", "crown_diameter_m", "class_code", "geometry"} <= set(trees.columns)


def test_a_one_return_crown_is_one_small_tree_not_a_crash():
    from pipeline.geo.raster import Grid
    from pipeline.trees.canopy import canopy_surface
    from pipeline.trees.stand import StandPoints

    # ground returns every metre (1 per m²) and a single return 6 m up: a one-cell crown
    gx, gy = np.meshgrid(np.arange(-19.5, 20, 1.0), np.arange(-19.5, 20, 1.0))
    x = np.append(gx.ravel(), 0.2) + ORIGIN[0]
    y = np.append(gy.ravel(), 0.2) + ORIGIN[1]
    z = np.append(np.zeros(gx.size), 6.0)
    cls = np.append(np.full(gx.size, 2, np.uint8), np.uint8(5))
    grid = Grid.from_bounds(ORIGIN[0] - 20, ORIGIN[1] - 20, ORIGIN[0] + 20, ORIGIN[1] + 20, 0.5, "EPSG:6677")
    surface = canopy_surface(tile_points(StandPoints(x, y, z, cls), grid), grid)
    trees = detect_trees(surface)
    assert len(trees) == 1
    tree = trees.iloc[0]
    assert tree.n_returns == 1 and tree.height_m == pytest.approx(6.0, abs=0.01)
    # a lone return stands for its footprint disc: diameter 2 sqrt(1 / (pi density))
    assert tree.crown_diameter_m == pytest.approx(2 * surface.footprint_radius_m, rel=0.02)
    assert tree.crown_base_m == tree.height_m


def test_harder_stand_variable_window_beats_a_fixed_window():
    trees = harder_stand(1)
    points = survey(trees, (-10, -10, 110, 110), 4.0, np.random.default_rng(1))
    from pipeline.geo.raster import Grid
    from pipeline.trees.canopy import canopy_surface

    grid = Grid.from_bounds(-10, -10, 110, 110, 0.5, "EPSG:6677")
    surface = canopy_surface(tile_points(points, grid), grid)
    variable = detection_accuracy(detect_trees(surface), trees)
    fixed = detection_accuracy(detect_trees(surface, TreeParameters(fixed_window_m=3.0)), trees)
    assert variable.f_score >= 0.75
    assert variable.f_score > fixed.f_score + 0.05


def test_building_footprints_and_class_6_returns_mask_the_canopy():
    from pipeline.trees.canopy import canopy_surface
    from pipeline.trees.stand import StandPoints
    from pipeline.trees.tile import footprint_mask

    surface, frame, points = surface_of([one_tree(-8, 0, height=9.0), one_tree(8, 0, height=9.0)])
    assert len(detect_trees(surface)) == 2
    grid = surface.grid
    # a PLATEAU footprint over the east tree: only the west one is left
    east = shapely.box(ORIGIN[0] + 4, ORIGIN[1] - 4, ORIGIN[0] + 12, ORIGIN[1] + 4)
    masked = canopy_surface(tile_points(points, grid), grid, footprint_mask=footprint_mask([east], grid))
    trees = detect_trees(masked)
    assert len(trees) == 1 and trees.x.iloc[0] < ORIGIN[0]
    # the same returns marked as a building (class 6) instead: masked as well
    on_roof = (np.abs(points.x - (ORIGIN[0] + 8)) < 4) & (np.abs(points.y - ORIGIN[1]) < 4)
    cls = np.where(on_roof, np.uint8(6), points.classification)
    roofed = canopy_surface(tile_points(StandPoints(points.x, points.y, points.z, cls), grid), grid)
    trees = detect_trees(roofed)
    assert len(trees) == 1 and trees.x.iloc[0] < ORIGIN[0]
