"""Generated stands of known trees and the LiDAR returns a survey of them would give.

For tests and the benchmark: trees whose position, height, crown base and crown diameter
are known, with crowns of three shapes (cone, half-ellipsoid, paraboloid), and first
returns falling uniformly at a given density on the highest crown surface, else on flat
ground (ASPRS class 5 and 2). No data is invented for any city: these are test stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from pipeline.lidar.points import TilePoints

SHAPES = ("cone", "ellipsoid", "paraboloid")


@dataclass(frozen=True)
class StandPoints:
    """Returns of a generated survey: metres in the stand's frame, heights above ground 0."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    classification: np.ndarray


def crown_surface(shape: str, r: np.ndarray, radius: float, base: float, top: float) -> np.ndarray:
    """Crown surface height at distance ``r`` from the stem (NaN outside the crown)."""
    t = np.clip(r / radius, 0.0, None)
    depth = top - base
    if shape == "cone":
        z = top - depth * t
    elif shape == "ellipsoid":
        z = base + depth * np.sqrt(np.clip(1 - t * t, 0.0, None))
    elif shape == "paraboloid":
        z = top - depth * t * t
    else:
        raise ValueError(f"unknown crown shape {shape!r}")
    return np.where(t <= 1.0, z, np.nan)


def survey(
    trees: pd.DataFrame, extent: tuple[float, float, float, float], density: float, rng: np.random.Generator
) -> StandPoints:
    """First returns at ``density`` per m² over ``extent`` (x0, y0, x1, y1): on the highest
    crown above each point, else on the ground (height 0, 3 cm noise)."""
    x0, y0, x1, y1 = extent
    n = int(round((x1 - x0) * (y1 - y0) * density))
    x = rng.uniform(x0, x1, n)
    y = rng.uniform(y0, y1, n)
    z = np.full(n, -np.inf)
    for tree in trees.itertuples():  # a generator: per tree over its box of points
        near = np.flatnonzero(
            (np.abs(x - tree.x) <= tree.crown_radius_m) & (np.abs(y - tree.y) <= tree.crown_radius_m)
        )
        surface = crown_surface(
            tree.shape,
            np.hypot(x[near] - tree.x, y[near] - tree.y),
            tree.crown_radius_m,
            tree.crown_base_m,
            tree.height_m,
        )
        z[near] = np.fmax(z[near], np.nan_to_num(surface, nan=-np.inf))
    canopy = np.isfinite(z)
    classification = np.where(canopy, 5, 2).astype(np.uint8)
    z = np.where(canopy, z, rng.normal(0.0, 0.03, n))
    return StandPoints(x, y, z, classification)


def harder_stand(seed: int, *, size_m: float = 100.0, n_trees: int = 120) -> pd.DataFrame:
    """Overlapping crowns of varied heights and shapes: ``n_trees`` stems placed at random
    (at least 2 m apart) on a ``size_m`` square, heights 5-25 m, crown radius growing
    with height with ±30 % spread, crown base 30-60 % of the height, shapes drawn from
    :data:`SHAPES`. Crown diameter is twice the radius."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    while len(xs) < n_trees:
        x, y = rng.uniform(0, size_m, 2)
        if all((x - a) ** 2 + (y - b) ** 2 >= 4.0 for a, b in zip(xs, ys)):
            xs.append(x)
            ys.append(y)
    height = rng.uniform(5.0, 25.0, n_trees)
    radius = (1.0 + 0.12 * height) * rng.uniform(0.7, 1.3, n_trees)
    return pd.DataFrame(
        {
            "tree_id": [f"stand_{k:04d}" for k in range(n_trees)],
            "x": np.asarray(xs),
            "y": np.asarray(ys),
            "height_m": height,
            "crown_base_m": height * rng.uniform(0.3, 0.6, n_trees),
            "crown_radius_m": radius,
            "crown_diameter_m": 2 * radius,
            "shape": rng.choice(SHAPES, n_trees),
        }
    )


def tile_points(points: StandPoints, grid) -> TilePoints:
    """The returns as :class:`pipeline.lidar.points.TilePoints` of ``grid`` (whose frame
    the stand's coordinates are in): float32 metres from the grid's south-west corner."""
    from pipeline.lidar.points import TilePoints

    n = points.x.size
    return TilePoints(
        (points.x - grid.x_min).astype(np.float32),
        (points.y - grid.y_min).astype(np.float32),
        points.z.astype(np.float32),
        points.classification.astype(np.uint8),
        np.ones(n, np.uint8),
    )
