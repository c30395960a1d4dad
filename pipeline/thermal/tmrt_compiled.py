"""Mean radiant temperature of every cell for one time step, as one compiled pass over the cells.

A faithful compiled twin of :func:`pipeline.thermal.tmrt.mean_radiant_temperature`: the
same SOLWEIG scheme, the same float32 operations in the same order (the numpy version
keeps every per-cell array in float32 and rounds each scalar to float32 where it meets
one, and so does the kernel), evaluated cell by cell in one numba loop instead of some
forty whole-raster numpy passes. It exists for speed only (a million cells, one
thread: about 15 ms against 41 ms a step; ``benchmarks/thermal.py`` times both on a
sample tile); the physics and its sources are documented in :mod:`pipeline.thermal.tmrt`,
and any change there must be made here too: ``tests/pipeline/thermal/test_tmrt_compiled.py``
checks that the two agree within :data:`TOLERANCE_K` on random surfaces and on every kind
of time step (sun up, sun down, canopy shade, walls or none, crowns hiding part of the sky
or not). They differ only where
the kernel's ``acos`` (a polynomial, :func:`_acos_unit`, since 2026-12-06: libm's ``acosf``
kept the loop from vectorising and took 60 % of its time), libm's float32 ``sin``, and the
fourth powers (taken exactly in float64, then rounded) round differently from numpy's
vectorised float32 functions: by one or two units in the last place of float32 (measured
at most 6.1e-5 K, on fewer than 0.1 % of the cells, at sun altitudes 5-70 degrees on a
random million-cell surface).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from pipeline.thermal.tmrt import KELVIN, STEFAN_BOLTZMANN, SkyGeometry, TmrtParameters, sky_emissivity

#: Largest difference, K, allowed between this kernel and the numpy Tmrt (tested).
TOLERANCE_K = 1e-3

_F32 = np.float32


#: Abramowitz & Stegun (1964), Handbook of Mathematical Functions, 4.4.46: ``acos(x) =
#: sqrt(1 - x) (a0 + a1 x + ... + a7 x^7)`` on ``0 <= x <= 1`` with an absolute error of at
#: most 2e-8 rad, a sixth of float32's spacing near pi/2.
_ACOS_COEFFICIENTS = (
    1.5707963050,
    -0.2145988016,
    0.0889789874,
    -0.0501743046,
    0.0308918810,
    -0.0170881256,
    0.0066700901,
    -0.0012624911,
)


@numba.njit(cache=True, nogil=True, inline="always")
def _acos_unit(x):
    """``acos`` of a float32 in [0, 1], as float32 (:data:`_ACOS_COEFFICIENTS`, in float64):
    plain arithmetic, so the loop around it vectorises where libm's ``acosf`` would not
    (the Tmrt kernel in 5 ms instead of 12 on a million cells)."""
    a0, a1, a2, a3, a4, a5, a6, a7 = _ACOS_COEFFICIENTS
    y = np.float64(x)
    poly = a0 + y * (a1 + y * (a2 + y * (a3 + y * (a4 + y * (a5 + y * (a6 + y * a7))))))
    return np.float32(math.sqrt(1.0 - y) * poly)


@numba.njit(cache=True, nogil=True, inline="always")
def _fourth_power(x):
    """``x ** 4`` of a float32, correctly rounded (as float32 ``pow``) at a quarter of its cost."""
    square = np.float64(x) * np.float64(x)
    return np.float32(square * square)


@numba.njit(parallel=True, cache=True, nogil=True)
def _tmrt_kernel(
    psi,
    tan_horizon,
    f_sky,
    f_wall,
    share,
    vegetation,
    has_vegetation,
    out,
    up,
    k_factor,
    beam_down,
    diffuse,
    global_h,
    beam_cylinder,
    wall_albedo,
    ground_albedo,
    t_air,
    wall_k,
    ground_k,
    wall_eps_sigma,
    wall_reflected_sky,
    l_sky,
    l_veg,
    ground_eps_sigma,
    ground_reflect,
    a_short,
    a_long,
    f_cylinder,
    f_up,
    four_f_side,
    sigma_long,
    kelvin,
):
    one = np.float32(1.0)
    zero = np.float32(0.0)
    half = np.float32(0.5)
    pi = np.float32(math.pi)
    for i in numba.prange(psi.size):
        p = psi[i]
        s = share[i]
        th = tan_horizon[i]
        # wall_shadow_share
        if not up:
            f_sh = one
        elif th > np.float32(1e-6):
            k = k_factor / th
            if k <= one:
                sunlit = k / pi
            else:
                y = one / k  # sin(acos(y)) = sqrt(1 - y^2), as the numpy scheme
                sunlit = (_acos_unit(y) + k * (one - np.sqrt(one - y * y))) / pi
            f_sh = min(max(one - sunlit, zero), one)
        else:
            f_sh = half
        wall_light = global_h * (one - f_sh) + diffuse * f_sh
        blocked = one - p
        k_down = beam_down * s + diffuse * p + wall_albedo * blocked * wall_light
        k_up = ground_albedo * k_down
        k_side = diffuse * f_sky[i] + wall_albedo * f_wall[i] * wall_light + half * k_up
        k_beam = beam_cylinder * s
        l_wall = wall_eps_sigma * _fourth_power(t_air + (one - f_sh) * wall_k) + wall_reflected_sky
        if has_vegetation:
            # crowns at air temperature (SOLWEIG's Lveg), their share of the lateral walls' view
            v = vegetation[i]
            l_down = p * l_sky + (blocked - v) * l_wall + v * l_veg
            f_veg = f_wall[i] * (v / max(blocked, np.float32(1e-6)) if blocked > zero else zero)
            lateral = (f_wall[i] - f_veg) * l_wall + f_veg * l_veg
        else:
            l_down = p * l_sky + blocked * l_wall
            lateral = f_wall[i] * l_wall
        l_up = ground_eps_sigma * _fourth_power(t_air + s * ground_k) + ground_reflect * l_down
        l_side = f_sky[i] * l_sky + lateral + half * l_up
        absorbed = a_short * (
            f_cylinder * k_beam + f_up * (k_down + k_up) + four_f_side * k_side
        ) + a_long * (f_up * (l_down + l_up) + four_f_side * l_side)
        out[i] = np.sqrt(np.sqrt(absorbed / sigma_long)) - kelvin


def mean_radiant_temperature_compiled(
    *,
    svf: SkyGeometry,
    sun_share: np.ndarray,
    sun_altitude_deg: float,
    dni_wm2: float,
    dhi_wm2: float,
    air_temperature_c: float,
    relative_humidity_pct: float,
    ground_heating_k: float,
    wall_heating_k: float,
    parameters: TmrtParameters = TmrtParameters(),
) -> np.ndarray:
    """Tmrt (°C, float32) of a standing person at every cell: arguments, units and result as
    :func:`pipeline.thermal.tmrt.mean_radiant_temperature`, with ``svf`` a
    :class:`~pipeline.thermal.tmrt.SkyGeometry` (made once per scenario)."""
    p = parameters
    sky = svf
    share = np.ascontiguousarray(sun_share, dtype=np.float32)
    if share.shape != sky.svf.shape:
        raise ValueError(f"sun_share shape {share.shape} differs from svf {sky.svf.shape}")
    up = sun_altitude_deg > 0
    sin_e = math.sin(math.radians(sun_altitude_deg)) if up else 0.0
    cos_e = math.cos(math.radians(sun_altitude_deg)) if up else 0.0
    direct, diffuse = (dni_wm2, dhi_wm2) if up else (0.0, 0.0)
    k_factor = 2.0 / math.tan(math.radians(90.0 - sun_altitude_deg)) if up else 0.0
    t_air = air_temperature_c + KELVIN
    l_sky = sky_emissivity(air_temperature_c, relative_humidity_pct) * STEFAN_BOLTZMANN * t_air**4
    l_veg = p.wall_emissivity * STEFAN_BOLTZMANN * t_air**4 + (1.0 - p.wall_emissivity) * l_sky
    has_vegetation = sky.vegetation is not None
    vegetation = (
        np.ascontiguousarray(sky.vegetation, dtype=np.float32).reshape(-1)
        if has_vegetation
        else np.zeros(1, np.float32)
    )
    out = np.empty(share.shape, np.float32)
    flat = [
        np.ascontiguousarray(a, dtype=np.float32).reshape(-1)
        for a in (sky.svf, sky.tan_horizon, sky.f_sky, sky.f_wall, share)
    ]
    _tmrt_kernel(
        *flat,
        vegetation,
        has_vegetation,
        out.reshape(-1),
        up,
        _F32(k_factor),
        _F32(direct * sin_e),
        _F32(diffuse),
        _F32(direct * sin_e + diffuse),
        _F32(direct * cos_e),
        _F32(p.wall_albedo),
        _F32(p.ground_albedo),
        _F32(t_air),
        _F32(wall_heating_k),
        _F32(ground_heating_k),
        _F32(p.wall_emissivity * STEFAN_BOLTZMANN),
        _F32((1.0 - p.wall_emissivity) * l_sky),
        _F32(l_sky),
        _F32(l_veg),
        _F32(p.ground_emissivity * STEFAN_BOLTZMANN),
        _F32(1.0 - p.ground_emissivity),
        _F32(p.absorptivity_shortwave),
        _F32(p.absorptivity_longwave),
        _F32(p.f_cylinder),
        _F32(p.f_up),
        _F32(4.0 * p.f_side),
        _F32(p.absorptivity_longwave * STEFAN_BOLTZMANN),
        _F32(KELVIN),
    )
    return out
