"""Water surfaces and railway land (水面、線路敷) for the deemed boundary of the shadow regulation.

建築基準法施行令第135条の12第3項第1号 deems the site boundary facing "道路、水面、線路敷その他
これらに類するもの" to lie farther out (:mod:`pipeline.measures.site_boundary`). Roads come
from the street network; this module takes the water surfaces and railway land from the
PLATEAU tables the run ingests (``OUT/ingest/<module>/<mesh>_<module>.parquet``,
:mod:`pipeline.ingest`), in the run's metric CRS:

- ``luse`` (土地利用, ``luse:class``, code list ``Common_landUseType.xml`` of the PLATEAU
  product, e.g. the Numazu sample's ``codelists/Common_landUseType.xml``): :data:`WATER_LUSE_CLASSES`
  are water, :data:`RAILWAY_LUSE_CLASSES` railway land;
- ``tran:Railway`` features with an area footprint (a railway given only as a centreline
  has no width and is left out);
- ``wtr:WaterBody`` features with an area footprint.

Not counted (stated where the result is shown): 河川敷・河原 (``2054``, and ``205``
その他自然地 which holds it with 原野 and 荒れ地) and parks (公園), which the text does not
list; a practitioners' reading that only land "where nobody will live", like water and
railways, qualifies (oshiete.goo.ne.jp qa/7639591) keeps the list short, the safe side.
``216`` 交通施設用地 is taken as railway land: in the code list it is the transport land
other than roads (``215``), which is mostly railway; station squares of bus terminals in
it are counted as well (a simplification).
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import pandas as pd
import shapely

#: ``luse:class`` codes of water surfaces (Common_landUseType): 204 水面 and its details.
WATER_LUSE_CLASSES = {
    "204": "水面（河川水面、湖沼、ため池、用水路、濠、運河水面）",
    "2041": "河川水面",
    "2042": "湖沼",
    "2043": "ため池",
    "2044": "用水路",
    "2045": "濠",
    "2046": "運河水面",
}
#: ``luse:class`` codes of railway land (Common_landUseType).
RAILWAY_LUSE_CLASSES = {
    "216": "交通施設用地",
    "262": "道路・鉄軌道敷（道路と交通施設用地が混在）",
}
#: Feature types read besides ``luse:LandUse``, with the kind they give.
FEATURE_KINDS = {"tran:Railway": "railway", "wtr:WaterBody": "water"}
LAND_USE = "luse:LandUse"
#: Modules of the ingest whose tables this module reads.
MODULES = ("luse", "tran", "wtr")


def class_code(value) -> str | None:
    """A ``luse:class`` value as its code text (``204``, whether stored as text or number)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text[:-2] if text.endswith(".0") else text or None


def open_land(tables: Sequence[gpd.GeoDataFrame], crs: str) -> gpd.GeoDataFrame:
    """The water and railway polygons of ingested tables.

    Parameters
    ----------
    tables : sequence of geopandas.GeoDataFrame
        Ingested ``luse``, ``tran`` and ``wtr`` tables (columns ``feature_type``,
        ``gml_id``, ``class`` for land use, footprint geometry); other rows are ignored.
    crs : str
        The metric CRS of the result.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``kind`` (``water`` or ``railway``), ``source`` (``luse 204`` or the feature
        type), ``gml_id`` and ``geometry`` (polygons), sorted by ``gml_id``.
    """
    kinds, sources, ids, geoms = [], [], [], []
    for table in tables:
        if not len(table) or "feature_type" not in table.columns:
            continue
        table = table.to_crs(crs) if table.crs is not None else table.set_crs(crs)
        codes = table["class"].map(class_code) if "class" in table.columns else pd.Series(None, table.index)
        for feature_type, code, gml_id, geom in zip(
            table["feature_type"], codes, table.get("gml_id", pd.Series("", table.index)), table.geometry
        ):
            if feature_type == LAND_USE:
                kind = (
                    "water"
                    if code in WATER_LUSE_CLASSES
                    else "railway"
                    if code in RAILWAY_LUSE_CLASSES
                    else None
                )
                source = f"luse {code}"
            else:
                kind, source = FEATURE_KINDS.get(feature_type), feature_type
            area = _areas(geom)
            if kind is None or area is None:
                continue
            kinds.append(kind), sources.append(source), ids.append(str(gml_id)), geoms.append(area)
    frame = gpd.GeoDataFrame({"kind": kinds, "source": sources, "gml_id": ids}, geometry=geoms, crs=crs)
    return frame.sort_values(["gml_id", "kind"], kind="stable").reset_index(drop=True)


def read_open_land(paths: Sequence[str], crs: str, bounds=None) -> gpd.GeoDataFrame:
    """:func:`open_land` of ingested GeoParquet tables, keeping features within ``bounds``
    (``x_min, y_min, x_max, y_max`` in ``crs``) when given."""
    tables = []
    for path in sorted(paths):
        table = gpd.read_parquet(path)
        if bounds is not None and len(table):
            table = table.to_crs(crs) if table.crs is not None else table
            table = table.cx[bounds[0] : bounds[2], bounds[1] : bounds[3]]
        tables.append(table)
    return open_land(tables, crs)


def _areas(geom):
    """The polygonal part of a footprint, or None (lines and points have no width)."""
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    polygons = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(polygons) if polygons else None
