"""A mergeable quantile sketch: counts of non-negative values on log-spaced bins.

Run-wide percentiles (the 95th percentile of an access column, the median people per
100 m of street) must not need every segment of a city in one task. Each tile counts its
values into bins of equal width in ``log10`` (:data:`BINS_PER_DECADE` per decade, so a
bin spans 1.2 %); the sketches of all tiles add up (:meth:`QuantileSketch.merge`) to the
sketch of the run, whose quantiles are within half a bin (0.6 %) of the exact order
statistics, whatever the order tiles are merged in. A sketch of a tile is a few hundred integers.

Values at or below :data:`ZERO_BELOW` count as zero (a segment with no destination in
reach); negative values are an error (people counts, access counts and lengths are not).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: bins per factor of ten: each spans 10 ** (1 / 200) = 1.16 % of its lower edge
BINS_PER_DECADE = 200
#: values at or below this count as zero
ZERO_BELOW = 1e-9
#: the bin index of zero
ZERO_BIN = -(10 ** 9)


@dataclass
class QuantileSketch:
    """Counts per log bin (``bin index -> count``; :data:`ZERO_BIN` holds the zeros).

    A bin ``i`` holds the values in ``[10 ** (i / B), 10 ** ((i + 1) / B))`` with ``B =``
    :data:`BINS_PER_DECADE`. NaN values are ignored.
    """

    counts: dict[int, int] = field(default_factory=dict)

    @classmethod
    def of(cls, values) -> "QuantileSketch":
        """The sketch of ``values`` (array-like of non-negative numbers; NaN ignored)."""
        array = np.asarray(values, dtype=np.float64).ravel()
        array = array[np.isfinite(array)]
        if (array < 0).any():
            raise ValueError(f"a quantile sketch takes values >= 0, got {array.min()}")
        zero = array <= ZERO_BELOW
        bins = np.floor(np.log10(array[~zero]) * BINS_PER_DECADE).astype(np.int64)
        index, count = np.unique(bins, return_counts=True)
        counts = {int(i): int(c) for i, c in zip(index, count)}
        if zero.any():
            counts[ZERO_BIN] = int(zero.sum())
        return cls(counts)

    @property
    def n(self) -> int:
        return int(sum(self.counts.values()))

    def merge(self, other: "QuantileSketch") -> "QuantileSketch":
        """The sketch of both sets of values (commutative and associative)."""
        merged = dict(self.counts)
        for index, count in other.counts.items():
            merged[index] = merged.get(index, 0) + count
        return QuantileSketch(merged)

    def quantile(self, q: float) -> float:
        """The ``q``-th percentile (0-100): the geometric middle of the bin holding the
        value at :func:`numpy.percentile`'s position ``q / 100 * (n - 1)`` (rounded down):
        within half a bin (0.58 %) of that order statistic whatever the data, which on a
        city's thousands of streets is numpy's interpolated percentile to within the gap
        between neighbouring values; NaN for an empty sketch."""
        if not 0 <= q <= 100:
            raise ValueError(f"percentile must be in [0, 100], got {q}")
        n = self.n
        if n == 0:
            return float("nan")
        position = int(q / 100.0 * (n - 1))
        seen = 0
        for index in sorted(self.counts):
            count = self.counts[index]
            if position < seen + count:
                if index == ZERO_BIN:
                    return 0.0
                return float(10.0 ** ((index + 0.5) / BINS_PER_DECADE))
            seen += count
        return float(10.0 ** ((max(self.counts) + 1) / BINS_PER_DECADE))

    def to_json(self) -> dict[str, int]:
        """A JSON-able form with sorted keys (the same sketch always serialises the same)."""
        return {str(k): int(self.counts[k]) for k in sorted(self.counts)}

    @classmethod
    def from_json(cls, data: dict) -> "QuantileSketch":
        return cls({int(k): int(v) for k, v in data.items()})
