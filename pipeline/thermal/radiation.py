"""Clear-sky direct and diffuse irradiance at the sun positions the shadow stage uses.

The model is Ineichen & Perez (2002) as implemented in pvlib
(:func:`pvlib.clearsky.ineichen`), with:

- the sun's *apparent* altitude of :class:`pipeline.shade.sun.SunPositions` (NREL SPA with
  refraction, the very samples that cast the shadows), so the beam and the shadow agree;
- relative air mass by Kasten & Young (1989) from the apparent zenith, made absolute with
  the standard-atmosphere pressure at the site's altitude (:func:`pvlib.atmosphere.alt2pres`);
- the Linke turbidity of the site and month from pvlib's climatology (Remund et al. 2003,
  :func:`pvlib.clearsky.lookup_linke_turbidity`) unless one is given;
- extraterrestrial irradiance from the day of year (Spencer 1971).

Clear sky is the design case of a shade map: the hottest summer hour and the sunniest
winter hour. Cloud reduces both the heat in the sun and the warmth of a winter sun, so
real cloudiness would narrow every sun-versus-shade difference computed here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pvlib

from pipeline.shade.sun import SunPositions


@dataclass(frozen=True)
class ClearSkyIrradiance:
    """Irradiance at each sun position (W/m², 0 with the sun below the horizon).

    Attributes
    ----------
    dni_wm2 : numpy.ndarray
        Direct normal irradiance (on a surface facing the sun).
    dhi_wm2 : numpy.ndarray
        Diffuse horizontal irradiance.
    ghi_wm2 : numpy.ndarray
        Global horizontal irradiance, ``dni * sin(altitude) + dhi``.
    """

    dni_wm2: np.ndarray
    dhi_wm2: np.ndarray
    ghi_wm2: np.ndarray


def clear_sky_irradiance(positions: SunPositions, latitude: float, longitude: float, *,
                         altitude_m: float = 0.0,
                         linke_turbidity: float | np.ndarray | None = None) -> ClearSkyIrradiance:
    """Ineichen clear-sky DNI, DHI and GHI at ``positions`` (see module docstring).

    Parameters
    ----------
    positions : SunPositions
        Sun positions with apparent altitudes (as made by
        :func:`pipeline.shade.sun.slot_sun_positions`).
    latitude, longitude : float
        Site, degrees (for the Linke turbidity climatology).
    altitude_m : float
        Site height above sea level, metres (air pressure and the Ineichen terms).
    linke_turbidity : float or array, optional
        Linke turbidity (air mass 2); default from the monthly climatology.
    """
    times = pd.DatetimeIndex(positions.timestamps)
    apparent_zenith = 90.0 - np.asarray(positions.sun_altitude_deg, dtype=np.float64)
    if linke_turbidity is None:
        linke_turbidity = pvlib.clearsky.lookup_linke_turbidity(times, latitude, longitude).to_numpy()
    airmass = pvlib.atmosphere.get_relative_airmass(apparent_zenith, model="kastenyoung1989")
    airmass_absolute = pvlib.atmosphere.get_absolute_airmass(airmass, pvlib.atmosphere.alt2pres(altitude_m))
    dni_extra = pvlib.irradiance.get_extra_radiation(times).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):  # the sun below the horizon
        sky = pvlib.clearsky.ineichen(apparent_zenith, airmass_absolute, linke_turbidity,
                                      altitude=altitude_m, dni_extra=dni_extra)
    up = apparent_zenith < 90.0
    dni = np.where(up, np.nan_to_num(np.asarray(sky["dni"], dtype=np.float64)), 0.0)
    dhi = np.where(up, np.nan_to_num(np.asarray(sky["dhi"], dtype=np.float64)), 0.0)
    ghi = dni * np.sin(np.radians(np.maximum(positions.sun_altitude_deg, 0.0))) + dhi
    return ClearSkyIrradiance(dni, dhi, ghi)
