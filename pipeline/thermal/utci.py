"""Universal Thermal Climate Index (UTCI) and its ten stress classes.

UTCI comes from :func:`pythermalcomfort.models.utci` (the operational polynomial of
Bröde et al. 2012), vectorised over cells. Its inputs: air temperature (°C), mean radiant
temperature (°C), wind speed at 10 m (m/s) and relative humidity (%). The polynomial is
valid for wind 0.5-17 m/s and ``Tmrt - Ta`` between -30 and 70 K; Machi clips both into
that range first (calm street canyons are common, and pythermalcomfort would otherwise
return NaN there). Outside the remaining limits (Ta -50..50 °C, vapour pressure up to
5 kPa) the value is NaN, as pythermalcomfort returns it.

Within one time step Ta and humidity are the same in every cell, so UTCI depends on Tmrt
and the cell's wind alone there: :func:`utci_uniform_air` evaluates pythermalcomfort on a
lattice spanning the step's Tmrt (0.05 K) and, when the wind differs between cells (the
pedestrian wind of :mod:`pipeline.thermal.wind`), its wind (0.1 m/s), and interpolates
linearly (bilinearly). UTCI is a smooth polynomial: the error is below 0.001 K with one
wind and below 0.01 K with a wind per cell (tested), many times faster than a call per
cell. :func:`utci_scaled_wind` is the same lattice with each cell's wind the station's
times a factor, in two compiled passes (the tile pass's form; bit-identical, tested).

Stress classes (Bröde et al. 2012; bounds in °C UTCI, each class includes its upper bound
as pythermalcomfort does): :data:`STRESS_CLASSES`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numba
import numpy as np
from pythermalcomfort.models import utci as _pythermalcomfort_utci

MIN_WIND_MS, MAX_WIND_MS = 0.5, 17.0
MIN_TMRT_EXCESS_K, MAX_TMRT_EXCESS_K = -30.0, 70.0


@dataclass(frozen=True)
class StressClass:
    """One UTCI stress class: ``lower < UTCI <= upper`` (°C)."""

    key: str
    label_en: str
    label_ja: str
    lower_c: float
    upper_c: float


STRESS_CLASSES: tuple[StressClass, ...] = (
    StressClass("extreme_cold", "extreme cold stress", "極度の寒冷ストレス", -np.inf, -40.0),
    StressClass("very_strong_cold", "very strong cold stress", "非常に強い寒冷ストレス", -40.0, -27.0),
    StressClass("strong_cold", "strong cold stress", "強い寒冷ストレス", -27.0, -13.0),
    StressClass("moderate_cold", "moderate cold stress", "中程度の寒冷ストレス", -13.0, 0.0),
    StressClass("slight_cold", "slight cold stress", "弱い寒冷ストレス", 0.0, 9.0),
    StressClass("no_stress", "no thermal stress", "熱ストレスなし", 9.0, 26.0),
    StressClass("moderate_heat", "moderate heat stress", "中程度の暑熱ストレス", 26.0, 32.0),
    StressClass("strong_heat", "strong heat stress", "強い暑熱ストレス", 32.0, 38.0),
    StressClass("very_strong_heat", "very strong heat stress", "非常に強い暑熱ストレス", 38.0, 46.0),
    StressClass("extreme_heat", "extreme heat stress", "極度の暑熱ストレス", 46.0, np.inf),
)
STRESS_KEYS = tuple(c.key for c in STRESS_CLASSES)
#: upper bounds of all classes but the last, for :func:`numpy.searchsorted`
_UPPER_BOUNDS = np.array([c.upper_c for c in STRESS_CLASSES[:-1]])
#: classes from which a place counts as thermally uncomfortable (the issue's rule)
STRONG_HEAT_FROM_C = 32.0  # above: strong heat stress or worse
STRONG_COLD_FROM_C = -13.0  # at or below: strong cold stress or worse


def stress_class_index(utci_c: np.ndarray) -> np.ndarray:
    """Index into :data:`STRESS_CLASSES` of each value (int8; -1 where UTCI is NaN)."""
    values = np.asarray(utci_c, dtype=np.float64)
    index = np.searchsorted(_UPPER_BOUNDS, values, side="left").astype(np.int8)
    return np.where(np.isnan(values), np.int8(-1), index)


def in_strong_stress(utci_c: np.ndarray) -> np.ndarray:
    """True where UTCI is in strong heat stress or worse, or strong cold stress or worse."""
    values = np.asarray(utci_c, dtype=np.float64)
    return (values > STRONG_HEAT_FROM_C) | (values <= STRONG_COLD_FROM_C)


def _clipped(air_temperature_c, mean_radiant_temperature_c, wind_speed_ms):
    ta = np.asarray(air_temperature_c, dtype=np.float64)
    tmrt = np.clip(
        np.asarray(mean_radiant_temperature_c, dtype=np.float64),
        ta + MIN_TMRT_EXCESS_K,
        ta + MAX_TMRT_EXCESS_K,
    )
    wind = np.clip(np.asarray(wind_speed_ms, dtype=np.float64), MIN_WIND_MS, MAX_WIND_MS)
    return ta, tmrt, wind


def utci(air_temperature_c, mean_radiant_temperature_c, wind_speed_ms, relative_humidity_pct) -> np.ndarray:
    """UTCI (°C) per element, by pythermalcomfort, inputs clipped as the module docstring says.

    Arguments broadcast like numpy arrays; returns float64 (NaN where undefined).
    """
    ta, tmrt, wind = _clipped(air_temperature_c, mean_radiant_temperature_c, wind_speed_ms)
    result = _pythermalcomfort_utci(
        tdb=ta, tr=tmrt, v=wind, rh=relative_humidity_pct, limit_inputs=True, round_output=False
    )
    return np.asarray(result.utci, dtype=np.float64)


def _lattice(values: np.ndarray, step: float) -> np.ndarray:
    """Knots ``low, low + step, ...`` covering the finite ``values`` (at least two)."""
    finite = values[np.isfinite(values)]
    low, high = float(finite.min()), float(finite.max())
    return low + step * np.arange(int(np.ceil((high - low) / step)) + 2)


def utci_uniform_air(
    air_temperature_c: float,
    mean_radiant_temperature_c: np.ndarray,
    wind_speed_ms: float | np.ndarray,
    relative_humidity_pct: float,
    *,
    lattice_k: float = 0.05,
    wind_lattice_ms: float = 0.1,
) -> np.ndarray:
    """UTCI (°C, float32) of many cells sharing Ta and humidity (module docstring).

    Parameters
    ----------
    air_temperature_c, relative_humidity_pct : float
        The step's air temperature (°C) and relative humidity (%).
    mean_radiant_temperature_c : numpy.ndarray
        Tmrt of each cell, °C.
    wind_speed_ms : float or numpy.ndarray
        The 10 m wind UTCI expects, m/s: one for every cell, or one per cell (the shape of
        ``mean_radiant_temperature_c``).
    lattice_k, wind_lattice_ms : float
        Lattice steps of Tmrt (K) and wind (m/s).
    """
    tmrt = np.asarray(mean_radiant_temperature_c, dtype=np.float64)
    wind = np.asarray(wind_speed_ms, dtype=np.float64)
    ta, clipped, wind = _clipped(air_temperature_c, tmrt, wind)
    if not np.isfinite(clipped).any():
        return np.full(tmrt.shape, np.nan, np.float32)
    knots = _lattice(clipped, lattice_k)
    if wind.ndim == 0:
        values = utci(ta, knots, float(wind), relative_humidity_pct)
        return np.interp(clipped, knots, values).astype(np.float32)
    if wind.shape != tmrt.shape:
        raise ValueError(f"wind per cell has shape {wind.shape}, Tmrt {tmrt.shape}")
    wind_knots = _lattice(wind, wind_lattice_ms)
    values = utci(ta, knots[None, :], wind_knots[:, None], relative_humidity_pct)  # (wind, Tmrt)
    return _bilinear(values, knots, lattice_k, wind_knots, wind_lattice_ms, clipped, wind)


def _bilinear(
    values: np.ndarray,
    x_knots: np.ndarray,
    x_step: float,
    y_knots: np.ndarray,
    y_step: float,
    x: np.ndarray,
    y: np.ndarray,
) -> np.ndarray:
    """``values[j, i]`` (at ``y_knots[j]``, ``x_knots[i]``, regular) interpolated at (x, y); float32.

    NaN where ``x`` or ``y`` is not finite. One compiled pass over the cells (the numpy form
    made a dozen full-size temporaries a step), with the same float64 arithmetic.
    """
    out = np.empty(x.shape, np.float32)
    _bilinear_pass(
        np.ascontiguousarray(values, np.float64),
        np.asarray(x_knots, np.float64),
        float(x_step),
        np.asarray(y_knots, np.float64),
        float(y_step),
        np.ascontiguousarray(x, np.float64).ravel(),
        np.ascontiguousarray(y, np.float64).ravel(),
        out.reshape(-1),
    )
    return out


@numba.njit(cache=True, nogil=True)
def _bilinear_pass(values, x_knots, x_step, y_knots, y_step, x, y, out):  # pragma: no cover - compiled
    last_i, last_j = len(x_knots) - 2, len(y_knots) - 2
    for k in range(x.size):
        xk, yk = x[k], y[k]
        if not (np.isfinite(xk) and np.isfinite(yk)):
            out[k] = np.nan
            continue
        i = int((xk - x_knots[0]) / x_step)
        j = int((yk - y_knots[0]) / y_step)
        i = min(max(i, 0), last_i)
        j = min(max(j, 0), last_j)
        fx = (xk - x_knots[i]) / x_step
        fy = (yk - y_knots[j]) / y_step
        low = values[j, i] + fx * (values[j, i + 1] - values[j, i])
        high = values[j + 1, i] + fx * (values[j + 1, i + 1] - values[j + 1, i])
        out[k] = low + fy * (high - low)


def utci_scaled_wind(
    air_temperature_c: float,
    mean_radiant_temperature_c: np.ndarray,
    station_wind_ms: float,
    wind_factor: np.ndarray,
    relative_humidity_pct: float,
    *,
    lattice_k: float = 0.05,
    wind_lattice_ms: float = 0.1,
) -> np.ndarray:
    """:func:`utci_uniform_air` with each cell's wind ``station_wind_ms * wind_factor`` (float32,
    :func:`pipeline.thermal.wind.utci_wind_factor`), in two compiled passes over the cells.

    The same lattice and the same arithmetic, so the same float32 values, bit for bit
    (tested), as ``utci_uniform_air(ta, tmrt, station_wind_ms * wind_factor, rh)``: the
    lattice's extent from the extremes of Tmrt and of the factor (clipping keeps order),
    pythermalcomfort on the lattice, then one compiled pass clips, interpolates and writes each cell,
    where the numpy form made some ten whole-raster temporaries a step (24 ms against 8 ms a
    step on a sample tile's million cells, ``benchmarks/shade_thermal.py``).

    Parameters
    ----------
    air_temperature_c, relative_humidity_pct : float
        The step's air temperature (°C) and relative humidity (%).
    mean_radiant_temperature_c : numpy.ndarray of float32
        Tmrt of each cell, °C.
    station_wind_ms : float
        The station's 10 m wind, m/s.
    wind_factor : numpy.ndarray of float32
        Factor from the station wind to each cell's equivalent 10 m wind (same shape).
    """
    tmrt = np.ascontiguousarray(mean_radiant_temperature_c, dtype=np.float32)
    factor = np.ascontiguousarray(wind_factor, dtype=np.float32)
    if factor.shape != tmrt.shape:
        raise ValueError(f"wind per cell has shape {factor.shape}, Tmrt {tmrt.shape}")
    ta = float(air_temperature_c)
    station = np.float32(station_wind_ms)
    low, high = ta + MIN_TMRT_EXCESS_K, ta + MAX_TMRT_EXCESS_K
    # the lattice spans the finite clipped values; clipping, float64 and a float32 product with
    # a wind >= 0 keep order, so their extent is that of the raw values, clipped
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: nanmin says so, NaN is the answer
        t_extent = np.array([np.nanmin(tmrt), np.nanmax(tmrt)], np.float64)
        f_extent = np.array([np.nanmin(factor), np.nanmax(factor)], np.float32)
    if not np.isfinite(np.clip(t_extent, low, high)).all():
        return np.full(tmrt.shape, np.nan, np.float32)
    if station < 0:
        raise ValueError(f"station wind must be >= 0 m/s, got {station_wind_ms}")
    t_low, t_high = np.clip(t_extent, low, high)
    w_low, w_high = np.clip((station * f_extent).astype(np.float64), MIN_WIND_MS, MAX_WIND_MS)
    knots = _knots(float(t_low), float(t_high), lattice_k)
    wind_knots = _knots(float(w_low), float(w_high), wind_lattice_ms)
    values = utci(ta, knots[None, :], wind_knots[:, None], relative_humidity_pct)  # (wind, Tmrt)
    out = np.empty(tmrt.shape, np.float32)
    _scaled_wind_pass(
        np.ascontiguousarray(values, np.float64),
        knots,
        float(lattice_k),
        wind_knots,
        float(wind_lattice_ms),
        tmrt.reshape(-1),
        factor.reshape(-1),
        station,
        low,
        high,
        MIN_WIND_MS,
        MAX_WIND_MS,
        out.reshape(-1),
    )
    return out


def _knots(low: float, high: float, step: float) -> np.ndarray:
    """:func:`_lattice` from the finite values' extent."""
    return low + step * np.arange(int(np.ceil((high - low) / step)) + 2)


@numba.njit(cache=True, nogil=True, inline="always")
def _clip(x, low, high):
    """``np.clip`` of one value (NaN stays NaN)."""
    if x < low:
        return low
    if x > high:
        return high
    return x


@numba.njit(parallel=True, cache=True, nogil=True)
def _scaled_wind_pass(
    values, x_knots, x_step, y_knots, y_step, tmrt, factor, station, low, high, wind_low, wind_high, out
):  # pragma: no cover - compiled
    """Clip each cell's Tmrt and wind and interpolate ``values`` there (:func:`_bilinear_pass`'s
    arithmetic)."""
    last_i, last_j = len(x_knots) - 2, len(y_knots) - 2
    for k in numba.prange(tmrt.size):
        xk = _clip(np.float64(tmrt[k]), low, high)
        yk = _clip(np.float64(station * factor[k]), wind_low, wind_high)
        if not (np.isfinite(xk) and np.isfinite(yk)):
            out[k] = np.nan
            continue
        i = int((xk - x_knots[0]) / x_step)
        j = int((yk - y_knots[0]) / y_step)
        i = min(max(i, 0), last_i)
        j = min(max(j, 0), last_j)
        fx = (xk - x_knots[i]) / x_step
        fy = (yk - y_knots[j]) / y_step
        lo_row = values[j, i] + fx * (values[j, i + 1] - values[j, i])
        hi_row = values[j + 1, i] + fx * (values[j + 1, i + 1] - values[j + 1, i])
        out[k] = lo_row + fy * (hi_row - lo_row)
