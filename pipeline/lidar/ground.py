"""Which points are ground, and which are vegetation.

Classified LiDAR (every Japanese survey delivery, and most public data) carries ASPRS
classes; they are used as delivered. Unclassified points are split with the cloth
simulation filter (Zhang et al. 2016, ``cloth-simulation-filter`` on PyPI): a cloth
dropped on the inverted cloud settles on the terrain; points near it are ground. Its
parameters are the authors' defaults for urban scenes, not tuned to any data set.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

ASPRS_GROUND = 2
ASPRS_VEGETATION = (3, 4, 5)
ASPRS_BUILDING = 6


@dataclass(frozen=True)
class ClothParameters:
    """Cloth simulation filter settings (defaults: CSF authors' values for flat urban terrain).

    ``cloth_resolution_m`` is the cloth grid spacing; ``rigidness`` 3 suits flat cities
    (1 steep slopes, 2 relief); ``class_threshold_m`` is the distance to the cloth under
    which a point is ground; ``slope_smoothing`` post-processes steep slopes.
    """

    cloth_resolution_m: float = 1.0
    rigidness: int = 3
    class_threshold_m: float = 0.5
    time_step: float = 0.65
    iterations: int = 500
    slope_smoothing: bool = False


def has_ground_classes(classification: np.ndarray) -> bool:
    """True when the points carry an ASPRS classification with ground (class 2)."""
    return bool(np.any(classification == ASPRS_GROUND))


def has_object_classes(classification: np.ndarray) -> bool:
    """True when vegetation (3-5) or building (6) classes are present."""
    return bool(np.any(np.isin(classification, (*ASPRS_VEGETATION, ASPRS_BUILDING))))


def ground_mask_csf(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, params: ClothParameters = ClothParameters()
) -> np.ndarray:
    """Ground points by the cloth simulation filter.

    Parameters
    ----------
    x, y, z : ndarray
        Metres in a metric CRS, z up (orthometric).

    Returns
    -------
    ndarray of bool
        True for ground.
    """
    import CSF  # cloth-simulation-filter

    n = x.shape[0]
    mask = np.zeros(n, dtype=bool)
    if n == 0:
        return mask
    started = time.perf_counter()
    # Local coordinates keep precision inside CSF (large plane-rectangular offsets).
    xyz = np.column_stack([x - x.min(), y - y.min(), z]).astype(np.float64)
    csf = CSF.CSF()
    csf.params.cloth_resolution = params.cloth_resolution_m
    csf.params.rigidness = params.rigidness
    csf.params.class_threshold = params.class_threshold_m
    csf.params.time_step = params.time_step
    csf.params.interations = params.iterations  # (sic) the library's spelling
    csf.params.bSloopSmooth = params.slope_smoothing
    csf.setPointCloud(xyz)
    ground, off_ground = CSF.VecInt(), CSF.VecInt()
    csf.do_filtering(ground, off_ground, False)  # False: do not write cloth nodes to cwd
    mask[np.asarray(ground, dtype=np.int64)] = True
    log.info("CSF: %d of %d points ground in %.2f s", int(mask.sum()), n, time.perf_counter() - started)
    return mask


def vegetation_mask(
    classification: np.ndarray, number_of_returns: np.ndarray, ground: np.ndarray, *, classes_available: bool
) -> np.ndarray:
    """Vegetation returns.

    With ASPRS object classes: classes 3-5. Without them (unclassified data, or data
    classified only into ground/unclassified): non-ground returns of pulses with several
    returns. A laser pulse splits in foliage but not on roofs, so multiple returns mark
    penetrable canopy; building roofs return once (their edges may return twice, which
    adds a thin canopy fringe at roof edges).
    """
    if classes_available:
        return np.isin(classification, ASPRS_VEGETATION)
    return ~ground & (number_of_returns > 1)
