"""Triangle meshes per tile, stored as Parquet so later stages can read them back.

One row per object, part, LOD, surface type (and texture). Vertices are ``(x, y, z)``
in the run's metric CRS with orthometric heights in metres; ``triangles`` index into
them. Lists are stored flat (``vertices`` has ``3 n`` values) for Arrow efficiency.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tiles.atomic import atomic_path

SCHEMA = pa.schema(
    [
        ("feature_id", pa.string()),
        ("part_id", pa.string()),
        ("feature_type", pa.string()),
        ("lod", pa.int8()),
        ("surface_type", pa.string()),
        ("vertices", pa.list_(pa.float64())),
        ("triangles", pa.list_(pa.int32())),
        ("uv", pa.list_(pa.float32())),
        ("texture_uri", pa.string()),
        ("texture_path", pa.string()),
        ("color", pa.list_(pa.float32())),
    ]
)


@dataclass
class MeshRow:
    """A triangle mesh of one object part at one LOD and surface type."""

    feature_id: str
    part_id: str
    feature_type: str
    lod: int
    surface_type: str
    vertices: np.ndarray  # (n, 3) float64, metric CRS, orthometric z
    triangles: np.ndarray  # (m, 3) int
    uv: np.ndarray | None = None  # (n, 2) float32, NaN where untextured
    texture_uri: str | None = None  # as written in the CityGML file
    texture_path: str | None = None  # dataset member, None when the image is absent
    color: tuple[float, float, float] | None = None
    polygon_ids: list[str] = field(default_factory=list, repr=False)
    polygon_spans: list[tuple[int, int]] = field(default_factory=list, repr=False)


def write_meshes(path: str | Path, rows: list[MeshRow], crs: str) -> Path:
    """Write mesh rows to Parquet atomically; the CRS goes in the file metadata."""
    table = pa.table(
        {
            "feature_id": [r.feature_id for r in rows],
            "part_id": [r.part_id for r in rows],
            "feature_type": [r.feature_type for r in rows],
            "lod": [r.lod for r in rows],
            "surface_type": [r.surface_type for r in rows],
            "vertices": [np.asarray(r.vertices, dtype=np.float64).ravel() for r in rows],
            "triangles": [np.asarray(r.triangles, dtype=np.int32).ravel() for r in rows],
            "uv": [None if r.uv is None else np.asarray(r.uv, np.float32).ravel() for r in rows],
            "texture_uri": [r.texture_uri for r in rows],
            "texture_path": [r.texture_path for r in rows],
            "color": [None if r.color is None else list(r.color) for r in rows],
        },
        schema=SCHEMA,
    )
    table = table.replace_schema_metadata({"machi": json.dumps({"crs": crs, "z": "orthometric"})})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return Path(path)


def read_meshes(path: str | Path, *, lods: set[int] | None = None) -> Iterator[MeshRow]:
    """Yield the mesh rows of a file written by :func:`write_meshes`."""
    table = pq.read_table(path)
    columns = table.to_pydict()
    for i in range(table.num_rows):
        if lods is not None and columns["lod"][i] not in lods:
            continue
        uv = columns["uv"][i]
        color = columns["color"][i]
        yield MeshRow(
            feature_id=columns["feature_id"][i],
            part_id=columns["part_id"][i],
            feature_type=columns["feature_type"][i],
            lod=columns["lod"][i],
            surface_type=columns["surface_type"][i],
            vertices=np.asarray(columns["vertices"][i], dtype=np.float64).reshape(-1, 3),
            triangles=np.asarray(columns["triangles"][i], dtype=np.int64).reshape(-1, 3),
            uv=None if uv is None else np.asarray(uv, np.float32).reshape(-1, 2),
            texture_uri=columns["texture_uri"][i],
            texture_path=columns["texture_path"][i],
            color=None if color is None else tuple(color),
        )


def mesh_crs(path: str | Path) -> str | None:
    metadata = pq.read_schema(path).metadata or {}
    raw = metadata.get(b"machi")
    return json.loads(raw)["crs"] if raw else None
