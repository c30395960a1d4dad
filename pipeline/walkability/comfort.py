"""The thermal comfort component ``c_thermal``, per-segment UTCI on both sidewalks, and
the hours each segment spends in heat or cold stress.

``c_thermal`` (0..1, 1 = comfortable) is a piecewise-linear function of UTCI (°C) whose
breakpoints are boundaries of the UTCI assessment scale (Bröde et al. 2012, Int. J.
Biometeorol. 56:481-494; Błażejczyk et al. 2013, Geographia Polonica 86(1):5-10):

::

    c = 0                                          UTCI <= cold_zero_c        (-40: extreme cold stress)
    c = (UTCI - cold_zero_c) / (comfort_low_c - cold_zero_c)    up to comfort_low_c (18)
    c = 1                                          comfort_low_c <= UTCI <= comfort_high_c   (18..26)
    c = (heat_zero_c - UTCI) / (heat_zero_c - comfort_high_c)   up to heat_zero_c (46)
    c = 0                                          UTCI >= heat_zero_c        (46: extreme heat stress)

The plateau is UTCI's *thermal comfort zone*, 18-26 °C, the upper part of the "no thermal
stress" class (9-26 °C) that Błażejczyk et al. (2013) single out as comfortable. ``c``
reaches 0 where the scale's *extreme* stress classes begin, above 46 °C and below -40 °C:
walking there is to be avoided, not traded against shops or crossings. On the heat side it
is 0.7 where strong heat stress begins (32 °C) and 0.4 where very strong heat stress begins
(38 °C), so streets of an August noon, nearly all in those two classes, still differ. The
breakpoints are cited; the straight lines between them are an assumption (no study gives
the shape of walkers' preference within a stress class). A December noon in the shade of
a Saitama street (UTCI about 5-11 °C) scores below its sunny side (about 17-19 °C).
The four breakpoints are parameters
(:class:`ComfortCurve`).

**Where pedestrians walk.** Per street segment (:func:`segment_thermal`) the scenario's
mean-UTCI raster is sampled every ``step_m`` metres on the centreline and on the two
walking lines ``width / 2 - 1.5`` m left and right of it
(:func:`pipeline.walkability.components.sample_sides`). Per side: ``utci_<side>_c`` (mean
of the samples) and ``c_thermal_<side>`` (mean of ``c`` at the samples, so a side half in
40 °C and half in 20 °C scores ``(c(40) + 1) / 2``, not ``c(30)``). A segment's comfort in
the slot is that of its **better side**, the one with the higher ``c_thermal``
(:func:`better_side`): people cross to the shady side in August and to the sunny side in
December. ``side`` names it (``centre`` when the street is too narrow, or of unknown
width, for two walking lines); ``utci_mean_c``, ``c_thermal`` and ``share_<class>`` (share
of that side's length whose mean UTCI falls in each stress class) are the better side's.

**Exposure over time.** A slot's mean UTCI averages one very hot hour away. The thermal
stage's hours per stress class and cell (``<scenario>_stress_hours.tif``) give, summed over
the classes beyond a bound (:data:`EXPOSURE_CLASSES`), the hours each point of the
better side spends in strong heat stress or worse (UTCI above 32 °C), very strong heat
stress or worse (above 38 °C) and moderate cold stress or worse (at or below 0 °C);
``hours_utci_above_32``, ``hours_utci_above_38``, ``hours_utci_below_0`` are their means
along the side.

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
from pipeline.walkability.components import SIDES, sample_sides, segment_means
from pipeline.walkability.network import StreetNetwork


@dataclass(frozen=True)
class ComfortCurve:
    """Breakpoints (°C UTCI) of ``c_thermal`` (module docstring)."""

    cold_zero_c: float = -40.0
    comfort_low_c: float = 18.0
    comfort_high_c: float = 26.0
    heat_zero_c: float = 46.0

    def __post_init__(self):
        if not self.cold_zero_c < self.comfort_low_c <= self.comfort_high_c < self.heat_zero_c:
            raise ValueError(
                "comfort curve breakpoints must satisfy "
                f"cold_zero < comfort_low <= comfort_high < heat_zero, got {self}"
            )

    def __call__(self, utci_c) -> np.ndarray:
        """``c_thermal`` of each UTCI value (NaN stays NaN)."""
        return np.interp(
            np.asarray(utci_c, dtype=np.float64),
            [self.cold_zero_c, self.comfort_low_c, self.comfort_high_c, self.heat_zero_c],
            [0.0, 1.0, 1.0, 0.0],
        )


#: Exposure columns -> the UTCI stress classes (Bröde et al. 2012) whose hours they sum:
#: UTCI above 32 °C (strong heat stress or worse), above 38 °C (very strong heat stress or
#: worse), at or below 0 °C (moderate cold stress or worse). Classes include their upper bound.
EXPOSURE_CLASSES = {
    "hours_utci_above_32": ("strong_heat", "very_strong_heat", "extreme_heat"),
    "hours_utci_above_38": ("very_strong_heat", "extreme_heat"),
    "hours_utci_below_0": ("moderate_cold", "strong_cold", "very_strong_cold", "extreme_cold"),
}
#: Where a segment may be walked, in the order ``side`` breaks ties (centre only when
#: the street has no walking lines of its own).
SIDE_NAMES = ("centre",) + SIDES
#: the middle of UTCI's thermal comfort zone (°C): between two equally comfortable sides,
#: the one closer to it is the better
COMFORT_MIDDLE_C = 22.0


def share_columns() -> list[str]:
    """Column names of the per-class length shares, in class order."""
    return [f"share_{key}" for key in STRESS_KEYS]


def side_columns() -> list[str]:
    """Column names of the per-side values of :func:`segment_thermal`."""
    return [
        f"{name}_{side}{unit}" for side in SIDE_NAMES for name, unit in (("utci", "_c"), ("c_thermal", ""))
    ]


def exposure_hours(stress_hours: np.ndarray, band_keys=STRESS_KEYS) -> dict[str, np.ndarray]:
    """Hours beyond each bound of :data:`EXPOSURE_CLASSES`, per cell.

    Parameters
    ----------
    stress_hours : numpy.ndarray, shape (n_classes, rows, cols)
        Hours per UTCI stress class and cell over a slot (the thermal stage's
        ``<scenario>_stress_hours.tif``; NaN = no data).
    band_keys : sequence of str
        The stress class of each band (default: all classes in order).

    Returns
    -------
    dict
        Exposure column -> hours per cell (float64, NaN where every band is NaN).
    """
    hours = np.asarray(stress_hours, dtype=np.float64)
    keys = list(band_keys)
    if hours.ndim != 3 or hours.shape[0] != len(keys):
        raise ValueError(f"stress hours must have one band per class {keys}, got shape {hours.shape}")
    known = np.isfinite(hours).any(axis=0)
    out = {}
    for column, classes in EXPOSURE_CLASSES.items():
        bands = [keys.index(c) for c in classes]
        out[column] = np.where(known, np.nansum(hours[bands], axis=0), np.nan)
    return out


def better_side(c_thermal: np.ndarray, utci_c: np.ndarray, walkable: np.ndarray) -> np.ndarray:
    """Index into :data:`SIDE_NAMES` of the side a walker takes on each segment.

    Parameters
    ----------
    c_thermal, utci_c : numpy.ndarray, shape (n_segments, 3)
        ``c_thermal`` and mean UTCI (°C) of the centre, left and right (NaN: no data).
    walkable : numpy.ndarray of bool, shape (n_segments,)
        Whether the segment has two walking lines of its own (else its centre is walked).

    Returns
    -------
    numpy.ndarray of int64
        1 (left) or 2 (right), the side with the higher ``c_thermal``; between equal ones the
        side whose UTCI is closer to :data:`COMFORT_MIDDLE_C`, then the left. 0 (centre)
        where the segment has no walking lines or neither side has data.
    """
    c = np.where(np.isfinite(c_thermal), c_thermal, -np.inf)
    distance = np.where(np.isfinite(utci_c), np.abs(utci_c - COMFORT_MIDDLE_C), np.inf)
    right = (c[:, 2] > c[:, 1]) | ((c[:, 2] == c[:, 1]) & (distance[:, 2] < distance[:, 1]))
    side = np.where(right, 2, 1)
    known = np.isfinite(c_thermal[:, 1:]).any(axis=1)
    return np.where(np.asarray(walkable, bool) & known, side, 0).astype(np.int64)


def _class_shares(owner: np.ndarray, utci: np.ndarray, n: int) -> np.ndarray:
    classes = stress_class_index(utci)
    known = classes >= 0
    counts = np.bincount(
        owner[known] * len(STRESS_CLASSES) + classes[known], minlength=n * len(STRESS_CLASSES)
    ).reshape(n, len(STRESS_CLASSES))
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, counts / np.maximum(totals, 1), np.nan)


def segment_thermal(
    network: StreetNetwork,
    utci_mean_c: np.ndarray,
    grid: Grid,
    *,
    offsets_m=None,
    stress_hours: np.ndarray | None = None,
    stress_grid: Grid | None = None,
    curve: ComfortCurve = ComfortCurve(),
    step_m: float = 5.0,
    nodata: float | None = None,
) -> pd.DataFrame:
    """UTCI, ``c_thermal``, stress-class shares and hours in stress of every segment on its
    better side, for one scenario (module docstring).

    Parameters
    ----------
    network : StreetNetwork
        Segments in the grid's CRS (metres).
    utci_mean_c : numpy.ndarray
        The scenario's mean UTCI per cell (°C) on ``grid``.
    offsets_m : array-like, optional
        Per segment, distance of its walking lines from the centreline (m;
        :func:`pipeline.walkability.components.sidewalk_offsets`). Default: none, every
        segment is walked on its centreline.
    stress_hours : numpy.ndarray, shape (10, rows, cols), optional
        Hours per UTCI stress class and cell (adds the :data:`EXPOSURE_CLASSES` columns;
        NaN for samples outside it).
    stress_grid : Grid, optional
        The grid of ``stress_hours`` (default: ``grid``).
    curve : ComfortCurve
        How UTCI maps to ``c_thermal``.
    step_m : float
        Sample spacing along segments, metres.

    Returns
    -------
    pandas.DataFrame
        Index of ``network.segments``; ``utci_mean_c``, ``c_thermal``, :func:`share_columns`
        and (with ``stress_hours``) the exposure hours of the better side, ``side``, and
        :func:`side_columns` (NaN where a side has no sample on data).
    """
    n = len(network)
    offsets = np.zeros(n) if offsets_m is None else np.asarray(offsets_m, dtype=np.float64)
    owner, values = sample_sides(network, [utci_mean_c], grid, offsets, step_m=step_m, nodata=nodata)
    exposure = exposure_hours(stress_hours) if stress_hours is not None else {}
    if exposure:
        _, hours = sample_sides(
            network, list(exposure.values()), stress_grid or grid, offsets, step_m=step_m, nodata=nodata
        )
        for side in SIDE_NAMES:
            values[side] += hours[side]
    utci = np.column_stack([segment_means(owner, values[s][0], n) for s in SIDE_NAMES])
    c = np.column_stack([segment_means(owner, curve(values[s][0]), n) for s in SIDE_NAMES])
    chosen = better_side(c, utci, offsets > 0)
    rows = np.arange(n)
    out = pd.DataFrame(
        {"utci_mean_c": utci[rows, chosen], "c_thermal": c[rows, chosen]}, index=network.segments.index
    )
    shares = np.stack([_class_shares(owner, values[s][0], n) for s in SIDE_NAMES])
    for k, column in enumerate(share_columns()):
        out[column] = shares[chosen, rows, k]
    for j, column in enumerate(exposure, start=1):
        hours = np.column_stack([segment_means(owner, values[s][j], n) for s in SIDE_NAMES])
        out[column] = hours[rows, chosen]
    out["side"] = pd.array(np.array(SIDE_NAMES, dtype=object)[chosen], dtype="string")
    for k, side in enumerate(SIDE_NAMES):
        out[f"utci_{side}_c"] = utci[:, k]
        out[f"c_thermal_{side}"] = c[:, k]
    return out
