"""Ingest meshes -> :class:`tiles.MeshFeature` records placed on the ellipsoid.

The ingest wrote triangle meshes in the run's metric CRS with orthometric heights
(:mod:`pipeline.geo.meshes`). 3D Tiles need longitude, latitude and ellipsoidal height, so
each vertex is unprojected to JGD2011 (EPSG:6668, which coincides with WGS84 to well
under a metre and is what CesiumJS assumes) and gains the GSI geoid height at its place.

One feature per city object, at the layer's preferred LOD (LOD2 for buildings, the
finest for the others), one :class:`tiles.MeshPart` per surface type and appearance.
Buildings keep their LOD1 as a coarse stand-in for REPLACE refinement. A terrain TIN
(one ``dem:ReliefFeature`` per file, up to millions of triangles) is cut into square
patches so that tiles stay small.

The 2-D themes (``urf`` planning decisions, ``luse`` land use; EPSG:6668 areas written at
height 0) become flat polygons at the height the data gives them (0 m orthometric, i.e.
mean sea level once the geoid is added, like every layer), every triangle turned to face
up so that they are lit from above. They are not draped on terrain: 3D Tiles has no
clamping, and a classification volume would need the terrain's height range.

Property types are decided once for the layer (:class:`tiles.metadata.LayerSchema`), with
constant units folded into the schema descriptions (:func:`.properties.fold_constant_units`).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pyproj import Transformer

from pipeline.geo.geoid import geoid_height
from pipeline.geo.meshes import MeshRow, mesh_crs, read_meshes
from tiles import MeshFeature, MeshPart
from tiles.metadata import LayerSchema

from .properties import fold_constant_units
from .textures import TextureStore

log = logging.getLogger(__name__)

GEOGRAPHIC_2D = "EPSG:6668"  # JGD2011 lon/lat


@dataclass(frozen=True)
class LayerSpec:
    """How a PLATEAU module becomes tiles."""

    fine_lods: tuple[int, ...]  # preferred LODs, best first
    coarse_lod: int | None = None  # stand-in for REPLACE refinement
    colours: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # by surface type
    max_triangles_per_feature: int | None = None  # cut larger features into patches (terrain)
    face_up: bool = False  # flat areas: every triangle turned to face the sky


DEFAULT_COLOUR = (0.8, 0.8, 0.8)
LAYER_SPECS: dict[str, LayerSpec] = {
    "bldg": LayerSpec(
        (2, 3, 1, 4),
        coarse_lod=1,
        colours={
            "": (0.88, 0.87, 0.84),
            "RoofSurface": (0.70, 0.42, 0.36),
            "WallSurface": (0.90, 0.88, 0.84),
            "GroundSurface": (0.55, 0.55, 0.55),
            "OuterCeilingSurface": (0.80, 0.80, 0.78),
            "OuterFloorSurface": (0.60, 0.60, 0.60),
            "ClosureSurface": (0.85, 0.85, 0.85),
        },
    ),
    "dem": LayerSpec((3, 2, 1, 0), colours={"": (0.62, 0.64, 0.52)}, max_triangles_per_feature=20_000),
    "veg": LayerSpec((3, 2, 1, 4), colours={"": (0.30, 0.58, 0.30)}),
    "tran": LayerSpec(
        (3, 2, 1, 4),
        colours={
            "": (0.45, 0.45, 0.47),
            "TrafficArea": (0.42, 0.42, 0.44),
            "AuxiliaryTrafficArea": (0.66, 0.64, 0.60),
        },
    ),
    "frn": LayerSpec((3, 2, 1, 4), colours={"": (0.62, 0.52, 0.42)}),
    # 2-D themes: flat polygons (LOD1 areas; LOD0 where a file has only that)
    "urf": LayerSpec((1, 0, 2), colours={"": (0.93, 0.62, 0.38)}, face_up=True),
    "luse": LayerSpec((1, 0, 2), colours={"": (0.60, 0.78, 0.45)}, face_up=True),
    # the trees Machi found in the LiDAR (pipeline.trees), a lighter green than PLATEAU's veg
    "veg_lidar": LayerSpec((2, 1), colours={"": (0.55, 0.78, 0.35)}),
}


def layer_spec(layer: str) -> LayerSpec:
    """The spec of a PLATEAU module; unknown modules get the finest LOD in grey."""
    return LAYER_SPECS.get(layer, LayerSpec((4, 3, 2, 1, 0)))


class EllipsoidalProjector:
    """Metric CRS (x, y, orthometric H) -> (lon, lat, ellipsoidal h = H + N).

    Parameters
    ----------
    crs : str
        Source CRS of the vertices, e.g. ``"EPSG:6677"``.
    geoid_model : str
        GSI geoid model (:mod:`pipeline.geo.geoid`).
    """

    def __init__(self, crs: str, geoid_model: str = "gsigeo2011"):
        self.crs, self.geoid_model = crs, geoid_model
        self._transformer = Transformer.from_crs(crs, GEOGRAPHIC_2D, always_xy=True)

    def __call__(self, xyz: np.ndarray) -> np.ndarray:
        xyz = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
        lon, lat = self._transformer.transform(xyz[:, 0], xyz[:, 1])
        lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
        h = xyz[:, 2] + geoid_height(lon, lat, self.geoid_model)
        return np.column_stack([lon, lat, h])


@dataclass
class LayerFeatures:
    """Features of one layer ready for :func:`tiles.write_mesh_tileset`."""

    features: list[MeshFeature]
    coarse: list[MeshFeature] | None
    problems: list[str]
    property_schema: LayerSchema | None = None  # types and units, decided for the layer


def _compact(vertices: np.ndarray, triangles: np.ndarray, *per_vertex: np.ndarray):
    """Keep only the vertices ``triangles`` use, re-indexed."""
    used, inverse = np.unique(triangles.reshape(-1), return_inverse=True)
    return (vertices[used], inverse.reshape(-1, 3).astype(np.int64), *(a[used] for a in per_vertex))


def row_parts(
    row: MeshRow, lonlath: np.ndarray, colour: tuple[float, ...], textures: TextureStore | None
) -> list[MeshPart]:
    """The parts of one mesh row: textured triangles (glTF uv) and the rest in ``colour``.

    Parameters
    ----------
    row : MeshRow
        Its ``uv`` in CityGML convention (origin bottom-left), NaN where untextured.
    lonlath : (N, 3) float64
        The row's vertices as lon, lat (deg), ellipsoidal height (m).
    colour : (r, g, b)
        Material colour of untextured triangles, linear [0, 1].
    """
    triangles = np.asarray(row.triangles, dtype=np.int64).reshape(-1, 3)
    base = tuple(float(c) for c in colour[:3]) + (1.0,)
    texture = None
    if textures is not None and row.uv is not None:
        texture = textures.get(row.texture_path, uri=row.texture_uri, feature_id=row.feature_id)
    if texture is None:
        return [MeshPart(lonlath, triangles, base_color=base)]
    uv = np.asarray(row.uv, dtype=np.float64).reshape(-1, 2)
    textured = np.isfinite(uv[triangles]).all(axis=(1, 2))
    parts = []
    if textured.any():
        vertices, tris, st = _compact(lonlath, triangles[textured], uv)
        gltf_uv = np.column_stack([st[:, 0], 1.0 - st[:, 1]])  # CityGML t up, glTF v down
        parts.append(MeshPart(vertices, tris, uv=gltf_uv, texture=texture))
    if (~textured).any():
        vertices, tris = _compact(lonlath, triangles[~textured])
        parts.append(MeshPart(vertices, tris, base_color=base))
    return parts


def _patches(
    feature_id: str, rows: list[MeshRow], lonlath: list[np.ndarray], max_triangles: int
) -> list[tuple[str, list[MeshRow], list[np.ndarray]]]:
    """Cut a large feature into square patches of about ``max_triangles`` (by triangle
    centroid in the metric CRS); each patch keeps whole triangles."""
    total = sum(len(r.triangles) for r in rows)
    if total <= max_triangles:
        return [(feature_id, rows, lonlath)]
    centroids = np.concatenate([r.vertices[r.triangles].mean(axis=1)[:, :2] for r in rows])
    lo, hi = centroids.min(axis=0), centroids.max(axis=0)
    cells_per_side = int(np.ceil(np.sqrt(total / max_triangles)))
    size = max(float((hi - lo).max()) / cells_per_side, 1e-6) * (1 + 1e-9)
    patches: dict[tuple[int, int], tuple[list[MeshRow], list[np.ndarray]]] = defaultdict(lambda: ([], []))
    start = 0
    for row, vertices in zip(rows, lonlath):
        cell = np.floor((centroids[start : start + len(row.triangles)] - lo) / size).astype(np.int64)
        start += len(row.triangles)
        keys = cell[:, 0] * 1_000_003 + cell[:, 1]
        for key in np.unique(keys):
            mask = keys == key
            ij = (int(key // 1_000_003), int(key % 1_000_003))
            used, inverse = np.unique(row.triangles[mask].reshape(-1), return_inverse=True)
            piece = MeshRow(
                row.feature_id,
                row.part_id,
                row.feature_type,
                row.lod,
                row.surface_type,
                row.vertices[used],
                inverse.reshape(-1, 3),
                color=row.color,
            )
            patches[ij][0].append(piece)
            patches[ij][1].append(vertices[used])
    return [
        (f"{feature_id}_{i}_{j}", p_rows, p_lonlath)
        for (i, j), (p_rows, p_lonlath) in sorted(patches.items())
    ]


def feature_classes(layer: str, mesh_path: str | Path) -> list[tuple[str, str]]:
    """(gml_id, class name) of each feature a mesh file exports, in the order
    :func:`layer_features` builds them; reads the id, type and LOD columns only."""
    import pyarrow.parquet as pq

    spec = layer_spec(layer)
    table = pq.read_table(mesh_path, columns=["feature_id", "feature_type", "lod"]).to_pydict()
    lods: dict[str, dict[int, str]] = {}
    for feature_id, feature_type, lod in zip(table["feature_id"], table["feature_type"], table["lod"]):
        lods.setdefault(feature_id, {}).setdefault(lod, feature_type)
    classes = []
    for feature_id, by_lod in lods.items():
        fine_lod = next((lod for lod in spec.fine_lods if lod in by_lod), max(by_lod))
        classes.append((feature_id, by_lod[fine_lod]))
    return classes


def layer_features(
    layer: str,
    mesh_paths: Sequence[str | Path],
    properties: dict[str, dict[str, Any]],
    *,
    geoid_model: str = "gsigeo2011",
    crs: str | None = None,
    textures: TextureStore | None = None,
    schema: LayerSchema | None = None,
) -> LayerFeatures:
    """Build the tile features of one layer from its ingest mesh files.

    Parameters
    ----------
    layer : str
        PLATEAU module (``bldg``, ``dem``, ``veg``, ``tran``, ``frn``, ...).
    mesh_paths : sequence of path
        ``<mesh>_<module>_mesh.parquet`` files written by the ingest.
    properties : dict
        gml_id -> property row (:mod:`.properties`); objects without a row get
        their ``gml_id`` only.
    geoid_model : str
        GSI geoid model added to the orthometric heights.
    crs : str, optional
        CRS of the meshes when a file does not record it.
    textures : TextureStore, optional
        Where texture images come from; None exports material colours only.
    schema : LayerSchema, optional
        The layer's schema when ``mesh_paths`` are a part of it
        (:mod:`.layer_schema`); else decided here from these features, with constant
        units folded.
    """
    started = time.perf_counter()
    spec = layer_spec(layer)
    units = fold_constant_units(properties) if schema is None else {}
    projectors: dict[str, EllipsoidalProjector] = {}
    features: list[MeshFeature] = []
    coarse: list[MeshFeature | None] = []
    rows_seen = 0
    for path in mesh_paths:
        file_crs = mesh_crs(path) or crs
        if file_crs is None:
            raise ValueError(f"{path}: mesh file records no CRS; pass crs=")
        project = projectors.get(file_crs) or projectors.setdefault(
            file_crs, EllipsoidalProjector(file_crs, geoid_model)
        )
        rows = list(read_meshes(path))
        if spec.face_up:
            rows = [face_up(row) for row in rows]
        rows_seen += len(rows)
        if not rows:
            continue
        counts = [len(r.vertices) for r in rows]
        lonlath_all = project(np.concatenate([r.vertices for r in rows]))
        lonlath_rows = np.split(lonlath_all, np.cumsum(counts)[:-1])
        by_feature: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
        for i, row in enumerate(rows):
            by_feature[row.feature_id][row.lod].append(i)
        for feature_id, lods in by_feature.items():
            fine_lod = next((lod for lod in spec.fine_lods if lod in lods), max(lods))
            members = lods[fine_lod]
            class_name = rows[members[0]].feature_type
            props = properties.get(feature_id) or {"gml_id": feature_id}
            pieces = [(feature_id, [rows[i] for i in members], [lonlath_rows[i] for i in members])]
            if spec.max_triangles_per_feature:
                pieces = _patches(feature_id, *pieces[0][1:], spec.max_triangles_per_feature)
            for piece_id, piece_rows, piece_lonlath in pieces:
                parts = [
                    part
                    for row, lonlath in zip(piece_rows, piece_lonlath)
                    for part in row_parts(row, lonlath, _colour(spec, row), textures)
                ]
                features.append(MeshFeature(piece_id, class_name, parts, dict(props)))
                stand_in = None
                if spec.coarse_lod is not None and spec.coarse_lod in lods and spec.coarse_lod != fine_lod:
                    coarse_rows = lods[spec.coarse_lod]
                    stand_in = MeshFeature(
                        piece_id,
                        class_name,
                        [
                            part
                            for i in coarse_rows
                            for part in row_parts(rows[i], lonlath_rows[i], _colour(spec, rows[i]), None)
                        ],
                        dict(props),
                    )
                coarse.append(stand_in)
    # REPLACE refinement needs a stand-in for every feature: the feature itself where
    # it has no coarser LOD; without any coarser LOD at all, tiles refine by ADD.
    coarse_features = None
    if any(c is not None for c in coarse):
        coarse_features = [c if c is not None else f for f, c in zip(features, coarse)]
    problems = list(textures.problems) if textures is not None else []
    if schema is None:
        schema = LayerSchema.from_features([*features, *(coarse_features or [])], descriptions=units)
    log.info(
        "%s: %d feature(s) from %d mesh row(s) in %d file(s)%s in %.2f s",
        layer,
        len(features),
        rows_seen,
        len(mesh_paths),
        ", with LOD1 stand-ins" if coarse_features else "",
        time.perf_counter() - started,
    )
    return LayerFeatures(features, coarse_features, problems, schema)


def face_up(row: MeshRow) -> MeshRow:
    """The row with every triangle wound counter-clockwise seen from above (normal up).

    Vertices are in a metric CRS (x east, y north), so the sign of the 2-D cross product
    is the winding.
    """
    triangles = np.asarray(row.triangles, dtype=np.int64).reshape(-1, 3)
    xy = np.asarray(row.vertices, dtype=np.float64)[:, :2]
    a, b, c = xy[triangles[:, 0]], xy[triangles[:, 1]], xy[triangles[:, 2]]
    down = ((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0]) < 0
    if down.any():
        triangles = triangles.copy()
        triangles[down] = triangles[down][:, [0, 2, 1]]
        row.triangles = triangles
    return row


def _colour(spec: LayerSpec, row: MeshRow) -> tuple[float, ...]:
    if row.color is not None:  # the data's own X3DMaterial diffuse colour
        return tuple(row.color)
    return spec.colours.get(row.surface_type, spec.colours.get("", DEFAULT_COLOUR))
