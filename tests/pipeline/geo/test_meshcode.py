"""JIS X 0410 mesh codes: known values, round trips at every level, cell corners."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.geo import meshcode

OMIYA = (35.9063, 139.6237)  # JR Omiya Station
SHINTOSHIN = (35.8938, 139.6328)  # JR Saitama-Shintoshin Station


def test_known_stations_third_level():
    codes = meshcode.encode([OMIYA[0], SHINTOSHIN[0]], [OMIYA[1], SHINTOSHIN[1]], 3)
    assert codes.tolist() == [53396489, 53396570]
    assert codes.dtype == np.int64


def test_known_values_every_level():
    # worked by hand: 35.9063*1.5 = 53.86 -> 53; 139.6237-100 -> 39; and so on down
    expected = {1: 5339, 2: 533964, 3: 53396489, 4: 533964894, 5: 5339648944, 6: 53396489442}
    for level, code in expected.items():
        assert int(meshcode.encode(*OMIYA, level)) == code
    assert int(meshcode.encode(*OMIYA, "500m")) == 533964894


def test_agrees_with_jismesh_on_random_points():
    jismesh = pytest.importorskip("jismesh.utils")
    rng = np.random.default_rng(7)
    lat = rng.uniform(24.0, 45.5, 2000)
    lon = rng.uniform(123.0, 148.0, 2000)
    for level in range(1, 7):
        ours = meshcode.encode(lat, lon, level)
        theirs = np.asarray(jismesh.to_meshcode(lat, lon, level), dtype=np.int64)
        np.testing.assert_array_equal(ours, theirs)


def test_polygon_corners_of_omiya_cell():
    lat_min, lon_min, lat_max, lon_max = meshcode.decode_bounds([53396489])
    # 5339 starts at 53/1.5 = 35.3333 N, 139 E; 2nd digits 6,4 add 6*5' and 4*7.5';
    # 3rd digits 8,9 add 8*30" and 9*45"
    assert lat_min[0] == pytest.approx(53 / 1.5 + 6 * 5 / 60 + 8 * 30 / 3600, abs=1e-12)
    assert lon_min[0] == pytest.approx(139 + 4 * 7.5 / 60 + 9 * 45 / 3600, abs=1e-12)
    assert lat_max[0] - lat_min[0] == pytest.approx(30 / 3600, abs=1e-12)
    assert lon_max[0] - lon_min[0] == pytest.approx(45 / 3600, abs=1e-12)
    poly = meshcode.to_polygons([53396489]).iloc[0]
    assert poly.bounds == pytest.approx((lon_min[0], lat_min[0], lon_max[0], lat_max[0]), abs=1e-12)


def test_round_trip_every_level():
    rng = np.random.default_rng(1)
    lat = rng.uniform(30.0, 45.0, 500)
    lon = rng.uniform(128.0, 146.0, 500)
    for level in range(1, 7):
        codes = meshcode.encode(lat, lon, level)
        assert (meshcode.level_of(codes) == level).all()
        lat_min, lon_min, lat_max, lon_max = meshcode.decode_bounds(codes)
        assert ((lat_min <= lat) & (lat < lat_max) & (lon_min <= lon) & (lon < lon_max)).all()
        c_lat, c_lon = meshcode.centre(codes)
        np.testing.assert_array_equal(meshcode.encode(c_lat, c_lon, level), codes)
        # corners: the south-west corner codes to the cell itself (north/east rule)
        np.testing.assert_array_equal(meshcode.encode(lat_min, lon_min, level), codes)


def test_boundary_points_belong_north_east():
    # 36.0 N is the 1st-level boundary between rows 53 and 54; 35 + 1/3 between 52 and 53
    assert int(meshcode.encode(36.0, 140.0, 1)) == 5440
    assert int(meshcode.encode(35.0 + 1.0 / 3.0, 139.0, 1)) == 5339
    assert int(meshcode.encode(35.0 + 1.0 / 3.0 - 1e-6, 139.0, 1)) == 5239


def test_children_parent_and_neighbours():
    kids = meshcode.children(53396489, 4)
    assert kids.tolist() == [533964891, 533964892, 533964893, 533964894]
    assert len(meshcode.children(533964, 3)) == 100
    eighths = meshcode.children(53396489, 6)
    assert len(set(eighths.tolist())) == 64
    assert (meshcode.parent(eighths, 3) == 53396489).all()
    # neighbours across 2nd- and 1st-level boundaries
    assert set(meshcode.neighbours(53396599).tolist()) == {
        53396588,
        53396589,
        53396680,
        53396598,
        53396690,
        53397508,
        53397509,
        53397600,
    }
    # 53396409 is row 0, column 9 of 533964: its south neighbours are row 9 of 533954/533955
    assert set(meshcode.neighbours(53396409).tolist()) == {
        53395498,
        53395499,
        53395590,
        53396408,
        53396500,
        53396418,
        53396419,
        53396510,
    }
    # across the 1st-level boundary: 53390000's south-west neighbour is in 5238
    assert 52387799 in meshcode.neighbours(53390000).tolist()


def test_covering_box():
    codes = meshcode.covering(35.9, 139.6, 35.91, 139.63, 3)
    assert sorted(codes.tolist()) == sorted([53396488, 53396489, 53396580, 53396498, 53396499, 53396590])
    # a box that ends exactly on a boundary does not pull in the next row
    lat_min, lon_min, lat_max, lon_max = meshcode.decode_bounds([53396489])
    assert meshcode.covering(lat_min[0], lon_min[0], lat_max[0], lon_max[0], 3).tolist() == [53396489]
    assert len(meshcode.covering(lat_min[0], lon_min[0], lat_max[0], lon_max[0], 6)) == 64


def test_to_polygons_projected_area():
    polys = meshcode.to_polygons([53396489], crs="EPSG:6677", densify_deg=1 / 3600)
    area = polys.area.iloc[0]
    # 30" x 45" at 35.9 N: 926 m x 1128 m
    assert 0.9e6 < area < 1.15e6
    assert polys.index.tolist() == [53396489]


@pytest.mark.parametrize("bad", [12345, 1234567, 533964899, 53396489999, 53396489])
def test_bad_codes_rejected(bad):
    if bad == 53396489:
        meshcode.decode_bounds([bad])  # valid control
        return
    with pytest.raises(ValueError):
        meshcode.decode_bounds([bad])


def test_level_names_and_errors():
    assert meshcode.as_level("quarter") == 5
    with pytest.raises(ValueError):
        meshcode.as_level(7)
    with pytest.raises(ValueError):
        meshcode.encode(35.0, 95.0, 3)
