"""GSI geoid heights: published values at known places, vectorised use, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.geo.geoid import GeoidError, ellipsoidal_height, geoid_height, load_geoid

# GSIGEO2011 geoid heights from GSI's online calculator (ジオイド高計算).
OMIYA = (139.6237, 35.9063, 38.90)
TOKYO_STATION = (139.7671, 35.6812, 36.66)


@pytest.mark.parametrize("lon, lat, expected", [OMIYA, TOKYO_STATION])
def test_gsigeo2011_matches_published_heights(lon, lat, expected):
    assert geoid_height(lon, lat) == pytest.approx(expected, abs=0.05)


def test_jpgeo2024_is_a_different_model_about_10_cm_higher_around_tokyo():
    lon, lat, _ = TOKYO_STATION
    difference = geoid_height(lon, lat, "jpgeo2024") - geoid_height(lon, lat, "gsigeo2011")
    assert 0.02 < float(difference) < 0.3


def test_vectorised_over_arrays_keeps_shape_and_matches_scalars():
    lon = np.array([[OMIYA[0], TOKYO_STATION[0]], [139.7, 139.65]])
    lat = np.array([[OMIYA[1], TOKYO_STATION[1]], [35.7, 35.8]])
    heights = geoid_height(lon, lat)
    assert heights.shape == (2, 2)
    for index in np.ndindex(lon.shape):
        assert heights[index] == pytest.approx(float(geoid_height(lon[index], lat[index])), abs=1e-9)


def test_ellipsoidal_height_adds_the_geoid():
    lon, lat, n = OMIYA
    h = ellipsoidal_height(np.array([lon]), np.array([lat]), np.array([10.0]))
    assert h[0] == pytest.approx(10.0 + n, abs=0.05)


def test_model_is_loaded_once_per_process():
    assert load_geoid("gsigeo2011") is load_geoid("gsigeo2011")


def test_points_outside_japan_and_unknown_models_are_refused():
    with pytest.raises(GeoidError, match="outside the gsigeo2011 geoid grid"):
        geoid_height(np.array([139.7, 0.0]), np.array([35.7, 0.0]))
    with pytest.raises(GeoidError, match="unknown geoid model"):
        geoid_height(139.7, 35.7, "egm96")
