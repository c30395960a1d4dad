"""Time-weighted sums of one scenario's steps: mean UTCI, mean Tmrt and hours per UTCI stress class.

A slot's steps are added one at a time (:meth:`SlotAccumulator.add`), so memory is a few
rasters whatever the number of steps. One compiled pass per step adds the weighted UTCI
and Tmrt (float64 sums of float32 products, as ``sum += weight * array`` in numpy) and
adds the step's weight (float32) to the hours of each cell's stress class
(:data:`pipeline.thermal.utci.STRESS_CLASSES`, each class holding its upper bound, NaN in
none: as :func:`pipeline.thermal.utci.stress_class_index`); a class met for the first
time gets its hours raster then, and a second pass fills in that step for it. The sums are those of the per-step
numpy loop they replace, bit for bit when the steps come in the same order
(``tests/pipeline/thermal/test_tile.py``).
"""
from __future__ import annotations

import numba
import numpy as np

from pipeline.thermal.utci import STRESS_CLASSES

#: Upper bounds of every class but the last (°C), in class order.
_UPPER_BOUNDS = np.array([c.upper_c for c in STRESS_CLASSES[:-1]], dtype=np.float64)
#: Cells per parallel work item of the compiled passes.
_CHUNK = 1 << 16


@numba.njit(parallel=True, cache=True, nogil=True)
def _add_step(utci, tmrt, weight, bounds, row_of_class, utci_sum, tmrt_sum, hours, classes, missing):
    """``*_sum += float64(weight * value)``; ``classes`` the class index of each cell (-1:
    NaN); ``hours[row_of_class[class]] += weight``, or, for a class without a row yet,
    ``missing[item, class]`` counts the cells of work item ``item`` in it."""
    n = utci.size
    n_bounds = bounds.size
    for item in numba.prange(missing.shape[0]):
        for i in range(item * _CHUNK, min(n, (item + 1) * _CHUNK)):
            u = utci[i]
            utci_sum[i] += np.float64(weight * u)
            tmrt_sum[i] += np.float64(weight * tmrt[i])
            value = np.float64(u)
            if np.isnan(value):
                classes[i] = -1
                continue
            index = 0
            for b in range(n_bounds):          # bounds ascend: searchsorted(..., side="left")
                if bounds[b] < value:
                    index += 1
            classes[i] = index
            row = row_of_class[index]
            if row >= 0:
                hours[row, i] += weight
            else:
                missing[item, index] += 1


@numba.njit(parallel=True, cache=True, nogil=True)
def _add_hours(classes, row_of_class, weight, hours):
    """``hours[row_of_class[k], i] += weight`` (float32) where cell ``i`` is in class ``k``
    and ``row_of_class[k] >= 0``."""
    for i in numba.prange(classes.size):
        k = classes[i]
        if k >= 0 and row_of_class[k] >= 0:
            hours[row_of_class[k], i] += weight


class SlotAccumulator:
    """The running sums of one scenario's time steps on a window of ``shape`` cells.

    Attributes
    ----------
    utci_sum, tmrt_sum : numpy.ndarray of float64
        Sum over the steps added so far of ``weight_hours * value``, °C h.
    """

    def __init__(self, shape: tuple[int, int]):
        self.shape = tuple(shape)
        self.utci_sum = np.zeros(self.shape, np.float64)
        self.tmrt_sum = np.zeros(self.shape, np.float64)
        self._classes = np.empty(self.shape, np.int8)
        # hours of the classes that occurred, one row each, in order of first occurrence
        self._row_of_class = np.full(len(STRESS_CLASSES), -1, np.int64)
        self._hours = np.zeros((0, self.utci_sum.size), np.float32)

    @property
    def hours(self) -> dict[int, np.ndarray]:
        """Hours (float32, the window's shape) per stress class index (into
        :data:`~pipeline.thermal.utci.STRESS_CLASSES`) that occurred at some step."""
        return {int(k): self._hours[row].reshape(self.shape) for k, row in enumerate(self._row_of_class)
                if row >= 0}

    def add(self, utci_c: np.ndarray, tmrt_c: np.ndarray, weight_hours: float) -> None:
        """Add one step: UTCI and Tmrt (°C, float32, the window's shape) standing for
        ``weight_hours`` hours."""
        utci = np.ascontiguousarray(utci_c, dtype=np.float32).reshape(-1)
        tmrt = np.ascontiguousarray(tmrt_c, dtype=np.float32).reshape(-1)
        if utci.size != self.utci_sum.size or tmrt.size != self.utci_sum.size:
            raise ValueError(f"step arrays of {utci.size} and {tmrt.size} cells for a window of "
                             f"{self.utci_sum.size}")
        weight = np.float32(weight_hours)
        missing = np.zeros((max(1, -(-utci.size // _CHUNK)), len(STRESS_CLASSES)), np.int64)
        classes = self._classes.reshape(-1)
        _add_step(utci, tmrt, weight, _UPPER_BOUNDS, self._row_of_class, self.utci_sum.reshape(-1),
                  self.tmrt_sum.reshape(-1), self._hours, classes, missing)
        new = np.flatnonzero(missing.sum(axis=0))
        if new.size:                    # classes met for the first time: a row each, then their hours
            rows = np.full(len(STRESS_CLASSES), -1, np.int64)
            rows[new] = self._hours.shape[0] + np.arange(new.size)
            self._row_of_class[new] = rows[new]
            self._hours = np.concatenate([self._hours, np.zeros((new.size, utci.size), np.float32)])
            _add_hours(classes, rows, weight, self._hours)
