"""Mesh tile content: features -> one GLB with EXT_mesh_features and EXT_structural_metadata.

Vertices are placed in the tileset's east/north/up frame (``frame``, a 4x4 ENU->ECEF
matrix that is also the root ``tile.transform``), made relative to the tile's own
origin (the root node's translation) so that float32 keeps millimetres, and turned
from z-up to glTF's y-up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .geodesy import ecef_to_enu, ecef_to_lonlath, enu_to_ecef_matrix, to_ecef, z_up_to_y_up
from .gltf import MODE_TRIANGLES, GlbBuilder
from .metadata import IdentifierMap, LayerSchema, build_property_table
from .records import MeshFeature, MeshPart


@dataclass
class ContentResult:
    """A written content file: its ENU bounds in the tileset frame and its size."""

    uri: str
    enu_min: np.ndarray
    enu_max: np.ndarray
    feature_count: int
    byte_length: int


def _flat_normals(positions: np.ndarray) -> np.ndarray:
    """Unit face normals (repeated per corner) of non-indexed triangles (3k, 3) float64."""
    a, b, c = positions[0::3], positions[1::3], positions[2::3]
    normal = np.cross(b - a, c - a)
    length = np.linalg.norm(normal, axis=1, keepdims=True)
    degenerate = length[:, 0] < 1e-12
    normal = np.where(
        degenerate[:, None], [0.0, 0.0, 1.0], normal / np.where(degenerate, 1.0, length[:, 0])[:, None]
    )
    return np.repeat(normal, 3, axis=0)


def _as_rgba8(colors: np.ndarray) -> np.ndarray:
    colors = np.asarray(colors)
    if colors.dtype.kind == "f":
        colors = np.clip(np.round(colors * 255.0), 0, 255)
    colors = colors.astype(np.uint8)
    if colors.shape[1] == 3:
        colors = np.column_stack([colors, np.full(len(colors), 255, np.uint8)])
    return colors


@dataclass
class _Batch:
    """Geometry of one primitive (one class, one appearance) in ENU, before encoding."""

    positions: list[np.ndarray]
    normals: list[np.ndarray]
    colors: list[np.ndarray | None]
    uv: list[np.ndarray | None]
    feature_ids: list[np.ndarray]
    indices: list[np.ndarray | None]
    part: MeshPart  # appearance template


def _part_in_frame(
    feature: MeshFeature, part: MeshPart, enu: np.ndarray, frame: np.ndarray, crs: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """A part's positions, normals, colours, uv in the tileset ENU frame: per corner (no
    indices, normals None: flat shading) or indexed with the given normals."""
    tri = part.triangles
    if tri.size and (tri.min() < 0 or tri.max() >= len(enu)):
        raise ValueError(f"feature {feature.id!r}: triangle index out of range 0..{len(enu) - 1}")
    colors = _as_rgba8(part.colors) if part.colors is not None else None
    uv = np.asarray(part.uv, dtype=np.float32) if part.uv is not None else None
    if part.normals is None:
        corners = tri.reshape(-1)
        positions = enu[corners]
        # flat normals are computed per batch, once, in build_mesh_glb
        return (
            positions,
            None,
            None if colors is None else colors[corners],
            None if uv is None else uv[corners],
            None,
        )
    normals = np.asarray(part.normals, dtype=np.float64)
    if crs == "EPSG:4979":
        local = enu_to_ecef_matrix(*part.vertices[0])[:3, :3]
        normals = normals @ local.T
    normals = normals @ frame[:3, :3]  # ECEF -> tileset ENU (rotation only)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    return enu, normals, colors, uv, tri.reshape(-1)


def build_mesh_glb(
    features: Sequence[MeshFeature],
    frame: np.ndarray,
    crs: str = "EPSG:4979",
    schema: LayerSchema | None = None,
) -> tuple[bytes, np.ndarray, np.ndarray]:
    """Encode features as one GLB.

    Parameters
    ----------
    features : sequence of MeshFeature
    frame : (4, 4) float64
        ENU->ECEF matrix of the tileset frame (the root tile.transform).
    crs : {"EPSG:4979", "EPSG:4978"}
        CRS of the feature vertices.
    schema : LayerSchema, optional
        Property types of the whole layer; without it, of these features.

    Returns
    -------
    glb : bytes
    enu_min, enu_max : (3,) float64
        Axis-aligned bounds of the content in the tileset ENU frame (z-up, metres).
    """
    class_members, batches = _batch_parts(features, frame, crs)
    if not batches:
        raise ValueError("cannot build a tile without geometry")
    enu_min = np.min([np.min(np.concatenate(b.positions), axis=0) for b in batches.values()], axis=0)
    enu_max = np.max([np.max(np.concatenate(b.positions), axis=0) for b in batches.values()], axis=0)
    origin = np.round((enu_min + enu_max) / 2.0, 3)

    gltf = GlbBuilder()
    gltf.use_extension("EXT_mesh_features")
    gltf.use_extension("EXT_structural_metadata")
    class_ids = IdentifierMap()  # one map: class identifiers stay unique within the tile
    schema = schema or LayerSchema.from_features(features)
    tables = {
        name: build_property_table(
            name, [f.id for f in members], [f.properties for f in members], class_ids, schema=schema
        )
        for name, members in class_members.items()
    }
    table_index = {name: i for i, name in enumerate(tables)}
    images: dict[str, int] = {}
    primitives = [
        _primitive(gltf, key, batch, origin, images, table_index[key[0]]) for key, batch in batches.items()
    ]
    _attach_property_tables(gltf, tables)
    gltf.add_root_node(gltf.add_mesh(primitives), translation=z_up_to_y_up(origin[None, :])[0])
    return gltf.to_bytes(), enu_min, enu_max


def _batch_parts(
    features: Sequence[MeshFeature], frame: np.ndarray, crs: str
) -> tuple[dict[str, list[MeshFeature]], dict[tuple, _Batch]]:
    """Features by class, and their parts in the frame grouped into primitives.

    A primitive gathers the parts of one class that share texture, colour and layout.
    """
    # one pyproj call for the whole tile instead of one per part
    all_vertices = [p.vertices for f in features for p in f.parts]
    counts = [len(v) for v in all_vertices]
    enu_all = ecef_to_enu(
        to_ecef(np.concatenate(all_vertices) if all_vertices else np.zeros((0, 3)), crs), frame
    )
    enu_parts = np.split(enu_all, np.cumsum(counts)[:-1]) if counts else []
    class_members: dict[str, list[MeshFeature]] = defaultdict(list)
    batches: dict[tuple, _Batch] = {}
    k = 0
    for feature in features:
        members = class_members[feature.class_name]
        local_id = len(members)
        members.append(feature)
        for part in feature.parts:
            enu = enu_parts[k]
            k += 1
            positions, normals, colors, uv, indices = _part_in_frame(feature, part, enu, frame, crs)
            key = (
                feature.class_name,
                part.texture.key if part.texture else None,
                tuple(part.base_color),
                colors is not None,
                indices is not None,
            )
            batch = batches.get(key)
            if batch is None:
                batch = batches[key] = _Batch([], [], [], [], [], [], part)
            batch.positions.append(positions)
            batch.normals.append(normals)
            batch.colors.append(colors)
            batch.uv.append(uv)
            batch.feature_ids.append(np.full(len(positions), local_id, dtype=np.float32))
            batch.indices.append(indices)
    return class_members, batches


def _primitive(
    gltf: GlbBuilder,
    key: tuple,
    batch: _Batch,
    origin: np.ndarray,
    images: dict[str, int],
    property_table: int,
) -> dict:
    """One glTF primitive of a batch: positions about ``origin``, Y-up, with feature ids."""
    _, texture_key, base_color, _, indexed = key
    positions = np.concatenate(batch.positions)
    attributes = {
        "POSITION": gltf.add_accessor(z_up_to_y_up(positions - origin).astype(np.float32), min_max=True),
        "NORMAL": gltf.add_accessor(
            z_up_to_y_up(np.concatenate(batch.normals) if indexed else _flat_normals(positions)).astype(
                np.float32
            )
        ),
    }
    feature_ids = np.concatenate(batch.feature_ids)
    attributes["_FEATURE_ID_0"] = gltf.add_accessor(feature_ids)
    if batch.colors[0] is not None:
        attributes["COLOR_0"] = gltf.add_accessor(np.concatenate(batch.colors), normalized=True)
    texture = None
    if texture_key is not None:
        attributes["TEXCOORD_0"] = gltf.add_accessor(np.concatenate(batch.uv))
        if texture_key not in images:
            images[texture_key] = gltf.add_image(batch.part.texture.data, batch.part.texture.mime_type)
        texture = gltf.add_texture(images[texture_key])
    primitive = {
        "attributes": attributes,
        "mode": MODE_TRIANGLES,
        "material": gltf.add_material(
            base_color=tuple(base_color) + (1.0,) * (4 - len(base_color)), texture=texture
        ),
        "extensions": {
            "EXT_mesh_features": {
                "featureIds": [
                    {
                        "featureCount": int(len(np.unique(feature_ids))),
                        "attribute": 0,
                        "propertyTable": property_table,
                    }
                ]
            }
        },
    }
    if indexed:
        offsets = np.cumsum([0] + [len(p) for p in batch.positions[:-1]])
        primitive["indices"] = gltf.add_indices(
            np.concatenate([idx + off for idx, off in zip(batch.indices, offsets)])
        )
    return primitive


def _attach_property_tables(gltf: GlbBuilder, tables: dict) -> None:
    """The EXT_structural_metadata schema and one property table per class."""
    schema = {"id": "machi", "classes": {t.class_id: t.class_schema for t in tables.values()}}
    property_tables = [t.to_json(gltf.add_buffer_view) for t in tables.values()]
    for table in property_tables:
        table["name"] = schema["classes"][table["class"]]["name"]
    gltf.gltf["extensions"] = {
        "EXT_structural_metadata": {"schema": schema, "propertyTables": property_tables}
    }


def feature_centroids_enu(features: Sequence[MeshFeature], frame: np.ndarray, crs: str) -> np.ndarray:
    """(F, 3) mean vertex of each feature in the tileset ENU frame (metres)."""
    means = np.array([np.concatenate([p.vertices for p in f.parts]).mean(axis=0) for f in features])
    return ecef_to_enu(to_ecef(means, crs), frame) if len(means) else np.zeros((0, 3))


def frame_for(features: Sequence[MeshFeature], crs: str) -> np.ndarray:
    """ENU->ECEF frame at the centre of the features' vertex bounds, on the ellipsoid."""
    lo = np.min([np.min(p.vertices, axis=0) for f in features for p in f.parts], axis=0)
    hi = np.max([np.max(p.vertices, axis=0) for f in features for p in f.parts], axis=0)
    centre = (lo + hi) / 2.0
    if crs == "EPSG:4978":
        centre = ecef_to_lonlath(centre[None, :])[0]
    return enu_to_ecef_matrix(centre[0], centre[1], 0.0)
