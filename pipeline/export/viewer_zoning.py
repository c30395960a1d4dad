"""Use districts (用途地域) for the planners' viewer: a small GeoJSON and its legend.

The run's ingest tables of PLATEAU ``urf`` files hold every urban planning decision; the
``urf:UseDistrict`` rows (the 13 use-district classes of the City Planning Act) become
one GeoJSON in longitude/latitude (EPSG:4326, 7 decimals: about 1 cm), each polygon with
its use district in Japanese (the dataset's code-list label) and English, its designated
floor-area rate (容積率) and building-coverage rate (建蔽率), which the app drapes on the
ground as semi-transparent polygons. A city has tens to a few hundred use-district
polygons: small enough for the browser, no tiling needed.

Colours follow the convention of Japanese zoning maps (都市計画図), which MLIT's city
planning guidance and nearly every municipality's 用途地域 map use: residential classes
from dark green (第一種低層住居専用地域) through green, yellow-green, yellow and orange
(準住居地域), commercial classes pink (近隣商業地域) and red (商業地域), industrial classes
purple (準工業地域), light blue (工業地域) and blue (工業専用地域). The convention fixes
the hue of each class, not exact RGB values (municipal maps differ slightly); the hex
values below are Machi's reading of it, not copied from an MLIT table.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

USE_DISTRICT = "urf:UseDistrict"

#: Code (PLATEAU Common_districtsAndZonesType, the codes of urf:function) -> colour and
#: words. English names as MLIT translates them ("Urban Land Use Planning System in Japan").
USE_DISTRICT_CLASSES: dict[str, dict[str, Any]] = {
    "1": {"colour": "#00A06B", "ja": "第一種低層住居専用地域", "en": "Category I exclusively low-rise residential zone"},
    "2": {"colour": "#6CC08B", "ja": "第二種低層住居専用地域", "en": "Category II exclusively low-rise residential zone"},
    "3": {"colour": "#A6D46A", "ja": "第一種中高層住居専用地域", "en": "Category I exclusively medium-high residential zone"},
    "4": {"colour": "#D4E57A", "ja": "第二種中高層住居専用地域", "en": "Category II exclusively medium-high residential zone"},
    "5": {"colour": "#F5E55A", "ja": "第一種住居地域", "en": "Category I residential zone"},
    "6": {"colour": "#F8CB6E", "ja": "第二種住居地域", "en": "Category II residential zone"},
    "7": {"colour": "#F3A65A", "ja": "準住居地域", "en": "Quasi-residential zone"},
    "8": {"colour": "#C2D98C", "ja": "田園住居地域", "en": "Rural residential zone"},
    "9": {"colour": "#F5A3C0", "ja": "近隣商業地域", "en": "Neighbourhood commercial zone"},
    "10": {"colour": "#E8506E", "ja": "商業地域", "en": "Commercial zone"},
    "11": {"colour": "#B98ACB", "ja": "準工業地域", "en": "Quasi-industrial zone"},
    "12": {"colour": "#9ED3EE", "ja": "工業地域", "en": "Industrial zone"},
    "13": {"colour": "#4C8FD8", "ja": "工業専用地域", "en": "Exclusively industrial zone"},
}
#: Code 0 ("no use district designated") and codes no class has: grey.
OTHER_COLOUR = "#BDBDBD"
TITLE = {"en": "Use district (zoning)", "ja": "用途地域"}
UNITS = {"en": "PLATEAU urf:UseDistrict", "ja": "都市計画 (urf)"}
#: Columns of the ingest table copied into each feature's properties when present.
EXTRA_COLUMNS = {"custodian": "custodian", "valid_from": "valid_from",
                 "notification_number": "notification_number", "city_label": "city"}


def _code(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    if text.endswith(".0") and text[:-2].isdigit():  # a code read as a number
        text = text[:-2]
    return text or None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def use_district_features(tables: Sequence[str | Path]) -> dict[str, Any]:
    """GeoJSON FeatureCollection (EPSG:4326) of the ``urf:UseDistrict`` rows of ingest tables.

    Each feature's properties: ``id`` (``gml_id``), ``code`` (``urf:function``),
    ``label_ja`` (the dataset's code-list label, else the class's Japanese name),
    ``label_en``, ``floor_area_rate`` and ``building_coverage_rate`` (ratios: 2.0 = 200 %;
    null when the file has none), and ``custodian``, ``valid_from``,
    ``notification_number``, ``city_label`` where the table has them. Features are sorted by
    ``id``; a ``gml_id`` read twice (the same file in two tables) is kept once.
    """
    import geopandas as gpd
    import pandas as pd
    import shapely

    frames = []
    for path in sorted(map(str, tables)):
        frame = gpd.read_parquet(path)
        if "feature_type" not in frame or frame.crs is None:
            raise ValueError(f"{path}: not an ingest table (needs 'feature_type' and a CRS)")
        frame = frame[frame["feature_type"] == USE_DISTRICT]
        frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
        if len(frame):
            frames.append(frame.to_crs("EPSG:4326"))
    features: list[dict[str, Any]] = []
    if not frames:
        return {"type": "FeatureCollection", "features": features}
    table = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
    table = table.sort_values("gml_id", kind="stable").drop_duplicates("gml_id")
    for record, geometry in zip(table.to_dict(orient="records"), table.geometry):
        code = _code(record.get("function"))
        known = USE_DISTRICT_CLASSES.get(code or "", {})
        label = _text(record.get("function_label")) or known.get("ja") or code
        properties = {"id": str(record["gml_id"]), "code": code, "label_ja": label,
                      "label_en": known.get("en") or label,
                      "floor_area_rate": _number(record.get("floor_area_rate")),
                      "building_coverage_rate": _number(record.get("building_coverage_rate"))}
        for key, column in EXTRA_COLUMNS.items():
            column = f"{column}_label" if key == "city_label" else column
            if column in record and _text(record[column]) is not None:
                properties[key] = _text(record[column])
        features.append({"type": "Feature", "properties": properties,
                         "geometry": shapely.geometry.mapping(shapely.set_precision(geometry, 1e-7))})
    return {"type": "FeatureCollection", "features": features}


def use_district_legend(collection: dict[str, Any]) -> dict[str, Any]:
    """Categories of the use districts present, in code order, with their conventional
    colours; the Japanese label is the data's (its code list), the English one Machi's."""
    present: dict[str, dict[str, str]] = {}
    for feature in collection["features"]:
        p = feature["properties"]
        if p["code"] is not None and p["code"] not in present:
            present[p["code"]] = {"ja": p["label_ja"], "en": p["label_en"]}
    order = sorted(present, key=lambda c: (0, int(c)) if c.isdigit() else (1, c))
    categories = [{"value": code, "colour": USE_DISTRICT_CLASSES.get(code, {}).get("colour", OTHER_COLOUR),
                   "label": present[code]} for code in order]
    return {"kind": "categories", "title": dict(TITLE), "units": dict(UNITS), "categories": categories,
            "other": OTHER_COLOUR, "no_data": False, "alpha": 0.45,
            "source": "colour convention of Japanese zoning maps (都市計画図, MLIT guidance); hex values Machi's"}


def write_use_districts(out_dir: str | Path, tables: Sequence[str | Path]) -> tuple[Path, dict[str, Any]] | None:
    """Write ``use_districts.geojson`` under ``out_dir``; (path, legend), or None when the
    tables hold no use district."""
    from tiles.atomic import write_text_atomic

    collection = use_district_features(tables)
    if not collection["features"]:
        return None
    path = Path(out_dir) / "use_districts.geojson"
    write_text_atomic(path, json.dumps(collection, ensure_ascii=False, separators=(",", ":")))
    return path, use_district_legend(collection)
