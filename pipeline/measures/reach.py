"""Which tiles a set of measures can reach: what a run on a baseline recomputes.

A measure rising ``h`` metres above the ground casts its shadow at most ``h / tan(a)``
metres from its footprint, ``a`` being the lowest sun altitude the run computes shade
for, and never further than the halo (``grid.halo_m``: the shadow stage searches no
further, :func:`pipeline.shade.shadow.shadow_halo_m`). The lowest sun is that of the
scenarios' time slots, or the horizon when the shadow stage also sums each season's sun
hours from sunrise to sunset (``stages.shadow.sun_hours``, the default) or the shadow
diagram runs (winter solstice from 8:00 true solar time): then the reach is the halo.
A street change reaches the segments within ``network_reach_m`` of it (the walkability
stage's largest catchment). A tile is touched when its own square (halo not included)
meets a measure's footprint grown by its reach.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import shapely

from pipeline.geo.tiling import tile_grid
from pipeline.measures.records import MeasureSet


def lowest_sun_altitude_deg(
    scenarios: Sequence, year: int, latitude: float, longitude: float, *, timezone: str = "Asia/Tokyo"
) -> float:
    """The lowest positive sun altitude (degrees) sampled in the scenarios' time slots at
    ``latitude``, ``longitude`` (degrees, JGD2011 ~ WGS 84); 0 when a slot holds none."""
    from pipeline.shade.sun import scenario_sun_positions

    positions = scenario_sun_positions(list(scenarios), year, latitude, longitude, timezone=timezone)
    altitudes = np.concatenate([p.sun_altitude_deg for p in positions.values()]) if positions else np.empty(0)
    up = altitudes[altitudes > 0]
    return float(up.min()) if up.size else 0.0


def shadow_reach_m(height_m: float, lowest_sun_deg: float, halo_m: float) -> float:
    """``min(halo_m, height_m / tan(lowest_sun_deg))``, metres (the halo for a sun at or
    below the horizon)."""
    if lowest_sun_deg <= 0:
        return float(halo_m)
    return float(min(halo_m, height_m / math.tan(math.radians(lowest_sun_deg))))


def touched_tiles(
    measures: MeasureSet,
    tiles: Iterable[str],
    crs: str,
    *,
    halo_m: float,
    lowest_sun_deg: float,
    removed_footprints: Sequence[tuple[shapely.Geometry, float]] = (),
    street_lines: Sequence[shapely.Geometry] = (),
    network_reach_m: float = 0.0,
) -> set[str]:
    """The tiles whose square meets a measure's reach.

    Parameters
    ----------
    measures : MeasureSet
        In ``crs`` (metres).
    tiles : iterable of str
        Third-level mesh codes of the run.
    halo_m, lowest_sun_deg : float
        The run's halo and lowest sun (module docstring).
    removed_footprints : sequence of (geometry, float)
        Footprint and height (m) of each removed building (from the baseline's tables).
    street_lines : sequence of geometry
        The changed streets' lines.
    network_reach_m : float
        How far a street change reaches along the network (a straight-line bound).
    """
    regions = [
        geometry.buffer(shadow_reach_m(height, lowest_sun_deg, halo_m))
        for geometry, height in list(measures.footprints()) + list(removed_footprints)
    ]
    regions += [line.buffer(max(network_reach_m, 1.0)) for line in street_lines if line is not None]
    if not regions:
        return set()
    tree = shapely.STRtree(regions)
    touched = set()
    for tile in tiles:
        box = shapely.box(*tile_grid(tile, crs, 1.0).bounds)
        if len(tree.query(box, predicate="intersects")):
            touched.add(tile)
    return touched
