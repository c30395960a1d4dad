"""Built trees and their returns, shared by the tree tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.geo.raster import Grid
from pipeline.trees.canopy import canopy_surface
from pipeline.trees.stand import StandPoints, survey, tile_points

CRS = "EPSG:6677"
#: A spot in Omiya (EPSG:6677 metres), so mesh codes and lat/lon are those of the sample.
ORIGIN = (-19000.0, -10200.0)


def one_tree(x=0.0, y=0.0, height=10.0, base=4.0, radius=3.0, shape="cone", tree_id="t0"):
    return {
        "tree_id": tree_id,
        "x": ORIGIN[0] + x,
        "y": ORIGIN[1] + y,
        "height_m": height,
        "crown_base_m": base,
        "crown_radius_m": radius,
        "crown_diameter_m": 2 * radius,
        "shape": shape,
    }


def surface_of(trees: list[dict], *, density=20.0, half=20.0, seed=7):
    """The canopy surface of a survey of ``trees`` over a square of ``half`` m around ORIGIN."""
    frame = pd.DataFrame(trees)
    extent = (ORIGIN[0] - half, ORIGIN[1] - half, ORIGIN[0] + half, ORIGIN[1] + half)
    points = survey(frame, extent, density, np.random.default_rng(seed))
    grid = Grid.from_bounds(*extent, 0.5, CRS)
    return canopy_surface(tile_points(points, grid), grid), frame, points


def write_las(path: Path, points: StandPoints, *, crs: str | None = CRS) -> Path:
    """The returns as a LAS 1.4 file (with ``crs`` in its header, or none)."""
    import laspy
    from pyproj import CRS as ProjCRS

    header = laspy.LasHeader(point_format=6, version="1.4")
    header.scales = np.array([0.01, 0.01, 0.01])
    header.offsets = np.array([np.floor(points.x.min()), np.floor(points.y.min()), 0.0])
    if crs:
        header.add_crs(ProjCRS.from_user_input(crs))
    las = laspy.LasData(header)
    las.x, las.y, las.z = points.x, points.y, points.z + 12.0  # terrain 12 m, orthometric
    las.classification = points.classification
    las.return_number = np.ones(points.x.size, np.uint8)
    las.number_of_returns = np.ones(points.x.size, np.uint8)
    las.write(str(path))
    return path
