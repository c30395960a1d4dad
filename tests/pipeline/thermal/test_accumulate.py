"""A slot's running sums: the numpy sums and stress classes they stand in for, NaN and class bounds included."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.thermal.accumulate import SlotAccumulator
from pipeline.thermal.utci import STRESS_CLASSES, stress_class_index


def test_sums_and_hours_equal_the_numpy_loop():
    """Random steps of unequal weights, with UTCI exactly on class bounds (each class holds
    its upper bound) and NaN cells (in no class), over more cells than one work item."""
    rng = np.random.default_rng(11)
    shape = (300, 250)
    bounds = np.array([c.upper_c for c in STRESS_CLASSES[:-1]], np.float32)
    acc = SlotAccumulator(shape)
    utci_sum, tmrt_sum, hours = np.zeros(shape), np.zeros(shape), {}
    for step, weight in enumerate([1 / 6, 1 / 6, 0.1, 1 / 6, 0.05]):
        utci = rng.uniform(-45.0, 50.0, shape).astype(np.float32)
        utci[step, :9] = bounds  # on the bounds
        utci[step + 10, :9] = np.nextafter(bounds, np.float32(np.inf))
        utci[20:22, step::7] = np.nan
        tmrt = rng.uniform(-10.0, 70.0, shape).astype(np.float32)
        acc.add(utci, tmrt, weight)
        utci_sum += weight * utci
        tmrt_sum += weight * tmrt
        classes = stress_class_index(utci)
        for index in np.unique(classes[classes >= 0]):
            hours.setdefault(int(index), np.zeros(shape, np.float32))[classes == index] += np.float32(weight)
    np.testing.assert_array_equal(acc.utci_sum, utci_sum)  # NaN where a step was NaN
    np.testing.assert_array_equal(acc.tmrt_sum, tmrt_sum)
    assert sorted(acc.hours) == sorted(hours) == list(range(len(STRESS_CLASSES)))
    for index, value in hours.items():
        np.testing.assert_array_equal(acc.hours[index], value)
    # a cell that was NaN at one step misses that step's hours
    total = sum(acc.hours.values())
    assert total[20, 0] == pytest.approx(total[100, 100] - 1 / 6, abs=1e-6)


def test_a_step_of_another_shape_is_refused():
    acc = SlotAccumulator((4, 5))
    with pytest.raises(ValueError, match="window of 20"):
        acc.add(np.zeros((5, 5), np.float32), np.zeros((4, 5), np.float32), 0.5)
