"""Measures applied to a tile's surface model (pure functions on arrays).

The surface stage's rasters of one tile plus halo (:mod:`pipeline.surface.model`) are
changed in place of a new model:

- a removed building (``gml_id``) leaves its cells at the terrain height and without a
  building index;
- a new building is an LOD1 prism: its footprint at the lowest terrain under it plus
  ``height_m`` in the DSM, a new building index (``gml_id`` ``measure:<source>``), and
  no tree crown inside it;
- a tree is a crown disc of ``crown_diameter_m`` whose top is the terrain at its trunk
  plus ``height_m``, in the canopy raster with its leaf habit (evergreen or deciduous),
  rasterised as PLATEAU's and LiDAR-detected solitary trees are
  (:class:`pipeline.surface.crowns.TreeCrowns`, :func:`pipeline.surface.crowns.crown_layers`);
- a canopy is an overhead cover in the canopy raster at the lowest terrain under it plus
  ``height_m``, its habit code carrying its own ``transmissivity`` and whether it stands
  all year or in summer only (:func:`pipeline.surface.habit.cover_code`): the cells under
  it get that share of the beam, and none of it outside the leaf-on months when it is up
  in summer only (:class:`pipeline.shade.shadow.Covers`).

Simplifications: the shadow model is 2.5-D (:mod:`pipeline.shade.shadow`): a crown or a
cover shades as a column from the ground to its top, so under a canopy the low morning
sun that would pass under its edge is also taken as shaded; beyond its footprint (its
shadow at a low sun) a cover passes the run's crown transmissivity of the evergreen class
(all year) or of the deciduous class (summer only), not its own; the sky view counts it as
such a crown.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from pipeline.geo.raster import Grid
from pipeline.measures.records import MeasureSet
from pipeline.surface.crowns import TreeCrowns, crown_layers
from pipeline.surface.habit import DECIDUOUS, EVERGREEN, UNKNOWN_HABIT, canopy_habit, cover_code
from pipeline.surface.rasterize import merge_max, rasterize_plant_cover, rasterize_polygons_height

#: Prefix of the ``gml_id`` of a building a measure adds.
MEASURE_ID_PREFIX = "measure:"


@dataclass
class TileSurface:
    """The surface rasters of one tile plus halo (orthometric metres, float32): ``dsm``,
    ``terrain``, ``canopy`` (NaN none), ``habit`` (uint8 codes of
    :mod:`pipeline.surface.habit`), ``building_id`` (int32, -1 none) and the ``gml_ids``
    the building indices point to."""

    dsm: np.ndarray
    terrain: np.ndarray
    canopy: np.ndarray
    habit: np.ndarray
    building_id: np.ndarray
    gml_ids: list[str]


@dataclass
class AppliedMeasures:
    """What :func:`apply_measures` did on one tile."""

    surface: TileSurface
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def apply_measures(surface: TileSurface, measures: MeasureSet, grid: Grid) -> AppliedMeasures:
    """``surface`` with ``measures`` applied (a new :class:`TileSurface`; inputs untouched).

    Parameters
    ----------
    surface : TileSurface
        The tile's rasters on ``grid``.
    measures : MeasureSet
        In ``grid.crs`` (metres); measures beyond the grid change nothing.
    grid : Grid
        The tile grid plus halo.
    """
    dsm, canopy = surface.dsm.astype(np.float32), surface.canopy.astype(np.float32)
    habit, index = surface.habit.astype(np.uint8), surface.building_id.astype(np.int32)
    terrain = surface.terrain.astype(np.float32)
    gml_ids = list(surface.gml_ids)
    counts = {"removed_buildings": 0, "added_buildings": 0, "trees": 0, "canopies": 0}
    problems: list[str] = []

    removed = {r.gml_id for r in measures.removed}
    gone = [i for i, gml_id in enumerate(gml_ids) if gml_id in removed]
    if gone:
        cells = np.isin(index, gone)
        dsm[cells], index[cells] = terrain[cells], -1
        counts["removed_buildings"] = len(gone)

    layers: list[tuple[np.ndarray, int]] = []
    if measures.trees:
        trees = measures.trees
        x, y = np.array([t.x for t in trees]), np.array([t.y for t in trees])
        crowns = TreeCrowns(
            x,
            y,
            np.array([t.crown_diameter_m for t in trees]),
            np.array([t.height_m for t in trees]),
            _terrain_at(terrain, grid, x, y),  # NaN off the grid: left out
            np.array([EVERGREEN if t.evergreen else DECIDUOUS for t in trees], np.uint8),
        )
        layers += crown_layers(crowns, grid, terrain)
        counts["trees"] = int(np.isfinite(crowns.ground_m).sum())
    by_code: dict[int, list] = {}
    for c in measures.canopies:  # one layer per cover code: its own transmissivity and season
        by_code.setdefault(cover_code(c.transmissivity, c.season == "summer"), []).append(c)
    for code, chosen in sorted(by_code.items()):
        polygons = [c.polygon for c in chosen]
        tops = _lowest_ground(polygons, terrain, grid) + np.array([c.height_m for c in chosen])
        inside = np.isfinite(tops)
        if inside.any():
            layers.append(
                (rasterize_plant_cover([p for p, k in zip(polygons, inside) if k], tops[inside], grid), code)
            )
        counts["canopies"] += int(inside.sum())
    if layers:
        existing = [
            (np.where(habit == code, canopy, np.nan).astype(np.float32), code)
            for code in (DECIDUOUS, EVERGREEN, UNKNOWN_HABIT)
        ]
        canopy = merge_max(canopy, *(layer for layer, _ in layers))
        habit = canopy_habit(canopy, existing + layers)
    if measures.buildings:
        polygons = [b.polygon for b in measures.buildings]
        tops = _lowest_ground(polygons, terrain, grid) + np.array([b.height_m for b in measures.buildings])
        heights, new = rasterize_polygons_height(polygons, np.nan_to_num(tops, nan=0.0), grid)
        cells = new >= 0
        dsm[cells] = np.fmax(dsm[cells], heights[cells])
        index[cells] = len(gml_ids) + new[cells]
        canopy[cells], habit[cells] = np.nan, 0
        gml_ids += [f"{MEASURE_ID_PREFIX}{b.source}" for b in measures.buildings]
        counts["added_buildings"] = int(len(np.unique(new[cells])))

    changed = replace(surface, dsm=dsm, canopy=canopy, habit=habit, building_id=index, gml_ids=gml_ids)
    return AppliedMeasures(changed, counts, problems)


def _terrain_at(terrain: np.ndarray, grid: Grid, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Terrain height (m) at points; NaN for points off the grid."""
    rows, cols = grid.rowcol(np.asarray(x, float), np.asarray(y, float))
    inside = (rows >= 0) & (rows < grid.height) & (cols >= 0) & (cols < grid.width)
    out = np.full(len(rows), np.nan)
    out[inside] = terrain[rows[inside], cols[inside]]
    return out


def _lowest_ground(polygons, terrain: np.ndarray, grid: Grid) -> np.ndarray:
    """Lowest terrain (m) under each polygon's cells; NaN for a polygon off the grid.

    A polygon smaller than a cell takes the cell of its centroid."""
    _, index = rasterize_polygons_height(polygons, np.arange(len(polygons), dtype=float), grid)
    lowest = np.full(len(polygons), np.inf)
    cells = index >= 0
    np.minimum.at(lowest, index[cells], terrain[cells])
    missing = ~np.isfinite(lowest)
    if missing.any():
        centres = [polygons[i].centroid for i in np.flatnonzero(missing)]
        lowest[missing] = _terrain_at(terrain, grid, [c.x for c in centres], [c.y for c in centres])
    return lowest
