"""Per-building means of a raster: over each building's roof and over a ring of ground around it.

The zones (which cells are whose roof, which ground cells are whose ring) depend only on
the building-index raster, so :func:`building_zones` computes them once per tile (one
Euclidean distance transform) and :func:`zone_means` then costs two ``bincount`` passes
per raster: a tile's 12 scenarios share one transform.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import ndimage

SUMMARY_COLUMNS = [
    "building_index",
    "roof_cells",
    "roof_shade_hours_mean",
    "ring_cells",
    "ring_shade_hours_mean",
]


@dataclass(frozen=True)
class BuildingZones:
    """Roof and ring cells of every building of a raster (flat indices in raster order).

    ``roof_cells``/``roof_owner``: cells on a building and its index; ``ring_cells``/
    ``ring_owner``: ground cells within the ring and the index of the nearest building
    cell's building; ``n``: one more than the largest index; ``shape``: the raster's.
    """

    shape: tuple[int, int]
    n: int
    roof_cells: np.ndarray
    roof_owner: np.ndarray
    ring_cells: np.ndarray
    ring_owner: np.ndarray

    @property
    def roof_counts(self) -> np.ndarray:
        return np.bincount(self.roof_owner, minlength=self.n)

    @property
    def ring_counts(self) -> np.ndarray:
        return np.bincount(self.ring_owner, minlength=self.n)


def building_zones(building_index: np.ndarray, resolution: float, *, ring_m: float = 5.0) -> BuildingZones:
    """Roof and ring cells of each building.

    Parameters
    ----------
    building_index : numpy.ndarray of int
        Building index per cell, -1 where no building (see
        :func:`pipeline.surface.rasterize.rasterize_polygons_height`), on a north-up grid
        of square cells (any metric CRS).
    resolution : float
        Cell size, metres.
    ring_m : float
        Width of the ground ring, metres: non-building cells whose centre is within
        ``ring_m`` of a building cell centre belong to the nearest building.
    """
    index = np.asarray(building_index, dtype=np.int64)
    on_building = index >= 0
    empty = np.empty(0, np.int64)
    if not on_building.any():
        return BuildingZones(index.shape, 0, empty, empty, empty, empty)
    distance, (near_r, near_c) = ndimage.distance_transform_edt(~on_building, return_indices=True)
    in_ring = ~on_building & (distance * resolution <= ring_m)
    flat = index.ravel()
    roof_cells = np.flatnonzero(on_building)
    ring_cells = np.flatnonzero(in_ring)
    ring_owner = index[near_r.ravel()[ring_cells], near_c.ravel()[ring_cells]]
    return BuildingZones(
        index.shape, int(index.max()) + 1, roof_cells, flat[roof_cells], ring_cells, ring_owner
    )


def zone_means(values: np.ndarray, zones: BuildingZones) -> pd.DataFrame:
    """Mean of ``values`` (any per-cell quantity, e.g. shade hours) on each building's roof
    and ring: one row per building index present, columns :data:`SUMMARY_COLUMNS` (ring
    mean NaN when a building has no ring cells)."""
    if values.shape != zones.shape:
        raise ValueError(f"values {values.shape} and building_index {zones.shape} differ")
    if zones.n == 0:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    flat = np.asarray(values, dtype=np.float64).ravel()
    roof_cells = zones.roof_counts
    ring_cells = zones.ring_counts
    roof_sum = np.bincount(zones.roof_owner, weights=flat[zones.roof_cells], minlength=zones.n)
    ring_sum = np.bincount(zones.ring_owner, weights=flat[zones.ring_cells], minlength=zones.n)
    present = np.flatnonzero(roof_cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame(
            {
                "building_index": present,
                "roof_cells": roof_cells[present],
                "roof_shade_hours_mean": roof_sum[present] / roof_cells[present],
                "ring_cells": ring_cells[present],
                "ring_shade_hours_mean": np.where(
                    ring_cells[present] > 0, ring_sum[present] / np.maximum(ring_cells[present], 1), np.nan
                ),
            }
        )


def building_shade_summary(
    shade_hours: np.ndarray, building_index: np.ndarray, resolution: float, *, ring_m: float = 5.0
) -> pd.DataFrame:
    """Mean shade hours on each building's roof and on a ring of ground around it.

    ``shade_hours`` (or any per-cell value) lies on the grid of ``building_index``; see
    :func:`building_zones` for the zones and :func:`zone_means` for the columns. For
    several rasters of one tile, compute the zones once and call :func:`zone_means`.
    """
    if shade_hours.shape != building_index.shape:
        raise ValueError(f"shade_hours {shade_hours.shape} and building_index {building_index.shape} differ")
    return zone_means(shade_hours, building_zones(building_index, resolution, ring_m=ring_m))
