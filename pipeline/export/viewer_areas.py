"""Districts and mesh cells for the viewer's district table: outlines and summary rows.

Outlines go to a small GeoJSON in longitude/latitude (a city has tens of districts and
a few thousand third-level cells: small enough for the browser); the walkability
summaries (``summary_by_district``, ``summary_by_mesh``) become one JSON list of rows,
one per area and scenario, with NaN written as null ("no data", never zero).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SUMMARY_COLUMNS = ("score", "shade_share", "people_per_100m", "class", "street_length_m")


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA:
        return None
    return value


def summary_rows(table: pd.DataFrame, kind: str, key: str) -> list[dict[str, Any]]:
    """Rows ``{kind, id, name, scenario, score, shade_share, people_per_100m, class,
    street_length_m, share_*}`` of a walkability summary table keyed by ``key``."""
    if key not in table.columns or "scenario" not in table.columns:
        raise ValueError(f"{kind} summary needs columns {key!r} and 'scenario' (has {list(table.columns)[:12]})")
    shares = [c for c in table.columns if c.startswith("share_")]
    rows = []
    for record in table.sort_values([key, "scenario"], kind="stable").to_dict(orient="records"):
        row = {"kind": kind, "id": str(_plain(record[key])), "name": str(_plain(record[key])),
               "scenario": record["scenario"]}
        for column in (*SUMMARY_COLUMNS, *shares):
            row[column] = _plain(record.get(column))
        rows.append(row)
    return rows


def area_features(districts: "Any | None", meshcodes: list[int]) -> dict[str, Any]:
    """GeoJSON FeatureCollection (EPSG:4326 lon/lat, 7 decimals) of district polygons
    (GeoDataFrame with ``district`` names) and mesh cells."""
    import shapely

    from pipeline.geo.meshcode import to_polygons

    features = []
    if districts is not None:
        for name, geometry in zip(districts["district"], districts.to_crs("EPSG:4326").geometry):
            features.append({"type": "Feature", "properties": {"kind": "district", "id": str(name), "name": str(name)},
                             "geometry": shapely.geometry.mapping(shapely.set_precision(geometry, 1e-7))})
    if meshcodes:
        for code, geometry in to_polygons(sorted(set(meshcodes)), "EPSG:6668").items():
            features.append({"type": "Feature", "properties": {"kind": "mesh", "id": str(int(code)), "name": str(int(code))},
                             "geometry": shapely.geometry.mapping(shapely.set_precision(geometry, 1e-7))})
    return {"type": "FeatureCollection", "features": features}


def write_areas(out_dir: str | Path, *, districts_path: str | Path | None = None, district_name: str = "name",
                district_summary: str | Path | None = None, mesh_summary: str | Path | None = None,
                crs: str) -> dict[str, str] | None:
    """Write ``areas.geojson`` and ``summary.json`` under ``out_dir``; None when there is
    neither a district layer nor a summary.

    Parameters
    ----------
    districts_path : path, optional
        District polygons (any OGR format with a CRS) with names in ``district_name``.
    district_summary, mesh_summary : path, optional
        ``walkability/summary_by_district.parquet`` and ``summary_by_mesh.parquet``.
    crs : str
        The run's metric CRS (districts are read into it, as the walkability stage does).
    """
    from tiles.atomic import write_text_atomic
    from pipeline.walkability.outputs import read_districts

    if districts_path is None and district_summary is None and mesh_summary is None:
        return None
    districts = read_districts(Path(districts_path), district_name, crs) if districts_path else None
    rows: list[dict[str, Any]] = []
    if district_summary is not None:
        rows += summary_rows(pd.read_parquet(district_summary), "district", "district")
    meshcodes: list[int] = []
    if mesh_summary is not None:
        mesh = pd.read_parquet(mesh_summary)
        rows += summary_rows(mesh, "mesh", "meshcode")
        meshcodes = [int(c) for c in mesh["meshcode"].dropna().unique()]
    out_dir = Path(out_dir)
    areas = out_dir / "areas.geojson"
    summary = out_dir / "summary.json"
    write_text_atomic(areas, json.dumps(area_features(districts, meshcodes), ensure_ascii=False, separators=(",", ":")))
    write_text_atomic(summary, json.dumps({"rows": rows}, ensure_ascii=False, separators=(",", ":")))
    return {"areas": str(areas), "summary": str(summary)}
