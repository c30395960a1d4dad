"""Reading a measures file (GeoJSON or GeoPackage) into a :class:`MeasureSet`.

One feature per measure, its ``kind`` one of :data:`~pipeline.measures.records.KINDS`
and its keys those of docs/measures.md. The file must declare its CRS (GeoJSON: an
explicit ``crs`` member or RFC 7946 WGS 84, which GDAL reports as EPSG:4326); its
features are reprojected to the run's metric CRS. Every bad feature raises
:class:`MeasuresError` naming the file, the feature's index (0-based, in file order)
and ``id`` when it has one, and the key. Measures whose geometry lies outside the run's
area are reported in :attr:`MeasureSet.skipped` and not applied; a file none of whose
measures lies in the area is an error (its CRS is most likely wrong).

A file is measured before it is read: a GeoJSON file larger than
:data:`MAX_GEOJSON_BYTES` is refused on its size (GDAL parses a whole GeoJSON file to count
its features: 7 s for 10^6 points on this machine, 2026-12-06), any other on its feature
count from the layer's metadata (a GeoPackage keeps it), so a hostile file of 10^6
features costs a stat or a metadata read, not a run.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from pipeline.measures.records import (
    CANOPY_TRANSMISSIVITY,
    CROWN_BASE_SHARE,
    KINDS,
    Building,
    Canopy,
    MeasureSet,
    RemovedBuilding,
    StreetChange,
    Tree,
)

#: Largest number of features a measures file may hold (a city's planting programme is
#: thousands of trees; a street-tree census of a whole ward is tens of thousands).
MAX_FEATURES = 50_000
#: Fewest metres between two trees of a ``tree_row``.
MIN_SPACING_M = 1.0
#: Largest GeoJSON file read (bytes): :data:`MAX_FEATURES` features of up to about 650
#: bytes each (a tree with species and id takes about 250).
MAX_GEOJSON_BYTES = 32 * 1024 * 1024


class MeasuresError(ValueError):
    """A measures file that cannot be used, naming the file, the feature and the key."""


def read_measures(
    path: str | Path,
    crs: str,
    *,
    area: shapely.Geometry | None = None,
    default_crown_diameter_m: float = 5.0,
    max_features: int = MAX_FEATURES,
) -> MeasureSet:
    """The measures of ``path`` in ``crs``.

    Parameters
    ----------
    path : path
        A GeoJSON or GeoPackage file (first layer).
    crs : str
        The run's metric CRS (e.g. ``"EPSG:6677"``); features are reprojected to it.
    area : shapely geometry, optional
        The run's area in ``crs``; measures not meeting it are skipped and reported.
    default_crown_diameter_m : float
        Crown of a tree without ``crown_diameter_m`` (the surface stage's
        ``default_crown_diameter_m``, the same default as a PLATEAU tree's).
    max_features : int
        Refuse a file of more features than this.

    Raises
    ------
    MeasuresError
        A missing or undeclared CRS, too many features, an unknown kind, a missing or
        invalid key, an invalid geometry, or no measure inside ``area``.
    """
    import pyogrio
    from pyproj import CRS

    path = Path(path)
    if not path.is_file():
        raise MeasuresError(f"{path}: no such measures file")
    size = path.stat().st_size
    if path.suffix.lower() in (".geojson", ".json") and size > MAX_GEOJSON_BYTES:
        raise MeasuresError(
            f"{path}: {size / 2**20:.0f} MiB, larger than the "
            f"{MAX_GEOJSON_BYTES / 2**20:.0f} MiB a GeoJSON measures file may be "
            f"(at most {max_features} features); split it, or use a GeoPackage"
        )
    try:
        info = pyogrio.read_info(path)
    except Exception as exc:  # noqa: BLE001 - GDAL's own message says what is wrong
        raise MeasuresError(f"{path}: not a readable GeoJSON or GeoPackage: {exc}") from None
    count = int(info.get("features") or 0)
    if count > max_features:
        raise MeasuresError(
            f"{path}: {count} features, more than the {max_features} a measures "
            f"file may hold; split it or thin it"
        )
    if not info.get("crs"):
        raise MeasuresError(
            f"{path}: the file declares no CRS; write one (GeoJSON: a 'crs' "
            f"member, or WGS 84 longitude/latitude per RFC 7946)"
        )
    frame = pyogrio.read_dataframe(path)
    source_crs = CRS.from_user_input(info["crs"])
    _check_in_crs_area(path, frame, source_crs)
    frame = frame.to_crs(crs)
    measures = MeasureSet(crs=str(crs))
    lots = _Lots()
    columns = set(frame.columns)
    for index, row in enumerate(frame.itertuples(index=False)):
        values = {k: getattr(row, k) for k in columns if k != "geometry"}
        feature = _Feature(path, index, values, row.geometry)
        _add(measures, feature, default_crown_diameter_m, lots)
    lots.resolve(measures)
    if area is not None and len(measures):
        _skip_outside(measures, area, path)
    return measures


def read_measure_files(paths, crs: str, **options: Any) -> MeasureSet:
    """The measures of every file of ``paths`` in order, in ``crs``."""
    measures = MeasureSet(crs=str(crs))
    for path in paths:
        measures.extend(read_measures(path, crs, **options))
    return measures


class _Feature:
    """One feature's values, with errors that name the file, feature and key."""

    def __init__(self, path: Path, index: int, values: dict, geometry) -> None:
        self.path, self.index, self.values, self.geometry = path, index, values, geometry
        ident = values.get("id")
        self.id = None if _missing(ident) else str(ident)
        self.source = self.id if self.id is not None else f"#{index}"

    def error(self, key: str, what: str) -> MeasuresError:
        named = f" (id {self.id!r})" if self.id is not None else ""
        kind = self.values.get("kind")
        kind = f" {kind}" if isinstance(kind, str) else ""
        return MeasuresError(f"{self.path}: feature {self.index}{named}{kind}: {key!r}: {what}")

    def number(
        self,
        key: str,
        *,
        default: float | None = None,
        minimum: float = 0.0,
        maximum: float = math.inf,
        required: bool = True,
        above: bool = False,
    ) -> float | None:
        value = self.values.get(key)
        if _missing(value):
            if default is not None or not required:
                return default
            raise self.error(key, "missing")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise self.error(key, f"{value!r} is not a number") from None
        if not math.isfinite(number) or number < minimum or number > maximum or (above and number == minimum):
            bound = f"above {minimum:g}" if above else f"at least {minimum:g}"
            raise self.error(key, f"{number:g} is out of range ({bound}, at most {maximum:g})")
        return number

    def flag(self, key: str, *, default: bool | None = None) -> bool | None:
        value = self.values.get(key)
        if _missing(value):
            if default is None:
                raise self.error(key, "missing (true or false)")
            return default
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        # a column of booleans with gaps reads as 0.0/1.0
        if isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise self.error(key, f"{value!r} is not true or false")

    def text(self, key: str) -> str | None:
        value = self.values.get(key)
        return None if _missing(value) else str(value)

    def shape(self, *types: str) -> Any:
        geometry = self.geometry
        if geometry is None or geometry.is_empty:
            raise self.error("geometry", f"missing (a {' or '.join(types)})")
        if geometry.geom_type not in types:
            raise self.error("geometry", f"a {geometry.geom_type}, not a {' or '.join(types)}")
        if not geometry.is_valid:
            raise self.error("geometry", f"invalid: {shapely.is_valid_reason(geometry)}")
        return geometry


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is _NA


try:  # pandas' missing value in nullable columns
    import pandas as _pd

    _NA = _pd.NA
except ImportError:  # pragma: no cover
    _NA = object()


def _tree_fields(feature: _Feature, default_crown_diameter_m: float) -> dict:
    height = feature.number("height_m", minimum=0.0, maximum=100.0, above=True)
    crown = feature.number(
        "crown_diameter_m", default=default_crown_diameter_m, minimum=0.0, maximum=60.0, above=True
    )
    base = feature.number("crown_base_m", default=CROWN_BASE_SHARE * height, maximum=height)
    return {
        "height_m": height,
        "crown_diameter_m": crown,
        "crown_base_m": base,
        "evergreen": feature.flag("evergreen"),
        "species": feature.text("species"),
        "class_code": feature.text("class_code"),
    }


class _Lots:
    """The ``lot`` features of a file by ``id``, and the buildings naming one (key ``lot``)."""

    def __init__(self) -> None:
        self.by_id: dict[str, tuple[shapely.Polygon, _Feature]] = {}
        self.wanted: list[tuple[int, str, _Feature]] = []  # (building position, lot id, feature)

    def add_lot(self, feature: _Feature) -> None:
        polygon = feature.shape("Polygon")
        if feature.id is None:
            raise feature.error("id", "missing (a lot is named by its id, which its buildings give as 'lot')")
        if feature.id in self.by_id:
            raise feature.error(
                "id", f"a second lot {feature.id!r} (the first is feature {self.by_id[feature.id][1].index})"
            )
        self.by_id[feature.id] = (polygon, feature)

    def resolve(self, measures: MeasureSet) -> None:
        """Give every building naming a lot its polygon; the lot must cover the footprint."""
        from dataclasses import replace

        for position, lot_id, feature in self.wanted:
            if lot_id not in self.by_id:
                raise feature.error("lot", f"no lot feature with id {lot_id!r} in this file")
            lot, _ = self.by_id[lot_id]
            building = measures.buildings[position]
            if not lot.buffer(1e-6).covers(building.polygon):
                raise feature.error("lot", f"the lot {lot_id!r} does not cover the building's footprint")
            measures.buildings[position] = replace(building, lot=lot, lot_id=lot_id)


def _add(measures: MeasureSet, feature: _Feature, default_crown_diameter_m: float, lots: _Lots) -> None:
    kind = feature.values.get("kind")
    if _missing(kind):
        raise feature.error("kind", f"missing (one of {', '.join(KINDS)})")
    if kind not in KINDS:
        raise feature.error("kind", f"unknown kind {kind!r} (one of {', '.join(KINDS)})")
    source = feature.source
    if kind == "tree":
        point = feature.shape("Point")
        measures.trees.append(
            Tree(source, point.x, point.y, **_tree_fields(feature, default_crown_diameter_m))
        )
    elif kind == "tree_row":
        line = feature.shape("LineString")
        spacing = feature.number("spacing_m", minimum=MIN_SPACING_M, maximum=1000.0)
        fields = _tree_fields(feature, default_crown_diameter_m)
        for x, y in tree_row_positions(line, spacing):
            measures.trees.append(Tree(source, x, y, **fields))
    elif kind == "canopy":
        polygon = feature.shape("Polygon")
        material = feature.text("material")
        if material is not None and material not in CANOPY_TRANSMISSIVITY:
            raise feature.error(
                "material", f"unknown material {material!r} (one of {', '.join(CANOPY_TRANSMISSIVITY)})"
            )
        default = CANOPY_TRANSMISSIVITY.get(material) if material else None
        if default is None and _missing(feature.values.get("transmissivity")):
            raise feature.error(
                "transmissivity", f"missing (0..1, or a 'material': {', '.join(CANOPY_TRANSMISSIVITY)})"
            )
        tau = feature.number("transmissivity", default=default, maximum=1.0)
        season = feature.text("season") or "all_year"
        if season not in ("all_year", "summer"):
            raise feature.error("season", f"{season!r} is not 'all_year' or 'summer'")
        measures.canopies.append(
            Canopy(source, polygon, feature.number("height_m", maximum=100.0, above=True), tau, season)
        )
    elif kind == "lot":
        lots.add_lot(feature)
    elif kind == "building":
        polygon = feature.shape("Polygon")
        storeys = feature.number("storeys", required=False, minimum=1, maximum=300)
        lot_id = feature.text("lot")
        if lot_id is not None:
            lots.wanted.append((len(measures.buildings), lot_id, feature))
        measures.buildings.append(
            Building(
                source,
                polygon,
                feature.number("height_m", maximum=1000.0, above=True),
                None if storeys is None else int(storeys),
                feature.text("usage"),
            )
        )
    elif kind == "remove_building":
        gml_id = feature.text("gml_id")
        if not gml_id:
            raise feature.error("gml_id", "missing (the gml_id of the building to remove)")
        measures.removed.append(RemovedBuilding(source, gml_id))
    elif kind == "street":
        segment_id = feature.text("segment_id")
        line = (
            None
            if segment_id and feature.geometry is None
            else feature.shape("LineString", "MultiLineString")
        )
        width = feature.number("width_m", required=False, maximum=200.0, above=True)
        pedestrian = (
            feature.flag("pedestrian_only", default=False) if "pedestrian_only" in feature.values else None
        )
        if width is None and pedestrian is None:
            raise feature.error("width_m", "a street change needs a new 'width_m' or 'pedestrian_only'")
        measures.streets.append(StreetChange(source, line, segment_id, width, pedestrian))


def tree_row_positions(line: shapely.LineString, spacing_m: float) -> list[tuple[float, float]]:
    """Tree positions along ``line`` (metric CRS): from its start every ``spacing_m``
    metres, the last no further than its end; at least its start."""
    distances = np.arange(0.0, line.length + 1e-9, spacing_m)
    points = shapely.line_interpolate_point(line, distances)
    return [(float(p.x), float(p.y)) for p in points]


def _check_in_crs_area(path: Path, frame, source_crs) -> None:
    """A file whose coordinates lie outside its CRS's area of use has the wrong CRS."""
    if not len(frame) or frame.geometry.isna().all():
        return
    from pyproj import Transformer

    area = source_crs.area_of_use
    if area is None:
        return
    x0, y0, x1, y1 = frame.total_bounds
    if source_crs.is_geographic:
        lon0, lat0, lon1, lat1 = x0, y0, x1, y1
    else:
        to_lonlat = Transformer.from_crs(source_crs, "EPSG:4326", always_xy=True)
        lon, lat = to_lonlat.transform([x0, x1, x0, x1], [y0, y0, y1, y1])
        lon0, lat0, lon1, lat1 = min(lon), min(lat), max(lon), max(lat)
    margin = 1.0  # degrees: a file just over its zone's edge is still right
    inside = (
        np.isfinite([lon0, lat0, lon1, lat1]).all()
        and lon0 >= area.west - margin
        and lon1 <= area.east + margin
        and lat0 >= area.south - margin
        and lat1 <= area.north + margin
    )
    if not inside:
        raise MeasuresError(
            f"{path}: its coordinates (bounds {x0:.6g}, {y0:.6g}, {x1:.6g}, {y1:.6g}) lie outside "
            f"the area of use of its declared CRS {source_crs.to_string()} ({area.name}); the CRS "
            f"is wrong"
        )


def _skip_outside(measures: MeasureSet, area: shapely.Geometry, path: Path) -> None:
    """Move the measures not meeting ``area`` to ``measures.skipped``."""

    def keep(items, geometry_of, kind):
        kept = []
        for item in items:
            geometry = geometry_of(item)
            if geometry is None or geometry.intersects(area):
                kept.append(item)
            else:
                measures.skipped.append(f"{path}: {kind} {item.source} lies outside the run's area; skipped")
        return kept

    total = len(measures)
    measures.trees = keep(measures.trees, lambda t: shapely.Point(t.x, t.y), "tree")
    measures.canopies = keep(measures.canopies, lambda c: c.polygon, "canopy")
    measures.buildings = keep(measures.buildings, lambda b: b.polygon, "building")
    measures.streets = keep(measures.streets, lambda s: s.line, "street")
    if len(measures) == len(measures.removed) and total > len(measures.removed):
        raise MeasuresError(f"{path}: none of its {total} measures lies in the run's area; is its CRS right?")
