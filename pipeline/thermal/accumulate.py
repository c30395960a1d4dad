"""Time-weighted sums of one scenario's steps: mean UTCI, mean Tmrt and hours per UTCI stress class.

A slot's steps are added one at a time (:meth:`SlotAccumulator.add`), so memory is a few
rasters whatever the number of steps. One compiled pass per step adds the weighted UTCI
and Tmrt (float64 sums of float32 products, as ``sum += weight * array`` in numpy) and
finds each cell's stress class (:data:`pipeline.thermal.utci.STRESS_CLASSES`, each class
holding its upper bound, NaN in none: as :func:`pipeline.thermal.utci.stress_class_index`);
a second adds the step's weight (float32) to the hours of each cell's class (a class met
for the first time gets its hours raster then, and one more call adds the step to it).
The sums are those of the per-step numpy loop they replace, bit for bit when the steps
come in the same order (``tests/pipeline/thermal/test_tile.py``).
"""

from __future__ import annotations

import numba
import numpy as np

from pipeline.thermal.utci import STRESS_CLASSES

#: Upper bounds of every class but the last (°C), in class order; whole degrees, so
#: comparing a float32 UTCI with their float32 values is comparing exactly.
_UPPER_BOUNDS = np.array([c.upper_c for c in STRESS_CLASSES[:-1]], dtype=np.float32)
if not (_UPPER_BOUNDS.astype(np.float64) == [c.upper_c for c in STRESS_CLASSES[:-1]]).all():
    raise RuntimeError("UTCI stress class bounds are not exact in float32: compare in float64")
#: Cells per parallel work item of the compiled passes.
_CHUNK = 1 << 16


@numba.njit(parallel=True, cache=True, nogil=True)
def _add_step(utci, tmrt, weight, bounds, utci_sum, tmrt_sum, classes):
    """``*_sum += float64(weight * value)``; ``classes`` the class index of each cell
    (the number of upper bounds below its UTCI, as ``searchsorted(..., side="left")``;
    -1 for NaN)."""
    n = utci.size
    n_bounds = bounds.size
    for item in numba.prange((n + _CHUNK - 1) // _CHUNK):
        for i in range(item * _CHUNK, min(n, (item + 1) * _CHUNK)):
            u = utci[i]
            utci_sum[i] += np.float64(weight * u)
            tmrt_sum[i] += np.float64(weight * tmrt[i])
            index = 0
            for b in range(n_bounds):  # no early exit: the loop vectorises
                index += bounds[b] < u
            classes[i] = index if u == u else -1


@numba.njit(parallel=True, cache=True, nogil=True)
def _add_hours(classes, row_of_class, weight, hours, missing):
    """``hours[row_of_class[k], i] += weight`` (float32) where cell ``i`` is in class ``k``
    and ``row_of_class[k] >= 0``; ``missing[item, k]`` counts the cells of work item
    ``item`` in a class ``k >= 0`` without a row."""
    n = classes.size
    for item in numba.prange(missing.shape[0]):
        for i in range(item * _CHUNK, min(n, (item + 1) * _CHUNK)):
            k = classes[i]
            if k < 0:
                continue
            row = row_of_class[k]
            if row >= 0:
                hours[row, i] += weight
            else:
                missing[item, k] += 1


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
        return {
            int(k): self._hours[row].reshape(self.shape)
            for k, row in enumerate(self._row_of_class)
            if row >= 0
        }

    def add(self, utci_c: np.ndarray, tmrt_c: np.ndarray, weight_hours: float) -> None:
        """Add one step: UTCI and Tmrt (°C, float32, the window's shape) standing for
        ``weight_hours`` hours."""
        utci = np.ascontiguousarray(utci_c, dtype=np.float32).reshape(-1)
        tmrt = np.ascontiguousarray(tmrt_c, dtype=np.float32).reshape(-1)
        if utci.size != self.utci_sum.size or tmrt.size != self.utci_sum.size:
            raise ValueError(
                f"step arrays of {utci.size} and {tmrt.size} cells for a window of {self.utci_sum.size}"
            )
        weight = np.float32(weight_hours)
        classes = self._classes.reshape(-1)
        _add_step(
            utci, tmrt, weight, _UPPER_BOUNDS, self.utci_sum.reshape(-1), self.tmrt_sum.reshape(-1), classes
        )
        missing = np.zeros((max(1, -(-utci.size // _CHUNK)), len(STRESS_CLASSES)), np.int64)
        _add_hours(classes, self._row_of_class, weight, self._hours, missing)
        new = np.flatnonzero(missing.sum(axis=0))
        if new.size:  # classes met for the first time: a row each, then their hours
            rows = np.full(len(STRESS_CLASSES), -1, np.int64)
            rows[new] = self._hours.shape[0] + np.arange(new.size)
            self._row_of_class[new] = rows[new]
            self._hours = np.concatenate([self._hours, np.zeros((new.size, utci.size), np.float32)])
            _add_hours(classes, rows, weight, self._hours, missing)
