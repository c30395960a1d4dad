"""Ribbons along centre lines: width, winding, densification, mitred turns."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from tiles.ribbons import densify_line, ribbon_mesh


def _area(ribbon) -> float:
    a, b, c = (ribbon.xy[ribbon.triangles[:, k]] for k in range(3))
    cross = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    return cross / 2.0


def test_a_straight_ribbon_is_a_rectangle_of_the_given_width():
    ribbon = ribbon_mesh([[0, 0], [100, 0]], 6.0, max_step_m=10.0)
    assert len(ribbon.xy) == 2 * 11  # cross-sections every 10 m, both ends
    assert np.allclose(np.unique(np.round(ribbon.xy[:, 1], 9)), [-3.0, 3.0])
    signed = _area(ribbon)
    assert (signed > 0).all()  # counter-clockwise from above: normals point up
    assert signed.sum() == pytest.approx(600.0)


def test_a_right_angle_turn_covers_the_buffered_line():
    line = np.array([[0.0, 0.0], [50.0, 0.0], [50.0, 40.0]])
    ribbon = ribbon_mesh(line, 4.0, max_step_m=5.0)
    assert (_area(ribbon) > 0).all()
    union = shapely.union_all([shapely.Polygon(ribbon.xy[t]) for t in ribbon.triangles])
    expected = shapely.LineString(line).buffer(2.0, cap_style="flat", join_style="mitre")
    assert union.symmetric_difference(expected).area < 0.01 * expected.area
    # the outer corner is mitred: pushed out to (52, -2)
    assert np.min(np.linalg.norm(ribbon.xy - [52.0, -2.0], axis=1)) < 1e-9


def test_a_hairpin_keeps_the_mitre_bounded():
    ribbon = ribbon_mesh([[0, 0], [30, 0], [0, 0.5]], 4.0, max_miter=2.0)
    centre = np.repeat(densify_line([[0, 0], [30, 0], [0, 0.5]], 5.0), 2, axis=0)
    assert np.linalg.norm(ribbon.xy - centre, axis=1).max() <= 2.0 * 2.0 + 1e-9


def test_densify_keeps_vertices_and_drops_repeats():
    dense = densify_line([[0, 0], [0, 0], [12, 0]], 5.0)
    assert np.allclose(dense, [[0, 0], [4, 0], [8, 0], [12, 0]])


@pytest.mark.parametrize("width", [0.0, -1.0, float("nan")])
def test_bad_width_is_refused(width):
    with pytest.raises(ValueError, match="width"):
        ribbon_mesh([[0, 0], [1, 0]], width)


def test_a_line_of_one_point_is_refused():
    with pytest.raises(ValueError, match="two distinct points"):
        ribbon_mesh([[3, 3], [3, 3]], 2.0)
