"""Wind at pedestrian height in a street canyon, as the 10 m wind UTCI expects.

UTCI takes the wind speed at 10 m above open ground and converts it inside the model to
the 1.1 m of its reference person by a neutral logarithmic profile with a roughness length
of 0.01 m; its developers recommend the same law for bringing a lower wind up to 10 m
(Bröde et al. 2012, Int J Biometeorol 56: 481-494; discussed by Lee, Park & Mayer 2024,
Int J Biometeorol, doi:10.1007/s00484-024-02835-x). The station's wind is a 10 m wind at
an open site, and one value for every street would ignore what the street does to it.
Per cell, :func:`utci_wind_factor` gives the factor that turns the station wind into the
*equivalent 10 m wind* of the cell's pedestrian wind:

1. **Open ground, 10 m to 1.1 m**: the neutral log law with the station's roughness length
   ``z0 = 0.03 m`` (Davenport class "open", Wieringa 1992; WMO-No. 8, Annex 5.B: the
   standard exposure of an anemometer)::

       L = ln(1.1 / 0.03) / ln(10 / 0.03) = 0.620

2. **Street canyon**: the Town Energy Balance's canyon wind (Masson 2000, Boundary-Layer
   Meteorol 94: 357-397; as coded in TEB, ``PU_CAN = ZWAKE*exp(-PCAN_HW_RATIO/4.)*...``):
   the canyon keeps ``w(H/W) * exp(-H/(4W))`` of the wind above it, where the wake factor
   ``w = 1 + (2/pi - 1) * 2 * (H/W - 0.5)``, clipped to ``[2/pi, 1]``, averages over wind
   directions: isolated roughness flow below ``H/W = 0.5`` (every direction blows down the
   street), skimming flow above 1 (only the along-canyon component, mean ``2/pi``), wake
   interference between (Oke 1987). Machi applies this attenuation to the open-ground
   pedestrian wind of step 1, so an open cell keeps exactly the log law and a canyon is
   always calmer than open ground (TEB scales the wind at roof level instead; at street
   level the two differ by the log-law factor, which Machi keeps from the station).

3. **The canyon's aspect ratio from the sky view factor**: at the centre of an infinitely
   long canyon ``SVF = cos(atan(2H/W))`` (Oke 1988; Johnson & Watson 1984), hence
   ``H/W = tan(acos(SVF)) / 2``; the SVF is that of buildings and terrain (trees are
   porous to wind and not counted). ``H/W`` is capped at :data:`MAX_ASPECT_RATIO`.

4. **Back to the equivalent 10 m wind** by UTCI's own law::

       u10_equiv = u(1.1) * ln(10 / 0.01) / ln(1.1 / 0.01)      (factor 1.470)

So ``factor = L * w(H/W) * exp(-H/(4W)) * 1.470``: 0.911 on open ground, 0.451 at
``H/W = 1`` (``SVF = 0.45``), 0.351 at ``H/W = 2``. Limits, stated: neutral stratification, no wind
direction (a canyon along the wind is windier, across it calmer; the formula is the
canyon's mean), no channelling or corner jets, trees not counted. UTCI clips the result to
its 0.5 m/s floor (:mod:`pipeline.thermal.utci`).
"""

from __future__ import annotations

import numpy as np

#: UTCI's reference height of the person and of the input wind, m (Bröde et al. 2012)
PEDESTRIAN_HEIGHT_M, REFERENCE_HEIGHT_M = 1.1, 10.0
#: roughness length UTCI's log law assumes, m (short grass; Bröde et al. 2012)
UTCI_ROUGHNESS_M = 0.01
#: roughness length of the station's open site, m (Davenport class "open", Wieringa 1992)
STATION_ROUGHNESS_M = 0.03
#: canyon attenuation per unit aspect ratio, exp(-H/(4W)) (Masson 2000, TEB)
CANYON_ATTENUATION_PER_ASPECT = 0.25
#: deepest canyon counted (SVF 0.1); deeper cells are courtyards, not streets
MAX_ASPECT_RATIO = 5.0


def log_law_ratio(height_m: float, reference_height_m: float, roughness_m: float) -> float:
    """``u(height) / u(reference)`` of a neutral logarithmic profile (no displacement)."""
    return float(np.log(height_m / roughness_m) / np.log(reference_height_m / roughness_m))


def canyon_aspect_ratio(svf) -> np.ndarray:
    """Aspect ratio ``H/W`` of the infinite canyon whose centre has this sky view factor.

    Parameters
    ----------
    svf : array_like
        Sky view factor, 0-1 (buildings and terrain). NaN stays NaN.

    Returns
    -------
    numpy.ndarray of float64
        ``tan(acos(SVF)) / 2`` clipped to [0, :data:`MAX_ASPECT_RATIO`].
    """
    values = np.clip(np.asarray(svf, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        ratio = np.tan(np.arccos(values)) / 2.0
    return np.where(np.isnan(values), np.nan, np.minimum(ratio, MAX_ASPECT_RATIO))


def wake_factor(aspect_ratio) -> np.ndarray:
    """TEB's direction average of the canyon wind (Masson 2000): 1 up to ``H/W = 0.5``, ``2/pi``
    from ``H/W = 1``, linear between. NaN stays NaN."""
    ratio = np.asarray(aspect_ratio, dtype=np.float64)
    return np.clip(1.0 + (2.0 / np.pi - 1.0) * 2.0 * (ratio - 0.5), 2.0 / np.pi, 1.0)


def pedestrian_wind_factor(svf) -> np.ndarray:
    """``u(1.1 m in the cell) / u(10 m at the open station)`` (module docstring, steps 1-3)."""
    open_ground = log_law_ratio(PEDESTRIAN_HEIGHT_M, REFERENCE_HEIGHT_M, STATION_ROUGHNESS_M)
    ratio = canyon_aspect_ratio(svf)
    return open_ground * wake_factor(ratio) * np.exp(-CANYON_ATTENUATION_PER_ASPECT * ratio)


def utci_wind_factor(svf) -> np.ndarray:
    """Factor from the station's 10 m wind to the cell's equivalent 10 m wind for UTCI.

    Parameters
    ----------
    svf : array_like
        Sky view factor of each cell (buildings and terrain), 0-1.

    Returns
    -------
    numpy.ndarray of float32
        ``pedestrian_wind_factor(svf) * ln(10/0.01) / ln(1.1/0.01)``; multiply the station
        wind (m/s) by it to get the wind to give UTCI (m/s).
    """
    to_utci = 1.0 / log_law_ratio(PEDESTRIAN_HEIGHT_M, REFERENCE_HEIGHT_M, UTCI_ROUGHNESS_M)
    return (pedestrian_wind_factor(svf) * to_utci).astype(np.float32)
