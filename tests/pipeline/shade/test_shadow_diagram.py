"""Shadow diagrams of a single box against hand computations with SPA sun positions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, box

from pipeline.shade.diagram import (
    equal_time_shadow_lines,
    prism_shadow,
    shadow_outlines,
    solar_time_positions,
    winter_solstice,
)
from pipeline.shade.sun import meridian_convergence_deg, true_to_grid_azimuth

CRS = "EPSG:6677"  # zone IX; (-10 km, -30 km) is in central Tokyo
X0, Y0 = -10_000.0, -30_000.0
WIDTH, DEPTH, HEIGHT, PLANE = 20.0, 10.0, 20.0, 4.0
BOX = box(X0 - WIDTH / 2, Y0 - DEPTH, X0 + WIDTH / 2, Y0)  # north face on y = Y0
YEAR = 2025


def site():
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(X0, Y0 - DEPTH / 2)
    return lon, lat, meridian_convergence_deg(CRS, lon, lat)


def test_prism_shadow_is_the_swept_footprint():
    shadow = prism_shadow(box(0, 0, 10, 4), 10.0, 180.0, 45.0)  # sun due south: 10 m north
    assert (
        shadow.equals(box(0, 0, 10, 14).normalize())
        or shadow.symmetric_difference(box(0, 0, 10, 14)).area < 1e-9
    )
    assert prism_shadow(box(0, 0, 1, 1), -1.0, 180.0, 45.0).is_empty


def test_hourly_outlines_have_the_analytic_extent():
    outlines = shadow_outlines([BOX], [HEIGHT], CRS, plane_height_m=PLANE, year=YEAR)
    assert list(outlines.time_solar) == [8, 9, 10, 11, 12, 13, 14, 15, 16]
    assert outlines.crs.to_epsg() == 6677
    lon, lat, convergence = site()
    for row in outlines.itertuples():
        length = (HEIGHT - PLANE) / math.tan(math.radians(row.sun_altitude_deg))
        away = math.radians(float(true_to_grid_azimuth(row.sun_azimuth_deg, convergence)) + 180.0)
        dx, dy = length * math.sin(away), length * math.cos(away)
        # Minkowski sum of a W x D rectangle and a vector (dx, dy)
        assert row.geometry.area == pytest.approx(WIDTH * DEPTH + abs(dx) * DEPTH + abs(dy) * WIDTH, rel=1e-9)
        # the shadow tip lies north of the north face by the analytic length
        assert row.geometry.bounds[3] - Y0 == pytest.approx(dy, abs=1e-6)
    noon = outlines[outlines.time_solar == 12].iloc[0]
    # winter noon in Tokyo: altitude ~ 90 - 35.7 - 23.44 = 30.9 deg, shadow ~ 16 / tan(30.9) = 26.8 m
    assert noon.geometry.bounds[3] - Y0 == pytest.approx(16.0 / math.tan(math.radians(30.87)), abs=0.2)
    morning, afternoon = outlines.geometry.iloc[0], outlines.geometry.iloc[-1]
    assert morning.centroid.x < X0 < afternoon.centroid.x  # 8:00 shadow falls north-west


def analytic_shade_hours(distance_north_m: float, altitudes, grid_azimuths, weight_h: float) -> float:
    """Hours a plane point on the box's axis, ``distance`` north of it, spends in shadow.

    The point is shaded when the segment toward the sun, as long as the shadow, meets the
    north face: it reaches y = Y0 after d / -cos(az) metres, at x offset d * tan(az).
    """
    total = 0.0
    for altitude, azimuth in zip(altitudes, grid_azimuths):
        along, across = math.cos(math.radians(azimuth)), math.sin(math.radians(azimuth))
        if along >= 0 or altitude <= 0:
            continue
        reach = distance_north_m / -along
        offset = abs(reach * across)
        if reach <= (HEIGHT - PLANE) / math.tan(math.radians(altitude)) and offset <= WIDTH / 2:
            total += weight_h
    return total


def test_equal_time_lines_cross_the_axis_where_hand_computation_says():
    lines, hours, grid = equal_time_shadow_lines(
        [BOX],
        [HEIGHT],
        CRS,
        plane_height_m=PLANE,
        year=YEAR,
        levels=(2.0, 3.0, 4.0),
        step_minutes=2.0,
        resolution=0.5,
    )
    assert set(lines.hours) == {2.0, 3.0, 4.0} and lines.crs.to_epsg() == 6677
    lon, lat, convergence = site()
    # an independent, finer sampling (30 s) for the hand computation
    n = 8 * 120
    fine = solar_time_positions(winter_solstice(YEAR), lat, lon, 8.0 + (np.arange(n) + 0.5) / 120)
    azimuths = true_to_grid_azimuth(fine.sun_azimuth_deg, convergence)
    axis = LineString([(X0, Y0 + 0.01), (X0, Y0 + 200.0)])
    for level in (2.0, 3.0, 4.0):
        lo, hi = 0.01, 200.0  # shade hours fall with distance: bisect for the level
        for _ in range(40):
            mid = (lo + hi) / 2
            if analytic_shade_hours(mid, fine.sun_altitude_deg, azimuths, 1 / 120) >= level:
                lo = mid
            else:
                hi = mid
        crossing = shapely.union_all(list(lines[lines.hours == level].geometry)).intersection(axis)
        ys = [p.y for p in getattr(crossing, "geoms", [crossing])]
        assert len(ys) >= 1
        assert max(ys) - Y0 == pytest.approx(lo, abs=1.0), level
