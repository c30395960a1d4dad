"""The thermal comfort component ``c_thermal`` and per-segment UTCI and stress-class shares.

``c_thermal`` (0..1, 1 = comfortable) is a piecewise-linear function of UTCI (°C):

::

    c = 0                                          UTCI <= cold_zero_c        (-27: very strong cold stress)
    c = (UTCI - cold_zero_c) / (comfort_low_c - cold_zero_c)    up to comfort_low_c (18)
    c = 1                                          comfort_low_c <= UTCI <= comfort_high_c   (18..26: comfort zone)
    c = (heat_zero_c - UTCI) / (heat_zero_c - comfort_high_c)   up to heat_zero_c (38)
    c = 0                                          UTCI >= heat_zero_c        (38: very strong heat stress)

The plateau is UTCI's *thermal comfort zone*, 18-26 °C, the upper part of the "no thermal
stress" class (9-26 °C) that Błażejczyk et al. (2013, Geographia Polonica 86(1):5-10)
single out as comfortable. The bottom of "no thermal stress" (9 °C) then scores 0.8: a
walker at 9 °C UTCI is not stressed, but prefers the sun, and a December noon in the shade
of a Saitama street (UTCI 7-11 °C) must score below the sunny side (17-19 °C). The plateau
over the whole no-stress class, ``comfort_low_c=9``, makes the two sides equal. The middle
of strong heat stress (35 °C) scores 0.25 and of moderate cold stress (-6.5 °C) 0.46. The
four breakpoints are parameters (:class:`ComfortCurve`).

Per street segment (:func:`segment_thermal`), from a scenario's mean-UTCI raster sampled
every ``step_m`` metres (:func:`pipeline.walkability.components.sample_segments`):
``utci_mean_c`` (mean of the samples), ``c_thermal`` (mean of ``c`` at the samples, so a
street half in 40 °C and half in 20 °C scores 0.5, not ``c(30)``) and ``share_<class>``
for each UTCI stress class (share of the samples, i.e. of the length, whose mean UTCI
falls in that class).

Comfort-weighted distances use ``c_thermal`` in place of the shade share:
``pipeline.walkability.accessibility.comfort_imp_factor(c_thermal, sun_weight=alpha)``
makes a comfortable metre cost 1 and a fully uncomfortable one ``alpha``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.geo.raster import Grid
from pipeline.thermal.utci import STRESS_CLASSES, STRESS_KEYS, stress_class_index
from pipeline.walkability.components import sample_segments, segment_means
from pipeline.walkability.network import StreetNetwork


@dataclass(frozen=True)
class ComfortCurve:
    """Breakpoints (°C UTCI) of ``c_thermal`` (module docstring)."""

    cold_zero_c: float = -27.0
    comfort_low_c: float = 18.0
    comfort_high_c: float = 26.0
    heat_zero_c: float = 38.0

    def __post_init__(self):
        if not self.cold_zero_c < self.comfort_low_c <= self.comfort_high_c < self.heat_zero_c:
            raise ValueError("comfort curve breakpoints must satisfy "
                             f"cold_zero < comfort_low <= comfort_high < heat_zero, got {self}")

    def __call__(self, utci_c) -> np.ndarray:
        """``c_thermal`` of each UTCI value (NaN stays NaN)."""
        return np.interp(np.asarray(utci_c, dtype=np.float64),
                         [self.cold_zero_c, self.comfort_low_c, self.comfort_high_c, self.heat_zero_c],
                         [0.0, 1.0, 1.0, 0.0])


def share_columns() -> list[str]:
    """Column names of the per-class length shares, in class order."""
    return [f"share_{key}" for key in STRESS_KEYS]


def segment_thermal(network: StreetNetwork, utci_mean_c: np.ndarray, grid: Grid, *,
                    curve: ComfortCurve = ComfortCurve(), step_m: float = 5.0,
                    nodata: float | None = None) -> pd.DataFrame:
    """UTCI, ``c_thermal`` and stress-class length shares of every segment for one scenario.

    Parameters
    ----------
    network : StreetNetwork
        Segments in the grid's CRS.
    utci_mean_c : numpy.ndarray
        The scenario's mean UTCI per cell (°C) on ``grid``.
    curve : ComfortCurve
        How UTCI maps to ``c_thermal``.
    step_m : float
        Sample spacing along segments, metres.

    Returns
    -------
    pandas.DataFrame
        Index of ``network.segments``; ``utci_mean_c``, ``c_thermal`` and
        :func:`share_columns` (NaN for a segment with no sample on data).
    """
    owner, utci = sample_segments(network, utci_mean_c, grid, step_m=step_m, nodata=nodata)
    n = len(network)
    out = pd.DataFrame({"utci_mean_c": segment_means(owner, utci, n),
                        "c_thermal": segment_means(owner, curve(utci), n)},
                       index=network.segments.index)
    classes = stress_class_index(utci)
    known = classes >= 0
    counts = np.bincount(owner[known] * len(STRESS_CLASSES) + classes[known],
                         minlength=n * len(STRESS_CLASSES)).reshape(n, len(STRESS_CLASSES))
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(totals > 0, counts / np.maximum(totals, 1), np.nan)
    for column, values in zip(share_columns(), shares.T):
        out[column] = values
    return out
