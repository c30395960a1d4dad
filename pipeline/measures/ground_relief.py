"""The ground-level relief of the shadow regulation (日影規制の高低差緩和).

建築基準法施行令第135条の12第3項第2号: where the average ground level of the site (敷地の
平均地盤面) is 1 m or more below the ground of the neighbouring land, or land joining it, on
which the shadow falls (隣地又はこれに連接する土地で日影の生ずるものの地盤面; its average
surface where it has no building), the site's average ground level is deemed higher by
half the difference less 1 m::

    rise = (difference - 1) / 2   when difference >= 1 m, else 0

The measurement plane (1.5, 4 or 6.5 m above the average ground level) rises with it; the
building stays where it is, so its shadow on the plane shortens. Text as quoted in the
source of a public building-code checker (found with the ``find_string`` tool, 2026-12-06;
the official e-Gov text was not in the reference corpus); 第4項 (a level the 特定行政庁
sets by rule) is not applied.

Levels here are orthometric metres of the run's terrain (the surface stage's terrain COGs,
:class:`pipeline.tiles3d.terrain_heights.TerrainHeights`), coordinates metres of its CRS:

- the site's level: the mean ground height along the building's outline (令第2条第2項: the
  average height of where the building meets the ground), sampled every
  :data:`OUTLINE_STEP_M`;
- the neighbours' level: the mean ground height of the measurement-plane cells outside the
  site that the building shades at all in the regulated hours (on the plane before the
  relief), an area-weighted mean over all the land the shadow falls on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from pipeline.geo.raster import Grid

#: The site must lie at least this far below its neighbours for the relief (m, 令135条の12第3項第2号).
RELIEF_THRESHOLD_M = 1.0
#: Spacing of the ground samples along a building's outline (m).
OUTLINE_STEP_M = 0.5

#: Ground height (m) at points ``x, y`` (m); NaN where unknown.
GroundHeights = Callable[[np.ndarray, np.ndarray], np.ndarray]


def deemed_rise_m(
    site_level_m: float | np.ndarray, neighbour_level_m: float | np.ndarray
) -> float | np.ndarray:
    """How much higher the site's average ground level is deemed (m): ``(d - 1) / 2`` where
    the neighbours' ground is ``d >= 1`` m above it, else 0 (NaN levels give 0)."""
    difference = np.asarray(neighbour_level_m, dtype=np.float64) - np.asarray(site_level_m, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        rise = np.where(difference >= RELIEF_THRESHOLD_M, (difference - RELIEF_THRESHOLD_M) / 2.0, 0.0)
    rise = np.nan_to_num(rise, nan=0.0)
    return float(rise) if rise.ndim == 0 else rise


def outline_level_m(
    footprints: Sequence[BaseGeometry], ground: GroundHeights, step_m: float = OUTLINE_STEP_M
) -> float:
    """Mean ground height (m) along the footprints' outlines, length-weighted; NaN when the
    ground is unknown there."""
    outline = shapely.union_all([shapely.boundary(g) for g in footprints])
    lines = [g for g in getattr(outline, "geoms", [outline]) if not g.is_empty]
    points = []
    for line in lines:
        n = max(1, int(np.ceil(line.length / step_m)))
        distances = (np.arange(n) + 0.5) * line.length / n  # equal spacing: a length weight
        points.append(shapely.get_coordinates(shapely.line_interpolate_point(line, distances)))
    if not points:
        return float("nan")
    xy = np.concatenate(points)
    heights = np.asarray(ground(xy[:, 0], xy[:, 1]), dtype=np.float64)
    return float(np.nanmean(heights)) if np.isfinite(heights).any() else float("nan")


def shaded_land_level_m(
    shade_hours: np.ndarray, grid: Grid, site: BaseGeometry, ground: GroundHeights
) -> float:
    """Mean ground height (m) of the plane cells outside ``site`` in shadow at all (hours > 0);
    NaN when there are none or the ground is unknown there."""
    xs, ys = grid.cell_centres()
    xx, yy = np.meshgrid(xs, ys)
    shaded = (shade_hours > 0) & ~shapely.contains_xy(site, xx, yy)
    if not shaded.any():
        return float("nan")
    heights = np.asarray(ground(xx[shaded], yy[shaded]), dtype=np.float64)
    return float(np.nanmean(heights)) if np.isfinite(heights).any() else float("nan")
