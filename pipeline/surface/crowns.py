"""Solitary trees as canopy: one path from tree records to crown rasters.

PLATEAU ``veg:SolitaryVegetationObject`` rows, the trees the ``trees`` stage finds in the
LiDAR (:mod:`pipeline.trees`) and planned trees all become a :class:`TreeCrowns` record,
and :func:`crown_layers` rasterises any of them the same way: a flat disc of the crown
diameter at the tree's top (:func:`pipeline.surface.rasterize.rasterize_tree_crowns`),
one canopy-top raster per leaf habit, so shade and thermal comfort see them as crowns
that pass a share of the sun (:class:`pipeline.shade.shadow.CanopyTransmissivity`), not
as opaque solids. Metres in the grid's metric CRS; heights orthometric.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.geo.raster import Grid
from pipeline.surface.habit import DECIDUOUS, EVERGREEN, UNKNOWN_HABIT, tree_habits
from pipeline.surface.rasterize import rasterize_tree_crowns


@dataclass(frozen=True)
class TreeCrowns:
    """Solitary trees to draw as canopy (arrays of one length).

    Attributes
    ----------
    x, y : numpy.ndarray
        Trunk positions, metres in the grid's CRS.
    crown_diameter_m : numpy.ndarray
        Crown diameter, metres.
    height_m : numpy.ndarray
        Tree height above its ground, metres.
    ground_m : numpy.ndarray
        Ground under the trunk, orthometric metres; NaN: the terrain raster's there. The
        lower of this and the terrain is taken (a crown mesh's lowest vertex is its crown
        base, not the ground).
    habit : numpy.ndarray of uint8
        Leaf habit code (:mod:`pipeline.surface.habit`: 1 deciduous, 2 evergreen, 3
        unknown, taken by the shade stage's ``transmissivity.unknown_habit`` rule).
    """

    x: np.ndarray
    y: np.ndarray
    crown_diameter_m: np.ndarray
    height_m: np.ndarray
    ground_m: np.ndarray
    habit: np.ndarray

    def __len__(self) -> int:
        return len(self.x)

    @classmethod
    def from_plateau(cls, solitary, default_crown_diameter_m: float = 5.0) -> TreeCrowns:
        """Rows of an ingested ``veg`` table (GeoDataFrame of solitary trees with a height).

        Position: the centre of the footprint geometry; crown diameter: ``crown_diameter``
        (``veg:crownDiameter``), else that of a disc of the footprint's area when it is
        over 0.5 m, else ``default_crown_diameter_m``; habit from ``veg:function``
        (:func:`pipeline.surface.habit.tree_habits`).
        """
        centres = solitary.geometry.centroid
        diameter = pd.to_numeric(
            solitary.get("crown_diameter", pd.Series(np.nan, index=solitary.index)), errors="coerce"
        ).to_numpy(dtype=float)
        from_area = 2 * np.sqrt(solitary.geometry.area.to_numpy() / np.pi)
        diameter = np.where(
            np.isfinite(diameter), diameter, np.where(from_area > 0.5, from_area, default_crown_diameter_m)
        )
        return cls(
            centres.x.to_numpy(float),
            centres.y.to_numpy(float),
            diameter,
            solitary["height_m"].to_numpy(float),
            solitary["ground_elevation_m"].to_numpy(dtype=float),
            tree_habits(solitary),
        )

    @classmethod
    def from_detected(cls, trees: pd.DataFrame) -> TreeCrowns:
        """Trees found in LiDAR (:func:`pipeline.trees.detect.detect_trees` rows: ``x, y``,
        ``crown_diameter_m``, ``height_m``, ``ground_z``): leaf habit unknown."""
        return cls(
            trees["x"].to_numpy(float),
            trees["y"].to_numpy(float),
            trees["crown_diameter_m"].to_numpy(float),
            trees["height_m"].to_numpy(float),
            trees["ground_z"].to_numpy(float),
            np.full(len(trees), UNKNOWN_HABIT, np.uint8),
        )


def crown_layers(crowns: TreeCrowns, grid: Grid, terrain: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """Canopy-top rasters of ``crowns`` on ``grid``, one per leaf habit present.

    Parameters
    ----------
    crowns : TreeCrowns
        The trees (metres in ``grid.crs``).
    grid : Grid
        Target grid.
    terrain : numpy.ndarray
        Terrain heights on ``grid`` (orthometric metres): a tree stands on the lower of
        its ``ground_m`` and the terrain under its trunk.

    Returns
    -------
    list of (numpy.ndarray, int)
        float32 canopy tops (ground + height; NaN where no crown) and their habit code, in
        the order evergreen, deciduous, unknown: the ``layers`` of
        :func:`pipeline.surface.habit.canopy_habit`. Trees whose top is unknown (no
        ground outside the grid) are left out.
    """
    if len(crowns) == 0:
        return []
    rows, cols = grid.rowcol(crowns.x, crowns.y)
    inside = (rows >= 0) & (rows < grid.height) & (cols >= 0) & (cols < grid.width)
    ground = np.asarray(crowns.ground_m, dtype=float).copy()
    ground[inside] = np.fmin(ground[inside], terrain[rows[inside], cols[inside]])
    tops = ground + crowns.height_m
    known = np.isfinite(tops) & np.isfinite(crowns.crown_diameter_m)
    layers = []
    for code in (EVERGREEN, DECIDUOUS, UNKNOWN_HABIT):
        chosen = known & (crowns.habit == code)
        if chosen.any():
            layers.append(
                (
                    rasterize_tree_crowns(
                        crowns.x[chosen],
                        crowns.y[chosen],
                        crowns.crown_diameter_m[chosen] / 2,
                        tops[chosen],
                        grid,
                    ),
                    code,
                )
            )
    return layers
