"""Bounding volumes: axis-aligned boxes in a tile frame, written as 3D Tiles ``box`` arrays."""

from __future__ import annotations

import numpy as np

# keeps flat content (terrain, a roof plane) from a zero-thickness box and absorbs the
# float32 rounding of the content relative to the float64 bounds computed here
BOX_PADDING_M = 0.01


def box_volume(lo: np.ndarray, hi: np.ndarray, padding: float = BOX_PADDING_M) -> list[float]:
    """3D Tiles ``box`` (centre, then three half-axis vectors) of an axis-aligned box.

    ``lo``/``hi`` are opposite corners in the tile's z-up frame (metres).
    """
    lo = np.asarray(lo, dtype=np.float64) - padding
    hi = np.asarray(hi, dtype=np.float64) + padding
    centre, half = (lo + hi) / 2.0, (hi - lo) / 2.0
    return [float(v) for v in (*centre, half[0], 0, 0, 0, half[1], 0, 0, 0, half[2])]


def box_corners(box: list[float]) -> np.ndarray:
    """The 8 corners (8, 3) of a 3D Tiles ``box``."""
    centre = np.asarray(box[:3])
    axes = np.asarray(box[3:12]).reshape(3, 3)
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)
    return centre + signs @ axes


def points_in_box(points: np.ndarray, box: list[float], tolerance: float = 1e-6) -> np.ndarray:
    """Whether each of ``points`` (N, 3) lies in the oriented ``box`` (same frame)."""
    centre = np.asarray(box[:3])
    axes = np.asarray(box[3:12]).reshape(3, 3)
    lengths = np.linalg.norm(axes, axis=1)
    # coordinates along each half axis, in units of that axis' half length
    safe = np.where(lengths > 0, lengths, 1.0)
    local = (np.asarray(points) - centre) @ (axes / safe[:, None] ** 2).T
    limit = 1.0 + tolerance / np.maximum(safe, 1e-12)
    return np.all(np.abs(local) <= limit, axis=1)


def region_corners(region: list[float]) -> np.ndarray:
    """Corner samples (lon rad, lat rad, h m) of a 3D Tiles ``region``."""
    west, south, east, north, low, high = region
    return np.array([[x, y, z] for x in (west, east) for y in (south, north) for z in (low, high)])


def region_contains(outer: list[float], inner: list[float], tolerance: float = 1e-9) -> bool:
    """Whether ``inner`` region lies within ``outer`` (radians, metres)."""
    return (
        outer[0] - tolerance <= inner[0]
        and inner[2] <= outer[2] + tolerance
        and outer[1] - tolerance <= inner[1]
        and inner[3] <= outer[3] + tolerance
        and outer[4] - 1e-3 <= inner[4]
        and inner[5] <= outer[5] + 1e-3
    )
