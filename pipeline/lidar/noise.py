"""Noise removal: ASPRS noise classes and statistical outliers (isolated points, birds)."""
from __future__ import annotations

import numpy as np

from pipeline.lidar.neighbours import knn_mean_distances

#: ASPRS classes that mark noise: 7 low point, 18 high noise (LAS 1.4).
NOISE_CLASSES = (7, 18)


def noise_class_mask(classification: np.ndarray) -> np.ndarray:
    """True where the point carries an ASPRS noise class (7 or 18)."""
    return np.isin(classification, NOISE_CLASSES)


def statistical_outlier_mask(x: np.ndarray, y: np.ndarray, z: np.ndarray, *,
                             k: int = 8, n_sigma: float = 3.0, block_size_m: float = 250.0,
                             halo_m: float = 10.0) -> np.ndarray:
    """Isolated points (birds, multipath returns): statistical outlier removal, vertically.

    Statistical outlier removal (Rusu et al. 2008; PDAL ``filters.outlier``) flags a
    point whose mean 3-D distance to its ``k`` nearest neighbours exceeds
    ``mean + n_sigma * std`` over all points. On airborne LiDAR that alone also flags
    ordinary points in sparsely sampled areas (on PDAL's autzen 1.7 % of the points,
    mostly ground at the height of its neighbours). So a point is removed only when it
    is, in addition, isolated *vertically*: the ratio of its 3-D to its 2-D (x, y) mean
    neighbour distance, about 1 on any surface sampled from above, also exceeds
    ``mean + n_sigma * std`` of that ratio. A bird over a street has near neighbours in
    plan (the street) but none in 3-D.

    Neighbours are searched per ``block_size_m`` square with a ``halo_m`` margin so
    memory stays bounded per block; a neighbour further than the halo is missed only for
    points already isolated, which are outliers either way. The search is exact
    (:func:`pipeline.lidar.neighbours.knn_distances`, the distances a k-d tree gives).

    Parameters
    ----------
    x, y, z : ndarray
        Coordinates in metres (a metric CRS; z orthometric).
    k : int
        Neighbours per point (PDAL's default ``mean_k``).
    n_sigma : float
        Multiplier of the standard deviations (PDAL's default is 2; 3 removes less).

    Returns
    -------
    ndarray of bool
        True for outliers.
    """
    n = x.shape[0]
    if n <= k:
        return np.zeros(n, dtype=bool)
    blocks = list(_blocks(x, y, block_size_m, halo_m))

    # Pass 1: 3-D mean neighbour distance of every point (the classic SOR statistic).
    mean_distance = np.empty(n, dtype=np.float64)
    for near, own, origin in blocks:
        mean_distance[near[own]] = _mean_knn_distance(x, y, z, near, own, origin, k, 3)
    finite = np.isfinite(mean_distance)
    far = ~finite | (mean_distance > mean_distance[finite].mean()
                     + n_sigma * mean_distance[finite].std())
    if not far.any():
        return far

    # Pass 2: plan (2-D) distances, only for the far points and a fixed random sample
    # that estimates the ratio's mean and spread (a full second query would double the cost).
    sample = np.zeros(n, dtype=bool)
    sample[np.random.default_rng(0).choice(n, size=min(n, RATIO_SAMPLE), replace=False)] = True
    wanted = far | sample
    plan_distance = np.full(n, np.nan)
    for near, own, origin in blocks:
        own = own[wanted[near[own]]]
        if own.size:
            plan_distance[near[own]] = _mean_knn_distance(x, y, z, near, own, origin, k, 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = mean_distance / np.maximum(plan_distance, 1e-3)
    reference = ratio[sample & np.isfinite(ratio)]
    vertical = ratio > reference.mean() + n_sigma * reference.std()
    return far & (vertical | ~finite)


#: Points sampled to estimate the 3-D / 2-D distance ratio statistics.
RATIO_SAMPLE = 100_000


def _blocks(x, y, block_size_m, halo_m):
    """Yield ``(indices within the halo, positions of the block's own points among them,
    local origin)`` per block; the halo is searched in the blocks it reaches only."""
    x0, y0 = float(x.min()), float(y.min())
    bx = np.floor((x - x0) / block_size_m).astype(np.int64)
    by = np.floor((y - y0) / block_size_m).astype(np.int64)
    n_bx = int(bx.max()) + 1
    block = by * n_bx + bx
    # few blocks: 16-bit keys let numpy's stable sort run as a radix sort
    order = np.argsort(block.astype(np.int16) if block.max() < 2 ** 15 else block, kind="stable")
    sorted_block = block[order]
    starts = np.flatnonzero(np.r_[True, sorted_block[1:] != sorted_block[:-1]])
    ends = np.r_[starts[1:], x.shape[0]]
    runs = {int(sorted_block[s]): (s, e) for s, e in zip(starts, ends)}
    xs, ys = x[order], y[order]          # block by block: each block's points contiguous
    cells = int(np.ceil(halo_m / block_size_m))
    for start in starts:
        b = int(sorted_block[start])
        i, j = b % n_bx, b // n_bx
        lo_x = x0 + i * block_size_m - halo_m
        lo_y = y0 + j * block_size_m - halo_m
        hi_x, hi_y = lo_x + block_size_m + 2 * halo_m, lo_y + block_size_m + 2 * halo_m
        near, own = [], 0
        for dj in range(-cells, cells + 1):
            for di in range(-cells, cells + 1):
                run = runs.get((j + dj) * n_bx + i + di) if 0 <= i + di < n_bx else None
                if run is None:
                    continue
                if di == 0 and dj == 0:      # the block itself lies inside its halo
                    own = sum(len(part) for part in near) + np.arange(run[1] - run[0])
                    near.append(order[run[0]:run[1]])
                    continue
                rx, ry = xs[run[0]:run[1]], ys[run[0]:run[1]]
                keep = np.flatnonzero((rx >= lo_x) & (rx < hi_x) & (ry >= lo_y) & (ry < hi_y))
                near.append(order[run[0] + keep])
        yield np.concatenate(near), own, (lo_x, lo_y)


def _mean_knn_distance(x, y, z, near, own, origin, k, dims):
    """Mean distance of the points ``near[own]`` to their k nearest neighbours among ``near``.

    Coordinates are taken relative to ``origin`` in the points' own dtype, then as
    float64, as a k-d tree over them would see them (the distances are those of
    ``scipy.spatial.cKDTree.query``, see :mod:`pipeline.lidar.neighbours`).
    """
    kk = min(k + 1, near.size)
    if kk < 2:
        return np.full(own.size, np.inf)
    local_x = (x[near] - origin[0]).astype(np.float64)
    local_y = (y[near] - origin[1]).astype(np.float64)
    local_z = z[near].astype(np.float64)
    # the mean over all but the first (the point itself at distance 0), as numpy takes it
    return knn_mean_distances(local_x, local_y, local_z, own, kk, dims=dims)
