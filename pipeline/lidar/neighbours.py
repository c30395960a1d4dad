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


#: The squared k-th distance of the last query times this is the next query's first guess.
HINT = 1.5

#: Points a grid cell holds on average, per neighbour wanted.
CELL_POINTS = 0.7


# ----------------------------------------------------------------- blocks with a halo, fused
#
# The outlier filter asks for the k nearest neighbours of every point among the points of
# its square *block* and of a halo around it (memory per block stays bounded in a
# k-d tree implementation; a neighbour beyond the halo is missed only for isolated
# points). The functions below give exactly the distances of that per-block search (the
# distances a k-d tree over each block's points gives, in the block's own local frame),
# with one cell grid for the whole tile: points are sorted once, each query reads its
# neighbours in the global grid and converts them to its block's frame on the fly, and
# only a query whose search reaches beyond its block's halo box tests membership point by
# point.


@numba.njit(cache=True, nogil=True)
def _block_of(xv, yv, bx0, by0, bsize_x, bsize_y, n_bx):
    """Block number of a point: ``floor((x - x0) / size)`` in the coordinates' own dtype
    (as numpy computes it on the array), row-major."""
    i = int(math.floor((xv - bx0) / bsize_x))
    j = int(math.floor((yv - by0) / bsize_y))
    return j * n_bx + i


@numba.njit(cache=True, nogil=True)
def _sort_by_cell(x, y, z, x0, y0, cell, n_x, n_y, bx0, by0, bsize_x, bsize_y, n_bx):
    """Sort the points by plan cell (row-major; within a cell, in input order).

    Returns ``start`` (the slots of cell ``c`` are ``start[c]:start[c + 1]``), ``order``
    (the point in each slot), the sorted x, y, z (input dtypes) and each slot's block.
    A least-significant-digit radix sort of (cell, point) pairs, 11 bits a pass: its
    writes go to 2048 sequential streams, where a one-pass counting sort by cell would
    scatter every point across the whole tile (a cache miss each on unsorted files).
    """
    n = x.size
    n_cells = n_x * n_y
    key = np.empty(n, np.uint32)
    start = np.zeros(n_cells + 1, np.int64)
    for i in range(n):
        cx = min(max(int(math.floor((x[i] - x0) / cell)), 0), n_x - 1)
        cy = min(max(int(math.floor((y[i] - y0) / cell)), 0), n_y - 1)
        key[i] = cy * n_x + cx
        start[cy * n_x + cx + 1] += 1
    for c in range(n_cells):
        start[c + 1] += start[c]
    order = np.arange(n).astype(np.uint32)
    key2, order2 = np.empty(n, np.uint32), np.empty(n, np.uint32)
    count = np.empty(2049, np.int64)
    shift = 0
    while shift == 0 or (n_cells - 1) >> shift > 0:
        count[:] = 0
        for i in range(n):
            count[((key[i] >> shift) & 2047) + 1] += 1
        for d in range(2048):
            count[d + 1] += count[d]
        for i in range(n):
            d = (key[i] >> shift) & 2047
            s = count[d]
            count[d] = s + 1
            key2[s] = key[i]
            order2[s] = order[i]
        key, key2 = key2, key
        order, order2 = order2, order
        shift += 11
    xs, ys, zs = np.empty(n, x.dtype), np.empty(n, y.dtype), np.empty(n, z.dtype)
    for s in range(n):
        i = order[s]
        xs[s], ys[s], zs[s] = x[i], y[i], z[i]
    block = np.empty(n, np.int32)
    for s in range(n):  # a loop of its own: with the gather above, twice as slow
        block[s] = _block_of(xs[s], ys[s], bx0, by0, bsize_x, bsize_y, n_bx)
    return start, order.astype(np.int64), xs, ys, zs, block


@numba.njit(cache=True, nogil=True)
def _block_sizes(x, y, block, n_blocks, n_bx, lo_x, hi_x, lo_y, hi_y):
    """Points each block searches: its own plus those of the 8 blocks around it that lie
    in its halo box (``lo <= x < hi`` in the coordinates' dtype)."""
    size = np.zeros(n_blocks, np.int64)
    n_by = n_blocks // n_bx
    for p in range(x.size):
        b = block[p]
        i, j = b % n_bx, b // n_bx
        size[b] += 1
        for dj in range(-1, 2):
            for di in range(-1, 2):
                ii, jj = i + di, j + dj
                if (di == 0 and dj == 0) or ii < 0 or ii >= n_bx or jj < 0 or jj >= n_by:
                    continue
                if lo_x[ii] <= x[p] < hi_x[ii] and lo_y[jj] <= y[p] < hi_y[jj]:
                    size[jj * n_bx + ii] += 1
    return size


@numba.njit(cache=True, nogil=True, inline="always")
def _member(xv, yv, b, own_block, lox, hix, loy, hiy):
    """Whether a point of block ``own_block`` is searched by block ``b``."""
    return own_block == b or (lox <= xv < hix and loy <= yv < hiy)


@numba.njit(cache=True, nogil=True, inline="always")
def _inside_box(x0, y0, cell, cx, cy, ring, lo_x, hi_x, lo_y, hi_y, margin):
    """Whether the square of cells ``ring`` around (cx, cy) lies inside the box (float64
    edges shrunk by ``margin``): every point in it is then searched by the block."""
    return (
        x0 + (cx - ring) * cell >= lo_x + margin
        and x0 + (cx + ring + 1) * cell <= hi_x - margin
        and y0 + (cy - ring) * cell >= lo_y + margin
        and y0 + (cy + ring + 1) * cell <= hi_y - margin
    )


@numba.njit(cache=True, nogil=True)
def _scan_block(xs, ys, zs, block, check, b, lox, hix, loy, hiy, dims, px, py, pz, lo, hi, best, found, k):
    """Consider the slots ``lo:hi`` (a run of cells) in block ``b``'s frame (origin
    ``lox, loy``), members of the block only when ``check``."""
    worst = best[k - 1] if found == k else np.inf
    for j in range(lo, hi):
        xv, yv = xs[j], ys[j]
        if check and not _member(xv, yv, b, block[j], lox, hix, loy, hiy):
            continue
        dx = np.float64(xv - lox) - px
        dy = np.float64(yv - loy) - py
        d = dx * dx + dy * dy
        if dims == 3:
            dz = np.float64(zs[j]) - pz
            d = d + dz * dz
        if d < worst or found < k:
            found = _consider(d, best, found, k)
            if found == k:
                worst = best[k - 1]
    return found


@numba.njit(cache=True, nogil=True, inline="always")
def _smallest9(dist, near, cnt, best):
    """The 9 smallest of ``dist[near[:cnt]]`` sorted into ``best`` (inf when fewer): the
    compare-exchange chain of the general loop with its 9 slots in registers (9 = the
    outlier filter's 8 neighbours and the point itself; a third faster than an array)."""
    b0 = b1 = b2 = b3 = b4 = b5 = b6 = b7 = b8 = np.inf
    for q in range(cnt):
        d = dist[near[q]]
        v = b0
        b0 = min(v, d)
        d = max(v, d)  # noqa: E702
        v = b1
        b1 = min(v, d)
        d = max(v, d)  # noqa: E702
        v = b2
        b2 = min(v, d)
        d = max(v, d)  # noqa: E702
        v = b3
        b3 = min(v, d)
        d = max(v, d)  # noqa: E702
        v = b4
        b4 = min(v, d)
        d = max(v, d)  # noqa: E702
        v = b5
        b5 = min(v, d)
        d = max(v, d)  # noqa: E702
        v = b6
        b6 = min(v, d)
        d = max(v, d)  # noqa: E702
        v = b7
        b7 = min(v, d)
        d = max(v, d)  # noqa: E702
        b8 = min(b8, d)
    best[0], best[1], best[2], best[3], best[4] = b0, b1, b2, b3, b4
    best[5], best[6], best[7], best[8] = b5, b6, b7, b8


@numba.njit(cache=True, nogil=True)
def _block_knn(
    xs,
    ys,
    zs,
    block,
    start,
    want,
    x0,
    y0,
    cell,
    n_x,
    n_y,
    n_bx,
    lo_x,
    hi_x,
    lo_y,
    hi_y,
    lo_x64,
    hi_x64,
    lo_y64,
    hi_y64,
    kk_of,
    dims,
    margin,
    box_margin,
    out,
):
    """Mean distance of every wanted slot's point to its ``kk_of[block] - 1`` nearest
    neighbours among its block's points (see :class:`BlockNeighbours`), into ``out[slot]``;
    ``want`` is per slot too."""
    n_cells = n_x * n_y
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
    k_max = 1
    for b in range(kk_of.size):
        k_max = max(k_max, kk_of[b])
    best = np.empty(k_max, np.float64)
    scratch = np.empty(8, np.float64)
    blocks = np.empty(4, np.int64)
    hint = np.inf
    for c in range(n_cells):
        s0, s1 = start[c], start[c + 1]
        if s0 == s1:
            continue
        # the blocks of the cell's queries (a cell is smaller than a block: at most 4)
        n_blocks = 0
        for s in range(s0, s1):
            if not want[s]:
                continue
            seen = False
            for t in range(n_blocks):
                seen = seen or blocks[t] == block[s]
            if not seen:
                blocks[n_blocks] = block[s]
                n_blocks += 1
        cy, cx = c // n_x, c % n_x
        for t in range(n_blocks):
            b = blocks[t]
            k = kk_of[b]
            if k < 2:
                for s in range(s0, s1):
                    if block[s] == b and want[s]:
                        out[s] = np.inf
                continue
            i, j = b % n_bx, b // n_bx
            lox, hix, loy, hiy = lo_x[i], hi_x[i], lo_y[j], hi_y[j]
            check = not _inside_box(
                x0, y0, cell, cx, cy, 1, lo_x64[i], hi_x64[i], lo_y64[j], hi_y64[j], box_margin
            )
            # the block's points among the 3 x 3 cells around, in the block's frame
            m = 0
            for gy in range(max(cy - 1, 0), min(cy + 1, n_y - 1) + 1):
                for q in range(start[gy * n_x + max(cx - 1, 0)], start[gy * n_x + min(cx + 1, n_x - 1) + 1]):
                    xv, yv = xs[q], ys[q]
                    if check and not _member(xv, yv, b, block[q], lox, hix, loy, hiy):
                        continue
                    bx[m] = np.float64(xv - lox)
                    by[m] = np.float64(yv - loy)
                    bz[m] = np.float64(zs[q])
                    m += 1
            for s in range(s0, s1):
                if block[s] != b or not want[s]:
                    continue
                px = np.float64(xs[s] - lox)
                py = np.float64(ys[s] - loy)
                pz = np.float64(zs[s])
                rx, ry = np.float64(xs[s]), np.float64(ys[s])  # the grid's frame
                if dims == 3:
                    for q in range(m):
                        dx = bx[q] - px
                        dy = by[q] - py
                        dz = bz[q] - pz
                        dist[q] = (dx * dx + dy * dy) + dz * dz
                else:
                    for q in range(m):
                        dx = bx[q] - px
                        dy = by[q] - py
                        dist[q] = dx * dx + dy * dy
                th = hint
                while True:
                    cnt = 0
                    for q in range(m):
                        near[cnt] = q
                        cnt += dist[q] <= th
                    if cnt >= k or th == np.inf:
                        break
                    th = th * 4.0 if th > 0.0 else np.inf
                if k == 9:
                    _smallest9(dist, near, cnt, best)
                else:
                    for q in range(k):
                        best[q] = np.inf
                    for q in range(cnt):
                        d = dist[near[q]]
                        for r in range(k):
                            v = best[r]
                            best[r] = min(v, d)
                            d = max(v, d)
                found = min(cnt, k)
                ring = 1
                while not (
                    found == k
                    and best[k - 1]
                    <= max(_bound(rx, ry, x0, y0, cell, cx, cy, ring, n_x, n_y) - margin, 0.0) ** 2
                ):
                    if ring > n_x and ring > n_y:
                        break
                    ring += 1
                    check = not _inside_box(
                        x0, y0, cell, cx, cy, ring, lo_x64[i], hi_x64[i], lo_y64[j], hi_y64[j], box_margin
                    )
                    for gy in range(max(cy - ring, 0), min(cy + ring, n_y - 1) + 1):
                        row = gy * n_x
                        if gy == cy - ring or gy == cy + ring:
                            found = _scan_block(
                                xs,
                                ys,
                                zs,
                                block,
                                check,
                                b,
                                lox,
                                hix,
                                loy,
                                hiy,
                                dims,
                                px,
                                py,
                                pz,
                                start[row + max(cx - ring, 0)],
                                start[row + min(cx + ring, n_x - 1) + 1],
                                best,
                                found,
                                k,
                            )
                        else:
                            if cx - ring >= 0:
                                found = _scan_block(
                                    xs,
                                    ys,
                                    zs,
                                    block,
                                    check,
                                    b,
                                    lox,
                                    hix,
                                    loy,
                                    hiy,
                                    dims,
                                    px,
                                    py,
                                    pz,
                                    start[row + cx - ring],
                                    start[row + cx - ring + 1],
                                    best,
                                    found,
                                    k,
                                )
                            if cx + ring < n_x:
                                found = _scan_block(
                                    xs,
                                    ys,
                                    zs,
                                    block,
                                    check,
                                    b,
                                    lox,
                                    hix,
                                    loy,
                                    hiy,
                                    dims,
                                    px,
                                    py,
                                    pz,
                                    start[row + cx + ring],
                                    start[row + cx + ring + 1],
                                    best,
                                    found,
                                    k,
                                )
                if found == k:
                    hint = HINT * best[k - 1]
                for q in range(found, k):
                    best[q] = np.inf
                out[s] = _pairwise_mean(best, 1, k - 1, scratch)


class BlockNeighbours:
    """The points of a tile sorted once by plan cell, for exact per-block k-NN queries.

    A point's neighbours are searched among the points of its ``block_size_m`` square
    block (blocks counted from ``(x.min(), y.min())``) and those of the neighbouring
    blocks inside the block's halo box, ``halo_m`` wider on each side; coordinates are
    taken relative to the box's south-west corner in the points' own dtype, then as
    float64. :meth:`mean_distances` gives, to the bit, what a k-d tree
    (``scipy.spatial.cKDTree``) over each block's points in that frame gives, averaged
    in numpy's order: the same numbers as cutting the tile into blocks, but the points
    are sorted once, no block's points are copied, and both passes of the outlier filter
    share the sort.

    Parameters
    ----------
    x, y, z : numpy.ndarray
        Coordinates in metres (float32 arithmetic is kept for float32 input; any other
        dtype is used as float64).
    block_size_m, halo_m : float
        Block side and halo width, metres (``halo_m < block_size_m``).
    k : int
        Neighbours per point the grid is sized for (the point itself excluded).
    """

    def __init__(
        self, x: np.ndarray, y: np.ndarray, z: np.ndarray, *, block_size_m: float, halo_m: float, k: int
    ):
        if not 0 <= halo_m < block_size_m:
            raise ValueError(f"halo_m must be in [0, block_size_m), got {halo_m}")
        x, y, z = (
            np.ascontiguousarray(a, dtype=a.dtype if a.dtype == np.float32 else np.float64) for a in (x, y, z)
        )
        self.n = n = x.size
        if n == 0:
            raise ValueError("no points")
        self.k = k
        x0, y0 = float(x.min()), float(y.min())
        x1, y1 = float(x.max()), float(y.max())
        xt, yt = x.dtype.type, y.dtype.type
        self._block_origin = (xt(x0), yt(y0), xt(block_size_m), yt(block_size_m))
        # blocks as numpy numbers them: floor((x - x0) / size), monotone in x
        n_bx = int(np.floor((xt(x1) - xt(x0)) / xt(block_size_m))) + 1
        n_by = int(np.floor((yt(y1) - yt(y0)) / yt(block_size_m))) + 1
        self.n_bx, self.n_blocks = n_bx, n_bx * n_by
        lo_x = [x0 + i * block_size_m - halo_m for i in range(n_bx)]
        lo_y = [y0 + j * block_size_m - halo_m for j in range(n_by)]
        hi_x = [lo + block_size_m + 2 * halo_m for lo in lo_x]
        hi_y = [lo + block_size_m + 2 * halo_m for lo in lo_y]
        self._boxes64 = tuple(np.array(v, np.float64) for v in (lo_x, hi_x, lo_y, hi_y))
        self._boxes = (
            np.array(lo_x).astype(x.dtype),
            np.array(hi_x).astype(x.dtype),
            np.array(lo_y).astype(y.dtype),
            np.array(hi_y).astype(y.dtype),
        )
        width, height = x1 - x0 + 1e-9, y1 - y0 + 1e-9
        cell = max(math.sqrt(CELL_POINTS * (k + 1) * width * height / n), 1e-3)
        n_x, n_y = max(1, math.ceil(width / cell)), max(1, math.ceil(height / cell))
        self._grid = (x0, y0, cell, n_x, n_y)
        # a neighbour's offset in a block's frame differs from its offset in the grid's by
        # at most an ulp of the frame's coordinates per axis
        extent = max(width, height) + 2 * halo_m + 1.0
        ulp = max(float(np.spacing(x.dtype.type(extent))), float(np.spacing(y.dtype.type(extent))))
        self._margin = 2.0 * ulp
        biggest = max(abs(x0), abs(x1), abs(y0), abs(y1)) + block_size_m + 2 * halo_m
        self._box_margin = (
            4.0 * max(float(np.spacing(x.dtype.type(biggest))), float(np.spacing(y.dtype.type(biggest))))
            + 1e-6
        )
        (self._start, self._order, self._xs, self._ys, self._zs, self._block) = _sort_by_cell(
            x, y, z, x0, y0, cell, n_x, n_y, *self._block_origin, n_bx
        )
        self._sizes = None
        own = np.bincount(self._block, minlength=self.n_blocks)
        if ((own > 0) & (own < k + 1)).any():  # a small block: count its halo too
            self._sizes = _block_sizes(self._xs, self._ys, self._block, self.n_blocks, n_bx, *self._boxes)
        else:
            self._sizes = own

    def mean_distances(self, dims: int = 3, wanted: np.ndarray | None = None) -> np.ndarray:
        """Mean distance of each point to its ``k`` nearest neighbours in its block, metres.

        ``dims`` 3 (x, y, z) or 2 (plan); ``wanted`` (bool per point) limits the queries,
        NaN elsewhere. A point whose block holds no other point gets inf; a block of
        ``m <= k`` points gives means over its ``m - 1`` others.
        """
        if dims not in (2, 3):
            raise ValueError(f"dims must be 2 or 3, got {dims}")
        if self.k > 128:
            raise ValueError(f"k must be at most 128, got {self.k}")
        kk = np.minimum(self.k + 1, self._sizes).astype(np.int64)
        if wanted is None:
            want, by_slot = np.ones(self.n, bool), np.empty(self.n, np.float64)
        else:
            want, by_slot = np.asarray(wanted, dtype=bool)[self._order], np.full(self.n, np.nan)
        x0, y0, cell, n_x, n_y = self._grid
        _block_knn(
            self._xs,
            self._ys,
            self._zs,
            self._block,
            self._start,
            want,
            x0,
            y0,
            cell,
            n_x,
            n_y,
            self.n_bx,
            *self._boxes,
            *self._boxes64,
            kk,
            dims,
            self._margin,
            self._box_margin,
            by_slot,
        )
        # in the kernel, this scatter (a cache miss a point) would stall it: twice as slow
        out = np.empty(self.n, np.float64)
        out[self._order] = by_slot
        return out
