"""Plain records passed to and returned by the tile writers."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Texture:
    """An image embedded in tile content: PNG or JPEG bytes as read from the source."""

    data: bytes
    mime_type: str = "image/png"

    @property
    def key(self) -> str:
        """Content hash: parts sharing an atlas share one image in the GLB."""
        return hashlib.sha1(self.data).hexdigest()


@dataclass
class MeshPart:
    """Triangles of one appearance (a colour or a texture) belonging to a feature.

    Attributes
    ----------
    vertices : (N, 3) float64
        lon (deg), lat (deg), ellipsoidal height (m) for ``crs="EPSG:4979"``, or ECEF
        X, Y, Z (m) for ``crs="EPSG:4978"``.
    triangles : (M, 3) int
        Vertex indices, counter-clockwise seen from outside.
    normals : (N, 3) float, optional
        Unit vertex normals, in the local east/north/up frame at the part's first vertex
        (EPSG:4979) or in ECEF (EPSG:4978). Without them, flat face normals are computed.
    colors : (N, 3) or (N, 4), optional
        Per-vertex linear RGB(A), uint8 or float in [0, 1].
    uv : (N, 2) float, optional
        Texture coordinates in glTF convention: (0, 0) is the image's top-left corner
        (CityGML's origin is bottom-left: pass ``v = 1 - t``).
    texture : Texture, optional
        Image sampled with ``uv``.
    base_color : (r, g, b) or (r, g, b, a) in [0, 1]
        Material colour (multiplies vertex colours and texture).
    """

    vertices: np.ndarray
    triangles: np.ndarray
    normals: np.ndarray | None = None
    colors: np.ndarray | None = None
    uv: np.ndarray | None = None
    texture: Texture | None = None
    base_color: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)

    def __post_init__(self) -> None:
        self.vertices = np.asarray(self.vertices, dtype=np.float64).reshape(-1, 3)
        self.triangles = np.asarray(self.triangles, dtype=np.int64).reshape(-1, 3)
        if (self.uv is None) != (self.texture is None):
            raise ValueError("a textured part needs both uv and texture")
        for name in ("normals", "colors", "uv"):
            value = getattr(self, name)
            if value is not None and len(value) != len(self.vertices):
                raise ValueError(f"{name} has {len(value)} rows for {len(self.vertices)} vertices")

    @property
    def estimated_bytes(self) -> int:
        """GLB bytes the part will take, textures aside (flat shading triples vertices)."""
        per_vertex = 12 + 12 + 4 + (4 if self.colors is not None else 0) + (8 if self.uv is not None else 0)
        if self.normals is None:
            return 3 * len(self.triangles) * per_vertex
        return len(self.vertices) * per_vertex + 12 * len(self.triangles)


@dataclass
class MeshFeature:
    """One identifiable object (a building, a tree, a terrain patch) and its properties.

    ``class_name`` is the feature kind (``bldg:Building``); features of one kind share a
    metadata class and a property table. ``properties`` values may be str, int, float,
    bool or None (missing).
    """

    id: str
    class_name: str
    parts: list[MeshPart]
    properties: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def single(
        cls,
        id: str,
        class_name: str,
        vertices: np.ndarray,
        triangles: np.ndarray,
        *,
        properties: dict[str, Any] | None = None,
        **part: Any,
    ) -> MeshFeature:
        """A feature made of one :class:`MeshPart` (keyword arguments go to the part)."""
        return cls(id, class_name, [MeshPart(vertices, triangles, **part)], dict(properties or {}))

    @property
    def estimated_bytes(self) -> int:
        return sum(p.estimated_bytes for p in self.parts) + 64


@dataclass
class PointChunk:
    """A block of points as read from a LAS/LAZ file.

    Attributes
    ----------
    xyz : (N, 3) float64
        lon (deg), lat (deg), ellipsoidal height (m) (``crs="EPSG:4979"``) or ECEF metres.
    rgb : (N, 3) uint8, optional
        Colour; without it points are coloured by ASPRS classification.
    classification, intensity, return_number : (N,) arrays, optional
        ASPRS class (uint8), intensity (uint16) and return number (uint8).
    """

    xyz: np.ndarray
    rgb: np.ndarray | None = None
    classification: np.ndarray | None = None
    intensity: np.ndarray | None = None
    return_number: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.xyz = np.asarray(self.xyz, dtype=np.float64).reshape(-1, 3)
        n = len(self.xyz)
        for name in ("rgb", "classification", "intensity", "return_number"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"PointChunk.{name} has {len(value)} rows for {n} points")


@dataclass
class TilesetSummary:
    """What a writer produced."""

    tileset_path: Path
    tile_count: int  # tiles in tileset.json
    content_count: int  # GLB files written
    feature_count: int  # features (or points) written, each exactly once
    bytes_written: int  # GLB bytes
    max_depth: int
    seconds: float
