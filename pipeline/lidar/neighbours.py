"""Exact k-nearest-neighbour distances of airborne LiDAR points, by a plan grid (numba).

Airborne points lie on a 2.5-D surface, so a square grid in plan (x, y) finds a point's
neighbours in a few cells around it whatever their heights. Points are sorted by cell
(row-major), so a row of neighbouring cells is one contiguous run of points; queries
are taken in the same order, so consecutive queries read the same memory. The square
of cells around a query grows ring by ring: after ring ``r`` every unseen point is at
least ``r * cell`` away in plan, so at least as far in 3-D, and the search stops once
the ``k``-th distance found is no larger.

The distances are exactly those of a k-d tree (``scipy.spatial.cKDTree.query``):
squared differences summed in axis order, then the square root, sorted ascending, the
point itself included; only the order of equal distances may differ, never a value.
"""
from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, inline="always")
def _consider(d, best, found, k):
    """Insert squared distance ``d`` into the ascending ``best[:found]`` (at most ``k``)."""
    if found < k:
        found += 1
    elif d >= best[k - 1]:
        return found
    i = found - 1
    while i > 0 and best[i - 1] > d:
        best[i] = best[i - 1]
        i -= 1
    best[i] = d
    return found


@numba.njit(cache=True, nogil=True)
def _scan(x, y, z, dims, px, py, pz, lo, hi, best, found, k):
    """Consider the points ``lo:hi`` (a run of cells)."""
    worst = best[k - 1] if found == k else np.inf
    for j in range(lo, hi):
        dx = x[j] - px
        dy = y[j] - py
        d = dx * dx + dy * dy
        if dims == 3:
            dz = z[j] - pz
            d = d + dz * dz
        if d < worst or found < k:
            found = _consider(d, best, found, k)
            if found == k:
                worst = best[k - 1]
    return found


@numba.njit(cache=True, nogil=True)
def _knn(x, y, z, dims, queries, k, x0, y0, cell, n_x, n_y, out):
    n = x.size
    n_cells = n_x * n_y
    # points sorted by cell (a counting sort): slot s holds point order[s]
    cell_of = np.empty(n, np.int64)
    start = np.zeros(n_cells + 1, np.int64)
    for i in range(n):
        cx = min(max(int(math.floor((x[i] - x0) / cell)), 0), n_x - 1)
        cy = min(max(int(math.floor((y[i] - y0) / cell)), 0), n_y - 1)
        cell_of[i] = cy * n_x + cx
        start[cell_of[i] + 1] += 1
    for c in range(n_cells):
        start[c + 1] += start[c]
    fill = start[:-1].copy()
    xs, ys, zs = np.empty(n), np.empty(n), np.empty(n)
    slot_cell = np.empty(n, np.int64)
    query_at = np.full(n, -1, np.int64)          # query number of each slot, -1 if none
    slot = np.empty(n, np.int64)
    for i in range(n):
        s = fill[cell_of[i]]
        fill[cell_of[i]] += 1
        slot[i] = s
        xs[s], ys[s], zs[s], slot_cell[s] = x[i], y[i], z[i], cell_of[i]
    for q in range(queries.size):
        query_at[slot[queries[q]]] = q

    best = np.empty(k, np.float64)
    for s in range(n):                           # queries in cell order: memory stays warm
        q = query_at[s]
        if q < 0:
            continue
        px, py, pz = xs[s], ys[s], zs[s]
        c = slot_cell[s]
        cy, cx = c // n_x, c % n_x
        # the point's own cell first (the nearest points, so the k-th distance drops
        # early and most later points are rejected at once), then the rest of the 3 x 3
        found = _scan(xs, ys, zs, dims, px, py, pz, start[c], start[c + 1], best, 0, k)
        for gy in range(max(cy - 1, 0), min(cy + 1, n_y - 1) + 1):
            row = gy * n_x
            if gy == cy:
                found = _scan(xs, ys, zs, dims, px, py, pz, start[row + max(cx - 1, 0)], start[c],
                              best, found, k)
                found = _scan(xs, ys, zs, dims, px, py, pz, start[c + 1],
                              start[row + min(cx + 1, n_x - 1) + 1], best, found, k)
            else:
                found = _scan(xs, ys, zs, dims, px, py, pz, start[row + max(cx - 1, 0)],
                              start[row + min(cx + 1, n_x - 1) + 1], best, found, k)
        ring = 1
        while not (found == k and best[k - 1] <= (ring * cell) ** 2):
            if ring > n_x and ring > n_y:
                break
            ring += 1
            for gy in range(max(cy - ring, 0), min(cy + ring, n_y - 1) + 1):
                row = gy * n_x
                if gy == cy - ring or gy == cy + ring:      # the ring's top and bottom rows
                    found = _scan(xs, ys, zs, dims, px, py, pz, start[row + max(cx - ring, 0)],
                                  start[row + min(cx + ring, n_x - 1) + 1], best, found, k)
                else:                                       # its two sides
                    if cx - ring >= 0:
                        found = _scan(xs, ys, zs, dims, px, py, pz, start[row + cx - ring],
                                      start[row + cx - ring + 1], best, found, k)
                    if cx + ring < n_x:
                        found = _scan(xs, ys, zs, dims, px, py, pz, start[row + cx + ring],
                                      start[row + cx + ring + 1], best, found, k)
        for i in range(k):
            out[q, i] = math.sqrt(best[i]) if i < found else np.inf


def knn_distances(x: np.ndarray, y: np.ndarray, z: np.ndarray, queries: np.ndarray, k: int, *,
                  dims: int = 3) -> np.ndarray:
    """Distances from ``queries`` to their ``k`` nearest points, sorted, the point itself first.

    Parameters
    ----------
    x, y, z : numpy.ndarray
        Candidate points, metres (a local frame keeps the precision; values are used
        as float64).
    queries : numpy.ndarray of int
        Distinct indices (into ``x, y, z``) of the points whose neighbours are wanted.
    k : int
        Neighbours per point, itself included (``k <= x.size``).
    dims : {2, 3}
        3-D distances, or plan distances (x, y only).

    Returns
    -------
    numpy.ndarray of float64, shape ``(len(queries), k)``
    """
    x, y, z = (np.ascontiguousarray(a, dtype=np.float64) for a in (x, y, z))
    queries = np.ascontiguousarray(queries, dtype=np.int64)
    if not 1 <= k <= x.size:
        raise ValueError(f"k must be between 1 and the {x.size} points, got {k}")
    if dims not in (2, 3):
        raise ValueError(f"dims must be 2 or 3, got {dims}")
    out = np.empty((queries.size, k), np.float64)
    if queries.size == 0:
        return out
    x0, y0 = float(x.min()), float(y.min())
    width, height = float(x.max()) - x0 + 1e-9, float(y.max()) - y0 + 1e-9
    # about k points a cell: the k-th neighbour is mostly found in the first 3 x 3 cells
    cell = max(math.sqrt(k * width * height / x.size), 1e-3)
    n_x, n_y = max(1, math.ceil(width / cell)), max(1, math.ceil(height / cell))
    _knn(x, y, z, dims, queries, k, x0, y0, cell, n_x, n_y, out)
    return out
