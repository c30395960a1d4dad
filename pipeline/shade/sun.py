"""Sun positions for shade analysis: scenarios (season x time slot), whole days, true solar time.

Sun positions come from the NREL Solar Position Algorithm as implemented in pvlib
(``pvlib.solarposition.get_solarposition(method="nrel_numpy")``). Azimuths are degrees
clockwise from *true* north; raster grids in a plane rectangular CS are aligned to *grid*
north, which differs by the meridian convergence (up to about 1 degree at the edge of a
JGD2011 zone), so convert with :func:`true_to_grid_azimuth` before casting shadows.

Timestamps are timezone-aware (Asia/Tokyo unless told otherwise). A time interval is
represented by the sun position at its mid-point and a weight equal to its length in
hours, so sums of weights are durations.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pvlib
from pyproj import CRS, Proj, Transformer

from pipeline.geo.raster import Grid
from pipeline.geo.scenarios import DEFAULT_SEASONS, DEFAULT_TIME_SLOTS, Scenario, Season, TimeSlot  # noqa: F401

DEFAULT_TIMEZONE = "Asia/Tokyo"
DEFAULT_STEP_MINUTES = 10.0


@dataclass(frozen=True)
class SunPositions:
    """Sun positions sampled over some period.

    Attributes
    ----------
    timestamps : pandas.DatetimeIndex
        Timezone-aware sample instants (mid-points of the sampled intervals).
    sun_altitude_deg : numpy.ndarray
        Sun altitude above the horizon, degrees (apparent, i.e. with refraction, unless
        made with ``refraction=False``). Negative when the sun is below the horizon.
    sun_azimuth_deg : numpy.ndarray
        Sun azimuth, degrees clockwise from true north.
    weight_hours : numpy.ndarray
        Length of the interval each sample stands for, hours.
    """

    timestamps: pd.DatetimeIndex
    sun_altitude_deg: np.ndarray
    sun_azimuth_deg: np.ndarray
    weight_hours: np.ndarray

    def __len__(self) -> int:
        return len(self.timestamps)

    @property
    def total_hours(self) -> float:
        return float(np.sum(self.weight_hours))

    def grid_azimuth_deg(self, convergence_deg: float) -> np.ndarray:
        """Azimuths clockwise from grid north (see :func:`true_to_grid_azimuth`)."""
        return true_to_grid_azimuth(self.sun_azimuth_deg, convergence_deg)

    def take(self, index: np.ndarray | slice) -> SunPositions:
        """A subset of the samples (e.g. a chunk for a parallel task)."""
        return SunPositions(
            self.timestamps[index],
            self.sun_altitude_deg[index],
            self.sun_azimuth_deg[index],
            self.weight_hours[index],
        )

    def chunks(self, n_chunks: int) -> list[SunPositions]:
        """Split into up to ``n_chunks`` contiguous parts whose results can be summed."""
        parts = np.array_split(np.arange(len(self)), max(1, min(n_chunks, len(self))))
        return [self.take(p) for p in parts if len(p)]


def default_scenarios(
    seasons: tuple[Season, ...] = DEFAULT_SEASONS, slots: tuple[TimeSlot, ...] = DEFAULT_TIME_SLOTS
) -> list[Scenario]:
    """Every season crossed with every time slot."""
    return [Scenario(season, slot) for season in seasons for slot in slots]


def solar_position(
    timestamps: pd.DatetimeIndex,
    latitude: float,
    longitude: float,
    *,
    altitude_m: float = 0.0,
    refraction: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Sun altitude and true azimuth by NREL SPA (pvlib ``nrel_numpy``).

    Parameters
    ----------
    timestamps : pandas.DatetimeIndex
        Timezone-aware instants.
    latitude, longitude : float
        Degrees (WGS84/JGD2011 geographic).
    altitude_m : float
        Observer height above sea level, metres.
    refraction : bool
        True for the apparent altitude (standard-atmosphere refraction, what casts
        shadows), False for the geometric altitude (what building-code shadow
        diagrams use).

    Returns
    -------
    sun_altitude_deg, sun_azimuth_deg : numpy.ndarray
        Degrees; azimuth clockwise from true north.
    """
    timestamps = pd.DatetimeIndex(timestamps)
    if timestamps.tz is None:
        raise ValueError("solar_position needs timezone-aware timestamps")
    sp = pvlib.solarposition.get_solarposition(
        timestamps, latitude, longitude, altitude=altitude_m, method="nrel_numpy"
    )
    column = "apparent_elevation" if refraction else "elevation"
    return sp[column].to_numpy(dtype=np.float64), sp["azimuth"].to_numpy(dtype=np.float64)


def _positions(
    starts: pd.DatetimeIndex, ends: pd.DatetimeIndex, latitude: float, longitude: float, refraction: bool
) -> SunPositions:
    mids = starts + (ends - starts) / 2
    weight_hours = ((ends - starts).total_seconds() / 3600.0).to_numpy(dtype=np.float64)
    altitude, azimuth = solar_position(mids, latitude, longitude, refraction=refraction)
    return SunPositions(mids, altitude, azimuth, weight_hours)


def _steps(
    start: pd.Timestamp, end: pd.Timestamp, step_minutes: float, origin: pd.Timestamp | None = None
) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """Intervals of ``step_minutes`` aligned to ``origin`` (default ``start``), clipped to [start, end]."""
    if step_minutes <= 0:
        raise ValueError(f"step_minutes must be positive, got {step_minutes}")
    step = pd.Timedelta(minutes=step_minutes)
    origin = start if origin is None else origin
    first = origin + math.floor((start - origin) / step) * step
    edges = pd.date_range(first, end + step, freq=step)
    edges = edges[edges <= end + step]
    starts = edges[:-1].where(edges[:-1] > start, start)
    ends = edges[1:].where(edges[1:] < end, end)
    keep = ends > starts
    return pd.DatetimeIndex(starts[keep]), pd.DatetimeIndex(ends[keep])


def slot_sun_positions(
    date: dt.date,
    slot: TimeSlot,
    latitude: float,
    longitude: float,
    *,
    step_minutes: float = DEFAULT_STEP_MINUTES,
    timezone: str = DEFAULT_TIMEZONE,
    refraction: bool = True,
) -> SunPositions:
    """Sun positions at the mid-point of each ``step_minutes`` step of a time slot.

    A last partial step gets its true (shorter) weight. Samples with the sun below the
    horizon are kept: that part of the slot is in shade.
    """
    mids, weight_hours = slot_steps(date, slot, step_minutes=step_minutes, timezone=timezone)
    altitude, azimuth = solar_position(mids, latitude, longitude, refraction=refraction)
    return SunPositions(mids, altitude, azimuth, weight_hours)


def slot_steps(
    date: dt.date,
    slot: TimeSlot,
    *,
    step_minutes: float = DEFAULT_STEP_MINUTES,
    timezone: str = DEFAULT_TIMEZONE,
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """The instants (mid-points) and weights (hours) of :func:`slot_sun_positions`' samples,
    without the sun: a caller holding the sun at those instants already takes it from there."""
    start, end = slot.bounds(date, timezone)
    starts, ends = _steps(start, end, step_minutes)
    return starts + (ends - starts) / 2, ((ends - starts).total_seconds() / 3600.0).to_numpy(dtype=np.float64)


def daylight_sun_positions(
    date: dt.date,
    latitude: float,
    longitude: float,
    *,
    step_minutes: float = DEFAULT_STEP_MINUTES,
    timezone: str = DEFAULT_TIMEZONE,
    refraction: bool = True,
) -> SunPositions:
    """Sun positions from sunrise to sunset (for sun hours).

    Steps are aligned to local midnight and clipped to [sunrise, sunset] from SPA
    (``pvlib.solarposition.sun_rise_set_transit_spa``); each sample is at the mid-point
    of its (possibly clipped) step, so the weights sum to the day length.
    """
    midnight = pd.Timestamp(date.isoformat(), tz=timezone)
    rst = pvlib.solarposition.sun_rise_set_transit_spa(
        pd.DatetimeIndex([midnight + pd.Timedelta(hours=12)]), latitude, longitude
    )
    sunrise, sunset = rst["sunrise"].iloc[0], rst["sunset"].iloc[0]
    if pd.isna(sunrise) or pd.isna(sunset):
        raise ValueError(f"no sunrise/sunset on {date} at latitude {latitude} (polar day or night)")
    starts, ends = _steps(sunrise, sunset, step_minutes, origin=midnight)
    return _positions(starts, ends, latitude, longitude, refraction)


def scenario_sun_positions(
    scenarios: list[Scenario],
    year: int,
    latitude: float,
    longitude: float,
    *,
    step_minutes: float = DEFAULT_STEP_MINUTES,
    timezone: str = DEFAULT_TIMEZONE,
) -> dict[str, SunPositions]:
    """``{scenario.name: SunPositions}`` for every scenario in ``year``."""
    return {
        s.name: slot_sun_positions(
            s.season.date(year), s.slot, latitude, longitude, step_minutes=step_minutes, timezone=timezone
        )
        for s in scenarios
    }


def true_solar_timestamps(
    date: dt.date,
    longitude: float,
    solar_hours: np.ndarray | list[float],
    *,
    latitude: float = 35.0,
    timezone: str = DEFAULT_TIMEZONE,
) -> pd.DatetimeIndex:
    """Clock instants at which true solar time (真太陽時) equals ``solar_hours`` on ``date``.

    True solar time = UTC + longitude/15 h + equation of time. The equation of time is
    the SPA's (``get_solarposition(...)["equation_of_time"]``, minutes), evaluated at
    the instant itself; a first guess from Spencer (1971) is refined twice, which
    converges to well under a second. ``latitude`` barely matters (only through SPA
    internals) and has a default.
    """
    hours = np.asarray(solar_hours, dtype=np.float64)
    day_utc = pd.Timestamp(date.isoformat(), tz="UTC")
    doy = date.timetuple().tm_yday
    eot_min = np.full(hours.shape, float(pvlib.solarposition.equation_of_time_spencer71(doy)))
    for _ in range(3):
        offset_h = hours - longitude / 15.0 - eot_min / 60.0
        instants = day_utc + pd.to_timedelta(offset_h, unit="h")
        sp = pvlib.solarposition.get_solarposition(instants, latitude, longitude, method="nrel_numpy")
        eot_min = sp["equation_of_time"].to_numpy(dtype=np.float64)
    offset_h = hours - longitude / 15.0 - eot_min / 60.0
    return (day_utc + pd.to_timedelta(offset_h, unit="h")).tz_convert(timezone)


def meridian_convergence_deg(crs: str, longitude: float, latitude: float) -> float:
    """Meridian convergence of ``crs`` at a point, degrees (pyproj ``get_factors``).

    Positive east of the zone's central meridian (northern hemisphere): there, true
    north points that many degrees anticlockwise (west) of grid north.
    """
    return float(Proj(CRS.from_user_input(crs)).get_factors(longitude, latitude).meridian_convergence)


def true_to_grid_azimuth(azimuth_deg: np.ndarray | float, convergence_deg: float) -> np.ndarray:
    """Convert azimuths clockwise from true north to clockwise from grid north.

    ``grid = true - convergence`` (``convergence`` as from :func:`meridian_convergence_deg`),
    wrapped to [0, 360).
    """
    return np.mod(np.asarray(azimuth_deg, dtype=np.float64) - convergence_deg, 360.0)


def grid_centre_lonlat(grid: Grid) -> tuple[float, float]:
    """Longitude and latitude (degrees) of the centre of ``grid``."""
    to_geo = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    x = grid.x_min + grid.width * grid.resolution / 2
    y = grid.y_max - grid.height * grid.resolution / 2
    lon, lat = to_geo.transform(x, y)
    return float(lon), float(lat)
