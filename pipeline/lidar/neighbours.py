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
def _scan(xyz, dims, px, py, pz, lo, hi, best, found, k):
    """Consider the points ``lo:hi`` (a run of cells)."""
    worst = best[k - 1] if found == k else np.inf
    for j in range(lo, hi):
        dx = xyz[j, 0] - px
        dy = xyz[j, 1] - py
        d = dx * dx + dy * dy
        if dims == 3:
            dz = xyz[j, 2] - pz
            d = d + dz * dz
        if d < worst or found < k:
            found = _consider(d, best, found, k)
            if found == k:
                worst = best[k - 1]
    return found


@numba.njit(cache=True, nogil=True, inline="always")
def _bound(px, py, x0, y0, cell, cx, cy, ring, n_x, n_y):
    """Plan distance from (px, py) to the edge of the square of cells ``ring`` around its
    cell, no side counted that lies beyond the grid (no point there); a hair less, so
    rounding in the cell of a point can never make the bound too large."""
    b = np.inf
    if cx - ring > 0:
        b = min(b, px - (x0 + (cx - ring) * cell))
    if cx + ring < n_x - 1:
        b = min(b, x0 + (cx + ring + 1) * cell - px)
    if cy - ring > 0:
        b = min(b, py - (y0 + (cy - ring) * cell))
    if cy + ring < n_y - 1:
        b = min(b, y0 + (cy + ring + 1) * cell - py)
    return b - 1e-7 * cell - 1e-9


@numba.njit(cache=True, nogil=True, inline="always")
def _pairwise_mean(best, first, count, r):
    """``numpy.mean`` of the square roots of ``best[first:first + count]`` to the bit (numpy's
    pairwise sum); ``r`` is scratch space of 8."""
    if count < 8:
        res = 0.0
        for i in range(count):
            res += math.sqrt(best[first + i])
    else:
        for j in range(8):
            r[j] = math.sqrt(best[first + j])
        i = 8
        while i < count - count % 8:
            for j in range(8):
                r[j] += math.sqrt(best[first + i + j])
            i += 8
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < count:
            res += math.sqrt(best[first + i])
            i += 1
    return (0.0 + res) / count


@numba.njit(cache=True, nogil=True)
def _knn(x, y, z, dims, queries, k, x0, y0, cell, n_x, n_y, out, mean):
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
    xyz = np.empty((n, 3))                       # interleaved: one scattered write a point
    query_at = np.full(n, -1, np.int64)          # query number of each slot, -1 if none
    slot = np.empty(n, np.int64)
    for i in range(n):
        s = fill[cell_of[i]]
        fill[cell_of[i]] += 1
        slot[i] = s
        xyz[s, 0], xyz[s, 1], xyz[s, 2] = x[i], y[i], z[i]
    for q in range(queries.size):
        query_at[slot[queries[q]]] = q
    # the points of the 3 x 3 cells around a cell, copied together, and their distances
    widest = 0
    for cy in range(n_y):
        for cx in range(n_x):
            m = 0
            for gy in range(max(cy - 1, 0), min(cy + 1, n_y - 1) + 1):
                m += start[gy * n_x + min(cx + 1, n_x - 1) + 1] - start[gy * n_x + max(cx - 1, 0)]
            widest = max(widest, m)
    bx, by, bz = np.empty(widest), np.empty(widest), np.empty(widest)
    dist = np.empty(widest)
    near = np.empty(widest, np.int64)
    best = np.empty(k, np.float64)
    scratch = np.empty(8, np.float64)
    hint = np.inf            # the next query's first guess: the last one's k-th distance, widened
    for c in range(n_cells):
        if start[c + 1] == start[c]:
            continue
        cy, cx = c // n_x, c % n_x
        m = 0
        for gy in range(max(cy - 1, 0), min(cy + 1, n_y - 1) + 1):
            for j in range(start[gy * n_x + max(cx - 1, 0)], start[gy * n_x + min(cx + 1, n_x - 1) + 1]):
                bx[m], by[m], bz[m] = xyz[j, 0], xyz[j, 1], xyz[j, 2]
                m += 1
        for s in range(start[c], start[c + 1]):
            q = query_at[s]
            if q < 0:
                continue
            px, py, pz = xyz[s, 0], xyz[s, 1], xyz[s, 2]
            # squared distances, as a k-d tree sums them: x, then y, then z
            if dims == 3:
                for j in range(m):
                    dx = bx[j] - px
                    dy = by[j] - py
                    dz = bz[j] - pz
                    dist[j] = (dx * dx + dy * dy) + dz * dz
            else:
                for j in range(m):
                    dx = bx[j] - px
                    dy = by[j] - py
                    dist[j] = dx * dx + dy * dy
            # the candidates within a threshold, without a branch: when at least k are,
            # the k nearest are among them, so the threshold only saves work (a guess from
            # the last query's k-th distance, widened until it holds k)
            t = hint
            while True:
                cnt = 0
                for j in range(m):
                    near[cnt] = j
                    cnt += dist[j] <= t
                if cnt >= k or t == np.inf:
                    break
                t = t * 4.0 if t > 0.0 else np.inf
            # the k smallest, sorted: each candidate passes down the k slots by
            # compare-exchange (no branch to mispredict)
            for i in range(k):
                best[i] = np.inf
            for j in range(cnt):
                d = dist[near[j]]
                for i in range(k):
                    b = best[i]
                    best[i] = min(b, d)
                    d = max(b, d)
            found = min(cnt, k)
            ring = 1
            while not (found == k and best[k - 1] <= _bound(px, py, x0, y0, cell, cx, cy, ring,
                                                            n_x, n_y) ** 2):
                if ring > n_x and ring > n_y:
                    break
                ring += 1
                for gy in range(max(cy - ring, 0), min(cy + ring, n_y - 1) + 1):
                    row = gy * n_x
                    if gy == cy - ring or gy == cy + ring:      # the ring's top and bottom rows
                        found = _scan(xyz, dims, px, py, pz, start[row + max(cx - ring, 0)],
                                      start[row + min(cx + ring, n_x - 1) + 1], best, found, k)
                    else:                                       # its two sides
                        if cx - ring >= 0:
                            found = _scan(xyz, dims, px, py, pz, start[row + cx - ring],
                                          start[row + cx - ring + 1], best, found, k)
                        if cx + ring < n_x:
                            found = _scan(xyz, dims, px, py, pz, start[row + cx + ring],
                                          start[row + cx + ring + 1], best, found, k)
            if found == k:
                hint = HINT * best[k - 1]
            if found < k:
                for i in range(found, k):
                    best[i] = np.inf
            if mean:
                out[q, 0] = _pairwise_mean(best, 1, k - 1, scratch)
            else:
                for i in range(k):
                    out[q, i] = math.sqrt(best[i])


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
    return _run(x, y, z, queries, k, dims, mean=False)


def knn_mean_distances(x: np.ndarray, y: np.ndarray, z: np.ndarray, queries: np.ndarray, k: int,
                       *, dims: int = 3) -> np.ndarray:
    """``knn_distances(...)[:, 1:].mean(axis=1)`` to the bit, without the ``(n, k)`` array.

    The mean of the ``k - 1`` neighbours other than the point itself, summed in numpy's
    pairwise order (``k <= 129``; beyond, numpy's own mean of :func:`knn_distances`).
    """
    if k - 1 > 128 or k < 2:
        return knn_distances(x, y, z, queries, k, dims=dims)[:, 1:].mean(axis=1)
    return _run(x, y, z, queries, k, dims, mean=True)[:, 0]


def _run(x, y, z, queries, k, dims, mean):
    x, y, z = (np.ascontiguousarray(a, dtype=np.float64) for a in (x, y, z))
    queries = np.ascontiguousarray(queries, dtype=np.int64)
    if not 1 <= k <= x.size:
        raise ValueError(f"k must be between 1 and the {x.size} points, got {k}")
    if dims not in (2, 3):
        raise ValueError(f"dims must be 2 or 3, got {dims}")
    out = np.empty((queries.size, 1 if mean else k), np.float64)
    if queries.size == 0:
        return out
    x0, y0 = float(x.min()), float(y.min())
    width, height = float(x.max()) - x0 + 1e-9, float(y.max()) - y0 + 1e-9
    # about k points a cell: the k-th neighbour is mostly found in the first 3 x 3 cells
    cell = max(math.sqrt(CELL_POINTS * k * width * height / x.size), 1e-3)
    n_x, n_y = max(1, math.ceil(width / cell)), max(1, math.ceil(height / cell))
    _knn(x, y, z, dims, queries, k, x0, y0, cell, n_x, n_y, out, mean)
    return out


#: The squared k-th distance of the last query times this is the next query's first guess.
HINT = 1.5

#: Points a grid cell holds on average, per neighbour wanted.
CELL_POINTS = 0.7
