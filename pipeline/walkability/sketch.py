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
ZERO_BIN = -(10**9)


@dataclass
class QuantileSketch:
    """Counts per log bin (``bin index -> count``; :data:`ZERO_BIN` holds the zeros).

    A bin ``i`` holds the values in ``[10 ** (i / B), 10 ** ((i + 1) / B))`` with ``B =``
    :data:`BINS_PER_DECADE`. NaN values are ignored.
    """

    counts: dict[int, int] = field(default_factory=dict)

    @classmethod
    def of(cls, values) -> QuantileSketch:
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

    def merge(self, other: QuantileSketch) -> QuantileSketch:
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

    def percentile_rank(self, values) -> np.ndarray:
        """Standing of each value among the sketched ones, 0-100: the percentage of them in
        lower bins plus half of those in the value's own bin (a mid-rank, so the lowest of
        many values is near 0 and the highest near 100 whatever ties there are). Values
        within a bin (1.16 %) count as ties. NaN stays NaN; NaN everywhere for an empty sketch.

        Parameters
        ----------
        values : array-like of float
            Values >= 0 (a value below zero ranks as zero).
        """
        array = np.asarray(values, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            bins = np.where(
                array <= ZERO_BELOW,
                ZERO_BIN,
                np.floor(np.log10(np.maximum(array, ZERO_BELOW)) * BINS_PER_DECADE),
            )
        return _mid_rank(self.counts, np.where(np.isfinite(array), bins, np.nan))

    def to_json(self) -> dict[str, int]:
        """A JSON-able form with sorted keys (the same sketch always serialises the same)."""
        return {str(k): int(self.counts[k]) for k in sorted(self.counts)}

    @classmethod
    def from_json(cls, data: dict) -> QuantileSketch:
        return cls({int(k): int(v) for k, v in data.items()})


def _mid_rank(counts: dict[int, int], bins: np.ndarray) -> np.ndarray:
    """Percentage (0-100) of the counted values in bins below each of ``bins`` plus half of
    those in its own bin; NaN where ``bins`` is NaN or nothing is counted."""
    out = np.full(bins.shape, np.nan)
    n = sum(counts.values())
    known = np.isfinite(bins)
    if n == 0 or not known.any():
        return out
    index = np.array(sorted(counts), dtype=np.int64)
    count = np.array([counts[i] for i in index], dtype=np.float64)
    below = np.concatenate([np.cumsum(count) - count, [float(n)]])
    wanted = bins[known].astype(np.int64)
    position = np.searchsorted(index, wanted)
    inside = np.minimum(position, len(index) - 1)
    half = np.where((position < len(index)) & (index[inside] == wanted), count[inside] / 2.0, 0.0)
    out[known] = 100.0 * (below[position] + half) / n
    return out


#: width of a bin of :class:`ScoreSketch`, score points
SCORE_BIN = 0.01


@dataclass
class ScoreSketch:
    """Counts of 0-100 scores per bin :data:`SCORE_BIN` wide (``bin index -> count``): the
    run-wide distribution of a scenario's segment scores, from which a segment's standing
    follows (:meth:`percentile_rank`). At most 10,001 bins whatever the city; merging adds
    counts, so the result is the same in any order. NaN values are ignored."""

    counts: dict[int, int] = field(default_factory=dict)

    @classmethod
    def of(cls, values) -> ScoreSketch:
        """The sketch of ``values`` (scores, clipped into 0-100)."""
        array = np.asarray(values, dtype=np.float64).ravel()
        array = np.clip(array[np.isfinite(array)], 0.0, 100.0)
        index, count = np.unique(np.floor(array / SCORE_BIN + 1e-9).astype(np.int64), return_counts=True)
        return cls({int(i): int(c) for i, c in zip(index, count)})

    @property
    def n(self) -> int:
        return int(sum(self.counts.values()))

    def merge(self, other: ScoreSketch) -> ScoreSketch:
        """The sketch of both sets of scores (commutative and associative)."""
        merged = dict(self.counts)
        for index, count in other.counts.items():
            merged[index] = merged.get(index, 0) + count
        return ScoreSketch(merged)

    def percentile_rank(self, values) -> np.ndarray:
        """Standing of each score among the sketched ones, 0-100: the percentage of them in
        lower bins plus half of those in its own (a mid-rank, as
        ``scipy.stats.percentileofscore(kind="mean")``, with scores less than
        :data:`SCORE_BIN` apart counted as ties). NaN stays NaN; NaN for an empty sketch."""
        array = np.asarray(values, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            bins = np.floor(np.clip(array, 0.0, 100.0) / SCORE_BIN + 1e-9)
        return _mid_rank(self.counts, bins)

    def to_json(self) -> dict[str, int]:
        """A JSON-able form with sorted keys."""
        return {str(k): int(self.counts[k]) for k in sorted(self.counts)}

    @classmethod
    def from_json(cls, data: dict) -> ScoreSketch:
        return cls({int(k): int(v) for k, v in data.items()})
