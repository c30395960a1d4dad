"""The deemed site boundary along roads (みなし境界線, 建築基準法施行令第135条の12), on built lots."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, box

from pipeline.measures.site_boundary import deemed_offset_m, deemed_site

# a 30 m x 20 m lot whose south edge (y = 0) is the north edge of an east-west road
LOT = box(0.0, 0.0, 30.0, 20.0)


def road_south(width_m: float) -> LineString:
    """An east-west road along the lot's south edge, longer than it, centreline at -w/2."""
    return LineString([(-50.0, -width_m / 2), (80.0, -width_m / 2)])


@pytest.mark.parametrize("width, offset", [(4.0, 2.0), (8.0, 4.0), (10.0, 5.0), (12.0, 7.0), (30.0, 25.0)])
def test_deemed_offset_is_half_the_width_up_to_10_m_then_5_m_short_of_the_far_side(width, offset):
    assert deemed_offset_m(width) == offset
    assert deemed_offset_m(np.array([width])).tolist() == [offset]


def test_a_road_of_8_m_puts_the_boundary_on_its_centreline():
    site = deemed_site(LOT, [road_south(8.0)], [8.0])
    assert site.polygon.bounds == pytest.approx((0.0, -4.0, 30.0, 20.0))
    assert site.road_widths_m == (8.0,)
    assert site.polygon.area == pytest.approx(30 * 24)  # only the frontage moved, square to it


def test_a_road_of_12_m_puts_the_boundary_5_m_short_of_its_far_side():
    site = deemed_site(LOT, [road_south(12.0)], [12.0])
    assert site.polygon.bounds == pytest.approx((0.0, -7.0, 30.0, 20.0))  # far side -12, +5
    assert site.road_widths_m == (12.0,)


def test_a_network_centreline_a_little_off_the_lot_line_still_faces_it():
    # the street space ends 0.6 m short of the lot line (two sources' lines): the gap closes
    site = deemed_site(LOT, [road_south(12.0).offset_curve(-0.6)], [12.0])
    assert site.road_widths_m == (12.0,) and site.polygon.bounds[1] == pytest.approx(-7.0)
    assert shapely.get_num_interior_rings(site.polygon) == 0


def test_roads_not_facing_the_lot_change_nothing():
    far = LineString([(-50.0, -30.0), (80.0, -30.0)])  # 30 m south
    corner = LineString([(-4.0, -40.0), (-4.0, -0.5)])  # a north-south road ending by the corner
    unknown = road_south(12.0)
    site = deemed_site(LOT, [far, corner, unknown], [12.0, 8.0, float("nan")])
    assert site.polygon.equals(LOT) and site.road_widths_m == ()


def test_a_road_along_two_sides_deems_both():
    east = LineString([(34.0, -50.0), (34.0, 60.0)])  # 8 m wide, along the east edge
    site = deemed_site(LOT, [road_south(12.0), east], [12.0, 8.0])
    assert site.polygon.bounds == pytest.approx((0.0, -7.0, 34.0, 20.0))
    assert site.road_widths_m == (8.0, 12.0)


def test_lengths_must_match():
    with pytest.raises(ValueError, match="1 centrelines but 2 widths"):
        deemed_site(LOT, [road_south(8.0)], [8.0, 9.0])
