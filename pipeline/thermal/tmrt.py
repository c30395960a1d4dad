"""Mean radiant temperature per cell: the SOLWEIG radiation scheme, simplified as documented here.

The scheme is that of SOLWEIG (Lindberg, Holmer & Thorsson 2008, Int. J. Biometeorol.
52:697-713; the cylindrical standing person of Holmer et al. 2015 as in UMEP): a standing
person absorbs short-wave ``K`` and long-wave ``L`` radiation from six directions,

    S_str = a_k * (f_cyl * K_beam + f_up * (K_down + K_up) + 4 * f_side * K_side)
          + a_l * (f_up * (L_down + L_up) + 4 * f_side * L_side)
    Tmrt  = (S_str / (a_l * sigma)) ** 0.25 - 273.15

with absorptivities ``a_k = 0.70``, ``a_l = 0.97`` (ISO 7726) and angular factors
``f_up = 0.06``, ``f_side = 0.22``, ``f_cyl = 0.28`` (standing person, UMEP's defaults).
The fluxes, per cell, with ``I`` the direct normal and ``D`` the diffuse horizontal
irradiance (:mod:`pipeline.thermal.radiation`), ``G = I sin(e) + D``, ``e`` the sun's
altitude, ``s`` the cell's share of direct sun (1 sunlit, the crown transmissivity under
a tree, 0 in a building's shadow), ``psi`` the sky view factor (:mod:`pipeline.thermal.svf`):

    K_down = I s sin(e) + D psi + alb_w (1 - psi) (G (1 - F_sh) + D F_sh)
    K_up   = alb_g K_down
    K_side = D F_sky + alb_w F_wall (G (1 - F_sh) + D F_sh) + F_gnd K_up   (each of 4 sides)
    K_beam = I s cos(e)                                                     (on the cylinder)
    L_sky  = eps_sky sigma Ta^4,  eps_sky by Prata (1996) from Ta and the vapour pressure
    L_wall = eps_w sigma (Ta + (1 - F_sh) dT_wall)^4 + (1 - eps_w) L_sky
    L_veg  = eps_w sigma Ta^4 + (1 - eps_w) L_sky
    L_down = psi L_sky + (1 - psi - v) L_wall + v L_veg
    L_up   = eps_g sigma (Ta + s dT_ground)^4 + (1 - eps_g) L_down
    L_side = F_sky L_sky + (F_wall - F_veg) L_wall + F_veg L_veg + F_gnd L_up

where ``v`` is the share of the sky view hidden by tree crowns (the SVF of buildings
alone minus the SVF through the crowns, :class:`SkyGeometry`), ``F_veg = F_wall v / (1 - psi)``
its part of the lateral view, ``F_sh`` is the shaded share of the walls a point sees and
``F_sky``, ``F_wall``, ``F_gnd`` the view factors of a vertical surface, all from the *equivalent horizon*
``beta = arccos(sqrt(psi))`` (the uniform horizon elevation that gives the same SVF;
UMEP's ``svfalfa``):

- a vertical surface facing a uniform horizon ``beta`` sees the sky with
  ``F_sky = 1/2 - beta/pi - sin(2 beta)/(2 pi)``, the walls with ``F_wall = 1/2 - F_sky``
  and the ground with ``F_gnd = 1/2``;
- ``F_sh`` is the shaded share of the inside wall of a round well whose rim stands at
  elevation ``beta`` (the geometry behind SOLWEIG's "cylindric wedge"), in closed form:
  with ``k = 2 / (tan(beta) tan(zenith))`` the sunlit share is ``k / pi`` for ``k <= 1``
  and ``(acos(1/k) + k (1 - sin(acos(1/k)))) / pi`` beyond (computed with
  ``sin(acos(y)) = sqrt(1 - y^2)``, since 2026-12-06: a third less time for the compiled
  Tmrt, values within 3e-5 K of the two-call form).

Surface heating (SOLWEIG's parameterisation, Lindberg et al. 2008, 2016): sunlit ground
and walls are warmer than the air by

    dT = (Tg_k * e_max + T_start) * sin(pi/2 * (t - t_rise) / (t_maxLST - t_rise)),   >= 0,

``e_max`` the day's highest sun altitude (degrees), ``t`` the local hour; shaded surfaces
are at air temperature. Defaults: UMEP's "cobble stone" land cover (``Tg_k`` 0.37,
``T_start`` -3.41, ``t_maxLST`` 15 h; also used for walls), emissivity 0.95 (ground) and
0.90 (walls), albedo 0.20 for walls and 0.15 for the ground: SOLWEIG's effective albedos
(Lindberg et al. 2008; 2016, UMEP ``parametersforsolweig.json`` "Albedo: Effective",
ground 0.15, walls 0.20), which SOLWEIG uses wherever no land cover is given (``solweig``
0.1.0b96 ``models/surface.py``: an albedo grid of 0.15 by default). Until 2026-12-06 the
ground took the cobble-stone material albedo 0.20; against SOLWEIG on the same inputs that
alone made sunlit ground 1.7-1.8 K warmer at heat-day noon (``benchmarks/thermal.py``).

Tree crowns (changed 2026-12-06, after ``benchmarks/thermal.py`` found Tmrt under crowns
+9.7 to +9.9 K above SOLWEIG's at heat-day noon and +4.0 to +5.4 K at winter noon on the
same inputs, on every sample tile; now within 0.8 K, README "Thermal comfort"):

- a crown passes ``tau`` of the beam (0.03 in leaf, SOLWEIG's default;
  :class:`pipeline.shade.shadow.CanopyTransmissivity`), where 0.2 was used before: this
  took the heat-day bias under crowns from about +9.8 to +2.7 K;
- the sky it hides radiates long-wave as foliage at *air temperature* (``L_veg``, the
  emissivity of the walls): SOLWEIG's vegetation (Lindberg et al. 2008; Lindberg &
  Grimmond 2011, Theor. Appl. Climatol. 105:311-323, its vegetation SVFs; ``solweig``
  0.1.0b96 ``physics/patch_radiation.py`` has vegetation emit ``ewall sigma Ta^4``), not a
  sunlit wall warmer than the air, as crowns were before: this took the remaining +2.5 K
  (with the ground albedo) to -0.1..+0.3 K;
- it still reflects short-wave as the walls do (SOLWEIG folds crowns into its combined
  building-and-vegetation SVF ``svfbuveg`` for the reflected short-wave in the same way).

Simplifications against full SOLWEIG, all deliberate and per cell:

- isotropic sky (no Perez luminance, no anisotropic long-wave) and clear sky (clearness 1);
- the ground a person sees is the cell itself (SOLWEIG weighs the sunlit and shaded ground
  around the person by ground view factors), so ``K_up`` and ``L_up`` follow the cell's own
  sun share;
- the four lateral directions share one equivalent horizon (SOLWEIG keeps north, east,
  south and west SVFs); the sun-facing side's extra beam enters through ``K_beam`` only;
- no thermal inertia (SOLWEIG's ``TsWaveDelay``): surfaces respond to the sun at once;
- one land cover everywhere (no water, grass or dark asphalt), no wall materials;
- tree crowns are opaque from the ground to their top (no trunk zone) and one share
  ``v`` of the sky view (SOLWEIG keeps the vegetation SVFs ``svfveg``/``svfaveg`` per
  direction).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pvlib

from pipeline.shade.sun import solar_position
from pipeline.thermal.weather import clock_hour

STEFAN_BOLTZMANN = 5.67051e-8  # W m-2 K-4, SOLWEIG's value
KELVIN = 273.15


@dataclass(frozen=True)
class TmrtParameters:
    """Person, surface and heating parameters of :func:`mean_radiant_temperature`."""

    absorptivity_shortwave: float = 0.70
    absorptivity_longwave: float = 0.97
    f_up: float = 0.06
    f_side: float = 0.22
    f_cylinder: float = 0.28
    ground_albedo: float = 0.15
    wall_albedo: float = 0.20
    ground_emissivity: float = 0.95
    wall_emissivity: float = 0.90
    ground_heating_per_deg: float = 0.37  # Tg_k, K per degree of the day's highest sun
    ground_heating_offset_k: float = -3.41  # T_start, K
    ground_max_hour: float = 15.0  # t_maxLST, local hour of the warmest surface
    wall_heating_per_deg: float = 0.37
    wall_heating_offset_k: float = -3.41
    wall_max_hour: float = 15.0


def sky_emissivity(air_temperature_c: float, relative_humidity_pct: float) -> float:
    """Clear-sky emissivity by Prata (1996), as SOLWEIG (vapour pressure by Magnus, hPa)."""
    vapour_hpa = (
        6.107 * 10 ** (7.5 * air_temperature_c / (237.3 + air_temperature_c)) * relative_humidity_pct / 100
    )
    w = 46.5 * vapour_hpa / (air_temperature_c + KELVIN)
    return 1.0 - (1.0 + w) * math.exp(-math.sqrt(1.2 + 3.0 * w))


def surface_heating_k(
    local_hour: float,
    sunrise_hour: float,
    max_sun_altitude_deg: float,
    sun_altitude_deg: float,
    *,
    per_deg: float,
    offset_k: float,
    max_hour: float,
) -> float:
    """How much warmer than the air a sunlit surface is (K, >= 0; 0 with the sun down)."""
    if not sun_altitude_deg > 0 or local_hour <= sunrise_hour:
        return 0.0
    amplitude = per_deg * max_sun_altitude_deg + offset_k
    phase = (local_hour - sunrise_hour) / (max_hour - sunrise_hour)
    return max(0.0, amplitude * math.sin(phase * math.pi / 2))


@dataclass(frozen=True)
class SkyGeometry:
    """What Tmrt needs from the sky view factor (computed once, used at every time step).

    Attributes
    ----------
    svf : numpy.ndarray
        Sky view factor ``psi``, 0..1.
    tan_horizon : numpy.ndarray
        ``tan(beta)`` of the equivalent horizon ``beta = arccos(sqrt(psi))``.
    f_sky, f_wall : numpy.ndarray
        View factors of a vertical surface to the sky and to the walls (and crowns).
    vegetation : numpy.ndarray or None
        Share ``v`` of the sky view hidden by tree crowns, ``0 <= v <= 1 - svf``; None
        without trees.
    """

    svf: np.ndarray
    tan_horizon: np.ndarray
    f_sky: np.ndarray
    f_wall: np.ndarray
    vegetation: np.ndarray | None = None

    @classmethod
    def from_svf(cls, svf: np.ndarray, surface_svf: np.ndarray | None = None) -> SkyGeometry:
        """From the SVF a person sees (through the crowns) and, with trees, the SVF of the
        buildings and terrain alone (:class:`pipeline.thermal.svf.SkyView`): their
        difference is the crowns' share ``v``."""
        psi = np.clip(np.asarray(svf, dtype=np.float64), 0.0, 1.0)
        beta = np.arccos(np.sqrt(psi))
        f_sky = 0.5 - beta / math.pi - np.sin(2 * beta) / (2 * math.pi)
        vegetation = None
        if surface_svf is not None:
            open_sky = np.clip(np.asarray(surface_svf, dtype=np.float64), 0.0, 1.0)
            if open_sky.shape != psi.shape:
                raise ValueError(f"surface_svf shape {open_sky.shape} differs from svf {psi.shape}")
            vegetation = np.clip(open_sky - psi, 0.0, 1.0 - psi).astype(np.float32)
        return cls(
            psi.astype(np.float32),
            np.tan(beta).astype(np.float32),
            f_sky.astype(np.float32),
            (0.5 - f_sky).astype(np.float32),
            vegetation,
        )

    def wall_shadow_share(self, sun_altitude_deg: float) -> np.ndarray:
        """Shaded share of the walls a point sees (``F_sh``, module docstring), 0..1.

        Where nothing stands above the horizon (``svf`` = 1) there are no walls to see;
        the share is then 0.5 and weighs nothing (it multiplies ``1 - svf`` or ``F_wall`` = 0).
        """
        if not sun_altitude_deg > 0:
            return np.ones(self.svf.shape, np.float32)
        walls = self.tan_horizon > 1e-6
        k = np.float32(2.0 / math.tan(math.radians(90.0 - sun_altitude_deg))) / np.where(
            walls, self.tan_horizon, np.float32(1.0)
        )
        # sin(acos(y)) written sqrt(1 - y^2): the same quantity, one transcendental call fewer
        y = np.float32(1.0) / np.maximum(k, np.float32(1.0))
        sunlit = np.where(
            k <= 1.0,
            k / np.float32(math.pi),
            (np.arccos(y) + k * (np.float32(1.0) - np.sqrt(np.float32(1.0) - y * y))) / np.float32(math.pi),
        )
        return np.where(walls, np.clip(1.0 - sunlit, 0.0, 1.0), np.float32(0.5)).astype(np.float32)


def mean_radiant_temperature(
    *,
    svf: np.ndarray | SkyGeometry,
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
    """Tmrt of a standing person at every cell for one time step (module docstring).

    Parameters
    ----------
    svf : numpy.ndarray or SkyGeometry
        Sky view factor, 0..1 (with trees by their transmissivity), or its
        :class:`SkyGeometry` when many time steps share it.
    sun_share : numpy.ndarray
        Share of direct sun reaching the cell, 0..1 (1 sunlit, ``tau`` under a crown,
        0 in a building's shadow), same shape as ``svf``.
    sun_altitude_deg : float
        Apparent sun altitude, degrees.
    dni_wm2, dhi_wm2 : float
        Direct normal and diffuse horizontal irradiance, W/m².
    air_temperature_c, relative_humidity_pct : float
        Air temperature (°C) and relative humidity (%).
    ground_heating_k, wall_heating_k : float
        Excess temperature of sunlit ground and walls over the air, K
        (:meth:`DayHeating.ground_and_wall`).

    Returns
    -------
    numpy.ndarray of float32
        Mean radiant temperature, °C.
    """
    p = parameters
    sky = svf if isinstance(svf, SkyGeometry) else SkyGeometry.from_svf(svf)
    psi = sky.svf
    s = np.asarray(sun_share, dtype=np.float32)
    if s.shape != psi.shape:
        raise ValueError(f"sun_share shape {s.shape} differs from svf {psi.shape}")
    up = sun_altitude_deg > 0
    sin_e = math.sin(math.radians(sun_altitude_deg)) if up else 0.0
    cos_e = math.cos(math.radians(sun_altitude_deg)) if up else 0.0
    direct, diffuse = (dni_wm2, dhi_wm2) if up else (0.0, 0.0)
    global_h = direct * sin_e + diffuse
    f_sh = sky.wall_shadow_share(sun_altitude_deg)
    f_gnd = 0.5
    wall_light = np.float32(global_h) * (1.0 - f_sh) + np.float32(diffuse) * f_sh
    blocked = 1.0 - psi

    k_down = (
        np.float32(direct * sin_e) * s
        + np.float32(diffuse) * psi
        + np.float32(p.wall_albedo) * blocked * wall_light
    )
    k_up = np.float32(p.ground_albedo) * k_down
    k_side = (
        np.float32(diffuse) * sky.f_sky
        + np.float32(p.wall_albedo) * sky.f_wall * wall_light
        + np.float32(f_gnd) * k_up
    )
    k_beam = np.float32(direct * cos_e) * s

    t_air = air_temperature_c + KELVIN
    l_sky = sky_emissivity(air_temperature_c, relative_humidity_pct) * STEFAN_BOLTZMANN * t_air**4
    l_wall = np.float32(p.wall_emissivity * STEFAN_BOLTZMANN) * (
        t_air + (1.0 - f_sh) * np.float32(wall_heating_k)
    ) ** 4 + np.float32((1.0 - p.wall_emissivity) * l_sky)
    if sky.vegetation is None:
        l_down = psi * np.float32(l_sky) + blocked * l_wall
        lateral = sky.f_wall * l_wall
    else:
        # crowns at air temperature (SOLWEIG's Lveg), their share of the lateral walls' view
        l_veg = np.float32(
            p.wall_emissivity * STEFAN_BOLTZMANN * t_air**4 + (1.0 - p.wall_emissivity) * l_sky
        )
        veg = sky.vegetation
        l_down = psi * np.float32(l_sky) + (blocked - veg) * l_wall + veg * l_veg
        f_veg = sky.f_wall * np.where(
            blocked > 0, veg / np.maximum(blocked, np.float32(1e-6)), np.float32(0.0)
        )
        lateral = (sky.f_wall - f_veg) * l_wall + f_veg * l_veg
    l_up = (
        np.float32(p.ground_emissivity * STEFAN_BOLTZMANN) * (t_air + s * np.float32(ground_heating_k)) ** 4
        + np.float32(1.0 - p.ground_emissivity) * l_down
    )
    l_side = sky.f_sky * np.float32(l_sky) + lateral + np.float32(f_gnd) * l_up

    absorbed = np.float32(p.absorptivity_shortwave) * (
        np.float32(p.f_cylinder) * k_beam
        + np.float32(p.f_up) * (k_down + k_up)
        + np.float32(4.0 * p.f_side) * k_side
    ) + np.float32(p.absorptivity_longwave) * (
        np.float32(p.f_up) * (l_down + l_up) + np.float32(4.0 * p.f_side) * l_side
    )
    return (
        np.sqrt(np.sqrt(absorbed / np.float32(p.absorptivity_longwave * STEFAN_BOLTZMANN)))
        - np.float32(KELVIN)
    ).astype(np.float32)


@dataclass(frozen=True)
class DayHeating:
    """What the surface heating of a day needs: sunrise (local hour) and the highest sun (degrees)."""

    sunrise_hour: float
    max_sun_altitude_deg: float

    @classmethod
    def for_date(
        cls, date: dt.date, latitude: float, longitude: float, timezone: str = "Asia/Tokyo"
    ) -> DayHeating:
        """Sunrise and the sun's altitude at transit (pvlib SPA) on ``date`` at the site."""
        noon = pd.DatetimeIndex([pd.Timestamp(f"{date.isoformat()} 12:00", tz=timezone)])
        times = pvlib.solarposition.sun_rise_set_transit_spa(noon, latitude, longitude)
        altitude, _ = solar_position(pd.DatetimeIndex(times["transit"]), latitude, longitude)
        return cls(clock_hour(times["sunrise"].iloc[0], date, latitude, timezone), float(altitude[0]))

    def ground_and_wall(
        self, moment: dt.datetime, sun_altitude_deg: float, parameters: TmrtParameters = TmrtParameters()
    ) -> tuple[float, float]:
        """(ground, wall) excess temperatures, K, at local ``moment``."""
        hour = moment.hour + moment.minute / 60.0 + moment.second / 3600.0
        ground = surface_heating_k(
            hour,
            self.sunrise_hour,
            self.max_sun_altitude_deg,
            sun_altitude_deg,
            per_deg=parameters.ground_heating_per_deg,
            offset_k=parameters.ground_heating_offset_k,
            max_hour=parameters.ground_max_hour,
        )
        wall = surface_heating_k(
            hour,
            self.sunrise_hour,
            self.max_sun_altitude_deg,
            sun_altitude_deg,
            per_deg=parameters.wall_heating_per_deg,
            offset_k=parameters.wall_heating_offset_k,
            max_hour=parameters.wall_max_hour,
        )
        return ground, wall
