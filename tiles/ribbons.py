"""Ground-hugging ribbons: a centre line with a width becomes a strip of triangles.

Streets drawn as 3D Tiles need area, not lines (a line has no pickable width and
CesiumJS draws it one pixel wide). :func:`ribbon_mesh` offsets a polyline by half its
width to both sides, with mitred joins (clamped at sharp turns) and cross-sections at
most ``max_step_m`` apart, so that a caller can give every vertex the height of the
ground beneath it and the strip follows the terrain instead of cutting through it.

Coordinates are plane metres (any projected CRS; x east, y north). Heights are left to
the caller. Knows nothing about streets, CityGML or the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Ribbon:
    """A strip of triangles along a centre line.

    Attributes
    ----------
    xy : (2K, 2) float64
        Vertices in the centre line's CRS (m): left and right edge of each of the K
        cross-sections, interleaved ``[L0, R0, L1, R1, ...]``.
    triangles : (2(K-1), 3) int64
        Vertex indices, counter-clockwise seen from above (normals point up).
    """

    xy: np.ndarray
    triangles: np.ndarray


def densify_line(xy: np.ndarray, max_step_m: float) -> np.ndarray:
    """The polyline ``xy`` (N, 2) with points added so no step exceeds ``max_step_m``.

    Original vertices are kept; repeated consecutive vertices are dropped.
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if max_step_m <= 0:
        raise ValueError(f"max_step_m must be positive, got {max_step_m}")
    if len(xy) > 1:
        keep = np.concatenate([[True], np.any(np.diff(xy, axis=0) != 0.0, axis=1)])
        xy = xy[keep]
    if len(xy) < 2:
        return xy
    steps = np.linalg.norm(np.diff(xy, axis=0), axis=1)
    pieces = np.maximum(np.ceil(steps / max_step_m).astype(np.int64), 1)
    out = [xy[i] + (xy[i + 1] - xy[i]) * (np.arange(n)[:, None] / n) for i, n in enumerate(pieces)]
    return np.vstack(out + [xy[-1:]])


def ribbon_mesh(xy: np.ndarray, width_m: float, *, max_step_m: float = 5.0, max_miter: float = 2.0) -> Ribbon:
    """Triangulate a strip ``width_m`` wide centred on the polyline ``xy``.

    Parameters
    ----------
    xy : (N, 2) array_like
        Centre line vertices (m), N >= 2 distinct points.
    width_m : float
        Full width of the strip (m), > 0.
    max_step_m : float
        Longest distance between consecutive cross-sections (m): the resolution at
        which the caller can drape the strip on terrain.
    max_miter : float
        At a turn, the corner is pushed out by ``half width / cos(half the turn)``,
        capped at ``max_miter`` half widths (so a hairpin does not spike).

    Returns
    -------
    Ribbon

    Raises
    ------
    ValueError
        If the width is not a positive finite number, or the line has fewer than two
        distinct points.
    """
    if not (np.isfinite(width_m) and width_m > 0):
        raise ValueError(f"ribbon width must be a positive number of metres, got {width_m}")
    line = densify_line(xy, max_step_m)
    if len(line) < 2:
        raise ValueError("a ribbon needs a centre line of at least two distinct points")
    half = width_m / 2.0
    direction = np.diff(line, axis=0)
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    left = np.column_stack([-direction[:, 1], direction[:, 0]])  # unit normal to the left of travel
    # per vertex: the mean of the normals of the two adjacent steps (one at the ends)
    before = np.vstack([left[:1], left])
    after = np.vstack([left, left[-1:]])
    mean = before + after
    length = np.linalg.norm(mean, axis=1, keepdims=True)
    reversal = length[:, 0] < 1e-9  # the line turns back on itself: keep the incoming normal
    mean = np.where(reversal[:, None], before, mean / np.where(reversal, 1.0, length[:, 0])[:, None])
    cos_half_turn = np.clip(np.sum(mean * before, axis=1), 1.0 / max_miter, 1.0)
    offset = mean * (half / cos_half_turn)[:, None]
    vertices = np.empty((2 * len(line), 2), dtype=np.float64)
    vertices[0::2] = line + offset
    vertices[1::2] = line - offset
    k = np.arange(len(line) - 1, dtype=np.int64)
    l0, r0, l1, r1 = 2 * k, 2 * k + 1, 2 * k + 2, 2 * k + 3
    triangles = np.empty((2 * len(k), 3), dtype=np.int64)
    triangles[0::2] = np.column_stack([l0, r0, r1])
    triangles[1::2] = np.column_stack([l0, r1, l1])
    return Ribbon(vertices, triangles)
