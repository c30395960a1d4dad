"""Noise removal: ASPRS noise classes and statistical outliers (isolated points, birds)."""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

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

    The k-d trees are built per ``block_size_m`` square with a ``halo_m`` margin so
    memory stays bounded per block; a neighbour further than the halo is missed only for
    points already isolated, which are outliers either way.

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
    for members, near, origin in blocks:
        mean_distance[members] = _mean_knn_distance(x, y, z, near, members, origin, k, 3)
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
    for members, near, origin in blocks:
        members = members[wanted[members]]
        if members.size:
            plan_distance[members] = _mean_knn_distance(x, y, z, near, members, origin, k, 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = mean_distance / np.maximum(plan_distance, 1e-3)
    reference = ratio[sample & np.isfinite(ratio)]
    vertical = ratio > reference.mean() + n_sigma * reference.std()
    return far & (vertical | ~finite)


#: Points sampled to estimate the 3-D / 2-D distance ratio statistics.
RATIO_SAMPLE = 100_000


def _blocks(x, y, block_size_m, halo_m):
    """Yield ``(member indices, indices within the halo, local origin)`` per block."""
    x0, y0 = float(x.min()), float(y.min())
    bx = np.floor((x - x0) / block_size_m).astype(np.int64)
    by = np.floor((y - y0) / block_size_m).astype(np.int64)
    block = by * (int(bx.max()) + 1) + bx
    order = np.argsort(block, kind="stable")
    sorted_block = block[order]
    starts = np.flatnonzero(np.r_[True, sorted_block[1:] != sorted_block[:-1]])
    ends = np.r_[starts[1:], x.shape[0]]
    for start, end in zip(starts, ends):
        members = order[start:end]
        lo_x = x0 + bx[members[0]] * block_size_m - halo_m
        lo_y = y0 + by[members[0]] * block_size_m - halo_m
        hi_x, hi_y = lo_x + block_size_m + 2 * halo_m, lo_y + block_size_m + 2 * halo_m
        near = np.flatnonzero((x >= lo_x) & (x < hi_x) & (y >= lo_y) & (y < hi_y))
        yield members, near, (lo_x, lo_y)


def _mean_knn_distance(x, y, z, near, members, origin, k, dims):
    """Mean distance of ``members`` to their k nearest neighbours among ``near``."""
    def coords(idx):
        columns = [x[idx] - origin[0], y[idx] - origin[1], z[idx]][:dims]
        return np.column_stack(columns).astype(np.float64)

    kk = min(k + 1, near.size)
    if kk < 2:
        return np.full(members.size, np.inf)
    distances, _ = cKDTree(coords(near)).query(coords(members), k=kk)
    # Column 0 is the point itself at distance 0.
    return distances[:, 1:].mean(axis=1)
