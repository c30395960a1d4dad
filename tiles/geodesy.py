"""Geodetic conversions for placing tile content on the WGS84 / GRS80 ellipsoid.

Coordinates:
- geographic: longitude and latitude in degrees, height in metres above the
  ellipsoid (EPSG:4979; JGD2011 EPSG:6697 coincides with it to well under a centimetre).
- ECEF: earth-centred, earth-fixed X, Y, Z in metres (EPSG:4978), the frame of 3D Tiles.
- ENU: a local east, north, up Cartesian frame in metres, tangent to the ellipsoid at an
  origin; tile content is stored relative to one so that float32 vertices keep
  millimetre precision.
"""

from __future__ import annotations

import threading

import numpy as np
from pyproj import Transformer

_local = threading.local()


def _transformer(name: str) -> Transformer:
    # pyproj transformers are not safe to share between threads (Dask's threaded
    # scheduler runs tile tasks concurrently), so keep one per thread.
    cache = getattr(_local, "transformers", None)
    if cache is None:
        cache = _local.transformers = {}
    if name not in cache:
        if name == "to_ecef":
            cache[name] = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
        else:
            cache[name] = Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True)
    return cache[name]


def lonlath_to_ecef(lonlath: np.ndarray) -> np.ndarray:
    """Convert geographic coordinates to ECEF.

    Parameters
    ----------
    lonlath : (N, 3) array_like
        Longitude (deg), latitude (deg), ellipsoidal height (m), EPSG:4979.

    Returns
    -------
    (N, 3) float64 ndarray
        ECEF X, Y, Z in metres (EPSG:4978).
    """
    lonlath = np.asarray(lonlath, dtype=np.float64).reshape(-1, 3)
    x, y, z = _transformer("to_ecef").transform(lonlath[:, 0], lonlath[:, 1], lonlath[:, 2])
    return np.column_stack([x, y, z])


def ecef_to_lonlath(ecef: np.ndarray) -> np.ndarray:
    """Convert ECEF X, Y, Z (m, EPSG:4978) to longitude, latitude (deg) and ellipsoidal height (m)."""
    ecef = np.asarray(ecef, dtype=np.float64).reshape(-1, 3)
    lon, lat, h = _transformer("to_lonlath").transform(ecef[:, 0], ecef[:, 1], ecef[:, 2])
    return np.column_stack([lon, lat, h])


def enu_to_ecef_matrix(lon_deg: float, lat_deg: float, h_m: float = 0.0) -> np.ndarray:
    """4x4 matrix taking ENU coordinates at the given origin to ECEF (column vectors).

    Its columns are the east, north and up unit vectors and the origin in ECEF, which is
    exactly what a 3D Tiles ``tile.transform`` holds (stored column-major).
    """
    lon, lat = np.radians(lon_deg), np.radians(lat_deg)
    east = np.array([-np.sin(lon), np.cos(lon), 0.0])
    north = np.array([-np.sin(lat) * np.cos(lon), -np.sin(lat) * np.sin(lon), np.cos(lat)])
    up = np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    matrix = np.eye(4)
    matrix[:3, 0], matrix[:3, 1], matrix[:3, 2] = east, north, up
    matrix[:3, 3] = lonlath_to_ecef([[lon_deg, lat_deg, h_m]])[0]
    return matrix


def ecef_to_enu(ecef: np.ndarray, enu_to_ecef: np.ndarray) -> np.ndarray:
    """ECEF points (N, 3) in metres to the ENU frame given by its 4x4 ENU->ECEF matrix."""
    ecef = np.asarray(ecef, dtype=np.float64).reshape(-1, 3)
    rotation, origin = enu_to_ecef[:3, :3], enu_to_ecef[:3, 3]
    return (ecef - origin) @ rotation  # R is orthonormal: R^T (p - o), row-vector form


def enu_to_ecef(enu: np.ndarray, enu_to_ecef: np.ndarray) -> np.ndarray:
    """ENU points (N, 3) in metres to ECEF with the frame's 4x4 ENU->ECEF matrix."""
    enu = np.asarray(enu, dtype=np.float64).reshape(-1, 3)
    return enu @ enu_to_ecef[:3, :3].T + enu_to_ecef[:3, 3]


def to_ecef(vertices: np.ndarray, crs: str) -> np.ndarray:
    """Vertices in ``crs`` ("EPSG:4979" lon/lat/h or "EPSG:4978" ECEF) as ECEF float64 (N, 3)."""
    if crs == "EPSG:4979":
        return lonlath_to_ecef(vertices)
    if crs == "EPSG:4978":
        return np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
    raise ValueError(f"unsupported vertex CRS {crs!r}: use 'EPSG:4979' (lon, lat, h) or 'EPSG:4978' (ECEF)")


# glTF is y-up, 3D Tiles z-up: a client rotates glTF content by +90 deg about X after the
# node hierarchy and before tile.transform (3D Tiles 1.1, "glTF transforms"). Content
# authored in a z-up frame is therefore stored as (x, z, -y).
Y_UP_TO_Z_UP = np.array([[1.0, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0], [0, 0, 0, 1]])
Z_UP_TO_Y_UP = Y_UP_TO_Z_UP.T.copy()


def z_up_to_y_up(points: np.ndarray) -> np.ndarray:
    """(x, y, z) z-up points or normals to glTF's y-up (x, z, -y)."""
    points = np.asarray(points)
    return np.column_stack([points[:, 0], points[:, 2], -points[:, 1]])


def y_up_to_z_up(points: np.ndarray) -> np.ndarray:
    """glTF y-up (x, y, z) back to z-up (x, -z, y)."""
    points = np.asarray(points)
    return np.column_stack([points[:, 0], -points[:, 2], points[:, 1]])
