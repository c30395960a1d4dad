"""Spreading mesh-cell populations onto street segments.

Two methods, chosen by the run definition:

``"floor_area"`` (default)
    Each building's floor area (footprint area x storeys above ground; storeys from
    ``height_m / 3`` when missing, at least 1) is given to its nearest street segment
    within ``max_distance_m`` (50 m). A cell's population is shared among the segments
    in proportion to the floor area they received from buildings whose footprint centroid
    lies in that cell: people are where the floor space is. A cell with population but
    no such buildings falls back to ``"length"``.
``"length"``
    A cell's population is shared by the length of each segment inside the cell.

The weights are computed once (:func:`allocation_weights`, rows summing to 1 per cell)
and applied to any number of scenarios (:func:`allocate`). The result is people on the
segment at the time (the same unit as the source: MLIT stay population per day-average
time slot); a segment touched by a suppressed (NaN) cell gets NaN, not a lower bound.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd

from pipeline.geo import meshcode

log = logging.getLogger(__name__)

WEIGHT_COLUMNS = ["meshcode", "segment", "weight"]


def floor_area_m2(buildings: gpd.GeoDataFrame, storey_height_m: float = 3.0) -> np.ndarray:
    """Footprint area x storeys above ground (m2); storeys from height when missing, at least 1."""
    area = buildings.geometry.area.to_numpy(float)
    storeys = (
        pd.to_numeric(buildings["storeys_above_ground"], errors="coerce").to_numpy(float)
        if "storeys_above_ground" in buildings
        else np.full(len(buildings), np.nan)
    )
    if "height_m" in buildings:
        from_height = np.round(
            pd.to_numeric(buildings["height_m"], errors="coerce").to_numpy(float) / storey_height_m
        )
        storeys = np.where(np.isfinite(storeys) & (storeys > 0), storeys, from_height)
    storeys = np.where(np.isfinite(storeys) & (storeys >= 1), storeys, 1.0)
    return area * storeys


def _length_weights(segments: gpd.GeoSeries, cells: gpd.GeoSeries) -> pd.DataFrame:
    seg = gpd.GeoDataFrame(
        {"segment": segments.index.to_numpy()}, geometry=segments.to_numpy(), crs=segments.crs
    )
    grid = gpd.GeoDataFrame({"meshcode": cells.index.to_numpy()}, geometry=cells.to_numpy(), crs=cells.crs)
    pieces = gpd.overlay(seg, grid, how="intersection", keep_geom_type=True)
    pieces["weight"] = pieces.geometry.length
    return pieces.groupby(["meshcode", "segment"], as_index=False)["weight"].sum()


def allocation_weights(
    segments: gpd.GeoDataFrame,
    codes,
    *,
    level: int | str = 3,
    buildings: gpd.GeoDataFrame | None = None,
    method: str = "floor_area",
    max_distance_m: float = 50.0,
) -> pd.DataFrame:
    """Share of each cell's population that goes to each segment.

    Parameters
    ----------
    segments : geopandas.GeoDataFrame
        Street segments (LineStrings) in a metric CRS; the index identifies them.
    codes : array_like of int
        Mesh codes of the cells to allocate (all of ``level``).
    buildings : geopandas.GeoDataFrame, optional
        Footprints in the same CRS with ``storeys_above_ground`` and/or ``height_m``;
        required for ``"floor_area"``.
    method : {"floor_area", "length"}

    Returns
    -------
    pandas.DataFrame
        ``meshcode, segment, weight`` with weights summing to 1 for every cell that has
        segments; cells without segments are absent (and logged).
    """
    if method not in ("floor_area", "length"):
        raise ValueError(f"allocation method must be 'floor_area' or 'length', got {method!r}")
    if segments.crs is None or not segments.crs.is_projected:
        raise ValueError("segments must be in a projected (metric) CRS")
    codes = np.unique(np.asarray(codes, dtype=np.int64))
    cells = meshcode.to_polygons(codes, crs=segments.crs, densify_deg=1 / 3600)
    by_length = _length_weights(segments.geometry, cells)
    parts = []
    if method == "floor_area":
        if buildings is None:
            raise ValueError("floor_area allocation needs buildings")
        b = gpd.GeoDataFrame(
            {"floor_area": floor_area_m2(buildings)},
            geometry=buildings.geometry.centroid.to_numpy(),
            crs=buildings.crs,
        )
        lonlat = b.geometry.to_crs("EPSG:6668")
        b["meshcode"] = meshcode.encode(lonlat.y.to_numpy(), lonlat.x.to_numpy(), level)
        b = b[b["meshcode"].isin(codes)]
        seg = gpd.GeoDataFrame(
            {"segment": segments.index.to_numpy()}, geometry=segments.geometry.to_numpy(), crs=segments.crs
        )
        near = gpd.sjoin_nearest(b, seg, how="inner", max_distance=max_distance_m)
        near = near[~near.index.duplicated()]  # equidistant segments: keep the first
        by_area = near.groupby(["meshcode", "segment"], as_index=False)["floor_area"].sum()
        by_area = by_area.rename(columns={"floor_area": "weight"})
        by_area = by_area[by_area["weight"] > 0]
        parts.append(by_area)
        fallback = by_length[~by_length["meshcode"].isin(by_area["meshcode"])]
        if len(fallback):
            log.info(
                "%d cell(s) without buildings near streets: allocated by length",
                fallback["meshcode"].nunique(),
            )
        parts.append(fallback)
    else:
        parts.append(by_length)
    weights = pd.concat(parts, ignore_index=True)
    weights["weight"] = weights["weight"] / weights.groupby("meshcode")["weight"].transform("sum")
    empty = np.setdiff1d(codes, weights["meshcode"].unique())
    if len(empty):
        log.warning(
            "%d cell(s) have no street segments; their people are not allocated: %s",
            len(empty),
            empty[:10].tolist(),
        )
    return weights[WEIGHT_COLUMNS].reset_index(drop=True)


def allocate(
    values: pd.DataFrame | pd.Series, weights: pd.DataFrame, segments: pd.Index | None = None
) -> pd.DataFrame:
    """Apply allocation weights to cell values.

    Parameters
    ----------
    values : DataFrame or Series
        Indexed by mesh code; one column per scenario (or a single Series).
    weights : DataFrame
        From :func:`allocation_weights`.
    segments : Index, optional
        Reindex the result to these segments (segments in no allocated cell get NaN: no
        information, not zero people).

    Returns
    -------
    pandas.DataFrame
        One row per segment, the same columns as ``values``: people on the segment. NaN
        where any contributing cell is NaN (suppressed or not covered).
    """
    frame = values.to_frame() if isinstance(values, pd.Series) else values
    joined = weights.join(frame, on="meshcode", how="inner")
    columns = list(frame.columns)
    contrib = joined[columns].mul(joined["weight"], axis=0)
    contrib["segment"] = joined["segment"].to_numpy()
    # sum with NaN propagation: a NaN cell makes the segment NaN
    out = contrib.groupby("segment")[columns].agg(lambda s: s.sum(skipna=False))
    if segments is not None:
        out = out.reindex(segments)
    out.index.name = "segment"
    return out
