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
lattice spanning the step's Tmrt (:data:`LATTICE_K`, 0.2 K) and, when the wind differs
between cells (the pedestrian wind of :mod:`pipeline.thermal.wind`), its wind (0.1 m/s),
and interpolates linearly (bilinearly). UTCI is a smooth polynomial: the error is below
0.001 K with one wind and below 0.01 K with a wind per cell (tested), many times faster
than a call per cell. Along Tmrt the polynomial is nearly straight: against
pythermalcomfort cell by cell (air 5, 31 and 35 °C, Tmrt 0-75 °C, one wind) the error was
at most 5.8e-6 K with 0.2 K knots and 2.2e-6 K with 0.05 K knots (the step until
2026-12-06, four times the polynomial evaluations; float32's rounding of the result is
about 2e-6 K), while the 0.1 m/s wind knots make up to 1.5e-3 K with a wind per cell. :func:`utci_scaled_wind` is the same lattice with each cell's wind the station's
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
#: Spacing of the Tmrt knots of a step's UTCI lattice, K (module docstring).
LATTICE_K = 0.2
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
    lattice_k: float = LATTICE_K,
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
        i = int((xk - x_knots[0]) * (1.0 / x_step))
        j = int((yk - y_knots[0]) * (1.0 / y_step))
        i = min(max(i, 0), last_i)
        j = min(max(j, 0), last_j)
        fx = (xk - x_knots[i]) * (1.0 / x_step)
        fy = (yk - y_knots[j]) * (1.0 / y_step)
        low = values[j, i] + fx * (values[j, i + 1] - values[j, i])
        high = values[j + 1, i] + fx * (values[j + 1, i + 1] - values[j + 1, i])
        out[k] = low + fy * (high - low)


@dataclass(frozen=True)
class UtciLattice:
    """UTCI of one time step's air on a regular lattice of Tmrt and wind (module docstring).

    Attributes
    ----------
    values : numpy.ndarray of float64
        UTCI (°C) at ``(wind_knots[j], tmrt_knots[i])``, shape ``(wind, Tmrt)``; NaN where
        pythermalcomfort's limits leave it undefined.
    tmrt_knots, wind_knots : numpy.ndarray of float64
        The knots, °C and m/s, regular with steps ``tmrt_step`` and ``wind_step``.
    tmrt_low, tmrt_high : float
        The Tmrt range UTCI is defined on at this step (``Ta - 30`` to ``Ta + 70``), °C:
        a cell's Tmrt is clipped into it before interpolation.
    station_wind_ms : numpy.float32
        The station wind a cell's wind factor multiplies, m/s.
    """

    values: np.ndarray
    tmrt_knots: np.ndarray
    tmrt_step: float
    wind_knots: np.ndarray
    wind_step: float
    tmrt_low: float
    tmrt_high: float
    station_wind_ms: np.float32


def air_within_limits(air_temperature_c, relative_humidity_pct) -> np.ndarray:
    """Whether pythermalcomfort defines UTCI at all for each (air temperature °C, relative
    humidity %) pair: its limits on the air, the humidity and the vapour pressure, checked by
    pythermalcomfort itself at ``Tmrt = Ta`` and 1 m/s (the other two limits Machi's
    clipping keeps). Computed once for a scenario's steps, it spares each step's lattice
    pythermalcomfort's per-call checks (:func:`scaled_wind_lattice`)."""
    ta = np.atleast_1d(np.asarray(air_temperature_c, dtype=np.float64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # out of range: NaN is the answer
        return np.isfinite(utci(ta, ta, 1.0, relative_humidity_pct))


def scaled_wind_lattice(
    air_temperature_c: float,
    relative_humidity_pct: float,
    tmrt_extent: tuple[float, float],
    factor_extent: tuple[np.float32, np.float32],
    station_wind_ms: float,
    *,
    air_valid: bool | None = None,
    lattice_k: float = LATTICE_K,
    wind_lattice_ms: float = 0.1,
) -> UtciLattice | None:
    """The lattice of :func:`utci_scaled_wind` for cells whose Tmrt spans ``tmrt_extent``
    (nanmin, nanmax, °C) and whose wind factor spans ``factor_extent`` (float32); None when
    no Tmrt is finite (every cell's UTCI is then NaN).

    ``air_valid`` (:func:`air_within_limits` of the step's air, when the caller computed it
    for many steps at once): pythermalcomfort is then called without its per-call input
    checks (a third of the lattice's cost), on the knots clipped as :func:`utci` clips
    them, so within its Tmrt and wind limits; every knot is NaN when the air is out of
    range: the same values.
    """
    ta = float(air_temperature_c)
    station = np.float32(station_wind_ms)
    if station < 0:
        raise ValueError(f"station wind must be >= 0 m/s, got {station_wind_ms}")
    low, high = ta + MIN_TMRT_EXCESS_K, ta + MAX_TMRT_EXCESS_K
    # the lattice spans the finite clipped values; clipping, float64 and a float32 product with
    # a wind >= 0 keep order, so their extent is that of the raw values, clipped
    t_extent = np.clip(np.asarray(tmrt_extent, np.float64), low, high)
    if not np.isfinite(t_extent).all():
        return None
    f_extent = np.asarray(factor_extent, np.float32)
    w_low, w_high = np.clip((station * f_extent).astype(np.float64), MIN_WIND_MS, MAX_WIND_MS)
    knots = _knots(float(t_extent[0]), float(t_extent[1]), lattice_k)
    wind_knots = _knots(float(w_low), float(w_high), wind_lattice_ms)
    if air_valid is None:
        values = utci(ta, knots[None, :], wind_knots[:, None], relative_humidity_pct)  # (wind, Tmrt)
    elif air_valid:
        # utci() without pythermalcomfort's per-call checks: the knots clipped as utci() clips
        # them are within its Tmrt and wind limits, and the air was checked by the caller
        air, tmrt, wind = _clipped(ta, knots[None, :], wind_knots[:, None])
        values = np.asarray(
            _pythermalcomfort_utci(
                tdb=air, tr=tmrt, v=wind, rh=relative_humidity_pct, limit_inputs=False, round_output=False
            ).utci,
            dtype=np.float64,
        )
    else:
        values = np.full((wind_knots.size, knots.size), np.nan)
    return UtciLattice(
        np.ascontiguousarray(values, np.float64),
        knots,
        float(lattice_k),
        wind_knots,
        float(wind_lattice_ms),
        low,
        high,
        station,
    )


def utci_scaled_wind(
    air_temperature_c: float,
    mean_radiant_temperature_c: np.ndarray,
    station_wind_ms: float,
    wind_factor: np.ndarray,
    relative_humidity_pct: float,
    *,
    factor_extent: tuple[np.float32, np.float32] | None = None,
    air_valid: bool | None = None,
    lattice_k: float = LATTICE_K,
    wind_lattice_ms: float = 0.1,
) -> np.ndarray:
    """:func:`utci_uniform_air` with each cell's wind ``station_wind_ms * wind_factor`` (float32,
    :func:`pipeline.thermal.wind.utci_wind_factor`), in two compiled passes over the cells.

    The same lattice and the same arithmetic, so the same float32 values, bit for bit
    (tested), as ``utci_uniform_air(ta, tmrt, station_wind_ms * wind_factor, rh)``: the
    lattice's extent from the extremes of Tmrt and of the factor (:func:`scaled_wind_lattice`),
    pythermalcomfort on the lattice, then one compiled pass clips, interpolates and writes
    each cell (:func:`lattice_utci`), where the numpy form made some ten whole-raster
    temporaries a step.

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
    factor_extent : (float32, float32), optional
        ``nanmin`` and ``nanmax`` of ``wind_factor``, when the caller has them (a tile's
        factor is the same at every step).
    air_valid : bool, optional
        :func:`air_within_limits` of the step's air, when the caller has it
        (:func:`scaled_wind_lattice`).
    """
    tmrt = np.ascontiguousarray(mean_radiant_temperature_c, dtype=np.float32)
    factor = np.ascontiguousarray(wind_factor, dtype=np.float32)
    if factor.shape != tmrt.shape:
        raise ValueError(f"wind per cell has shape {factor.shape}, Tmrt {tmrt.shape}")
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: nanmin says so, NaN is the answer
        t_extent = (float(np.nanmin(tmrt)), float(np.nanmax(tmrt)))
        f_extent = (np.nanmin(factor), np.nanmax(factor)) if factor_extent is None else factor_extent
    lattice = scaled_wind_lattice(
        air_temperature_c,
        relative_humidity_pct,
        t_extent,
        f_extent,
        station_wind_ms,
        air_valid=air_valid,
        lattice_k=lattice_k,
        wind_lattice_ms=wind_lattice_ms,
    )
    if lattice is None:
        return np.full(tmrt.shape, np.nan, np.float32)
    out = np.empty(tmrt.shape, np.float32)
    _scaled_wind_pass(
        lattice.values,
        lattice.tmrt_knots,
        lattice.tmrt_step,
        lattice.wind_knots,
        lattice.wind_step,
        tmrt.reshape(-1),
        factor.reshape(-1),
        lattice.station_wind_ms,
        lattice.tmrt_low,
        lattice.tmrt_high,
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


@numba.njit(cache=True, nogil=True, inline="always")
def lattice_utci(
    values, x_knots, x_step, y_knots, y_step, tmrt, factor, station, low, high, wind_low, wind_high
):  # pragma: no cover - compiled
    """UTCI (float64) of one cell: its Tmrt (float32) and wind (``station * factor``,
    float32) clipped, then ``values`` interpolated there (:func:`_bilinear_pass`'s
    arithmetic); NaN when either is NaN."""
    xk = _clip(np.float64(tmrt), low, high)
    yk = _clip(np.float64(station * factor), wind_low, wind_high)
    if not (np.isfinite(xk) and np.isfinite(yk)):
        return np.nan
    inverse_x, inverse_y = 1.0 / x_step, 1.0 / y_step  # products, not quotients: a third faster
    i = int((xk - x_knots[0]) * inverse_x)
    j = int((yk - y_knots[0]) * inverse_y)
    i = min(max(i, 0), len(x_knots) - 2)
    j = min(max(j, 0), len(y_knots) - 2)
    fx = (xk - x_knots[i]) * inverse_x
    fy = (yk - y_knots[j]) * inverse_y
    lo_row = values[j, i] + fx * (values[j, i + 1] - values[j, i])
    hi_row = values[j + 1, i] + fx * (values[j + 1, i + 1] - values[j + 1, i])
    return lo_row + fy * (hi_row - lo_row)


@numba.njit(parallel=True, cache=True, nogil=True)
def _scaled_wind_pass(
    values, x_knots, x_step, y_knots, y_step, tmrt, factor, station, low, high, wind_low, wind_high, out
):  # pragma: no cover - compiled
    """:func:`lattice_utci` of every cell, as float32."""
    for k in numba.prange(tmrt.size):
        out[k] = lattice_utci(
            values,
            x_knots,
            x_step,
            y_knots,
            y_step,
            tmrt[k],
            factor[k],
            station,
            low,
            high,
            wind_low,
            wind_high,
        )
