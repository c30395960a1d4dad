"""Street changes (``street`` measures) on the walkability stage's segments.

A :class:`~pipeline.measures.records.StreetChange` names its street by a line (the
segments lying along it, within ``snap_m``) or by a segment id (``<tile>:<index>`` of the
walkability outputs). Its ``width_m`` replaces the segment's width (the width component
and the sidewalk offsets, :func:`pipeline.walkability.components.sidewalk_offsets`); its
``pedestrian_only`` makes the segment's OSM class ``pedestrian``, which takes it out of
the busy streets whose metres are perceived longer (:func:`pipeline.walkability.accessibility.traffic_factor`).

Lines and segments are in the run's metric CRS (metres).
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pipeline.measures.records import StreetChange

#: The OSM class of a street given to pedestrians (``highway=pedestrian``).
PEDESTRIAN = "pedestrian"
#: How far (m) a segment may lie from a street change's line and still be on it: a
#: street centreline from another source than the network (PLATEAU, a drawn line) is
#: within a lane's width of the OSM way.
SNAP_M = 3.0


def match_street_changes(
    segments: gpd.GeoDataFrame,
    changes: Sequence[StreetChange],
    *,
    tile: str | None = None,
    snap_m: float = SNAP_M,
) -> pd.DataFrame:
    """The segments each street change applies to, with its new values.

    Parameters
    ----------
    segments : geopandas.GeoDataFrame
        Street segments (LineStrings, metric CRS), index the segment's position in its
        tile's network (the ``<index>`` of a ``<tile>:<index>`` segment id).
    changes : sequence of StreetChange
        The run's street measures, in file order (a later one wins on a segment).
    tile : str, optional
        The tile whose segment ids ``segments`` carry; a change naming a segment of
        another tile applies there only.
    snap_m : float
        A segment lies on a change's line when all of it is within ``snap_m`` metres.

    Returns
    -------
    pandas.DataFrame
        Index: the matched segments; columns ``width_m`` (NaN: unchanged),
        ``pedestrian_only`` (object: True, False or None: unchanged) and ``source``.
    """
    width = pd.Series(np.nan, index=segments.index, dtype=float)
    pedestrian = pd.Series(None, index=segments.index, dtype=object)
    source = pd.Series(None, index=segments.index, dtype=object)
    geoms = segments.geometry.to_numpy()
    for change in changes:
        if change.line is not None:
            zone = shapely.buffer(change.line, snap_m)
            hit = shapely.covers(zone, geoms)
        elif change.segment_id is not None and tile is not None:
            owner, _, index = change.segment_id.rpartition(":")
            hit = np.zeros(len(segments), bool)
            if owner == str(tile) and index.isdigit():
                hit = segments.index.to_numpy() == int(index)
        else:
            continue
        hit = np.asarray(hit, bool)
        if change.width_m is not None:
            width[hit] = change.width_m
        if change.pedestrian_only is not None:
            pedestrian[hit] = bool(change.pedestrian_only)
        source[hit] = change.source
    touched = source.notna()
    return pd.DataFrame({"width_m": width, "pedestrian_only": pedestrian, "source": source})[touched]


def apply_street_changes(segments: gpd.GeoDataFrame, matched: pd.DataFrame) -> gpd.GeoDataFrame:
    """``segments`` with the matched changes: ``highway`` ``pedestrian`` where made
    pedestrian-only, and a ``width_measure_m`` column (NaN where unchanged) that the
    walkability metrics take before any other width."""
    out = segments.copy()
    out["width_measure_m"] = matched["width_m"].reindex(out.index).astype(float)
    flags = matched["pedestrian_only"].reindex(out.index)
    out.loc[flags.eq(True).to_numpy(), "highway"] = PEDESTRIAN
    return out
