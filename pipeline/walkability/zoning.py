"""The use district (用途地域) a street segment lies in, with its floor-area and coverage rates.

Walkable streets in commercial districts and in residential ones are different policy
questions, so each segment gets the zoning of the PLATEAU ``urf:UseDistrict`` polygon that
holds most of its length (the ingest tables of ``urf`` files, ``feature_type`` =
``urf:UseDistrict``): the district's code (``urf:function``, Common_districtsAndZonesType),
its label, the designated floor-area rate (容積率, ``floor_area_rate``, e.g. 2.0 = 200 %)
and building-coverage rate (建蔽率, ``building_coverage_rate``, e.g. 0.6 = 60 %).
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

USE_DISTRICT = "urf:UseDistrict"

#: Output columns, one row per segment (index aligned with the segments).
ZONING_COLUMNS = (
    "use_district_code",
    "use_district",
    "floor_area_rate",
    "building_coverage_rate",
    "use_district_share",
    "use_district_id",
)


def segment_zoning(
    segments: gpd.GeoDataFrame, use_districts: gpd.GeoDataFrame | Sequence[gpd.GeoDataFrame]
) -> pd.DataFrame:
    """Zoning of the use district holding the largest part of each segment.

    Parameters
    ----------
    segments : geopandas.GeoDataFrame
        Street segments (lines) in a metric CRS (e.g. EPSG:6677, metres).
    use_districts : geopandas.GeoDataFrame or sequence of them
        Ingested ``urf`` tables (any CRS; reprojected to the segments'). Rows whose
        ``feature_type`` is not ``urf:UseDistrict`` (height districts, fire districts, ...)
        are ignored. Columns used: ``gml_id``, ``function`` (the code), ``function_label``,
        ``floor_area_rate``, ``building_coverage_rate``.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``segments``, with ``use_district_code`` (str), ``use_district``
        (label, str; the code where no code list gave one), ``floor_area_rate`` and
        ``building_coverage_rate`` (floats, ratios: 2.0 = 200 %), ``use_district_share``
        (share of the segment's length inside that district, 0-1) and
        ``use_district_id`` (its ``gml_id``). Segments outside every district get
        None/NaN and share 0. Ties between districts go to the lower ``gml_id``.

    Raises
    ------
    ValueError
        If the segments' CRS is missing or not projected.
    """
    if segments.crs is None or not segments.crs.is_projected:
        raise ValueError(f"segment_zoning needs segments in a metric CRS, got {segments.crs}")
    districts = _use_districts(use_districts, segments.crs)
    result = pd.DataFrame(
        {
            "use_district_code": pd.Series([None] * len(segments), dtype=object),
            "use_district": pd.Series([None] * len(segments), dtype=object),
            "floor_area_rate": np.nan,
            "building_coverage_rate": np.nan,
            "use_district_share": 0.0,
            "use_district_id": pd.Series([None] * len(segments), dtype=object),
        }
    )
    result.index = segments.index
    if districts.empty or segments.empty:
        return result
    lines = segments.geometry.to_numpy()
    seg_i, dist_i = districts.sindex.query(lines, predicate="intersects")
    if not len(seg_i):
        return result
    inside = shapely.length(shapely.intersection(lines[seg_i], districts.geometry.to_numpy()[dist_i]))
    pairs = pd.DataFrame(
        {
            "segment": seg_i,
            "district": dist_i,
            "inside_m": inside,
            "gml_id": districts["gml_id"].to_numpy()[dist_i],
        }
    )
    # most length inside first; equal lengths: the lower gml_id, so the result is deterministic
    pairs = pairs.sort_values(["segment", "inside_m", "gml_id"], ascending=[True, False, True])
    best = pairs.drop_duplicates("segment")
    best = best[best["inside_m"] > 0]
    rows = districts.iloc[best["district"].to_numpy()]
    length = shapely.length(lines[best["segment"].to_numpy()])
    at = result.index[best["segment"].to_numpy()]
    result.loc[at, "use_district_code"] = rows["function"].astype(object).to_numpy()
    labels = rows["function_label"] if "function_label" in rows else rows["function"]
    result.loc[at, "use_district"] = labels.fillna(rows["function"]).astype(object).to_numpy()
    for column in ("floor_area_rate", "building_coverage_rate"):
        if column in rows:
            result.loc[at, column] = pd.to_numeric(rows[column], errors="coerce").to_numpy(float)
    result.loc[at, "use_district_share"] = np.divide(
        best["inside_m"].to_numpy(), length, out=np.ones(len(length)), where=length > 0
    )
    result.loc[at, "use_district_id"] = rows["gml_id"].astype(object).to_numpy()
    return result


def _use_districts(tables, crs) -> gpd.GeoDataFrame:
    """The ``urf:UseDistrict`` rows of one or more ingest tables, in ``crs``."""
    frames = [tables] if isinstance(tables, gpd.GeoDataFrame) else list(tables)
    picked = []
    for frame in frames:
        if "feature_type" not in frame or "function" not in frame:
            raise ValueError(
                "use district tables need 'feature_type' and 'function' columns "
                f"(got {list(frame.columns)[:12]})"
            )
        rows = frame[frame["feature_type"] == USE_DISTRICT]
        if not rows.empty:
            picked.append(rows.to_crs(crs))
    if not picked:
        return gpd.GeoDataFrame({"gml_id": [], "function": []}, geometry=[], crs=crs)
    districts = gpd.GeoDataFrame(pd.concat(picked, ignore_index=True), crs=crs)
    return districts[districts.geometry.notna() & ~districts.geometry.is_empty].reset_index(drop=True)
