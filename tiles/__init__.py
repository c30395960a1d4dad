"""OGC 3D Tiles 1.1 writer: meshes or points with per-feature properties -> tileset.json + GLB.

Knows nothing about CityGML or the pipeline: callers hand over plain records.

>>> from tiles import MeshFeature, write_mesh_tileset
>>> summary = write_mesh_tileset(features, "out/buildings", max_features_per_tile=500)
"""

from .geodesy import ecef_to_lonlath, enu_to_ecef_matrix, lonlath_to_ecef
from .metadata import IdentifierMap, sanitize_identifier
from .points import write_point_tileset
from .records import MeshFeature, MeshPart, PointChunk, Texture, TilesetSummary
from .tileset import write_mesh_tileset
from .validate import check_glb_metadata, check_property_types, check_tileset, count_features

__all__ = [
    "MeshFeature",
    "MeshPart",
    "PointChunk",
    "Texture",
    "TilesetSummary",
    "write_mesh_tileset",
    "write_point_tileset",
    "sanitize_identifier",
    "IdentifierMap",
    "lonlath_to_ecef",
    "ecef_to_lonlath",
    "enu_to_ecef_matrix",
    "check_tileset",
    "check_glb_metadata",
    "check_property_types",
    "count_features",
]
