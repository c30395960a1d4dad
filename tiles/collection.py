"""A tileset of tilesets: one small root over parts written apart (external tilesets).

A city's layer is written one part at a time (a PLATEAU file, the LiDAR points of one
mesh tile), each part a complete tileset in its own folder, so that no writer ever holds
more than one part. :func:`write_tileset_of_parts` then writes the layer's
``tileset.json``: a root without content whose children each reference one part's
``tileset.json`` as their content, the external tileset mechanism of 3D Tiles. Its size
grows with the number of parts, not with their features.

Each part keeps its own root ``transform`` (its east/north/up frame). An external
tileset's root transform is applied after the referencing tile's, so the root and its
children carry none: their boxes are given in ECEF, oriented along the east/north/up
axes at the centre of the parts (a ``box`` may have any orientation), and a child's box
is exactly its part's root box.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .bounds import box_corners, box_volume
from .geodesy import ecef_to_lonlath, enu_to_ecef_matrix
from .tileset import parent_error, write_tileset_document


def tile_transform(tile: dict[str, Any]) -> np.ndarray:
    """A tile's ``transform`` as a 4x4 matrix (identity when absent; stored column-major)."""
    if "transform" in tile:
        return np.asarray(tile["transform"], dtype=np.float64).reshape(4, 4).T
    return np.eye(4)


def box_in_frame(box: Sequence[float], part_to_world: np.ndarray, frame: np.ndarray) -> list[float]:
    """A 3D Tiles ``box`` given in a part's frame, expressed in ``frame`` (both 4x4 matrices
    to ECEF; the identity for ECEF itself)."""
    relative = np.linalg.inv(frame) @ part_to_world
    centre = relative[:3, :3] @ np.asarray(box[:3], dtype=np.float64) + relative[:3, 3]
    axes = np.asarray(box[3:12], dtype=np.float64).reshape(3, 3) @ relative[:3, :3].T
    return [float(v) for v in (*centre, *axes.reshape(-1))]


def write_tileset_of_parts(
    parts: Sequence[str | Path],
    out_dir: str | Path,
    *,
    error_per_metre: float = 0.1,
    extras: dict[str, Any] | None = None,
) -> Path:
    """Write ``out_dir/tileset.json`` referencing each part's tileset as a child's content.

    Parameters
    ----------
    parts : sequence of path
        The parts' ``tileset.json`` files, inside ``out_dir`` (referenced by relative
        URI). Their order is not used: children are sorted by path, so the same parts
        always give the same file.
    out_dir : path
        The layer's folder.
    error_per_metre : float
        The root's geometric error per metre of its horizontal diagonal (it is kept
        above every part's).
    extras : dict, optional
        ``asset.extras``.

    Returns
    -------
    Path
        The root ``tileset.json``, written atomically.

    Raises
    ------
    ValueError
        If there are no parts, a part lies outside ``out_dir`` or its root has no box.
    """
    out_dir = Path(out_dir)
    paths = sorted(Path(p) for p in parts)
    if not paths:
        raise ValueError(f"{out_dir}: a tileset of parts needs at least one part")
    loaded = []
    for path in paths:
        tileset = json.loads(path.read_text(encoding="utf-8"))
        root = tileset["root"]
        if "box" not in root.get("boundingVolume", {}):
            raise ValueError(f"{path}: the part's root has no box bounding volume")
        uri = Path(os.path.relpath(path, out_dir)).as_posix()
        if uri.startswith("../"):
            raise ValueError(f"{path}: a part must lie inside {out_dir}")
        loaded.append(
            (
                uri,
                root["boundingVolume"]["box"],
                tile_transform(root),
                float(tileset.get("geometricError", root.get("geometricError", 0.0))),
            )
        )

    centres = np.array(
        [(world @ np.append(np.asarray(box[:3], dtype=np.float64), 1.0))[:3] for _, box, world, _ in loaded]
    )
    lon, lat, _ = ecef_to_lonlath(centres.mean(axis=0)[None, :])[0]
    frame = enu_to_ecef_matrix(float(lon), float(lat), 0.0)
    ecef = np.eye(4)
    children, corners = [], []
    for uri, box, world, error in loaded:
        corners.append(box_corners(box_in_frame(box, world, frame)))
        children.append(
            {
                "boundingVolume": {"box": box_in_frame(box, world, ecef)},
                "geometricError": round(error, 3),
                "refine": "ADD",
                "content": {"uri": uri},
            }
        )
    corners = np.concatenate(corners)
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    diagonal = float(np.linalg.norm((hi - lo)[:2]))
    child_max = max(c["geometricError"] for c in children)
    root_error = parent_error(error_per_metre * diagonal, child_max)
    root = {
        "boundingVolume": {"box": box_in_frame(box_volume(lo, hi), frame, ecef)},
        "geometricError": round(root_error, 3),
        "refine": "ADD",
        "children": children,
    }
    return write_tileset_document(root, out_dir, diagonal_m=float(np.linalg.norm(hi - lo)), extras=extras)


def remove_stale_parts(out_dir: str | Path, parts: Sequence[str | Path]) -> list[Path]:
    """Delete part folders under ``out_dir`` (those holding a ``tileset.json``) that are not
    among ``parts``: what a previous run wrote for inputs that are gone. Returns them."""
    import shutil

    out_dir = Path(out_dir)
    keep = {Path(p).resolve().parent for p in parts}
    removed = []
    for tileset in sorted(out_dir.glob("*/tileset.json")):
        folder = tileset.parent.resolve()
        if folder not in keep:
            shutil.rmtree(folder)
            removed.append(folder)
    return removed
