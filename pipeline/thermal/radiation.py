"""Direct and diffuse irradiance at the sun positions the shadow stage uses: clear sky
(the design case, the default) or observed global radiation split by Erbs.

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

Observed radiation (:func:`erbs_split`, :func:`observed_irradiance`): a JMA station's
hourly global radiation is split into direct normal and diffuse horizontal irradiance by
the Erbs, Klein & Duffie (1982) correlation of the diffuse fraction with the clearness
index, as pvlib implements it (:func:`pvlib.irradiance.erbs`: Erbs, D. G., Klein, S. A. and
Duffie, J. A., 1982, "Estimation of the diffuse radiation fraction for hourly, daily and
monthly-average global radiation", Solar Energy 28(4), 293-302).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pvlib

from pipeline.shade.sun import SunPositions

#: how the clear-sky irradiance is named in the run's outputs
CLEAR_SKY_SOURCE = "clear sky (design case): Ineichen-Perez, Linke turbidity climatology"


@dataclass(frozen=True)
class Irradiance:
    """Irradiance at each sun position (W/m², 0 with the sun below the horizon).

    Attributes
    ----------
    dni_wm2 : numpy.ndarray
        Direct normal irradiance (on a surface facing the sun).
    dhi_wm2 : numpy.ndarray
        Diffuse horizontal irradiance.
    ghi_wm2 : numpy.ndarray
        Global horizontal irradiance, ``dni * sin(altitude) + dhi``.
    source : str
        Where it comes from (:data:`CLEAR_SKY_SOURCE`, or the observations).
    """

    dni_wm2: np.ndarray
    dhi_wm2: np.ndarray
    ghi_wm2: np.ndarray
    source: str = CLEAR_SKY_SOURCE


#: the clear-sky case of :class:`Irradiance` (the name earlier code imports)
ClearSkyIrradiance = Irradiance


def clear_sky_irradiance(
    positions: SunPositions,
    latitude: float,
    longitude: float,
    *,
    altitude_m: float = 0.0,
    linke_turbidity: float | np.ndarray | None = None,
) -> ClearSkyIrradiance:
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
        sky = pvlib.clearsky.ineichen(
            apparent_zenith, airmass_absolute, linke_turbidity, altitude=altitude_m, dni_extra=dni_extra
        )
    up = apparent_zenith < 90.0
    dni = np.where(up, np.nan_to_num(np.asarray(sky["dni"], dtype=np.float64)), 0.0)
    dhi = np.where(up, np.nan_to_num(np.asarray(sky["dhi"], dtype=np.float64)), 0.0)
    ghi = dni * np.sin(np.radians(np.maximum(positions.sun_altitude_deg, 0.0))) + dhi
    return ClearSkyIrradiance(dni, dhi, ghi)


def erbs_split(ghi_wm2, zenith_deg, times) -> tuple[np.ndarray, np.ndarray]:
    """Direct normal and diffuse horizontal irradiance from global, by Erbs et al. (1982).

    Parameters
    ----------
    ghi_wm2 : array_like
        Global horizontal irradiance, W/m² (an hour's mean for hourly data).
    zenith_deg : array_like
        True (unrefracted) solar zenith, degrees, at the middle of each averaging period.
    times : pandas.DatetimeIndex
        The same instants (their day of year gives the extraterrestrial irradiance).

    Returns
    -------
    dni_wm2, dhi_wm2 : numpy.ndarray
        ``pvlib.irradiance.erbs`` with its defaults (DNI 0 for zenith above 87° or
        cos(zenith) below 0.065); NaN where ``ghi_wm2`` is NaN.
    """
    parts = pvlib.irradiance.erbs(
        np.asarray(ghi_wm2, dtype=np.float64), np.asarray(zenith_deg, np.float64), pd.DatetimeIndex(times)
    )
    return (np.asarray(parts["dni"], dtype=np.float64), np.asarray(parts["dhi"], dtype=np.float64))


def observed_irradiance(
    positions: SunPositions, dni_wm2: np.ndarray, dhi_wm2: np.ndarray, source: str
) -> Irradiance:
    """Irradiance at ``positions`` from observed DNI and DHI already at those instants.

    DNI is set to 0 with the sun below the horizon and GHI is closed as
    ``dni * sin(altitude) + dhi`` (as the clear-sky case), so Tmrt's direct beam and the
    reported global agree at the step's own sun altitude.
    """
    altitude = np.asarray(positions.sun_altitude_deg, dtype=np.float64)
    up = altitude > 0
    dni = np.where(up, np.nan_to_num(np.asarray(dni_wm2, dtype=np.float64)), 0.0)
    dhi = np.maximum(np.nan_to_num(np.asarray(dhi_wm2, dtype=np.float64)), 0.0)
    ghi = dni * np.sin(np.radians(np.maximum(altitude, 0.0))) + dhi
    return Irradiance(dni, dhi, ghi, source)
