"""One-to-one matching of two tree lists, and detection accuracy.

A detected tree matches a reference tree when they are within ``max_distance_m``
horizontally (and, for accuracy, ``max_height_difference_m`` in height): 2 m and 2 m,
the tolerances of the issue that asked for trees (issue 25), close to the 1.5-3 m
tolerances of published benchmarks (e.g. Kaartinen et al. 2012, Eysn et al. 2015).
Candidate pairs are taken nearest first; each tree is used once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree


def match_pairs(
    ax: np.ndarray,
    ay: np.ndarray,
    bx: np.ndarray,
    by: np.ndarray,
    *,
    max_distance_m: float = 2.0,
    a_height: np.ndarray | None = None,
    b_height: np.ndarray | None = None,
    max_height_difference_m: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(i, j)`` of matched pairs of trees of ``a`` and ``b`` (metres).

    Pairs closer than ``max_distance_m`` (and, if given, with heights within
    ``max_height_difference_m``) are taken in order of distance (ties by index), each
    tree at most once: greedy nearest-first matching.
    """
    if len(ax) == 0 or len(bx) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    tree_a = cKDTree(np.column_stack([ax, ay]))
    tree_b = cKDTree(np.column_stack([bx, by]))
    pairs = tree_a.sparse_distance_matrix(tree_b, max_distance_m, output_type="ndarray")
    i, j, d = pairs["i"].astype(np.int64), pairs["j"].astype(np.int64), pairs["v"]
    if max_height_difference_m is not None and a_height is not None and b_height is not None:
        ok = np.abs(np.asarray(a_height)[i] - np.asarray(b_height)[j]) <= max_height_difference_m
        i, j, d = i[ok], j[ok], d[ok]
    order = np.lexsort((j, i, d))
    used_a = np.zeros(len(ax), bool)
    used_b = np.zeros(len(bx), bool)
    keep_i, keep_j = [], []
    for k in order:  # over candidate pairs, a few per tree
        if not used_a[i[k]] and not used_b[j[k]]:
            used_a[i[k]] = used_b[j[k]] = True
            keep_i.append(i[k])
            keep_j.append(j[k])
    return np.asarray(keep_i, np.int64), np.asarray(keep_j, np.int64)


@dataclass(frozen=True)
class Accuracy:
    """Detection accuracy of trees against reference trees."""

    detected: int
    reference: int
    matched: int
    precision: float
    recall: float
    f_score: float
    height_rmse_m: float
    crown_diameter_rmse_m: float
    height_bias_m: float
    crown_diameter_bias_m: float

    def __str__(self) -> str:
        return (
            f"{self.matched} of {self.reference} reference trees matched, {self.detected} "
            f"detected: precision {self.precision:.3f}, recall {self.recall:.3f}, "
            f"F {self.f_score:.3f}; height RMSE {self.height_rmse_m:.2f} m "
            f"(bias {self.height_bias_m:+.2f}), crown diameter RMSE "
            f"{self.crown_diameter_rmse_m:.2f} m (bias {self.crown_diameter_bias_m:+.2f})"
        )


def detection_accuracy(
    detected: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    max_distance_m: float = 2.0,
    max_height_difference_m: float = 2.0,
) -> Accuracy:
    """F-score, height and crown diameter RMSE of ``detected`` against ``reference``.

    Both tables have ``x, y`` (metres, same CRS), ``height_m`` and ``crown_diameter_m``.
    """
    i, j = match_pairs(
        detected.x.to_numpy(float),
        detected.y.to_numpy(float),
        reference.x.to_numpy(float),
        reference.y.to_numpy(float),
        max_distance_m=max_distance_m,
        a_height=detected.height_m.to_numpy(float),
        b_height=reference.height_m.to_numpy(float),
        max_height_difference_m=max_height_difference_m,
    )
    n_det, n_ref, n_match = len(detected), len(reference), len(i)
    precision = n_match / n_det if n_det else 0.0
    recall = n_match / n_ref if n_ref else 0.0
    f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    dh = detected.height_m.to_numpy(float)[i] - reference.height_m.to_numpy(float)[j]
    dc = detected.crown_diameter_m.to_numpy(float)[i] - reference.crown_diameter_m.to_numpy(float)[j]
    dc = dc[np.isfinite(dc)]
    rmse = lambda v: float(np.sqrt(np.mean(v * v))) if v.size else float("nan")  # noqa: E731
    mean = lambda v: float(np.mean(v)) if v.size else float("nan")  # noqa: E731
    return Accuracy(n_det, n_ref, n_match, precision, recall, f, rmse(dh), rmse(dc), mean(dh), mean(dc))
