"""``stages.surface.canopy_source: trees``: detected trees become crowns that let sun through.

A tree found in the LiDAR is drawn like a PLATEAU tree (:mod:`pipeline.surface.crowns`): a
disc of its crown diameter at ground + height, leaf habit unknown; the shade it casts
passes the crown's transmissivity (3 % in leaf, 50 % bare), where a solid of the same size
in the DSM passes none.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pytest
import shapely

from pipeline.geo.raster import Grid
from pipeline.shade.shadow import CanopyTransmissivity, light_fraction
from pipeline.shade.sweep import CANOPY_SHADE, EVERGREEN_SHADE, SUNLIT, SURFACE_SHADE, shade_codes
from pipeline.surface.habit import UNKNOWN_HABIT, evergreen_canopy_top
from pipeline.surface.model import build_canopy

from .helpers import CRS, ORIGIN

GROUND = 12.0
HEIGHT, DIAMETER = 10.0, 6.0


@pytest.fixture
def grid():
    x, y = ORIGIN
    return Grid.from_bounds(x - 20, y - 20, x + 20, y + 20, 1.0, CRS)


@pytest.fixture
def detected(tmp_path):
    """One detected tree at the centre of a grid cell (the trees stage's table)."""
    x, y = ORIGIN[0] + 0.5, ORIGIN[1] + 0.5
    frame = gpd.GeoDataFrame(
        {
            "tree_id": ["tree_t"],
            "x": [x],
            "y": [y],
            "ground_z": [GROUND + 0.3],
            "height_m": [HEIGHT],
            "crown_diameter_m": [DIAMETER],
        },
        geometry=[shapely.Point(x, y).buffer(DIAMETER / 2)],
        crs=CRS,
    )
    path = tmp_path / "53396489_trees.parquet"
    frame.to_parquet(path)
    return str(path), x, y


@pytest.fixture
def plateau(tmp_path):
    """One PLATEAU solitary tree 12 m east (an ingested veg table)."""
    x, y = ORIGIN[0] + 12.5, ORIGIN[1] + 0.5
    frame = gpd.GeoDataFrame(
        {
            "gml_id": ["veg_1"],
            "feature_type": ["veg:SolitaryVegetationObject"],
            "height_m": [5.0],
            "ground_elevation_m": [GROUND],
            "crown_diameter": [4.0],
        },
        geometry=[shapely.Point(x, y).buffer(2.0)],
        crs=CRS,
    )
    path = tmp_path / "53396489_veg.parquet"
    frame.to_parquet(path)
    return str(path)


def test_detected_trees_are_crown_discs_of_unknown_habit(grid, detected, plateau):
    path, x, y = detected
    terrain = np.full(grid.shape, GROUND, np.float32)
    canopy, habit, source = build_canopy(
        grid, [plateau], None, None, terrain, canopy_source="trees", detected_trees=[path]
    )
    assert source == "trees detected in LiDAR"
    cols, rows = np.meshgrid(np.arange(grid.width), np.arange(grid.height))
    cx = grid.x_min + (cols + 0.5) * grid.resolution
    cy = grid.y_max - (rows + 0.5) * grid.resolution
    inside = np.hypot(cx - x, cy - y) <= DIAMETER / 2
    np.testing.assert_array_equal(np.isfinite(canopy), inside)  # the crown, nothing else
    assert np.all(canopy[inside] == GROUND + HEIGHT)  # on the terrain, the lower of it and the DTM
    assert set(np.unique(habit[inside])) == {UNKNOWN_HABIT}

    both, _, source = build_canopy(
        grid, [plateau], None, None, terrain, canopy_source="plateau+trees", detected_trees=[path]
    )
    assert source == "PLATEAU veg + trees detected in LiDAR"
    assert (
        np.isfinite(both).sum()
        == inside.sum()
        + np.isfinite(build_canopy(grid, [plateau], None, None, terrain, canopy_source="plateau")[0]).sum()
    )
    none, _, _ = build_canopy(
        grid, [plateau], None, None, terrain, canopy_source="plateau", detected_trees=[path]
    )
    assert not np.isfinite(none[inside]).any()  # trees not asked for


def test_the_shade_of_a_detected_tree_passes_its_transmissivity(grid, detected):
    path, x, y = detected
    terrain = np.full(grid.shape, GROUND, np.float32)
    canopy, habit, _ = build_canopy(
        grid, [], None, None, terrain, canopy_source="trees", detected_trees=[path]
    )
    row, col = grid.rowcol(np.array([x]), np.array([y]))
    row, col = int(row[0]), int(col[0])
    # sun in the south at 45°: the crown's shadow falls north of the trunk
    codes = shade_codes(terrain.astype(np.float64), grid.resolution, 180.0, 45.0, canopy_top=canopy)
    north, south = codes[row - 6, col], codes[row + 6, col]
    assert (codes[row, col], north, south) == (CANOPY_SHADE, CANOPY_SHADE, SUNLIT)
    assert not (codes == SURFACE_SHADE).any()
    tau = CanopyTransmissivity()
    summer = light_fraction(codes, *tau.by_habit(dt.date(2026, 8, 5)))
    winter = light_fraction(codes, *tau.by_habit(dt.date(2026, 12, 21)))
    assert summer[row - 6, col] == pytest.approx(0.03) and winter[row - 6, col] == pytest.approx(0.5)
    assert summer[row + 6, col] == 1.0
    # unknown habit taken as evergreen (stages.shadow.transmissivity.unknown_habit): in leaf all year
    evergreen = evergreen_canopy_top(canopy, habit, "evergreen")
    codes = shade_codes(
        terrain.astype(np.float64), grid.resolution, 180.0, 45.0, canopy_top=canopy, evergreen_top=evergreen
    )
    assert codes[row - 6, col] == EVERGREEN_SHADE
    assert light_fraction(codes, *tau.by_habit(dt.date(2026, 12, 21)))[row - 6, col] == pytest.approx(0.03)
    # the same crown as an opaque solid in the DSM lets no sun through
    solid = np.where(np.isfinite(canopy), canopy, terrain).astype(np.float64)
    opaque = shade_codes(solid, grid.resolution, 180.0, 45.0)
    assert opaque[row - 6, col] == SURFACE_SHADE
    assert light_fraction(opaque, *tau.by_habit(dt.date(2026, 8, 5)))[row - 6, col] == 0.0
