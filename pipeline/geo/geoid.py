"""Geoid heights of Japan (GSI models) to turn orthometric heights into ellipsoidal ones.

PLATEAU and Japanese LiDAR heights are orthometric (above Tokyo Bay mean sea level);
3D Tiles place geometry on the GRS80/WGS84 ellipsoid, so every height gains the geoid
height N at its location: ``h = H + N`` (about 35 to 40 m around Tokyo).

The models come from the ``japan-geoid`` package, which embeds the grids published by
the Geospatial Information Authority of Japan (GSI):

- ``gsigeo2011``: 日本のジオイド2011 (Ver. 2.2), the model of JGD2011 vertical heights,
  in which PLATEAU (2020-2024) and most survey data are given. The default.
- ``jpgeo2024``: JPGEO2024, the geoid of the 2025 height revision (JGD2024 heights).

pyproj is deliberately not used: without the grid file installed it silently applies
a 0 m geoid, which sinks every building by 40 m.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Literal

import numpy as np

log = logging.getLogger(__name__)

GeoidModelName = Literal["gsigeo2011", "jpgeo2024"]
GEOID_MODELS: dict[str, str] = {
    "gsigeo2011": "load_embedded_gsigeo2011",
    "jpgeo2024": "load_embedded_jpgeo2024",
}


class GeoidError(ValueError):
    """Points outside the geoid model (it covers Japan only), or an unknown model name."""


@functools.cache
def load_geoid(model: str = "gsigeo2011"):
    """The ``japan_geoid.GsiGeoid`` grid named ``model``, loaded once per process."""
    if model not in GEOID_MODELS:
        raise GeoidError(f"unknown geoid model {model!r}; known: {', '.join(GEOID_MODELS)}")
    import japan_geoid

    started = time.perf_counter()
    grid = getattr(japan_geoid, GEOID_MODELS[model])()
    log.info("loaded geoid model %s in %.2f s", model, time.perf_counter() - started)
    return grid


def geoid_height(lon: np.ndarray | float, lat: np.ndarray | float, model: str = "gsigeo2011") -> np.ndarray:
    """Geoid height N (m above the GRS80 ellipsoid) at each location.

    Parameters
    ----------
    lon, lat : array_like
        Longitude and latitude in degrees (JGD2011, EPSG:6668), same shape.
    model : {"gsigeo2011", "jpgeo2024"}
        GSI geoid model.

    Returns
    -------
    numpy.ndarray
        N in metres, shape of ``lon``.

    Raises
    ------
    GeoidError
        If a point lies outside the model's grid (outside Japan) or is not finite.
    """
    lon_arr, lat_arr = np.broadcast_arrays(
        np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    )
    shape = lon_arr.shape
    flat_lon = np.ascontiguousarray(lon_arr.ravel())
    flat_lat = np.ascontiguousarray(lat_arr.ravel())
    heights = np.asarray(load_geoid(model).get_heights(flat_lon, flat_lat), dtype=np.float64)
    bad = ~np.isfinite(heights)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise GeoidError(
            f"{int(bad.sum())} point(s) outside the {model} geoid grid (Japan only), "
            f"e.g. lon {flat_lon[i]:.6f}, lat {flat_lat[i]:.6f}"
        )
    return heights.reshape(shape)


def ellipsoidal_height(
    lon: np.ndarray, lat: np.ndarray, orthometric_height: np.ndarray, model: str = "gsigeo2011"
) -> np.ndarray:
    """Ellipsoidal height h = H + N (m) from orthometric height H (m) at lon/lat (deg)."""
    return np.asarray(orthometric_height, dtype=np.float64) + geoid_height(lon, lat, model)
