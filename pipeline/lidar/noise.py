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
    """Statistical outlier removal (Rusu et al. 2008; PDAL ``filters.outlier``).

    For every point, the mean 3-D distance to its ``k`` nearest neighbours; a point is
    an outlier when that mean exceeds ``mean + n_sigma * std`` of all points' means.
    Isolated points (birds, multipath returns in the air or below ground) stand far
    from any neighbour and are caught; points on surfaces are not.

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
        Multiplier of the standard deviation (PDAL's default is 2; 3 removes less).

    Returns
    -------
    ndarray of bool
        True for outliers.
    """
    n = x.shape[0]
    if n <= k:
        return np.zeros(n, dtype=bool)
    mean_distance = np.empty(n, dtype=np.float64)
    x0, y0 = float(x.min()), float(y.min())
    bx = np.floor((x - x0) / block_size_m).astype(np.int32)
    by = np.floor((y - y0) / block_size_m).astype(np.int32)
    n_bx = int(bx.max()) + 1
    block = by.astype(np.int64) * n_bx + bx
    order = np.argsort(block, kind="stable")
    starts = np.searchsorted(block[order], np.unique(block), side="left")
    ends = np.append(starts[1:], n)
    del block
    for start, end in zip(starts, ends):
        members = order[start:end]
        bxi, byi = bx[members[0]], by[members[0]]
        lo_x, lo_y = x0 + bxi * block_size_m - halo_m, y0 + byi * block_size_m - halo_m
        hi_x, hi_y = lo_x + block_size_m + 2 * halo_m, lo_y + block_size_m + 2 * halo_m
        near = np.flatnonzero((x >= lo_x) & (x < hi_x) & (y >= lo_y) & (y < hi_y))
        local = np.column_stack([x[near] - lo_x, y[near] - lo_y, z[near]])
        queries = np.column_stack([x[members] - lo_x, y[members] - lo_y, z[members]])
        kk = min(k + 1, local.shape[0])
        distances, _ = cKDTree(local).query(queries, k=kk)
        # Column 0 is the point itself at distance 0.
        mean_distance[members] = distances[:, 1:].mean(axis=1) if kk > 1 else np.inf
    finite = np.isfinite(mean_distance)
    mu, sigma = mean_distance[finite].mean(), mean_distance[finite].std()
    return ~finite | (mean_distance > mu + n_sigma * sigma)
