"""Geodetic conversions against closed-form values on the GRS80/WGS84 ellipsoid."""

from __future__ import annotations

import numpy as np

from tiles.geodesy import (
    ecef_to_enu,
    ecef_to_lonlath,
    enu_to_ecef,
    enu_to_ecef_matrix,
    lonlath_to_ecef,
    y_up_to_z_up,
    z_up_to_y_up,
)

A = 6378137.0
B = 6356752.314245


def test_lonlath_to_ecef_on_the_axes():
    ecef = lonlath_to_ecef([[0, 0, 0], [90, 0, 100], [0, 90, 0]])
    np.testing.assert_allclose(ecef, [[A, 0, 0], [0, A + 100, 0], [0, 0, B]], atol=1e-3)
    np.testing.assert_allclose(ecef_to_lonlath(ecef)[1], [90, 0, 100], atol=1e-6)


def test_enu_frame_axes_and_round_trip():
    frame = enu_to_ecef_matrix(0.0, 0.0, 0.0)
    np.testing.assert_allclose(frame[:3, :3], [[0, 0, 1], [1, 0, 0], [0, 1, 0]], atol=1e-12)  # E=Y, N=Z, U=X
    tokyo = enu_to_ecef_matrix(139.76, 35.68, 40.0)
    points = lonlath_to_ecef([[139.761, 35.681, 45.0]])
    enu = ecef_to_enu(points, tokyo)
    assert 80 < enu[0, 0] < 100 and 100 < enu[0, 1] < 120 and 4.0 < enu[0, 2] < 5.1  # ~90 m E, ~111 m N
    np.testing.assert_allclose(enu_to_ecef(enu, tokyo), points, atol=1e-6)


def test_y_up_conversion_is_a_rotation_and_inverts():
    p = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(z_up_to_y_up(p), [[1.0, 3.0, -2.0]])
    np.testing.assert_array_equal(y_up_to_z_up(z_up_to_y_up(p)), p)
