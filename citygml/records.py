"""Plain records produced by the reader.

Coordinates are float64 arrays of shape ``(n, 3)`` ordered ``(x, y, z)``. As read from a
PLATEAU file that is ``(longitude, latitude, orthometric height in metres)`` in
EPSG:6697: the reader swaps GML's latitude-first axis order once, at parse time, so that
every consumer can hand the arrays to pyproj with ``always_xy=True``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(slots=True)
class Polygon:
    """A planar polygon: one exterior ring and zero or more interior rings.

    Rings are closed (first vertex repeated last). ``surface_type`` is the thematic
    surface the polygon bounds (``RoofSurface``, ``WallSurface``, ``GroundSurface``,
    ``TrafficArea``, ...) or None.
    """

    exterior: np.ndarray
    interiors: list[np.ndarray] = field(default_factory=list)
    gml_id: str | None = None
    ring_ids: list[str | None] = field(default_factory=list)
    surface_type: str | None = None

    @property
    def rings(self) -> list[np.ndarray]:
        return [self.exterior, *self.interiors]


@dataclass(slots=True)
class Geometry:
    """One geometry property of a feature, e.g. ``lod2Solid`` or ``lod0FootPrint``.

    ``kind`` is the GML type of the top-level geometry (``Solid``, ``MultiSurface``,
    ``CompositeSurface``, ``TriangulatedSurface``, ``Polygon``, ``MultiCurve``).
    ``lines`` holds curve geometry (road centre lines). ``unresolved`` counts
    ``xlink:href`` references that point outside the feature.
    """

    lod: int
    property_name: str
    kind: str
    polygons: list[Polygon]
    gml_id: str | None = None
    unresolved: int = 0
    lines: list[np.ndarray] = field(default_factory=list)

    def vertices(self) -> np.ndarray:
        """All ring vertices stacked, ``(n, 3)``."""
        rings = [r for p in self.polygons for r in p.rings] + list(self.lines)
        return np.concatenate(rings) if rings else np.empty((0, 3))


@dataclass
class CityObject:
    """A city object: a building, tree, road, TIN relief, piece of furniture, ...

    ``feature_type`` is the qualified name (``bldg:Building``), ``module`` its prefix
    (``bldg``). ``attributes`` keeps values as read: thematic attributes under their
    CityGML name, code values as the raw code with the label under ``<name>_label``
    when a codelist resolved it, measures with ``<name>_uom``, generic attributes under
    ``gen:<name>``, i-UR attribute groups under ``uro:<group>`` as a list of dicts.
    """

    gml_id: str
    feature_type: str
    module: str
    attributes: dict[str, Any] = field(default_factory=dict)
    geometries: list[Geometry] = field(default_factory=list)
    parts: list[CityObject] = field(default_factory=list)
    parent_id: str | None = None
    name: str | None = None
    source: str | None = None
    line: int | None = None

    @property
    def lods(self) -> list[int]:
        """Levels of detail present on this object or its parts, ascending."""
        lods = {g.lod for g in self.geometries if g.polygons or g.lines}
        for part in self.parts:
            lods.update(part.lods)
        return sorted(lods)

    def has_geometry(self) -> bool:
        """True when this object or one of its parts has a polygon or a curve."""
        return any(g.polygons or g.lines for g in self.geometries) or any(
            part.has_geometry() for part in self.parts
        )

    def geometries_at(self, lod: int, include_parts: bool = True) -> list[Geometry]:
        found = [g for g in self.geometries if g.lod == lod]
        if include_parts:
            for part in self.parts:
                found.extend(part.geometries_at(lod))
        return found

    def polygons(self, lod: int, include_parts: bool = True) -> list[Polygon]:
        return [p for g in self.geometries_at(lod, include_parts) for p in g.polygons]

    def all_vertices(self) -> np.ndarray:
        arrays = [g.vertices() for g in self.geometries]
        arrays += [p.all_vertices() for p in self.parts]
        arrays = [a for a in arrays if len(a)]
        return np.concatenate(arrays) if arrays else np.empty((0, 3))


@dataclass
class Texture:
    """An ``app:ParameterizedTexture``: image and texture coordinates per target ring.

    ``targets`` maps a polygon ``gml:id`` to ``{ring gml:id: (n, 2) float array}``.
    ``image_path`` is the resolved path inside the dataset, or None when the image is
    absent or was refused.
    """

    image_uri: str
    mime_type: str | None
    targets: dict[str, dict[str, np.ndarray]]
    theme: str | None = None
    gml_id: str | None = None
    image_path: str | None = None


@dataclass
class Material:
    """An ``app:X3DMaterial`` and the polygon ids it targets. Colours are RGB in 0..1."""

    diffuse_color: tuple[float, float, float] | None
    targets: list[str]
    transparency: float | None = None
    ambient_intensity: float | None = None
    specular_color: tuple[float, float, float] | None = None
    emissive_color: tuple[float, float, float] | None = None
    shininess: float | None = None
    theme: str | None = None
    gml_id: str | None = None


@dataclass
class Appearance:
    """The textures and materials of one file (or feature), indexed by target polygon."""

    textures: list[Texture] = field(default_factory=list)
    materials: list[Material] = field(default_factory=list)

    def extend(self, other: Appearance) -> None:
        self.textures.extend(other.textures)
        self.materials.extend(other.materials)

    def texture_index(self) -> dict[str, Texture]:
        return {pid: t for t in self.textures for pid in t.targets}

    def material_index(self) -> dict[str, Material]:
        return {pid: m for m in self.materials for pid in m.targets}
