"""Ingest stage: one CityGML file in, GeoParquet tables and triangle meshes out.

For each file (a PLATEAU file is one mesh tile of one feature type) the stage writes,
under ``<output>/ingest/<module>/`` (``<mesh>_<module>[_<variant>]``, the variant being what
the PLATEAU file name adds, e.g. ``yoto`` for ``533915_urf_6668_yoto_op.gml``):

- ``<mesh>_<module>.parquet``: GeoParquet, one row per top-level city object, with its
  2-D footprint in the run's metric CRS (the polygons themselves for the 2-D themes
  ``urf``, ``luse`` and ``lsld``, whose heights are then unknown: NaN), ``height_m`` (``measuredHeight``, else derived
  from LOD1, else LOD2 geometry; ``height_source`` says which), ``ground_elevation_m``,
  the LODs present and every attribute flattened (:mod:`citygml.attributes`);
- ``<mesh>_<module>_mesh.parquet``: triangle meshes, one row per object, part, LOD,
  surface type and texture image, in the same CRS with orthometric heights (see
  :mod:`pipeline.geo.meshes`).

Heights stay orthometric (metres above Tokyo Bay mean sea level) throughout analysis.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from citygml import CityObject, FileReader, Polygon, triangulate_polygon
from citygml.attributes import flatten_attributes
from citygml.codelists import CodeListResolver
from citygml.geometry import newell_normal
from citygml.records import Appearance
from citygml.source import Source
from pipeline.geo.meshes import MeshRow, write_meshes
from tiles.atomic import atomic_path

log = logging.getLogger(__name__)

GEOGRAPHIC_2D = "EPSG:6668"  # JGD2011; PLATEAU's EPSG:6697 adds orthometric height
#: Modules whose features are areas on the map (planning decisions, land use, sediment
#: disaster areas): EPSG:6668 in the specification, written with height 0 when 3-D.
PLANAR_MODULES = frozenset({"urf", "luse"})


@dataclass
class IngestResult:
    """What ingesting one file produced."""

    source: str
    feature_type: str | None
    mesh_code: str | None
    features: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    table: str | None = None
    meshes: str | None = None
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # e.g. labels from the shipped code lists
    bound_prefixes: dict[str, str] = field(default_factory=dict)  # undeclared prefix -> URI read

    def to_record(self) -> dict:
        """The manifest record: outputs by name, counts, problems and notes."""
        return {
            "outputs": {"table": self.table, "meshes": self.meshes},
            "feature_type": self.feature_type,
            "mesh_code": self.mesh_code,
            "features": self.features,
            "counts": self.counts,
            "problems": self.problems,
            "notes": self.notes,
            "bound_prefixes": self.bound_prefixes,
        }


def ingest_file(
    source: Source, out_dir: str | Path, crs: str, *, bbox: tuple[float, float, float, float] | None = None
) -> IngestResult:
    """Read one CityGML file and write its GeoParquet table and meshes.

    Parameters
    ----------
    source : citygml.Source
        The file to read.
    out_dir : path
        Folder receiving ``<module>/<mesh>_<module>[_mesh].parquet``.
    crs : str
        Metric target CRS, e.g. ``"EPSG:6677"`` (JGD2011 plane rectangular IX).
    bbox : tuple, optional
        ``(lon_min, lat_min, lon_max, lat_max)``: keep only features intersecting it.
    """
    start = time.perf_counter()
    reader = FileReader(source, bbox=bbox, codelists=CodeListResolver())
    projector = Projector(crs)
    rows, meshes = [], []
    counts: dict[str, int] = defaultdict(int)
    for obj in reader:
        counts[obj.feature_type] += 1
        rows.append(feature_row(obj, projector, source))
        meshes.extend(feature_meshes(obj, projector))
    attach_textures(meshes, reader.appearance)
    module = source.feature_type or (next(iter(counts)).split(":")[0] if counts else "unknown")
    stem = f"{source.mesh_code or Path(source.file_name).stem}_{module}"
    if source.mesh_code and source.variant:  # several files of one mesh (urf: yoto, kodo, ...)
        stem += f"_{source.variant}"
    folder = Path(out_dir) / module
    result = IngestResult(
        source=source.name,
        feature_type=module,
        mesh_code=source.mesh_code,
        features=len(rows),
        counts=dict(counts),
        problems=[str(p) for p in reader.problems],
        notes=[str(p) for p in reader.notes],
        bound_prefixes=dict(reader.summary.bound_prefixes),
    )
    table = rows_to_frame(rows, crs)
    result.table = str(folder / f"{stem}.parquet")
    with atomic_path(result.table) as tmp:
        table.to_parquet(tmp, index=False)
    result.meshes = str(write_meshes(folder / f"{stem}_mesh.parquet", meshes, crs))
    result.seconds = time.perf_counter() - start
    log.info(
        "ingest %s: %d features, %d mesh rows -> %s (%.2f s)",
        source.name,
        len(rows),
        len(meshes),
        folder,
        result.seconds,
    )
    return result


class Projector:
    """JGD2011 (lon, lat, h) -> metric CRS (x, y, h); heights pass through unchanged."""

    def __init__(self, crs: str):
        self.crs = crs
        self._transformer = Transformer.from_crs(GEOGRAPHIC_2D, crs, always_xy=True)

    def __call__(self, points: np.ndarray) -> np.ndarray:
        x, y = self._transformer.transform(points[:, 0], points[:, 1])
        return np.column_stack([x, y, points[:, 2]])

    def __reduce__(self):
        return (Projector, (self.crs,))


# -- rows --------------------------------------------------------------------------
def feature_row(obj: CityObject, project: Projector, source: Source) -> dict:
    """The table row of one city object: identity, heights, LODs, footprint, attributes."""
    attributes = dict(obj.attributes)
    for part in obj.parts:  # a building without its own height takes its parts'
        for key in ("measuredHeight", "storeysAboveGround", "usage", "usage_label"):
            if key not in attributes and key in part.attributes:
                attributes[key] = part.attributes[key]
    row = {
        "gml_id": obj.gml_id,
        "feature_type": obj.feature_type,
        "source_file": source.file_name,
        "mesh_code": source.mesh_code,
        "lods": ",".join(str(lod) for lod in obj.lods),
        "max_lod": max(obj.lods) if obj.lods else -1,
        "part_count": len(obj.parts),
    }
    for lod in range(5):
        row[f"has_lod{lod}"] = lod in obj.lods
    row.update(heights(obj, attributes))
    if obj.module in PLANAR_MODULES and _is_planar(obj):
        for key in ("ground_elevation_m", "lod1_height_m", "lod2_height_m"):
            row[key] = np.nan  # an area on the map has no height; 0 would read as sea level
    flat = flatten_attributes(attributes)
    for key, value in flat.items():
        row.setdefault(key, value)
    row["geometry"] = footprint(obj, project)
    return row


def heights(obj: CityObject, attributes: dict) -> dict:
    """Height above ground (m) with its source, ground elevation and LOD-derived heights.

    ``measuredHeight`` wins when present. Otherwise the LOD1 solid's vertical extent is
    used, then LOD2's; vegetation uses ``height``/``averageHeight``.
    """
    result = {
        "height_m": np.nan,
        "height_source": None,
        "ground_elevation_m": np.nan,
        "lod1_height_m": np.nan,
        "lod2_height_m": np.nan,
    }
    for lod in (1, 2):
        z = _z_values(obj, lod)
        if len(z):
            result[f"lod{lod}_height_m"] = float(z.max() - z.min())
            if np.isnan(result["ground_elevation_m"]):
                result["ground_elevation_m"] = float(z.min())
    if np.isnan(result["ground_elevation_m"]):
        vertices = obj.all_vertices()
        if len(vertices):
            result["ground_elevation_m"] = float(vertices[:, 2].min())
    for key in ("measuredHeight", "height", "averageHeight"):
        value = attributes.get(key)
        if isinstance(value, (int, float)) and value > 0:
            result["height_m"], result["height_source"] = float(value), key
            return result
    for lod in (1, 2, 3):
        value = result.get(f"lod{lod}_height_m", np.nan)
        if lod == 3:
            z = _z_values(obj, 3)
            value = float(z.max() - z.min()) if len(z) else np.nan
        if not np.isnan(value) and value > 0:
            result["height_m"], result["height_source"] = value, f"lod{lod}"
            return result
    return result


def _is_planar(obj: CityObject) -> bool:
    """True when every vertex has height 0: a 2-D feature written with 3-D coordinates."""
    vertices = obj.all_vertices()
    return not len(vertices) or bool(np.all(vertices[:, 2] == 0.0))


def _z_values(obj: CityObject, lod: int) -> np.ndarray:
    arrays = [p.exterior[:, 2] for p in obj.polygons(lod)]
    return np.concatenate(arrays) if arrays else np.empty(0)


def footprint(obj: CityObject, project: Projector):
    """2-D footprint in the metric CRS: LOD0, else the horizontal faces of LOD1/2/3."""
    candidates: list[Polygon] = []
    for lod in (0, 1, 2, 3, 4):
        polygons = obj.polygons(lod)
        if lod == 0 and polygons:
            candidates = polygons
            break
        horizontal = [p for p in polygons if _is_horizontal(p)]
        if horizontal:
            candidates = horizontal
            break
    shapes = []
    for polygon in candidates:
        rings = [project(ring)[:, :2] for ring in polygon.rings]
        shape = shapely.Polygon(rings[0], rings[1:])
        if not shape.is_valid:
            shape = shapely.make_valid(shape)
        if shape.area > 0:
            shapes.append(shape)
    if not shapes:
        lines = [project(line)[:, :2] for g in obj.geometries for line in g.lines]
        if lines:
            return shapely.MultiLineString(lines)
        vertices = obj.all_vertices()
        if len(vertices) >= 3:
            return shapely.convex_hull(shapely.MultiPoint(project(vertices)[:, :2]))
        return None
    merged = shapely.union_all(shapes)
    return shapely.make_valid(merged) if not merged.is_valid else merged


def _is_horizontal(polygon: Polygon) -> bool:
    normal = newell_normal(polygon.exterior)
    length = np.linalg.norm(normal)
    # Lon/lat/h mixes degrees and metres; compare only against the vertical component
    # after scaling degrees to metres roughly (1e5 m per degree is enough to classify).
    scaled = normal * np.array([1e5, 1e5, 1e10])
    return length > 0 and abs(scaled[2]) > 0.5 * np.linalg.norm(scaled)


def rows_to_frame(rows: list[dict], crs: str) -> gpd.GeoDataFrame:
    """A GeoDataFrame from feature rows, with every column of one Arrow-writable type."""
    frame = pd.DataFrame(rows) if rows else pd.DataFrame({"gml_id": [], "geometry": []})
    for column in frame.columns:
        if column == "geometry" or frame[column].dtype != object:
            continue
        kinds = {type(v) for v in frame[column] if v is not None and v == v}
        if len(kinds) > 1 and not kinds <= {int, float}:
            frame[column] = frame[column].map(lambda v: None if v is None or v != v else str(v))
        elif kinds <= {int, float} and kinds:
            frame[column] = pd.to_numeric(frame[column])
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=crs)


# -- meshes ------------------------------------------------------------------------
def feature_meshes(obj: CityObject, project: Projector) -> list[MeshRow]:
    """Triangle meshes of an object and its parts, one row per LOD and surface type.

    Polygons shared between a solid and its thematic surfaces (PLATEAU's xlinks) are
    triangulated once.
    """
    rows: list[MeshRow] = []
    for part in [obj, *_all_parts(obj)]:
        by_lod: dict[int, dict[int, Polygon]] = defaultdict(dict)
        for geometry in part.geometries:
            if geometry.lod == 0:
                continue
            for polygon in geometry.polygons:
                by_lod[geometry.lod].setdefault(id(polygon), polygon)
        for lod, polygons in by_lod.items():
            groups: dict[str | None, list[Polygon]] = defaultdict(list)
            for polygon in polygons.values():
                groups[polygon.surface_type].append(polygon)
            for surface_type, members in groups.items():
                row = _triangulate(members, project)
                if row is None:
                    continue
                vertices, triangles, polygon_ids, spans = row
                rows.append(
                    MeshRow(
                        feature_id=obj.gml_id,
                        part_id=part.gml_id,
                        feature_type=obj.feature_type,
                        lod=lod,
                        surface_type=surface_type or "",
                        vertices=vertices,
                        triangles=triangles,
                        polygon_ids=polygon_ids,
                        polygon_spans=spans,
                    )
                )
    return rows


def _all_parts(obj: CityObject) -> list[CityObject]:
    found = []
    for part in obj.parts:
        found.append(part)
        found.extend(_all_parts(part))
    return found


def _triangulate(polygons: list[Polygon], project: Projector):
    vertices, triangles, ids, spans = [], [], [], []
    offset = 0
    for polygon in polygons:
        rings = [project(r) for r in polygon.rings]
        if len(rings) == 1 and len(rings[0]) == 4:  # already a triangle (TINs, LOD3)
            v, t = rings[0][:3], np.array([[0, 1, 2]], dtype=np.uint32)
        else:
            v, t = triangulate_polygon(rings)
        if not len(t):
            continue
        vertices.append(v)
        triangles.append(t.astype(np.int64) + offset)
        ids.append(polygon.gml_id or "")
        spans.append((offset, offset + len(v)))
        offset += len(v)
    if not vertices:
        return None
    return np.concatenate(vertices), np.concatenate(triangles), ids, spans


def attach_textures(rows: list[MeshRow], appearance: Appearance) -> None:
    """Give mesh rows the texture image and per-vertex UVs their polygons target."""
    if not appearance.textures and not appearance.materials:
        return
    textures = appearance.texture_index()
    materials = appearance.material_index()
    for row in rows:
        uv = np.full((len(row.vertices), 2), np.nan, dtype=np.float32)
        image = None
        for polygon_id, (begin, end) in zip(row.polygon_ids, row.polygon_spans):
            texture = textures.get(polygon_id)
            if texture is not None:
                coords = [c[:-1] if len(c) > 1 else c for c in texture.targets[polygon_id].values()]
                flat = np.concatenate(coords) if coords else np.empty((0, 2))
                if len(flat) == end - begin and (image is None or image == texture.image_uri):
                    uv[begin:end] = flat
                    image = texture.image_uri
                    row.texture_path = texture.image_path
            material = materials.get(polygon_id)
            if material is not None and material.diffuse_color is not None:
                row.color = material.diffuse_color
        if image is not None:
            row.uv = uv
            row.texture_uri = image
