"""Noise removal: ASPRS noise classes and statistical outliers (isolated points, birds)."""

from __future__ import annotations

import numpy as np

from pipeline.lidar.neighbours import BlockNeighbours

#: ASPRS classes that mark noise: 7 low point, 18 high noise (LAS 1.4).
NOISE_CLASSES = (7, 18)


def noise_class_mask(classification: np.ndarray) -> np.ndarray:
    """True where the point carries an ASPRS noise class (7 or 18)."""
    return np.isin(classification, NOISE_CLASSES)


def statistical_outlier_mask(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    *,
    k: int = 8,
    n_sigma: float = 3.0,
    block_size_m: float = 250.0,
    halo_m: float = 10.0,
) -> np.ndarray:
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

    Neighbours are searched per ``block_size_m`` square with a ``halo_m`` margin (a
    k-d tree per block keeps memory bounded); a neighbour further than the halo is
    missed only for points already isolated, which are outliers either way. The search
    is exact: :class:`pipeline.lidar.neighbours.BlockNeighbours` gives the distances a
    k-d tree over each block's points gives, with one sort of the tile's points.

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
    neighbours = BlockNeighbours(x, y, z, block_size_m=block_size_m, halo_m=halo_m, k=k)

    # Pass 1: 3-D mean neighbour distance of every point (the classic SOR statistic).
    mean_distance = neighbours.mean_distances(dims=3)
    finite = np.isfinite(mean_distance)
    far = ~finite | (mean_distance > mean_distance[finite].mean() + n_sigma * mean_distance[finite].std())
    if not far.any():
        return far

    # Pass 2: plan (2-D) distances, only for the far points and a fixed random sample
    # that estimates the ratio's mean and spread (a full second query would double the cost).
    sample = np.zeros(n, dtype=bool)
    sample[np.random.default_rng(0).choice(n, size=min(n, RATIO_SAMPLE), replace=False)] = True
    plan_distance = neighbours.mean_distances(dims=2, wanted=far | sample)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = mean_distance / np.maximum(plan_distance, 1e-3)
    reference = ratio[sample & np.isfinite(ratio)]
    vertical = ratio > reference.mean() + n_sigma * reference.std()
    return far & (vertical | ~finite)


#: Points sampled to estimate the 3-D / 2-D distance ratio statistics.
RATIO_SAMPLE = 100_000
